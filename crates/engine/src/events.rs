//! The event stream the UI and the CLI observe (ARCHITECTURE.md, "The path of one event").
//! Every state change of a file or a chunk is one event; front ends render events and never
//! poll. Progress counts bytes the server acknowledged, never bytes merely written.

use crate::ids::UploadId;
use serde::{Deserialize, Serialize};

/// State of one file in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum FileState {
    Queued,
    /// Asking the server which chunks it already has.
    Testing,
    Uploading,
    Paused,
    Done,
    /// `kind` says what went wrong for front ends to word their own advice; `reason` is the
    /// engine's sentence naming the file or server; `retryable` says whether "retry" can
    /// help (a network give-up) or the input must change first (file deleted, refusal).
    Failed {
        #[serde(default)]
        kind: FailureKind,
        reason: String,
        retryable: bool,
    },
    Cancelled,
    /// The target did not want the file (e.g. the name is taken and the collision policy is
    /// skip); nothing of it was kept on the server.
    Skipped {
        reason: String,
    },
}

impl FileState {
    /// True once nothing more will happen without a user action.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            FileState::Done
                | FileState::Failed { .. }
                | FileState::Cancelled
                | FileState::Skipped { .. }
        )
    }

    /// True while the scheduler may pick chunks of this file.
    pub fn is_active(&self) -> bool {
        matches!(self, FileState::Testing | FileState::Uploading)
    }
}

/// What kind of failure stopped a file, so each front end can say what to do in its own
/// words (and the app can act: a new sign-in restarts `SignedOut` uploads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum FailureKind {
    /// The account's session ended: signing in again restarts the upload.
    SignedOut,
    /// Not enough space on the server.
    Quota,
    /// The destination folder cannot be written to.
    NoWriteAccess,
    /// The destination (a folder, the upload address) does not exist.
    NotFound,
    /// The local file changed while it uploaded.
    FileChanged,
    /// The local file is gone or cannot be read.
    Unreadable,
    /// The server refuses chunks even at the smallest size.
    TooLarge,
    /// The server's certificate is not trusted.
    Untrusted,
    /// The network or the server stayed away.
    Unreachable,
    /// The server kept failing until the retries ran out.
    ServerError,
    /// The server refused the upload.
    #[default]
    Refused,
}

/// State of one chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ChunkState {
    Pending,
    Testing,
    Sending,
    Done,
    /// Waiting `retry_in_ms` before attempt number `attempt`.
    Retrying {
        attempt: u32,
        retry_in_ms: u64,
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// What the UI lists for one file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UploadSummary {
    pub id: UploadId,
    /// Absolute local path.
    pub path: String,
    /// Path sent to the server (relative to the folder that was added).
    pub relative_path: String,
    /// Human label of the target ("http://127.0.0.1:8080/upload").
    pub target: String,
    pub size: u64,
    pub chunk_size: u64,
    pub total_chunks: u32,
    pub state: FileState,
    pub acked_bytes: u64,
    pub bytes_per_sec: u64,
    pub eta_secs: Option<u64>,
    /// Its target can make a public link to it once it is done (`Engine::share_link`).
    #[serde(default)]
    pub share_links: bool,
}

/// Totals of the whole queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueueTotals {
    pub files: u64,
    pub files_done: u64,
    pub files_failed: u64,
    pub bytes_total: u64,
    pub bytes_acked: u64,
    pub bytes_per_sec: u64,
    pub eta_secs: Option<u64>,
    /// True while the queue waits for the network.
    pub offline: bool,
    /// Requests in flight now (chunks, status requests, finish steps).
    pub requests_in_flight: u64,
    /// Requests the limits allow at once now, over the targets being uploaded to: what the
    /// link takes when it is followed, else the pinned count.
    pub requests_allowed: u64,
    /// Whether the number of requests follows the link (not pinned in the settings).
    pub follows_link: bool,
    /// Why the whole queue waits although nothing failed (`Engine::hold`), in a fixed order;
    /// empty when nothing holds it. Files keep their own state meanwhile.
    #[serde(default)]
    pub held: Vec<HoldReason>,
}

/// A condition of the machine that makes the whole queue wait, which a front end watches and
/// tells the engine about (`Engine::hold`, `Engine::release`). Not a failure and not a
/// person's pause: uploads continue by themselves when the last reason ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum HoldReason {
    /// The network connection is metered (mobile data, a phone's hotspot).
    Metered,
    /// The computer runs on its battery.
    OnBattery,
}

/// One observable change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Event {
    /// A file entered the queue.
    Added { upload: UploadSummary },
    /// A public link to the finished file was made (`Engine::share_link`).
    Shared { id: UploadId, link: String },
    /// A file changed state.
    File { id: UploadId, state: FileState },
    /// A chunk changed state. `acked_bytes` is the file's acknowledged total after the change.
    Chunk {
        id: UploadId,
        chunk: u32,
        state: ChunkState,
        acked_bytes: u64,
    },
    /// Acknowledged bytes, speed and ETA of one file.
    Progress {
        id: UploadId,
        acked_bytes: u64,
        total_bytes: u64,
        bytes_per_sec: u64,
        eta_secs: Option<u64>,
    },
    /// The file was cut anew (e.g. after a 413), so every chunk restarts under a new plan.
    Replanned {
        id: UploadId,
        chunk_size: u64,
        total_chunks: u32,
        reason: String,
    },
    /// Totals of the queue, sent about once a second while anything moves.
    Totals { totals: QueueTotals },
    /// The file left the queue (cleared).
    Removed { id: UploadId },
    /// The file was renamed or moved where it came from, and the server followed (a watched
    /// folder): its local path and its path on the server are these now.
    Renamed {
        id: UploadId,
        path: String,
        relative_path: String,
    },
    /// The person moved a file in the line: every file's id, first in line first. Waiting
    /// files start in this order; files already uploading keep going.
    Reordered { order: Vec<UploadId> },
    /// Bytes of chunk `chunk` handed to the connection so far while it is being sent, at most
    /// every 100 ms per chunk. Not acknowledged: progress bars move on `Chunk`/`Progress` only.
    InFlight {
        id: UploadId,
        chunk: u32,
        sent_bytes: u64,
        chunk_bytes: u64,
    },
    /// The queue lost or regained the network. While offline nothing is sent and no retry
    /// budget is used; the target is probed until it answers.
    Connectivity {
        online: bool,
        reason: Option<String>,
    },
    /// Something the user should know that is not about one file (e.g. a damaged queue
    /// database that was moved aside).
    Notice { message: String },
}
