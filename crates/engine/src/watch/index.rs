//! The sync index: for each watched file, what it was (size, mtime, sha256) when it last
//! reached the target and where it went. It lives in the store (see `store::Store::index_*`)
//! so that a restart knows what is already uploaded; this module holds its rows and the
//! content hash that decides renames, moves and copies.

use std::io::Read;
use std::path::Path;

pub use crate::store::index_rows::{IndexEntry, SavedFolder};

/// sha256 of a whole file, read in 256 KiB pieces so memory stays flat. Blocking: call it on
/// a blocking thread.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_hash_is_the_sha256_of_the_whole_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
