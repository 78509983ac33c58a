//! The types that cross the IPC boundary to the web UI. TypeScript declarations for them are
//! generated (see `ts_export`), so the UI and the shell cannot disagree about a field.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use upload_engine::{ChunkInfo, ChunkState, FileState, QueueTotals, UploadId, UploadSummary};

/// Name of the event that carries an [`EventBatch`] to the webview.
pub const BATCH_EVENT: &str = "queue-batch";
/// Name of the event that carries an [`AddReport`] for files added outside a command (drop,
/// command line, a second launch).
pub const ADDED_EVENT: &str = "files-added";

/// Engine events gathered over about 100 ms, latest state winning per file and per chunk.
/// The UI applies the parts in this order: added, replanned, files, chunks, in_flight,
/// progress, removed, order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct EventBatch {
    pub added: Vec<UploadSummary>,
    pub replanned: Vec<ReplanUpdate>,
    pub files: Vec<FileUpdate>,
    pub chunks: Vec<ChunkUpdate>,
    pub progress: Vec<ProgressUpdate>,
    pub removed: Vec<UploadId>,
    pub totals: Option<QueueTotals>,
    /// The latest news about the network, when it changed.
    pub connectivity: Option<ConnectivityUpdate>,
    /// Things to tell the person that are not about one file.
    pub notices: Vec<String>,
    /// The shell fell behind the engine and lost events: the UI must re-read `snapshot`.
    pub resync: bool,
    /// The queue's order after the person moved a file (every id, first in line first); the
    /// latest order wins. Files added after it in the same batch go at the end.
    pub order: Option<Vec<UploadId>>,
    /// Bytes in flight of chunks being sent, the latest per chunk.
    pub in_flight: Vec<InFlightUpdate>,
    /// Files renamed or moved where they came from (a watched folder): their names now.
    pub renamed: Vec<RenameUpdate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct RenameUpdate {
    pub id: UploadId,
    /// Absolute local path.
    pub path: String,
    /// Path on the server.
    pub relative_path: String,
}

/// Bytes of a chunk being sent that were handed to the connection (not yet acknowledged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct InFlightUpdate {
    pub id: UploadId,
    pub chunk: u32,
    pub sent_bytes: u64,
    pub chunk_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct FileUpdate {
    pub id: UploadId,
    pub state: FileState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ChunkUpdate {
    pub id: UploadId,
    pub chunk: u32,
    pub state: ChunkState,
    pub acked_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ProgressUpdate {
    pub id: UploadId,
    pub acked_bytes: u64,
    pub total_bytes: u64,
    pub bytes_per_sec: u64,
    pub eta_secs: Option<u64>,
}

/// The queue lost (`online: false`, with the reason) or regained the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectivityUpdate {
    pub online: bool,
    pub reason: Option<String>,
}

/// The file was cut anew: its chunk map restarts and its acknowledged bytes go back to zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ReplanUpdate {
    pub id: UploadId,
    pub chunk_size: u64,
    pub total_chunks: u32,
    pub reason: String,
}

/// One chunk of the chunk map (the engine's `ChunkInfo`, which has no TS declaration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ChunkView {
    pub number: u32,
    pub start: u64,
    pub end: u64,
    pub state: ChunkState,
    pub attempts: u32,
    pub last_answer: String,
}

impl From<ChunkInfo> for ChunkView {
    fn from(c: ChunkInfo) -> ChunkView {
        ChunkView {
            number: c.number,
            start: c.start,
            end: c.end,
            state: c.state,
            attempts: c.attempts,
            last_answer: c.last_answer,
        }
    }
}

/// The whole queue at one moment, for the UI's first paint and after a `resync`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct QueueSnapshot {
    pub uploads: Vec<UploadSummary>,
    pub totals: QueueTotals,
}

/// What happened to paths handed to the app (picker, drop, command line).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct AddReport {
    /// Files queued.
    pub added: u32,
    /// Name of the target they went to.
    pub target: String,
    /// Paths that could not be queued, each with the reason.
    pub failures: Vec<AddFailure>,
    /// Set when nothing could be queued at all (the target could not be reached).
    pub error: Option<UserError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct AddFailure {
    pub path: String,
    pub reason: String,
}

/// An error a command returns: what went wrong, and what the person can do about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct UserError {
    pub message: String,
    pub hint: String,
    /// The form field the person should correct ("server", "email", "password", …), when
    /// the error is about one: the dialog puts the keyboard there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> UserError {
        UserError {
            message: message.into(),
            hint: hint.into(),
            field: None,
        }
    }

    /// The same error, about the form field `field`.
    pub fn on_field(mut self, field: &str) -> UserError {
        self.field = Some(field.to_string());
        self
    }
}

impl From<upload_engine::EngineError> for UserError {
    fn from(e: upload_engine::EngineError) -> UserError {
        use upload_engine::EngineError as E;
        let hint = match &e {
            E::UnknownUpload(_) => "It was probably cleared from the list already.",
            E::Stopped => "Restart Twake Uploader; files already sent are kept by the server.",
            E::BadUrl { .. } => "Check the address: it should look like https://host/upload.",
            E::Unreadable { .. } | E::NotAFile { .. } => {
                "Check that the file exists and that you may read it."
            }
            E::BadName { .. } => "Rename the file, then add it again.",
            E::Http(_) | E::Internal(_) => "Restart Twake Uploader.",
            E::Store(_) => {
                "Check that your data folder is writable and has free space, then restart."
            }
            E::Twake(t) => return crate::twake::user_error(t.clone()),
            E::Refused { kind, .. } => failure_hint(*kind),
        };
        UserError::new(e.to_string(), hint)
    }
}

/// What a person can do about a failure of this kind, in the app's words.
pub fn failure_hint(kind: upload_engine::FailureKind) -> &'static str {
    use upload_engine::FailureKind as K;
    match kind {
        K::SignedOut => "Sign in again; the upload continues after that.",
        K::Quota => "Free some space in Twake Drive, or ask for a larger quota.",
        K::NoWriteAccess => "Choose another folder, or ask its owner for write access.",
        K::NotFound => "Choose another folder; it may have been moved or deleted.",
        K::FileChanged => "Retry to upload the file as it is now.",
        K::Unreadable => "Check that the file exists and that you may read it, then retry.",
        K::TooLarge => "The server refuses files this large; ask its administrator.",
        K::Untrusted => {
            "If your organisation uses its own certificate authority, choose its certificate \
             file in Settings (Extra certificate authority) or add it to the system's trusted \
             certificates; otherwise check the address."
        }
        K::Unreachable => "Check your network connection, then retry.",
        K::ServerError => "The server had trouble; retry in a moment.",
        K::Refused => "Check the destination, then retry.",
    }
}

/// Facts about the running app that the UI shows in its settings panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct AppInfo {
    pub version: String,
    /// Where settings are saved.
    pub settings_file: String,
    /// Where the local test server stores what it receives.
    pub test_server_folder: String,
    /// What the engine had to say when it opened (e.g. a damaged queue moved aside).
    pub engine_notices: Vec<String>,
    /// The OS locale's language ("en" or "fr"), which the window speaks unless Settings
    /// chose one.
    pub system_language: String,
}
