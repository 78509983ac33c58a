//! Everything the receiver keeps on disk: chunk files written atomically, the per-upload
//! plan and done records, and the single-pass assembly (read chunks, hash, write, fsync,
//! rename). Layout, under the storage folder `DIR`:
//!
//! ```text
//! DIR/<relative path>              finished files
//! DIR/.resumable/<key>/plan.json   what the identifier is bound to (UploadSpec)
//! DIR/.resumable/<key>/<n>         chunk n, complete and of the planned size
//! DIR/.resumable/<key>/*.part-*    a chunk or record being written (never counted)
//! DIR/.resumable/<key>/done.json   the finished file's record (chunks then deleted)
//! DIR/.resumable/.staging/         multipart file parts whose parameters came after them
//! DIR/.resumable/.trash-*          expired uploads being deleted
//! ```
//! `<key>` is a hash of the identifier, so any identifier maps to a safe folder name.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use crate::plan::ChunkPlan;
use crate::rejection::Rejection;
use crate::relpath::{RelativePath, STATE_DIR_NAME};
use crate::uploads::UploadSpec;

const PLAN_FILE: &str = "plan.json";
const DONE_FILE: &str = "done.json";
const ASSEMBLY_FILE: &str = "assembling";
const STAGING_DIR: &str = ".staging";
const TRASH_PREFIX: &str = ".trash-";
/// Buffer for streaming bodies to disk and for assembly: large enough that a 1 GiB file
/// costs about a thousand system calls, small enough to hold one per request.
const IO_BUFFER: usize = 1024 * 1024;

/// What a finished upload is remembered by, answered in the `done` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DoneRecord {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// An upload found on disk at start-up.
#[derive(Debug)]
pub(crate) struct LoadedUpload {
    pub spec: UploadSpec,
    pub received: Vec<u64>,
    pub done: Option<DoneRecord>,
    pub last_activity: SystemTime,
}

/// The storage folder and the receiver's state folder inside it.
#[derive(Debug)]
pub(crate) struct Storage {
    root: PathBuf,
    state: PathBuf,
}

/// A file that is deleted when dropped unless it was moved into place with
/// [`TempFile::persist`]. Handler futures are dropped when a client disconnects
/// mid-body, so this is what guarantees no half-written chunk survives.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: Option<PathBuf>,
}

/// A chunk body fully written to a temporary file, with its length and, when asked for,
/// its SHA-256.
#[derive(Debug)]
pub(crate) struct StagedChunk {
    pub file: TempFile,
    pub len: u64,
    pub sha256: Option<[u8; 32]>,
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

impl Storage {
    pub fn new(root: PathBuf) -> Self {
        let state = root.join(STATE_DIR_NAME);
        Storage { root, state }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// The upload's private folder: a hash of the identifier, never the identifier itself.
    pub fn upload_dir(&self, identifier: &str) -> PathBuf {
        let digest = Sha256::digest(identifier.as_bytes());
        self.state.join(hex::encode(&digest[..16]))
    }

    /// A fresh name for a multipart file part whose parameters are not known yet.
    pub fn staging_path(&self) -> PathBuf {
        unique_name(&self.state.join(STAGING_DIR), "part")
    }

    /// Creates the state folders and clears what a previous run left half-done, then
    /// reads back every upload it finds. Blocking.
    pub fn open(&self) -> io::Result<Vec<LoadedUpload>> {
        fs::create_dir_all(&self.state)?;
        let staging = self.state.join(STAGING_DIR);
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        fs::create_dir_all(&staging)?;
        let mut loaded = Vec::new();
        for entry in fs::read_dir(&self.state)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TRASH_PREFIX) {
                fs::remove_dir_all(entry.path())?;
            } else if !name.starts_with('.') && entry.file_type()?.is_dir() {
                if let Some(upload) = self.load_upload(&entry.path())? {
                    loaded.push(upload);
                }
            }
        }
        Ok(loaded)
    }

