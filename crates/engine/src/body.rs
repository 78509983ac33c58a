//! A chunk's bytes, streamed from disk in small pieces so memory never grows with the chunk
//! or the file. The stream refuses to deliver the last piece if the file changed under it,
//! so the server never receives a chunk that mixes old and new bytes.

use crate::error::ChunkError;
use crate::throttle::Throttle;
use bytes::Bytes;
use futures::Stream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Bytes read per step: large enough that a GiB costs few trips to a blocking thread (256 KiB
/// pieces cost twice the CPU), small enough that the requests in flight stay within the
/// pace's memory budget (`pace::held_per_request`).
pub(crate) const PIECE: usize = 1024 * 1024;

/// The bytes of one chunk of one file, not yet read.
#[derive(Debug)]
pub struct ChunkBody {
    path: PathBuf,
    offset: u64,
    len: u64,
    expect_size: u64,
    expect_mtime: SystemTime,
    /// Bytes handed to the HTTP client so far: for stall detection and the "in flight" fill.
    sent: Arc<AtomicU64>,
    /// The global bandwidth limit, when one is set.
    throttle: Option<Arc<Throttle>>,
    /// Why the stream stopped early, so the target can report the file problem rather than
    /// the transport's "body error".
    failure: Arc<Mutex<Option<ChunkError>>>,
}

/// Read-only view of a body's progress, kept by the sender after the body is consumed.
#[derive(Clone, Debug)]
pub struct BodyProgress {
    sent: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<ChunkError>>>,
}

impl BodyProgress {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    /// The file problem that stopped the stream, if any.
    pub fn failure(&self) -> Option<ChunkError> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

impl ChunkBody {
    pub fn new(
        path: PathBuf,
        offset: u64,
        len: u64,
        expect_size: u64,
        expect_mtime: SystemTime,
    ) -> ChunkBody {
        ChunkBody {
            path,
            offset,
            len,
            expect_size,
            expect_mtime,
            sent: Arc::new(AtomicU64::new(0)),
            throttle: None,
            failure: Arc::new(Mutex::new(None)),
        }
    }

    /// Paces the body's pieces through the global bandwidth limit.
    pub fn throttled(mut self, throttle: Arc<Throttle>) -> ChunkBody {
        self.throttle = Some(throttle);
        self
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn progress(&self) -> BodyProgress {
        BodyProgress {
            sent: self.sent.clone(),
            failure: self.failure.clone(),
        }
    }

    /// What a check of the file still being the one queued needs, for a blocking thread.
    fn expected(&self) -> Expected {
        Expected {
            path: self.path.clone(),
            size: self.expect_size,
            mtime: self.expect_mtime,
        }
    }

    /// Reads the whole chunk into memory. Only for small chunks and tests.
    pub async fn read_all(self) -> Result<Vec<u8>, ChunkError> {
        use futures::TryStreamExt;
        let mut out = Vec::with_capacity(self.len as usize);
        let mut s = Box::pin(self.into_stream());
        while let Some(piece) = s.try_next().await? {
            out.extend_from_slice(&piece);
        }
        Ok(out)
    }

    /// The chunk as a stream of pieces.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, ChunkError>> + Send + 'static {
        struct State {
            body: ChunkBody,
            file: Option<std::fs::File>,
            left: u64,
            done: bool,
        }
        let left = self.len;
        let state = State {
            body: self,
            file: None,
            left,
            done: false,
        };
        futures::stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            let result = next_piece(&mut st.body, &mut st.file, &mut st.left).await;
            match result {
                Ok(Some(bytes)) => Some((Ok(bytes), st)),
                Ok(None) => None,
                Err(e) => {
                    st.done = true;
                    if let Ok(mut f) = st.body.failure.lock() {
                        *f = Some(e.clone());
                    }
                    Some((Err(e), st))
                }
            }
        })
    }
}

/// The file as queued: checked (one stat of its path, so a move or a delete shows too) before
/// the first and after the last read of each chunk.
struct Expected {
    path: PathBuf,
    size: u64,
    mtime: SystemTime,
}

