//! Where files go. Each target lives in its own module behind the one `Target` trait, so the
//! scheduler and the conformance suite treat every server the same way (like rclone's `fs.Fs`).

pub mod browser;
pub mod capabilities;
pub mod cozy;
pub mod error;
pub mod http;
pub mod network;
pub mod registry;
pub mod resumable;
pub mod twake;

pub use capabilities::Capabilities;
pub use error::TargetError;
pub use registry::{build_target, TargetContext, TargetKind};

use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::protocol::{ChunkPlan, Dialect, TestAnswer};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Everything a target needs to know about one file being uploaded. Immutable: when the
/// scheduler learns something new (a plan, a remote id) it builds a new one.
#[derive(Clone, Debug)]
pub struct UploadFile {
    pub path: PathBuf,
    /// Path sent to the server, `/`-separated.
    pub relative_path: String,
    /// Last component of `relative_path`.
    pub filename: String,
    pub mime_type: String,
    pub identifier: String,
    pub plan: ChunkPlan,
    /// Modification time when queued: a chunk read from a file with another mtime is refused.
    pub mtime: SystemTime,
    /// sha256 of the first and last chunk (at most 1 MiB each) when queued, so a file whose
    /// content changed but whose size and mtime were kept is still recognised.
    pub quick_hash: String,
    /// An id the server gave the file (Twake Drive's file id), when the target uses one.
    pub remote_id: Option<String>,
}

impl UploadFile {
    /// Whether a file of this size, mtime and quick hash is this one unchanged (the test for
    /// "the same file queued again").
    pub fn is_unchanged(&self, size: u64, mtime: SystemTime, quick_hash: &str) -> bool {
        self.plan.size == size && self.mtime == mtime && self.quick_hash == quick_hash
    }
}

/// What a target says after it stored a chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkReceipt {
    /// Set when this answer created the file on the server and gave it an id.
    pub remote_id: Option<String>,
    /// The server's answer, kept for the chunk map's "last server answer".
    pub answer: String,
}

/// A destination for uploads.
#[async_trait]
pub trait Target: Send + Sync + 'static {
    /// A short human label ("http://127.0.0.1:8080/upload").
    fn label(&self) -> String;

    /// What this server can do; the scheduler decides from this alone.
    fn capabilities(&self) -> Capabilities;

    /// The signed-in account this target uploads as, if it needs one: its uploads stopped by
    /// a sign-out start again when that account signs in again.
    fn account(&self) -> Option<String> {
        None
    }

    /// Called once for a batch of files about to be queued (their server paths), before any
    /// is: a target that can (`hide_new_folders`) keeps the batch's new top folders out of
    /// sight until their last file is in. Files never announced still upload.
    async fn prepare(&self, _relative_paths: &[String]) -> Result<(), ChunkError> {
        Ok(())
    }

    /// Folders kept out of sight until their files are in, with how many files each still
    /// waits for (see `prepare`).
    async fn waiting_folders(&self) -> Vec<(String, usize)> {
        Vec::new()
    }

    /// All chunks the server already stored, in one request, when the server offers that;
    /// `Ok(None)` when it does not (then chunks are tested one by one).
    async fn stored_chunks(&self, _file: &UploadFile) -> Result<Option<Vec<u32>>, ChunkError> {
        Ok(None)
    }

    /// Creates the server file before any of its chunks (`creates_file_first`) and returns
    /// its id; checks that would refuse the file before a byte is sent belong here.
    async fn create_file(&self, file: &UploadFile) -> Result<String, ChunkError> {
        Err(ChunkError::Permanent {
            url: self.label(),
            status: 0,
            message: format!(
                "{} cannot create {} before its chunks",
                self.label(),
                file.path.display()
            ),
            kind: crate::events::FailureKind::Refused,
        })
    }

    /// Asks whether the server has chunk `number`.
    async fn test_chunk(&self, file: &UploadFile, number: u32) -> Result<TestAnswer, ChunkError>;

    /// Sends chunk `number`; `body` streams its bytes from disk.
    async fn send_chunk(
        &self,
        file: &UploadFile,
        number: u32,
        body: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError>;

    /// Called once after every chunk was acknowledged.
    async fn finish(&self, _file: &UploadFile) -> Result<(), ChunkError> {
        Ok(())
    }

    /// Whether the server answers at all (any HTTP answer counts). Used while the queue is
    /// offline to notice the network is back.
    async fn reachable(&self) -> Result<(), ChunkError> {
        Ok(())
    }

    /// Moves or renames a file uploaded earlier from relative path `from` to `to` on the
    /// server, without sending its bytes again (folder sync: a file renamed or moved inside
    /// a watched folder). `Ok(false)` when the target cannot, or no longer has the file: the
    /// caller then uploads it under the new path.
    async fn move_file(&self, _from: &str, _to: &str) -> Result<bool, ChunkError> {
        Ok(false)
    }

    /// A public read link to `file`, uploaded and finished: anyone with the link can open
    /// it without signing in. Only targets with `share_links` make one.
    async fn share_link(&self, _file: &UploadFile) -> Result<String, ChunkError> {
        Err(ChunkError::Permanent {
            url: self.label(),
            status: 400,
            message: format!("{} cannot make share links", self.label()),
            kind: crate::events::FailureKind::Refused,
        })
    }

    /// Called when the user cancels the upload, to free what the server holds.
    async fn cancel(&self, _file: &UploadFile) -> Result<(), ChunkError> {
        Ok(())
    }
}

/// A target described as data, so queues can be saved and targets rebuilt after a restart.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSpec {
    /// Any Resumable.js / Flow.js endpoint.
    Resumable { url: String, dialect: Dialect },
    /// A folder of a signed-in Twake Drive account.
    Twake {
        /// The account name, `email@server-host` (see `twake::Account::name_for`).
        account: String,
        /// Drive path like "/Projects/2026"; "" for the root of My Drive.
        folder: String,
        collision: twake::CollisionPolicy,
    },
    /// A folder of a signed-in Twake Drive on cozy-stack (Twake Workplace).
    Cozy {
        /// The account name, `user@instance-host` (see `Account::name_for`).
        account: String,
        /// Folder path like "/Uploads/2026"; "" for the root.
        folder: String,
        collision: twake::CollisionPolicy,
    },
}

impl TargetSpec {
    /// The kind of server this describes, as registered in `registry`.
    pub fn kind(&self) -> &'static TargetKind {
        match self {
            TargetSpec::Resumable { .. } => &resumable::KIND,
            TargetSpec::Twake { .. } => &twake::KIND,
            TargetSpec::Cozy { .. } => &cozy::KIND,
        }
    }

    /// What a target of this kind can do, known before one is built.
    pub fn capabilities(&self) -> Capabilities {
        self.kind().capabilities
    }

    /// The chunk size a front end should use for this target unless the user picks one.
    pub fn default_chunk_size(&self) -> u64 {
        self.capabilities().preferred_chunk_size
    }
}

/// Shared HTTP settings for the targets an engine builds.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    pub stall_timeout: Duration,
    /// Trusted authorities and proxy (`network.rs`).
    pub network: network::NetworkSettings,
}