    /// Reads one upload folder. A folder without a readable plan was never fully created
    /// (or is not ours); it is deleted rather than guessed at.
    fn load_upload(&self, dir: &Path) -> io::Result<Option<LoadedUpload>> {
        let spec: Option<UploadSpec> = read_json(&dir.join(PLAN_FILE))?;
        let Some(spec) = spec.filter(|spec| self.upload_dir(&spec.identifier) == dir) else {
            tracing::warn!(dir = %dir.display(), "deleting an upload folder without a valid plan");
            fs::remove_dir_all(dir)?;
            return Ok(None);
        };
        let done: Option<DoneRecord> = read_json(&dir.join(DONE_FILE))?;
        let mut last_activity = fs::metadata(dir)?.modified()?;
        let mut received = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let meta = entry.metadata()?;
            if let Ok(modified) = meta.modified() {
                last_activity = last_activity.max(modified);
            }
            if name.contains(".part-") || name == ASSEMBLY_FILE {
                fs::remove_file(entry.path())?;
                continue;
            }
            let Ok(number) = name.parse::<u64>() else {
                continue;
            };
            // A chunk of the wrong size (torn by a crash) is dropped: the client re-sends it.
            if done.is_none() && spec.plan.chunk_len(number).ok() == Some(meta.len()) {
                received.push(number);
            } else {
                fs::remove_file(entry.path())?;
            }
        }
        received.sort_unstable();
        Ok(Some(LoadedUpload {
            spec,
            received,
            done,
            last_activity,
        }))
    }

    /// Creates an upload's folder and its plan record. Blocking.
    pub fn create_upload_dir(&self, dir: &Path, spec: &UploadSpec) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        write_json_atomically(&dir.join(PLAN_FILE), spec)
    }

    /// Moves an upload folder out of the way in one rename, so the identifier can start
    /// afresh at once; the returned folder is deleted later, off the request path.
    pub fn move_to_trash(&self, dir: &Path) -> io::Result<PathBuf> {
        let trash = unique_name(&self.state, TRASH_PREFIX);
        match fs::rename(dir, &trash) {
            Ok(()) => Ok(trash),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(trash),
            Err(err) => Err(err),
        }
    }

    /// Records a finished upload and deletes its chunks. Blocking.
    pub fn finish_upload(
        &self,
        dir: &Path,
        total_chunks: u64,
        record: &DoneRecord,
    ) -> io::Result<()> {
        write_json_atomically(&dir.join(DONE_FILE), record)?;
        for number in 1..=total_chunks {
            match fs::remove_file(chunk_path(dir, number)) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Where chunk `number` of the upload in `dir` lives once complete.
pub(crate) fn chunk_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(number.to_string())
}

/// A temporary name in `dir` that no other request or process uses.
pub(crate) fn unique_name(dir: &Path, stem: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{stem}.part-{}-{n}", std::process::id()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = unique_name(dir, "record");
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        TempFile { path: Some(path) }
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the file to `dest` and keeps watching it there.
    pub async fn move_to(&mut self, dest: PathBuf) -> io::Result<()> {
        if let Some(path) = &self.path {
            tokio::fs::rename(path, &dest).await?;
            self.path = Some(dest);
        }
        Ok(())
    }

    /// Renames the file to `dest` (atomically replacing any file there) and stops
    /// watching it. On failure the file stays owned, so it is still cleaned up. Blocking.
    pub fn persist(&mut self, dest: &Path) -> io::Result<()> {
        if let Some(path) = &self.path {
            fs::rename(path, dest)?;
            self.path = None;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Unlinking a large file can take a while: keep it off the async workers.
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(move || {
                        let _ = fs::remove_file(path);
                    });
                }
                Err(_) => {
                    let _ = fs::remove_file(path);
                }
            }
        }
    }
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
            CopyError::Write(err) => Rejection::from_io(
                format_args!("writing {what} to {}", temp.path().display()),
                &err,
            ),
        })?;
    Ok(StagedChunk {
        file: temp,
        len,
        sha256: hasher.map(|h| h.finalize().into()),
    })
}

