//! Chunk bodies being received: streamed into a staging file, or straight into their
//! range of the data file under a claim, hashed on the way when asked, and refused as
//! soon as they go over their limit.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use super::claim::RangeClaim;
use super::temp::TempFile;
use super::IO_BUFFER;
use crate::rejection::Rejection;

/// A chunk body fully received, with its length and, when asked for, its SHA-256.
#[derive(Debug)]
pub(crate) struct StagedChunk {
    pub bytes: ChunkBytes,
    pub len: u64,
    pub sha256: Option<[u8; 32]>,
    /// The file's running hash continued over this chunk, when the chunk came straight
    /// after the hashed ones: the commit then takes it instead of reading the chunk back.
    pub continued: Option<Sha256>,
}

/// Where a received chunk's bytes are.
#[derive(Debug)]
pub(crate) enum ChunkBytes {
    /// In a temporary file, to be copied into the data file at commit.
    Staged(TempFile),
    /// Already at their offset in the data file, written under this claim.
    Placed(Arc<dyn RangeClaim>),
}

/// How much body the receiver reads before refusing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BodyLimit {
    /// The client declared the chunk size: more bytes than that is a 400.
    Declared(u64),
    /// The size is not known yet (multipart fields after the file): cap at the max chunk
    /// size, beyond which it is a 413.
    MaxChunk(u64),
}

/// Why copying a body stopped.
#[derive(Debug)]
pub(crate) enum CopyError {
    Body(String),
    OverLimit(BodyLimit),
    Write(io::Error),
}

/// Streams `body` into `out` through a large buffer, hashing on the way when asked, and
/// stops as soon as the body goes over `limit`. Generic over the writer so a test can
/// aim it at `/dev/full`.
pub(crate) async fn copy_body<S, E, W>(
    mut body: S,
    out: W,
    limit: BodyLimit,
    mut hasher: Option<&mut Sha256>,
) -> Result<u64, CopyError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
    W: AsyncWrite + Unpin,
{
    let cap = match limit {
        BodyLimit::Declared(len) | BodyLimit::MaxChunk(len) => len,
    };
    let mut out = BufWriter::with_capacity(IO_BUFFER, out);
    let mut len: u64 = 0;
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|err| CopyError::Body(err.to_string()))?;
        len += piece.len() as u64;
        if len > cap {
            return Err(CopyError::OverLimit(limit));
        }
        if let Some(hasher) = hasher.as_deref_mut() {
            hasher.update(&piece);
        }
        out.write_all(&piece).await.map_err(CopyError::Write)?;
    }
    out.flush().await.map_err(CopyError::Write)?;
    Ok(len)
}

/// Writes a chunk body to a fresh temporary file at `path`. `what` names the chunk and
/// file in refusals ("chunk 3 of 'a/b.txt'").
pub(crate) async fn receive_body<S, E>(
    body: S,
    path: PathBuf,
    limit: BodyLimit,
    hash: bool,
    what: &str,
) -> Result<StagedChunk, Rejection>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await
        .map_err(|err| Rejection::from_io(format_args!("creating a file for {what}"), &err))?;
    let temp = TempFile::new(path);
    let mut hasher = hash.then(Sha256::new);
    let len = copy_body(body, file, limit, hasher.as_mut())
        .await
        .map_err(|err| match err {
            CopyError::Body(err) => Rejection::bad_request(
                "body_read_failed",
                format!("could not read the body of {what}: {err}"),
            ),
            CopyError::OverLimit(BodyLimit::Declared(declared)) => Rejection::bad_request(
                "body_size_mismatch",
                format!(
                    "the body of {what} is longer than its declared CurrentChunkSize {declared}"
                ),
            ),
            CopyError::OverLimit(BodyLimit::MaxChunk(max)) => Rejection::too_large(
                "chunk_too_large",
                format!("the body of {what} is larger than this receiver's max chunk size {max}"),
            ),
            CopyError::Write(err) => {
                Rejection::from_io(format_args!("writing {what} to its staging file"), &err)
            }
        })?;
    Ok(StagedChunk {
        bytes: ChunkBytes::Staged(temp),
        len,
        sha256: hasher.map(|h| h.finalize().into()),
        continued: None,
    })
}