impl Expected {
    fn read_err(&self, e: std::io::Error) -> ChunkError {
        ChunkError::Read {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// Checks the file, opens it and puts its cursor at `at` (where the chunk starts).
    fn open_at(&self, at: u64) -> Result<std::fs::File, ChunkError> {
        use std::io::Seek;
        self.check()?;
        let mut f = std::fs::File::open(&self.path).map_err(|e| self.read_err(e))?;
        f.seek(std::io::SeekFrom::Start(at))
            .map_err(|e| self.read_err(e))?;
        Ok(f)
    }

    fn check(&self) -> Result<(), ChunkError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ChunkError::FileChanged {
                path: self.path.clone(),
                what: "it was deleted or moved".into(),
            },
            _ => self.read_err(e),
        })?;
        if meta.len() != self.size {
            return Err(ChunkError::FileChanged {
                path: self.path.clone(),
                what: format!("size is now {} bytes, was {}", meta.len(), self.size),
            });
        }
        if meta.modified().ok() != Some(self.mtime) {
            return Err(ChunkError::FileChanged {
                path: self.path.clone(),
                what: "it was modified".into(),
            });
        }
        Ok(())
    }
}

/// Runs blocking file work on tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    path: &std::path::Path,
    work: impl FnOnce() -> Result<T, ChunkError> + Send + 'static,
) -> Result<T, ChunkError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ChunkError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
}

/// The next piece of the chunk. Each piece is one trip to a blocking thread (the check, the
/// open and the first read together; the last read and the check after it together), read
/// straight into the piece's buffer: a chunk costs few thread hand-overs and no copy beyond
/// the kernel's, which is most of the CPU an upload spends.
async fn next_piece(
    body: &mut ChunkBody,
    file: &mut Option<std::fs::File>,
    left: &mut u64,
) -> Result<Option<Bytes>, ChunkError> {
    if *left == 0 {
        if file.is_none() {
            // An empty chunk still checks the file once, and that it can be opened.
            let (expected, at) = (body.expected(), body.offset);
            *file = Some(blocking(&body.path, move || expected.open_at(at)).await?);
        }
        return Ok(None);
    }
    // Under a low bandwidth limit, smaller pieces keep bytes moving often enough that the
    // stall detector never mistakes pacing for a dead connection.
    let piece = match body.throttle.as_ref().map(|t| t.rate()) {
        Some(rate) if rate > 0 => (rate / 8).clamp(4096, PIECE as u64),
        _ => PIECE as u64,
    };
    let want = (*left).min(piece) as usize;
    let at = body.offset + (body.len - *left);
    let last = *left == want as u64;
    let expected = body.expected();
    let open = file.take();
    let (f, buf) = blocking(&body.path, move || {
        use std::io::Read;
        let f = match open {
            Some(f) => f,
            None => expected.open_at(at)?,
        };
        // Read into spare capacity: the piece is never zeroed first (read_to_end fills
        // uninitialised room), and the file's own cursor follows the chunk piece by piece.
        let mut buf = Vec::with_capacity(want);
        (&f).take(want as u64)
            .read_to_end(&mut buf)
            .map_err(|e| expected.read_err(e))?;
        if buf.len() < want {
            return Err(ChunkError::FileChanged {
                path: expected.path.clone(),
                what: "it became shorter while being read".into(),
            });
        }
        // The last piece goes out only if the file did not change while we read it.
        if last {
            expected.check()?;
        }
        Ok((f, buf))
    })
    .await?;
    *file = Some(f);
    *left -= want as u64;
    if let Some(t) = &body.throttle {
        t.take(want as u64).await;
    }
    body.sent.fetch_add(want as u64, Ordering::Relaxed);
    Ok(Some(Bytes::from(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, SystemTime) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        let m = f.as_file().metadata().unwrap().modified().unwrap();
        (f, m)
    }

    #[tokio::test]
    async fn reads_exactly_the_chunk_range() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let (f, m) = file_with(&data);
        let body = ChunkBody::new(f.path().into(), 300_000, 600_000, data.len() as u64, m);
        let progress = body.progress();
        let got = body.read_all().await.unwrap();
        assert_eq!(got, &data[300_000..900_000]);
        assert_eq!(progress.sent(), 600_000);
    }

    #[tokio::test]
    async fn an_empty_chunk_yields_no_bytes() {
        let (f, m) = file_with(b"");
        let got = ChunkBody::new(f.path().into(), 0, 0, 0, m)
            .read_all()
            .await
            .unwrap();
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn a_file_of_another_size_is_refused_before_reading() {
        let (f, m) = file_with(b"hello world");
        let err = ChunkBody::new(f.path().into(), 0, 5, 99, m)
            .read_all()
            .await
            .unwrap_err();
        assert!(matches!(err, ChunkError::FileChanged { .. }), "{err:?}");
        assert!(err.to_string().contains("size is now 11 bytes"));
    }

    #[tokio::test]
    async fn a_deleted_file_is_reported_as_changed() {
        let (f, m) = file_with(b"hello");
        let path = f.path().to_path_buf();
        drop(f);
        let err = ChunkBody::new(path, 0, 5, 5, m)
            .read_all()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("deleted or moved"), "{err}");
    }
}
