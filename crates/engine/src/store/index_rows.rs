//! The rows of the folder-sync index as the store saves them: each watched file as last
//! uploaded, and each watched folder. Folder sync (`watch/`) fills them in and reads them back.

use serde::{Deserialize, Serialize};

/// One watched file as last uploaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Path inside the watched folder, `/`-separated.
    pub rel_path: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (see `store::records`).
    pub mtime_ns: i128,
    /// sha256 of the whole content, hex.
    pub sha256: String,
    /// The relative path it has on the target (the watched folder's name first).
    pub remote_path: String,
}

/// A watched folder as saved in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFolder {
    pub id: i64,
    pub path: std::path::PathBuf,
    pub target: crate::targets::TargetSpec,
    pub paused: bool,
    /// Unix seconds of the last time everything was up to date.
    pub last_sync: Option<i64>,
}
