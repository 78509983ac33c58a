//! The `received` log: one line per chunk, appended only once the chunk's bytes are in
//! the data file, so only logged chunks count after a crash.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::RECEIVED_LOG;
use crate::plan::ChunkPlan;

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
pub(super) fn read_received_log(dir: &Path, plan: &ChunkPlan) -> io::Result<BTreeSet<u64>> {
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
