//! The quick content check of a queued file: sha256 over its first and last chunk (at most
//! 1 MiB of each). Together with size and mtime it tells, before resuming after a restart,
//! whether the file is still the one whose chunks the server already has.

use crate::protocol::ChunkPlan;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const SPAN: u64 = 1024 * 1024;

/// Blocking: reads up to 2 MiB. Call it from a blocking thread.
pub fn quick_hash(path: &Path, plan: &ChunkPlan) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let first = plan.range(1);
    let last = plan.range(plan.total_chunks);
    let mut buf = vec![0u8; 64 * 1024];
    for r in [first, last] {
        let len = (r.end - r.start).min(SPAN);
        f.seek(SeekFrom::Start(r.start))?;
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            left -= n as u64;
        }
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChunkRule;

    #[test]
    fn the_hash_sees_changes_in_the_first_and_last_chunk_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut data = vec![7u8; 5 * 1024];
        std::fs::write(&p, &data).unwrap();
        let plan = ChunkPlan::new(data.len() as u64, 1024, ChunkRule::Floor);
        let a = quick_hash(&p, &plan).unwrap();
        data[2500] = 1; // a middle chunk: not covered
        std::fs::write(&p, &data).unwrap();
        assert_eq!(quick_hash(&p, &plan).unwrap(), a);
        data[5000] = 1; // the last chunk
        std::fs::write(&p, &data).unwrap();
        assert_ne!(quick_hash(&p, &plan).unwrap(), a);
    }
}
