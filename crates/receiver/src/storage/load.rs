//! Reading the uploads back at start-up: each upload folder's plan, done record, chunk
//! log and data file, clearing what a crash left half-written and converting folders left
//! by an older receiver (one file per chunk) into the data-file layout.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::chunk_log::{log_received, read_received_log};
use super::data_file::{chunk_offset, copy_file_at, create_data_file, open_data};
use super::records::{read_json, DoneRecord, UploadSpec};
use super::{remove_if_present, Storage, DATA_FILE, DONE_FILE, PLAN_FILE, RECEIVED_LOG};

/// Written by receivers that assembled chunk files into a copy; deleted if found.
const LEGACY_ASSEMBLY_FILE: &str = "assembling";

/// An upload found on disk at start-up.
#[derive(Debug)]
pub(crate) struct LoadedUpload {
    pub spec: UploadSpec,
    pub received: Vec<u64>,
    pub done: Option<DoneRecord>,
    pub last_activity: SystemTime,
}

impl Storage {
    /// Reads one upload folder. A folder without a readable plan was never fully created
    /// (or is not ours); it is deleted rather than guessed at. Chunks count only when the
    /// `received` log lists them and the data file is whole; chunk files left by an older
    /// receiver (`<n>`) are copied into the data file first.
    pub(super) fn load_upload(&self, dir: &Path) -> io::Result<Option<LoadedUpload>> {
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
}
