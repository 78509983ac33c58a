//! Everything the receiver keeps on disk: one partial data file per upload that chunks
//! are written into at their offsets, a log of the chunks fully written, the per-upload
//! plan and done records, and the completion (fsync, rename; no second copy). Layout,
//! under the storage folder `DIR`:
//!
//! ```text
//! DIR/<relative path>              finished files
//! DIR/.resumable/<key>/plan.json   what the identifier is bound to (UploadSpec)
//! DIR/.resumable/<key>/data        the file being received, created at its full size;
//!                                  chunk n lives at offset (n-1)·chunkSize
//! DIR/.resumable/<key>/received    append-only log, one chunk number per line, written
//!                                  after that chunk's bytes: only these chunks count
//! DIR/.resumable/<key>/*.part-*    a chunk or record being staged (never counted)
//! DIR/.resumable/<key>/done.json   the finished file's record (data renamed into place)
//! DIR/.resumable/.staging/         multipart file parts whose parameters came after them
//! DIR/.resumable/.trash-*          expired uploads being deleted
//! ```
//! `<key>` is a hash of the identifier, so any identifier maps to a safe folder name.
//! A folder left by an older receiver, with one file `<n>` per chunk, is converted to this
//! layout when loaded.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use crate::plan::ChunkPlan;
use crate::rejection::Rejection;
use crate::relpath::{RelativePath, STATE_DIR_NAME};
use crate::uploads::{UploadSpec, WriteClaim};

const PLAN_FILE: &str = "plan.json";
const DONE_FILE: &str = "done.json";
const DATA_FILE: &str = "data";
/// Written by receivers that assembled chunk files into a copy; deleted if found.
const LEGACY_ASSEMBLY_FILE: &str = "assembling";
const RECEIVED_LOG: &str = "received";
const STAGING_DIR: &str = ".staging";
const TRASH_PREFIX: &str = ".trash-";
/// Buffer for streaming bodies to disk and for hashing: large enough that a 1 GiB file
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

/// A staging file, deleted when dropped (or at once with [`TempFile::remove`]). Handler
/// futures are dropped when a client disconnects mid-body, so this is what guarantees no
/// half-written staged chunk survives.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: Option<PathBuf>,
}

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
    Placed(Arc<WriteClaim>),
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
    /// (or is not ours); it is deleted rather than guessed at. Chunks count only when the
    /// `received` log lists them and the data file is whole; chunk files left by an older
    /// receiver (`<n>`) are copied into the data file first.
    fn load_upload(&self, dir: &Path) -> io::Result<Option<LoadedUpload>> {
        let spec: Option<UploadSpec> = read_json(&dir.join(PLAN_FILE))?;
        let Some(spec) = spec.filter(|spec| self.upload_dir(&spec.identifier) == dir) else {
            tracing::warn!(dir = %dir.display(), "deleting an upload folder without a valid plan");
            fs::remove_dir_all(dir)?;
            return Ok(None);
        };
        let plan = &spec.plan;
        let done: Option<DoneRecord> = read_json(&dir.join(DONE_FILE))?;
        let mut last_activity = fs::metadata(dir)?.modified()?;
        let mut legacy = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let meta = entry.metadata()?;
            if let Ok(modified) = meta.modified() {
                last_activity = last_activity.max(modified);
            }
            if name.contains(".part-") || name == LEGACY_ASSEMBLY_FILE {
                fs::remove_file(entry.path())?;
            } else if let Ok(number) = name.parse::<u64>() {
                legacy.push((number, entry.path(), meta.len()));
            }
        }
        if done.is_some() {
            for (_, path, _) in legacy {
                fs::remove_file(path)?;
            }
            remove_if_present(&dir.join(DATA_FILE))?;
            remove_if_present(&dir.join(RECEIVED_LOG))?;
            return Ok(Some(LoadedUpload {
                spec,
                received: Vec::new(),
                done,
                last_activity,
            }));
        }
        let data_path = dir.join(DATA_FILE);
        let data_whole = fs::metadata(&data_path)
            .map(|meta| meta.is_file() && meta.len() == plan.total_size)
            .unwrap_or(false);
        let mut received = if data_whole {
            read_received_log(dir, plan)?
        } else {
            remove_if_present(&dir.join(RECEIVED_LOG))?;
            create_data_file(dir, plan.total_size)?;
            BTreeSet::new()
        };
        if !legacy.is_empty() {
            // Copy first, make the copies durable, then log them, then delete the chunk
            // files: a crash at any point leaves either the chunk file or a logged chunk.
            let data = open_data(dir)?;
            let mut copied = Vec::new();
            for (number, path, len) in &legacy {
                // A chunk of the wrong size (torn by a crash) is dropped: the client re-sends it.
                if !received.contains(number) && plan.chunk_len(*number).ok() == Some(*len) {
                    copy_file_at(path, &data, chunk_offset(plan, *number), None)?;
                    copied.push(*number);
                }
            }
            data.sync_all()?;
            for number in copied {
                log_received(dir, number)?;
                received.insert(number);
            }
            for (_, path, _) in legacy {
                fs::remove_file(path)?;
            }
        }
        Ok(Some(LoadedUpload {
            spec,
            received: received.into_iter().collect(),
            done,
            last_activity,
        }))
    }

    /// Creates an upload's folder, its data file at full size (sparse) and its plan
    /// record, in that order: a folder with a plan always has its data file. Blocking.
    pub fn create_upload_dir(&self, dir: &Path, spec: &UploadSpec) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        remove_if_present(&dir.join(RECEIVED_LOG))?;
        create_data_file(dir, spec.plan.total_size)?;
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

    /// Records a finished upload and deletes its chunk log (its data file was renamed
    /// into place). Blocking.
    pub fn finish_upload(&self, dir: &Path, record: &DoneRecord) -> io::Result<()> {
        write_json_atomically(&dir.join(DONE_FILE), record)?;
        remove_if_present(&dir.join(RECEIVED_LOG))
    }
}

