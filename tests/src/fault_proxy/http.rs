//! Just enough HTTP/1.1 for the fault proxy: where each request and answer starts and ends, so a
//! fault can be aimed at one request on a keep-alive connection. Bodies are streamed through as
//! they arrive, never held whole, because test uploads run to hundreds of MiB.

use std::io;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A head larger than this is treated as garbage rather than buffered without end.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A chunk-size or trailer line larger than this is treated as garbage.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// Large reads keep the copy of big bodies cheap in syscalls.
const BODY_READ_BYTES: usize = 256 * 1024;
const HEAD_READ_BYTES: usize = 8 * 1024;

/// How the end of a message body is found (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    Empty,
    Length(u64),
    Chunked,
    /// Only answers can be framed by the connection closing.
    UntilClose,
}

/// A copy failed; which side failed decides what the proxy does next (an upstream that stops
/// reading a request body may still be about to answer, a client that vanished will not listen).
#[derive(Debug)]
pub(crate) enum RelayError {
    Read(io::Error),
    Write(io::Error),
}

impl From<RelayError> for io::Error {
    fn from(error: RelayError) -> Self {
        match error {
            RelayError::Read(e) | RelayError::Write(e) => e,
        }
    }
}

/// What the proxy needs to know about one request.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub method: String,
    pub framing: BodyFraming,
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending the body.
    pub expects_continue: bool,
}

/// What the proxy needs to know about one answer.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub status: u16,
    pub framing: BodyFraming,
    pub keep_alive: bool,
}

/// The header facts shared by requests and answers.
#[derive(Debug, Default)]
struct HeaderFacts {
    content_length: Option<u64>,
    /// `Some(true)` when the last transfer coding is chunked, `Some(false)` for any other coding.
    chunked: Option<bool>,
    close: bool,
    keep_alive: bool,
    expects_continue: bool,
}

impl RequestHead {
    pub(crate) fn parse(head: &[u8]) -> io::Result<RequestHead> {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (Some(method), Some(_target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!("malformed request line {request_line:?}")));
        };
        let facts = header_facts(lines)?;
        let framing = match (facts.chunked, facts.content_length) {
            (Some(true), _) => BodyFraming::Chunked,
            (Some(false), _) => {
                return Err(invalid(
                    "request body with a transfer coding other than chunked".to_string(),
                ))
            }
            (None, Some(0)) | (None, None) => BodyFraming::Empty,
            (None, Some(n)) => BodyFraming::Length(n),
        };
        Ok(RequestHead {
            method: method.to_string(),
            framing,
            keep_alive: keeps_alive(version, &facts),
            expects_continue: facts.expects_continue,
        })
    }

    pub(crate) fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }
}

impl ResponseHead {
    pub(crate) fn parse(head: &[u8], request_was_head: bool) -> io::Result<ResponseHead> {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let (Some(version), Some(status)) = (parts.next(), parts.next()) else {
            return Err(invalid(format!("malformed status line {status_line:?}")));
        };
        let status: u16 = status
            .parse()
            .map_err(|_| invalid(format!("malformed status line {status_line:?}")))?;
        let facts = header_facts(lines)?;
        let framing =
            if request_was_head || (100..200).contains(&status) || status == 204 || status == 304 {
                BodyFraming::Empty
            } else {
                match (facts.chunked, facts.content_length) {
                    (Some(true), _) => BodyFraming::Chunked,
                    (Some(false), _) => BodyFraming::UntilClose,
                    (None, Some(0)) => BodyFraming::Empty,
                    (None, Some(n)) => BodyFraming::Length(n),
                    (None, None) => BodyFraming::UntilClose,
                }
            };
        Ok(ResponseHead {
            status,
            framing,
            keep_alive: keeps_alive(version, &facts) && framing != BodyFraming::UntilClose,
        })
    }
}