/// Streams a chunk body straight to its place in the upload's data file, at `offset`,
/// through a large buffer written by blocking jobs, every write made under `claim`. If
/// the claim is revoked meanwhile (another request stored this chunk), the rest of the
/// body is still read and checked but no longer written. If the client hangs up, this
/// future is dropped: the chunk is never logged, and a write still in flight holds the
/// claim until it lands, so it cannot land after someone else's. `declared` is the
/// chunk's declared size: more bytes than that is a 400.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn receive_at<S, E>(
    mut body: S,
    data: Arc<File>,
    offset: u64,
    claim: Arc<dyn RangeClaim>,
    declared: u64,
    hash: bool,
    mut continued: Option<Sha256>,
    what: &str,
) -> Result<StagedChunk, Rejection>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut hasher = hash.then(Sha256::new);
    let mut buffer: Vec<u8> = Vec::with_capacity(IO_BUFFER.min(declared as usize));
    let mut len: u64 = 0;
    let mut flushed: u64 = 0;
    let mut revoked = false;
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|err| {
            Rejection::bad_request(
                "body_read_failed",
                format!("could not read the body of {what}: {err}"),
            )
        })?;
        len += piece.len() as u64;
        if len > declared {
            return Err(Rejection::bad_request(
                "body_size_mismatch",
                format!(
                    "the body of {what} is longer than its declared CurrentChunkSize {declared}"
                ),
            ));
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&piece);
        }
        if let Some(continued) = continued.as_mut() {
            continued.update(&piece);
        }
        if revoked {
            continue;
        }
        buffer.extend_from_slice(&piece);
        if buffer.len() >= IO_BUFFER {
            let n = buffer.len() as u64;
            (buffer, revoked) = write_piece(&data, &claim, buffer, offset + flushed, what).await?;
            flushed += n;
        }
    }
    if !buffer.is_empty() && !revoked {
        write_piece(&data, &claim, buffer, offset + flushed, what).await?;
    }
    Ok(StagedChunk {
        bytes: ChunkBytes::Placed(claim),
        len,
        sha256: hasher.map(|h| h.finalize().into()),
        continued: continued.filter(|_| !revoked),
    })
}

/// Writes `buffer` at `at` under `claim` in a blocking job; gives the buffer back, empty,
/// and whether the claim was found revoked (then nothing was written).
async fn write_piece(
    data: &Arc<File>,
    claim: &Arc<dyn RangeClaim>,
    buffer: Vec<u8>,
    at: u64,
    what: &str,
) -> Result<(Vec<u8>, bool), Rejection> {
    let job = {
        let data = Arc::clone(data);
        let claim = Arc::clone(claim);
        tokio::task::spawn_blocking(move || {
            let result = claim.write_at(&data, &buffer, at);
            (result, buffer)
        })
    };
    match job.await {
        Ok((Ok(written), mut buffer)) => {
            buffer.clear();
            Ok((buffer, !written))
        }
        Ok((Err(err), buffer)) => {
            // Free what this chunk got before the write failed (a full disk must not stay
            // full because of it); its range holds no stored chunk, the claim says so.
            let data = Arc::clone(data);
            let claim = Arc::clone(claim);
            let end = at + buffer.len() as u64;
            let start = claim.range_start();
            let _ =
                tokio::task::spawn_blocking(move || claim.release_range(&data, start, end - start))
                    .await;
            Err(Rejection::from_io(format_args!("writing {what}"), &err))
        }
        Err(join) => Err(Rejection::from_io(
            format_args!("writing {what}"),
            &io::Error::other(join),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pieces: Vec<&'static [u8]>) -> impl Stream<Item = Result<Bytes, io::Error>> + Unpin {
        futures::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    #[tokio::test]
    async fn writing_to_a_full_device_reports_disk_full() {
        // /dev/full answers every write with ENOSPC: a real kernel error, not a mock.
        let Ok(full) = tokio::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
        else {
            eprintln!("no /dev/full on this system; skipping");
            return;
        };
        let err = copy_body(
            body(vec![&[7u8; 4096]]),
            full,
            BodyLimit::Declared(4096),
            None,
        )
        .await
        .unwrap_err();
        let CopyError::Write(err) = err else {
            panic!("expected a write error, got {err:?}");
        };
        assert!(crate::rejection::is_disk_full(&err), "{err:?}");
    }

    #[tokio::test]
    async fn copying_stops_at_the_first_byte_over_the_limit() {
        let mut sink = Vec::new();
        let err = copy_body(
            body(vec![b"abc", b"de"]),
            &mut sink,
            BodyLimit::Declared(4),
            None,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CopyError::OverLimit(BodyLimit::Declared(4))));
    }

    #[tokio::test]
    async fn copying_hashes_what_it_writes() {
        let mut sink = Vec::new();
        let mut hasher = Sha256::new();
        let len = copy_body(
            body(vec![b"abc", b"de"]),
            &mut sink,
            BodyLimit::Declared(5),
            Some(&mut hasher),
        )
        .await
        .unwrap();
        assert_eq!(len, 5);
        assert_eq!(sink, b"abcde");
        assert_eq!(
            hasher.finalize().as_slice(),
            Sha256::digest(b"abcde").as_slice()
        );
    }
}
