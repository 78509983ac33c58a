//! The data file of an upload: created at the file's full size (sparse), chunk n at
//! offset (n-1)·chunkSize, written and read at positions.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::claim::RangeClaim;
use super::{DATA_FILE, IO_BUFFER};
use crate::plan::ChunkPlan;

/// Where chunk `number` starts in the file.
pub(crate) fn chunk_offset(plan: &ChunkPlan, number: u64) -> u64 {
    (number - 1) * plan.chunk_size
}

/// Opens the upload's data file for positioned reads and writes. Blocking.
pub(crate) fn open_data(dir: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(DATA_FILE))
}

pub(super) fn create_data_file(dir: &Path, size: u64) -> io::Result<()> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(DATA_FILE))?;
    file.set_len(size)
}

/// Copies the file at `source` into `data` at `offset`; with a claim, every write is made
/// under it, and the copy stops (`Ok(false)`) if the claim was revoked. Blocking.
pub(crate) fn copy_file_at(
    source: &Path,
    data: &File,
    offset: u64,
    claim: Option<&dyn RangeClaim>,
) -> io::Result<bool> {
    let mut input = File::open(source)?;
    let mut buffer = vec![0u8; IO_BUFFER];
    let mut at = offset;
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            return Ok(true);
        }
        let written = match claim {
            Some(claim) => claim.write_at(data, &buffer[..n], at)?,
            None => {
                data.write_all_at(&buffer[..n], at)?;
                true
            }
        };
        if !written {
            return Ok(false);
        }
        at += n as u64;
    }
}

/// Feeds `len` bytes of `data` from `offset` into `hasher` (usually from the page cache:
/// the bytes were just written). Blocking.
pub(crate) fn hash_range(
    data: &File,
    offset: u64,
    len: u64,
    hasher: &mut Sha256,
    buffer: &mut Vec<u8>,
) -> io::Result<()> {
    buffer.resize(IO_BUFFER, 0);
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(IO_BUFFER as u64) as usize;
        data.read_exact_at(&mut buffer[..want], offset + done)?;
        hasher.update(&buffer[..want]);
        done += want as u64;
    }
    Ok(())
}
