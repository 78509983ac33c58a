//! HTTP pieces every target shares: checking a user's URL, describing a transport failure
//! in words, reading an answer without trusting its length, telling a web page from a protocol
//! answer, a chunk as a streamed multipart part, and the stall watchdog.

use crate::body::{BodyProgress, ChunkBody};
use crate::error::ChunkError;
use std::time::Duration;

/// Checks a user-given http(s) URL; the error is a reason to show after the URL (shown through
/// [`redact_url`]).
pub fn parse_http_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| parse_error_in_words(&e))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("only http:// and https:// addresses can be used".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    // A URL is shown on screen, logged, and kept in the queue's database: a password in it
    // would end up in all three.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "it carries a user name or password (user:password@host), which would be \
                    shown and stored in clear: remove it from the URL"
                .into(),
        );
    }
    Ok(parsed)
}

/// The URL parser's complaint, in words a person who typed an address understands.
fn parse_error_in_words(e: &url::ParseError) -> String {
    use url::ParseError as P;
    match e {
        P::RelativeUrlWithoutBase => "it is not a full address (like https://host/path)".into(),
        P::EmptyHost => "it has no host name".into(),
        P::InvalidPort => "its port is not a number from 1 to 65535".into(),
        P::InvalidDomainCharacter | P::IdnaError => {
            "its host name has a character no host name can have (a space?)".into()
        }
        P::InvalidIpv4Address | P::InvalidIpv6Address => "its IP address is not valid".into(),
        other => other.to_string(),
    }
}

/// A URL as it may be shown: any `user:password@` part replaced by `***@`, even in text that
/// does not parse as a URL.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_string(),
    }
}

/// The most of an answer's body that is read. Answers of the upload protocols are small JSON
/// documents or a word of text; a longer body is not an answer to our request (a file or a log
/// streamed by a misconfigured server), and reading it whole once took gigabytes of memory.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// An answer's body, read up to [`MAX_ANSWER_BYTES`].
#[derive(Debug)]
pub enum CappedBody {
    Text(String),
    /// The body went on past the cap; what was read is dropped and the connection closed.
    TooLong,
}

/// Reads `resp`'s body piece by piece, stopping at [`MAX_ANSWER_BYTES`].
pub async fn read_capped(mut resp: reqwest::Response) -> Result<CappedBody, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(piece) = resp.chunk().await? {
        if body.len() + piece.len() > MAX_ANSWER_BYTES {
            return Ok(CappedBody::TooLong);
        }
        body.extend_from_slice(&piece);
    }
    Ok(CappedBody::Text(
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// What a too-long answer is reported as: a server error, which a later attempt may not repeat.
pub fn too_long_answer(url: &str, status: u16) -> ChunkError {
    ChunkError::Retryable {
        url: url.to_string(),
        status,
        message: format!(
            "the answer went on past {} KiB, which no upload answer does (is this the upload URL?)",
            MAX_ANSWER_BYTES / 1024
        ),
        retry_after: None,
    }
}

pub use crate::protocol::looks_like_html;

/// A header of an answer as text, when it is there and is text.
pub fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The `Content-Type` of an answer, or "".
pub fn content_type(resp: &reqwest::Response) -> String {
    header(resp, reqwest::header::CONTENT_TYPE).unwrap_or_default()
}

/// A failed request as a chunk error. A timeout after the connection was made is a stall (the
/// server took the request and went quiet), counted against the retries; only a failure to reach
/// the server at all may mean the network is down.
pub fn transport_error(url: &str, e: &reqwest::Error, stall: Duration) -> ChunkError {
    if let Some(reason) = certificate_refusal(e) {
        return ChunkError::Untrusted {
            url: url.to_string(),
            reason,
        };
    }
    if proxy_wants_credentials(e) {
        return ChunkError::refused(
            url,
            407,
            "the proxy asks for a user name and password (407 Proxy Authentication \
             Required): set them in the proxy setting (--proxy-user and \
             TWAKE_UPLOADER_PROXY_PASSWORD, or Settings), or in HTTPS_PROXY",
        );
    }
    if e.is_timeout() && !e.is_connect() {
        return ChunkError::Stalled(stall);
    }
    ChunkError::Network {
        url: url.to_string(),
        reason: describe_transport_error(e),
    }
}

/// Why the TLS handshake refused the server's certificate, if that is what failed.
pub fn certificate_refusal(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        // io::Error hides its payload from `source()`; the TLS error travels inside one.
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|b| b as &(dyn std::error::Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(why)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(match why {
                    rustls::CertificateError::UnknownIssuer => {
                        "signed by an unknown certificate authority".to_string()
                    }
                    rustls::CertificateError::Expired => "expired".to_string(),
                    rustls::CertificateError::NotValidForName => {
                        "issued for another name".to_string()
                    }
                    other => format!("{other:?}"),
                });
            }
        }
        // Some layers wrap the TLS error in a box of their own, which hides its type: rustls
        // words every certificate refusal "invalid peer certificate: …".
        let text = err.to_string();
        if let Some(why) = text.strip_prefix("invalid peer certificate: ") {
            return Some(why.to_string());
        }
        next = err.source();
    }
    None
}

