//! Rows of the queue database as Rust values, and their conversions.

use crate::config::UploadSettings;
use crate::events::FileState;
use crate::ids::UploadId;
use crate::protocol::ChunkRule;
use crate::targets::TargetSpec;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A file about to enter the queue.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub path: PathBuf,
    pub relative_path: String,
    pub mime_type: String,
    pub size: u64,
    pub mtime: SystemTime,
    pub quick_hash: String,
    pub identifier: String,
    pub chunk_size: u64,
    pub chunk_rule: ChunkRule,
    pub target: TargetSpec,
    pub settings: UploadSettings,
}

/// A file in the queue as stored, with the chunks the server acknowledged.
#[derive(Clone, Debug)]
pub struct StoredUpload {
    pub id: UploadId,
    pub new: NewUpload,
    pub generation: u32,
    pub state: FileState,
    pub remote_id: Option<String>,
    pub done_chunks: Vec<u32>,
    /// Place in the queue's order (smaller goes first).
    pub position: i64,
}

/// A new plan of an upload (after a 413, or a changed file).
#[derive(Clone, Debug)]
pub struct Replan {
    pub size: u64,
    pub mtime: SystemTime,
    pub quick_hash: String,
    pub identifier: String,
    pub generation: u32,
    pub chunk_size: u64,
}

pub fn mtime_to_nanos(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

pub fn nanos_to_mtime(n: i128) -> SystemTime {
    let d = Duration::from_nanos(n.unsigned_abs().min(u64::MAX as u128) as u64);
    if n >= 0 {
        SystemTime::UNIX_EPOCH + d
    } else {
        SystemTime::UNIX_EPOCH - d
    }
}

pub fn rule_name(rule: ChunkRule) -> &'static str {
    match rule {
        ChunkRule::Floor => "floor",
        ChunkRule::Force => "force",
    }
}

pub fn rule_from(name: &str) -> ChunkRule {
    if name == "force" {
        ChunkRule::Force
    } else {
        ChunkRule::Floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtimes_survive_the_round_trip_to_nanoseconds() {
        for t in [
            SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            SystemTime::UNIX_EPOCH - Duration::from_secs(5),
        ] {
            assert_eq!(nanos_to_mtime(mtime_to_nanos(t)), t);
        }
    }
}