/// Where chunk `number` starts in the file.
pub(crate) fn chunk_offset(plan: &ChunkPlan, number: u64) -> u64 {
    (number - 1) * plan.chunk_size
}

/// Opens the upload's data file for positioned reads and writes. Blocking.
pub(crate) fn open_data(dir: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(DATA_FILE))
}

fn create_data_file(dir: &Path, size: u64) -> io::Result<()> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(DATA_FILE))?;
    file.set_len(size)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// One line of the `received` log. The word makes a line torn by a crash and followed by
/// a later append ("chunk 1chunk 2\n") unreadable rather than a different number.
fn log_line(number: u64) -> String {
    format!("chunk {number}\n")
}

/// Appends chunk `number` to the upload's `received` log; call it only once the chunk's
/// bytes are fully in the data file. Blocking.
pub(crate) fn log_received(dir: &Path, number: u64) -> io::Result<()> {
    let mut log = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join(RECEIVED_LOG))?;
    log.write_all(log_line(number).as_bytes())
}

/// Reads the `received` log: every whole line naming a chunk of the plan. A torn last
/// line is cut off, so the next append starts on a line of its own. Blocking.
fn read_received_log(dir: &Path, plan: &ChunkPlan) -> io::Result<BTreeSet<u64>> {
    let path = dir.join(RECEIVED_LOG);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(err) => return Err(err),
    };
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        fs::OpenOptions::new()
            .write(true)
            .open(&path)?
            .set_len(whole as u64)?;
    }
    let text = String::from_utf8_lossy(&bytes[..whole]);
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("chunk ")?.parse::<u64>().ok())
        .filter(|number| plan.chunk_len(*number).is_ok())
        .collect())
}

/// Copies the file at `source` into `data` at `offset`; with a claim, every write is made
/// under it, and the copy stops (`Ok(false)`) if the claim was revoked. Blocking.
pub(crate) fn copy_file_at(
    source: &Path,
    data: &File,
    offset: u64,
    claim: Option<&WriteClaim>,
) -> io::Result<bool> {
    let mut input = File::open(source)?;
    let mut buffer = vec![0u8; IO_BUFFER];
    let mut at = offset;
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            return Ok(true);
        }
        let written = match claim {
            Some(claim) => claim.write_at(data, &buffer[..n], at)?,
            None => {
                data.write_all_at(&buffer[..n], at)?;
                true
            }
        };
        if !written {
            return Ok(false);
        }
        at += n as u64;
    }
}

/// Feeds `len` bytes of `data` from `offset` into `hasher` (usually from the page cache:
/// the bytes were just written). Blocking.
pub(crate) fn hash_range(
    data: &File,
    offset: u64,
    len: u64,
    hasher: &mut Sha256,
    buffer: &mut Vec<u8>,
) -> io::Result<()> {
    buffer.resize(IO_BUFFER, 0);
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(IO_BUFFER as u64) as usize;
        data.read_exact_at(&mut buffer[..want], offset + done)?;
        hasher.update(&buffer[..want]);
        done += want as u64;
    }
    Ok(())
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

    /// Deletes the file now rather than in the background. Blocking.
    pub fn remove(mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
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
    claim: Arc<WriteClaim>,
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
    claim: &Arc<WriteClaim>,
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

/// Moves a complete upload's data file to `path` under the storage folder: check its
/// size, fsync it, rename it (atomically replacing any file there), fsync the folder, so
/// the file appears whole or not at all, and is never copied. Returns its size. Blocking.
pub(crate) fn complete(
    storage: &Storage,
    dir: &Path,
    plan: &ChunkPlan,
    path: &RelativePath,
) -> Result<u64, Rejection> {
    let what = format!("completing '{}'", path.as_str());
    let io_err = |err: io::Error| Rejection::from_io(&what, &err);

    let target = prepare_target(storage.root(), path)?;
    let source = dir.join(DATA_FILE);
    let file = File::open(&source).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    if size != plan.total_size {
        return Err(Rejection::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "chunks_changed",
            format!(
                "{what}: the data file holds {size} bytes, not the planned {}; \
                 was it changed on disk?",
                plan.total_size
            ),
        ));
    }
    file.sync_all().map_err(io_err)?;
    drop(file);
    fs::rename(&source, &target).map_err(|err| {
        Rejection::from_io(format_args!("moving '{}' into place", path.as_str()), &err)
    })?;
    sync_parent(&target).map_err(io_err)?;
    Ok(size)
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
    // Answers name folders inside the storage folder only: where it is on disk is the
    // server's business, not the client's.
    let mut inside: Vec<&str> = Vec::new();
    for folder in folders {
        current.push(folder);
        inside.push(folder);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(conflict(format!(
                    "'{}' is a symbolic link",
                    inside.join("/")
                )))
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(conflict(format!(
                    "'{}' is a file, not a folder",
                    inside.join("/")
                )))
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => match fs::create_dir(&current) {
                Ok(()) => {}
                // Another upload into the same new folder may have just created it.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => {
                    return Err(Rejection::from_io(
                        format_args!("creating folder '{}'", inside.join("/")),
                        &err,
                    ))
                }
            },
            Err(err) => {
                return Err(Rejection::from_io(
                    format_args!("checking folder '{}'", inside.join("/")),
                    &err,
                ))
            }
        }
    }
    current.push(file_name);
    if let Ok(meta) = fs::symlink_metadata(&current) {
        if meta.is_dir() {
            return Err(conflict(format!("'{}' is a folder", path.as_str())));
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