/// Whether the proxy refused to open a tunnel without (valid) credentials. The connector
/// reports it only in words, so its wording is what is looked for.
pub fn proxy_wants_credentials(e: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.to_string().contains("proxy authorization required") {
            return true;
        }
        next = err.source();
    }
    false
}

/// A chunk as the `file` part of a multipart body, streamed from disk, and the handle that
/// follows its progress.
pub fn chunk_part(
    body: ChunkBody,
    filename: &str,
) -> Result<(reqwest::multipart::Part, BodyProgress), reqwest::Error> {
    let len = body.len();
    let progress = body.progress();
    let stream = reqwest::Body::wrap_stream(body.into_stream());
    let part = reqwest::multipart::Part::stream_with_length(stream, len)
        .file_name(filename.to_string())
        .mime_str("application/octet-stream")?;
    Ok((part, progress))
}

/// A short account of a transport failure: what failed, and the innermost cause (the part
/// that says "connection refused" or "reset by peer"), without the request's long URL.
pub fn describe_transport_error(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() {
        "connection lost while sending"
    } else {
        "connection lost"
    };
    let mut root: Option<&dyn std::error::Error> = None;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        root = Some(s);
        src = s.source();
    }
    match root {
        Some(r) => format!("{what}: {r}"),
        None => what.to_string(),
    }
}

/// Waits until `progress` has not moved for `limit`, checking a few times a second.
pub(crate) async fn stalled(progress: BodyProgress, limit: Duration) -> ChunkError {
    let tick = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut last = progress.sent();
    let mut still_since = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = progress.sent();
        if now != last {
            last = now;
            still_since = tokio::time::Instant::now();
        } else if still_since.elapsed() >= limit {
            return ChunkError::Stalled(limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_refused_and_never_shown() {
        let e = parse_http_url("http://alice:secret@h/upload").unwrap_err();
        assert!(e.contains("password"), "{e}");
        assert!(parse_http_url("http://alice@h/upload").is_err());
        assert_eq!(
            redact_url("http://alice:secret@h:8/upload?x=@"),
            "http://***@h:8/upload?x=@"
        );
        assert_eq!(redact_url("http:// al ice:s@cret@h/"), "http://***@h/");
        assert_eq!(redact_url("http://h/u@x"), "http://h/u@x");
    }

    #[test]
    fn web_pages_are_told_from_protocol_answers() {
        assert!(looks_like_html("text/html; charset=utf-8", ""));
        assert!(looks_like_html(
            "",
            "  \n<!DOCTYPE html><title>Sign in</title>"
        ));
        assert!(looks_like_html("", "<HTML><body>"));
        assert!(!looks_like_html("application/json", r#"{"ok":true}"#));
        assert!(!looks_like_html("text/plain", "found"));
        assert!(!looks_like_html("", ""));
    }
}
