//! The quick content check of a queued file: sha256 over its first and last 8 MiB (the whole
//! file up to 16 MiB), with the size. Together with size and mtime it tells, before resuming
//! after a restart and when the same file is queued again, whether the file is still the one
//! whose chunks the server already has; it is part of the upload identifier, so an edit that
//! kept size and mtime still gets a fresh identifier. An edit that kept size and mtime and
//! touched only the middle of a file larger than 16 MiB is not seen: that would take reading
//! the whole file before every upload.

use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes hashed at each end of the file.
pub const SPAN: u64 = 8 * 1024 * 1024;

/// Blocking: reads up to 16 MiB. Call it from a blocking thread.
pub fn quick_hash(path: &Path, size: u64) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    h.update(size.to_le_bytes());
    let head = 0..size.min(SPAN);
    let tail = size.saturating_sub(SPAN).max(head.end)..size;
    let mut buf = vec![0u8; 64 * 1024];
    for r in [head, tail] {
        f.seek(SeekFrom::Start(r.start))?;
        let mut left = r.end - r.start;
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

    #[test]
    fn the_hash_sees_changes_in_the_first_and_last_span_and_anywhere_in_a_small_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let small = vec![7u8; 5 * 1024 * 1024];
        std::fs::write(&p, &small).unwrap();
        let a = quick_hash(&p, small.len() as u64).unwrap();
        let mut edited = small.clone();
        edited[2_500_000] = 1; // the middle of a small file: covered
        std::fs::write(&p, &edited).unwrap();
        assert_ne!(quick_hash(&p, small.len() as u64).unwrap(), a);

        let len = 3 * SPAN as usize;
        let mut big = vec![3u8; len];
        std::fs::write(&p, &big).unwrap();
        let b = quick_hash(&p, len as u64).unwrap();
        big[len / 2] = 1; // the middle of a large file: not covered, as documented
        std::fs::write(&p, &big).unwrap();
        assert_eq!(quick_hash(&p, len as u64).unwrap(), b);
        big[len - 10] = 1; // its last span
        std::fs::write(&p, &big).unwrap();
        assert_ne!(quick_hash(&p, len as u64).unwrap(), b);
    }
}
