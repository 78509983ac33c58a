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
//!
//! One module per thing on disk: the per-upload records (`records`), the data file
//! (`data_file`), the chunk log (`chunk_log`), staging files (`temp`), chunk bodies
//! being received (`receive`), loading at start-up (`load`) and completion
//! (`complete`). Nothing here knows the in-memory uploads: a claim on a chunk's range is
//! the [`RangeClaim`] trait, which `uploads.rs` implements.

mod chunk_log;
mod claim;
mod complete;
mod data_file;
mod load;
mod receive;
mod records;
mod temp;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::relpath::STATE_DIR_NAME;

pub(crate) use chunk_log::log_received;
pub(crate) use claim::RangeClaim;
pub(crate) use complete::complete;
pub(crate) use data_file::{chunk_offset, copy_file_at, hash_range, open_data};
pub(crate) use load::LoadedUpload;
pub(crate) use receive::{receive_at, receive_body, BodyLimit, ChunkBytes, StagedChunk};
pub(crate) use records::{DoneRecord, UploadSpec};
pub(crate) use temp::unique_name;

use data_file::create_data_file;
use records::write_json_atomically;

const PLAN_FILE: &str = "plan.json";
const DONE_FILE: &str = "done.json";
const DATA_FILE: &str = "data";
const RECEIVED_LOG: &str = "received";
const STAGING_DIR: &str = ".staging";
const TRASH_PREFIX: &str = ".trash-";
/// Buffer for streaming bodies to disk and for hashing: large enough that a 1 GiB file
/// costs about a thousand system calls, small enough to hold one per request.
const IO_BUFFER: usize = 1024 * 1024;

/// The storage folder and the receiver's state folder inside it.
#[derive(Debug)]
pub(crate) struct Storage {
    root: PathBuf,
    state: PathBuf,
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

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