/// The assembled file: its size and SHA-256.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Assembled {
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Builds the finished file from the chunks in `dir` and moves it to `path` under the
/// storage folder: one pass that reads, hashes and writes, then fsync and rename, so
/// the file appears whole or not at all. A one-chunk file is renamed as is, hashed while
/// it was received (`single_chunk_sha256`) when the caller has that. Blocking.
pub(crate) fn assemble(
    storage: &Storage,
    dir: &Path,
    plan: &ChunkPlan,
    path: &RelativePath,
    single_chunk_sha256: Option<[u8; 32]>,
) -> Result<Assembled, Rejection> {
    let what = format!("assembling '{}'", path.as_str());
    let io_err = |err: io::Error| Rejection::from_io(&what, &err);

    let target = prepare_target(storage.root(), path)?;
    let (source, assembled) = if plan.total_chunks == 1 {
        let source = chunk_path(dir, 1);
        let mut file = File::open(&source).map_err(io_err)?;
        let sha256 = match single_chunk_sha256 {
            Some(sha256) => sha256,
            None => hash_reader(&mut file).map_err(io_err)?,
        };
        let size = file.metadata().map_err(io_err)?.len();
        file.sync_all().map_err(io_err)?;
        (source, Assembled { size, sha256 })
    } else {
        let source = dir.join(ASSEMBLY_FILE);
        let assembled = concatenate(dir, plan, &source).map_err(|err| {
            let _ = fs::remove_file(&source);
            io_err(err)
        })?;
        (source, assembled)
    };
    if assembled.size != plan.total_size {
        return Err(Rejection::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "chunks_changed",
            format!(
                "{what}: the chunks hold {} bytes, not the planned {}; were they changed on disk?",
                assembled.size, plan.total_size
            ),
        ));
    }
    fs::rename(&source, &target).map_err(|err| {
        Rejection::from_io(format_args!("moving '{}' into place", path.as_str()), &err)
    })?;
    sync_parent(&target).map_err(io_err)?;
    Ok(assembled)
}

fn hash_reader(reader: &mut impl Read) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; IO_BUFFER];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buffer[..n]);
    }
}

/// Chunks 1..=N into `dest`, hashing as it goes; fsyncs `dest` before returning.
fn concatenate(dir: &Path, plan: &ChunkPlan, dest: &Path) -> io::Result<Assembled> {
    let mut out = File::create(dest)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; IO_BUFFER];
    let mut size = 0u64;
    for number in 1..=plan.total_chunks {
        let mut chunk = File::open(chunk_path(dir, number))?;
        loop {
            let n = chunk.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])?;
            size += n as u64;
        }
    }
    out.sync_all()?;
    Ok(Assembled {
        size,
        sha256: hasher.finalize().into(),
    })
}

/// Creates the folders leading to `path` under `root` and returns the full target path.
/// Refuses (409) to pass through a symlink or a file, or to replace a folder: a path
/// inside the storage folder must stay inside it on disk too.
fn prepare_target(root: &Path, path: &RelativePath) -> Result<PathBuf, Rejection> {
    let conflict = |why: String| {
        Rejection::new(
            axum::http::StatusCode::CONFLICT,
            "path_conflict",
            format!("cannot store '{}': {why}", path.as_str()),
        )
    };
    let parts: Vec<&str> = path.parts().collect();
    let (file_name, folders) = parts
        .split_last()
        .ok_or_else(|| conflict("empty path".into()))?;
    let mut current = root.to_path_buf();
    for folder in folders {
        current.push(folder);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(conflict(format!(
                    "'{}' is a symbolic link",
                    current.display()
                )))
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(conflict(format!(
                    "'{}' is a file, not a folder",
                    current.display()
                )))
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => match fs::create_dir(&current) {
                Ok(()) => {}
                // Another upload into the same new folder may have just created it.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => {
                    return Err(Rejection::from_io(
                        format_args!("creating folder {}", current.display()),
                        &err,
                    ))
                }
            },
            Err(err) => {
                return Err(Rejection::from_io(
                    format_args!("checking folder {}", current.display()),
                    &err,
                ))
            }
        }
    }
    current.push(file_name);
    if let Ok(meta) = fs::symlink_metadata(&current) {
        if meta.is_dir() {
            return Err(conflict(format!("'{}' is a folder", current.display())));
        }
    }
    Ok(current)
}

/// Makes the rename itself durable (the new directory entry), where the OS allows it.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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

    #[tokio::test]
    async fn a_dropped_temp_file_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part-1");
        fs::write(&path, b"half").unwrap();
        drop(TempFile::new(path.clone()));
        for _ in 0..100 {
            if !path.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{} still exists", path.display());
    }

    #[test]
    fn a_target_through_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
            let path = RelativePath::parse("p", "link/x.txt").unwrap();
            let err = prepare_target(dir.path(), &path).unwrap_err();
            assert_eq!(err.code, "path_conflict");
        }
    }
}
