//! The per-upload records kept as JSON beside the data file: the plan an identifier is
//! bound to (`plan.json`) and the finished file's record (`done.json`), each written to a
//! temporary name and renamed, so a record is whole or absent.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::temp::unique_name;
use crate::plan::ChunkPlan;
use crate::relpath::RelativePath;

/// What an identifier is bound to by its first chunk; every later chunk must agree, so
/// two different files sharing an identifier cannot mix their bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UploadSpec {
    pub identifier: String,
    pub path: RelativePath,
    pub plan: ChunkPlan,
}

/// What a finished upload is remembered by, answered in the `done` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DoneRecord {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

pub(super) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

pub(super) fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = unique_name(dir, "record");
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
