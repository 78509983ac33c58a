//! Twake Uploader's upload engine: everything that decides anything about an upload, with no
//! UI and no Tauri. Front ends (the CLI, the desktop app) open an [`Engine`], enqueue files
//! to a [`TargetSpec`], send intents (pause, resume, cancel, retry) and render [`Event`]s.

pub mod accounts;
pub mod body;
pub mod config;
pub mod engine_error;
pub mod error;
pub mod events;
pub mod ids;
pub mod iso_time;
pub mod names;
pub mod protocol;
pub mod queue;
pub mod quick_hash;
pub mod sources;
pub mod store;
pub mod targets;
pub mod throttle;
pub mod watch;

pub use config::{ChangedFilePolicy, Limits, RetryPolicy, UploadSettings};
pub use engine_error::EngineError;
pub use error::ChunkError;
pub use events::{
    ChunkState, Event, FailureKind, FileState, HoldReason, QueueTotals, UploadSummary,
};
pub use ids::UploadId;
pub use protocol::{ChunkPlan, ChunkRule, Dialect};
pub use queue::{ChunkInfo, Engine, EngineConfig, EnqueueRequest};
pub use sources::{Collected, Skipped, SourceFile};
pub use targets::{Target, TargetSpec};
pub use watch::{FolderState, FolderSummary, FolderSync, WatchConfig, WatchError, WatchEvent};