fn header_facts<'a>(lines: impl Iterator<Item = &'a str>) -> io::Result<HeaderFacts> {
    let mut facts = HeaderFacts::default();
    for line in lines.filter(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(format!("malformed header line {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length: u64 = value
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
            if facts.content_length.is_some_and(|seen| seen != length) {
                return Err(invalid("conflicting Content-Length headers".to_string()));
            }
            facts.content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or_default().trim();
            facts.chunked = Some(last.eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                facts.close |= token.eq_ignore_ascii_case("close");
                facts.keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            facts.expects_continue |= value.eq_ignore_ascii_case("100-continue");
        }
    }
    Ok(facts)
}

fn keeps_alive(version: &str, facts: &HeaderFacts) -> bool {
    if facts.close {
        false
    } else if version == "HTTP/1.0" {
        facts.keep_alive
    } else {
        true
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("fault proxy: {message}"),
    )
}

fn ended_early(what: &str) -> RelayError {
    RelayError::Read(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("fault proxy: connection closed in the middle of {what}"),
    ))
}

/// Reads one message head (start line and headers, through the blank line) and returns it,
/// leaving any bytes after it (the start of the body) in `buf`. `Ok(None)` means the peer closed
/// the connection cleanly between messages.
pub(crate) async fn read_head<R>(
    src: &mut R,
    buf: &mut BytesMut,
) -> Result<Option<BytesMut>, RelayError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut searched = 0;
    loop {
        // RFC 9112 §2.2: blank lines before a request line are to be ignored.
        while buf.starts_with(b"\r\n") {
            buf.advance(2);
        }
        if let Some(at) = find(&buf[searched..], b"\r\n\r\n") {
            return Ok(Some(buf.split_to(searched + at + 4)));
        }
        searched = buf.len().saturating_sub(3);
        if buf.len() > MAX_HEAD_BYTES {
            return Err(RelayError::Read(invalid(format!(
                "message head longer than {MAX_HEAD_BYTES} bytes"
            ))));
        }
        buf.reserve(HEAD_READ_BYTES);
        if src.read_buf(buf).await.map_err(RelayError::Read)? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(ended_early("a message head"))
            };
        }
    }
}

/// Copies one body, framed as `framing`, from `buf` then `src` to `dst`. Bytes past the body's
/// end stay in `buf` for the next message.
pub(crate) async fn copy_body<R, W>(
    src: &mut R,
    buf: &mut BytesMut,
    dst: &mut W,
    framing: BodyFraming,
) -> Result<(), RelayError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    match framing {
        BodyFraming::Empty => Ok(()),
        BodyFraming::Length(length) => copy_exact(src, buf, dst, length).await,
        BodyFraming::Chunked => copy_chunked(src, buf, dst).await,
        BodyFraming::UntilClose => loop {
            if !buf.is_empty() {
                dst.write_all(buf).await.map_err(RelayError::Write)?;
                buf.clear();
            }
            buf.reserve(BODY_READ_BYTES);
            if src.read_buf(buf).await.map_err(RelayError::Read)? == 0 {
                return Ok(());
            }
        },
    }
}

async fn copy_exact<R, W>(
    src: &mut R,
    buf: &mut BytesMut,
    dst: &mut W,
    length: u64,
) -> Result<(), RelayError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut remaining = length;
    while remaining > 0 {
        if buf.is_empty() {
            // An emptied BytesMut reclaims its whole allocation here, so this does not grow.
            buf.reserve(BODY_READ_BYTES);
            if src.read_buf(buf).await.map_err(RelayError::Read)? == 0 {
                return Err(ended_early("a body"));
            }
        }
        let take = remaining.min(buf.len() as u64) as usize;
        dst.write_all(&buf[..take])
            .await
            .map_err(RelayError::Write)?;
        buf.advance(take);
        remaining -= take as u64;
    }
    Ok(())
}

async fn copy_chunked<R, W>(src: &mut R, buf: &mut BytesMut, dst: &mut W) -> Result<(), RelayError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    loop {
        let size_line = read_line(src, buf).await?;
        let size = chunk_size(&size_line).map_err(RelayError::Read)?;
        dst.write_all(&size_line).await.map_err(RelayError::Write)?;
        if size == 0 {
            // Trailer fields, then the blank line that ends the message.
            loop {
                let line = read_line(src, buf).await?;
                dst.write_all(&line).await.map_err(RelayError::Write)?;
                if line.as_ref() == b"\r\n" || line.as_ref() == b"\n" {
                    return Ok(());
                }
            }
        }
        // The chunk's data and the CRLF that closes it.
        copy_exact(src, buf, dst, size + 2).await?;
    }
}

async fn read_line<R>(src: &mut R, buf: &mut BytesMut) -> Result<BytesMut, RelayError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut searched = 0;
    loop {
        if let Some(at) = find(&buf[searched..], b"\n") {
            return Ok(buf.split_to(searched + at + 1));
        }
        searched = buf.len();
        if buf.len() > MAX_LINE_BYTES {
            return Err(RelayError::Read(invalid(format!(
                "chunk line longer than {MAX_LINE_BYTES} bytes"
            ))));
        }
        buf.reserve(HEAD_READ_BYTES);
        if src.read_buf(buf).await.map_err(RelayError::Read)? == 0 {
            return Err(ended_early("a chunked body"));
        }
    }
}

fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let text = String::from_utf8_lossy(line);
    let digits = text.split(';').next().unwrap_or_default().trim();
    u64::from_str_radix(digits, 16)
        .ok()
        .filter(|size| *size < u64::MAX / 2)
        .ok_or_else(|| invalid(format!("bad chunk size line {text:?}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn copy_all(input: &[u8], framing: BodyFraming) -> (Vec<u8>, Vec<u8>) {
        let mut src = input;
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        copy_body(&mut src, &mut buf, &mut out, framing)
            .await
            .unwrap();
        let mut rest = buf.to_vec();
        rest.extend_from_slice(src);
        (out, rest)
    }

    #[test]
    fn request_with_content_length_is_framed_by_length() {
        let head = b"POST /upload HTTP/1.1\r\nHost: x\r\ncontent-length: 12\r\n\r\n";
        let request = RequestHead::parse(head).unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.framing, BodyFraming::Length(12));
        assert!(request.keep_alive);
    }

    #[test]
    fn request_without_length_has_no_body_and_http10_closes_by_default() {
        let request = RequestHead::parse(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(request.framing, BodyFraming::Empty);
        assert!(!request.keep_alive);
    }

    #[test]
    fn chunked_transfer_encoding_wins_over_content_length() {
        let head =
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(
            RequestHead::parse(head).unwrap().framing,
            BodyFraming::Chunked
        );
    }

    #[test]
    fn answers_to_head_and_204_and_304_have_no_body_whatever_they_declare() {
        let declared = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        assert_eq!(
            ResponseHead::parse(declared, true).unwrap().framing,
            BodyFraming::Empty
        );
        for status in ["204 No Content", "304 Not Modified", "100 Continue"] {
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: 99\r\n\r\n");
            assert_eq!(
                ResponseHead::parse(head.as_bytes(), false).unwrap().framing,
                BodyFraming::Empty
            );
        }
    }

    #[test]
    fn answer_without_length_runs_until_close_and_ends_the_connection() {
        let answer = ResponseHead::parse(b"HTTP/1.1 200 OK\r\n\r\n", false).unwrap();
        assert_eq!(answer.framing, BodyFraming::UntilClose);
        assert!(!answer.keep_alive);
    }

    #[test]
    fn connection_close_on_an_answer_ends_keep_alive() {
        let head =
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert!(!ResponseHead::parse(head, false).unwrap().keep_alive);
    }

    #[test]
    fn malformed_heads_are_rejected() {
        assert!(RequestHead::parse(b"GARBAGE\r\n\r\n").is_err());
        assert!(RequestHead::parse(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(RequestHead::parse(
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
        )
        .is_err());
        assert!(ResponseHead::parse(b"HTTP/1.1 abc OK\r\n\r\n", false).is_err());
    }

    #[tokio::test]
    async fn read_head_leaves_the_body_start_in_the_buffer() {
        let mut src: &[u8] = b"\r\nGET / HTTP/1.1\r\nA: b\r\n\r\nbody";
        let mut buf = BytesMut::new();
        let head = read_head(&mut src, &mut buf).await.unwrap().unwrap();
        assert_eq!(head.as_ref(), b"GET / HTTP/1.1\r\nA: b\r\n\r\n");
        assert_eq!(buf.as_ref(), b"body");
    }

    #[tokio::test]
    async fn read_head_reports_a_clean_close_between_messages_as_none() {
        let mut src: &[u8] = b"";
        assert!(read_head(&mut src, &mut BytesMut::new())
            .await
            .unwrap()
            .is_none());
        let mut partial: &[u8] = b"GET / HT";
        assert!(read_head(&mut partial, &mut BytesMut::new()).await.is_err());
    }

    #[tokio::test]
    async fn length_framed_body_stops_at_its_end_and_keeps_the_next_message() {
        let (body, rest) = copy_all(b"helloGET / HTTP/1.1\r\n\r\n", BodyFraming::Length(5)).await;
        assert_eq!(body, b"hello");
        assert_eq!(rest, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn chunked_body_is_copied_verbatim_through_its_trailers() {
        let chunked = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
        let (body, rest) = copy_all(&[&chunked[..], b"NEXT"].concat(), BodyFraming::Chunked).await;
        assert_eq!(body, chunked);
        assert_eq!(rest, b"NEXT");
    }

    #[tokio::test]
    async fn truncated_bodies_are_errors_not_silent_successes() {
        let mut src: &[u8] = b"abc";
        let result = copy_body(
            &mut src,
            &mut BytesMut::new(),
            &mut Vec::new(),
            BodyFraming::Length(10),
        )
        .await;
        assert!(matches!(result, Err(RelayError::Read(_))));
        let mut chunked: &[u8] = b"5\r\nhel";
        let result = copy_body(
            &mut chunked,
            &mut BytesMut::new(),
            &mut Vec::new(),
            BodyFraming::Chunked,
        )
        .await;
        assert!(matches!(result, Err(RelayError::Read(_))));
    }
}
