//! Upload identifiers: the default one of the browser libraries, and the stronger one our
//! client sends so that two different files with the same name and size never collide.

use sha2::{Digest, Sha256};

/// The libraries' default: `"{size}-{name without chars outside [0-9A-Za-z_-]}"`.
pub fn default_identifier(size: u64, relative_path: &str) -> String {
    let cleaned: String = relative_path
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!("{size}-{cleaned}")
}

/// Our identifier: the default one plus a short hash of the relative path, size, chunk size,
/// mtime, the file's quick content hash (`quick_hash`) and a generation number. Deterministic, so re-running the same upload of an unchanged
/// file resumes on the server; a changed mtime, another chunk size or a bumped generation gives
/// a fresh identifier, so old and new bytes are never mixed (a lenient server appends chunks of
/// two plans into one file of the wrong size).
pub fn strong_identifier(
    size: u64,
    chunk_size: u64,
    relative_path: &str,
    mtime_nanos: i128,
    content: &str,
    generation: u32,
) -> String {
    let mut h = Sha256::new();
    h.update(relative_path.as_bytes());
    h.update([0]);
    h.update(size.to_le_bytes());
    h.update(chunk_size.to_le_bytes());
    h.update(mtime_nanos.to_le_bytes());
    h.update(content.as_bytes());
    h.update(generation.to_le_bytes());
    let digest = hex::encode(&h.finalize()[..8]);
    let base = default_identifier(size, relative_path);
    // Servers store identifiers in paths and keys: keep them bounded.
    let base: String = base.chars().take(120).collect();
    format!("{base}-{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_identifier_keeps_only_safe_characters() {
        assert_eq!(default_identifier(12, "my file (1).txt"), "12-myfile1txt");
        assert_eq!(default_identifier(0, "été/ü.bin"), "0-tbin");
    }

    #[test]
    fn strong_identifier_changes_with_mtime_chunk_size_content_and_generation() {
        let a = strong_identifier(5, 1024, "a.txt", 1, "h", 0);
        assert_eq!(a, strong_identifier(5, 1024, "a.txt", 1, "h", 0));
        assert_ne!(a, strong_identifier(5, 1024, "a.txt", 2, "h", 0));
        assert_ne!(a, strong_identifier(5, 1024, "a.txt", 1, "h", 1));
        assert_ne!(a, strong_identifier(5, 1024, "b/a.txt", 1, "h", 0));
        assert_ne!(a, strong_identifier(5, 512, "a.txt", 1, "h", 0));
        assert_ne!(
            a,
            strong_identifier(5, 1024, "a.txt", 1, "other content", 0)
        );
        assert!(a.starts_with("5-atxt-"));
    }
}
