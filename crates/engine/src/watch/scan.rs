//! Walking a watched folder and comparing what is there with the sync index: files whose
//! size or mtime differ from the index (or that it does not know) are the candidates the
//! settle step then watches. Blocking: run it on a blocking thread. Reading metadata only,
//! never content, keeps a scan of 100,000 known files to a few seconds.

use super::ignore::IgnoreRules;
use super::index::IndexEntry;
use crate::store::records::mtime_to_nanos;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A file found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundFile {
    pub rel_path: String,
    pub size: u64,
    pub mtime_ns: i128,
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Files on disk (not ignored).
    pub files: usize,
    /// New or changed since the index: to settle and look at.
    pub candidates: Vec<FoundFile>,
    /// Files of the index not found on disk (deleted, renamed or moved away).
    pub missing: Vec<String>,
    /// Folders or files that could not be read, with the reason.
    pub problems: Vec<String>,
}

/// Size and mtime (ns) of a path, following links; `None` when it is gone or not a file.
pub fn stat(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some((meta.len(), mtime_to_nanos(meta.modified().ok()?)))
}

/// The `/`-separated path of `path` inside `root`, if it is inside and every name on the way
/// can be stored on a server (`names::upload_name`: a lossy name could merge two files).
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rest
        .components()
        .map(|c| crate::names::upload_name(c.as_os_str()).ok())
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Walks `root` (not following links to folders) and compares with `index`. `progress` is
/// called now and then with the number of files seen so far.
pub fn scan(
    root: &Path,
    rules: &IgnoreRules,
    index: &HashMap<String, IndexEntry>,
    progress: &mut dyn FnMut(usize),
) -> ScanResult {
    let mut out = ScanResult::default();
    let mut present = std::collections::HashSet::new();
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                out.problems
                    .push(format!("cannot read the folder {}: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !rules.is_ignored(&path, true) {
                    stack.push(path);
                }
                continue;
            }
            if rules.is_ignored(&path, false) {
                continue;
            }
            let Some((size, mtime_ns)) = stat(&path) else {
                continue;
            };
            let Some(rel_path) = relative(root, &path) else {
                out.problems.push(format!(
                    "{} is not synced: its name is not valid UTF-8 or has a control character; \
                     rename it",
                    crate::names::printable(&path)
                ));
                continue;
            };
            out.files += 1;
            if out.files % 1000 == 0 {
                progress(out.files);
            }
            if index.contains_key(&rel_path) {
                present.insert(rel_path.clone());
            }
            let known = index
                .get(&rel_path)
                .is_some_and(|e| e.size == size && e.mtime_ns == mtime_ns);
            if !known {
                out.candidates.push(FoundFile {
                    rel_path,
                    size,
                    mtime_ns,
                });
            }
        }
    }
    progress(out.files);
    out.missing = index
        .keys()
        .filter(|k| !present.contains(*k))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_and_changed_files_are_candidates_and_ignored_ones_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("sub/été")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("same.txt"), b"1").unwrap();
        std::fs::write(root.join("changed.txt"), b"22").unwrap();
        std::fs::write(root.join("sub/été/new.txt"), b"3").unwrap();
        std::fs::write(root.join("x.part"), b"4").unwrap();
        std::fs::write(root.join(".git/HEAD"), b"5").unwrap();
        let (size, mtime_ns) = stat(&root.join("same.txt")).unwrap();
        let mut index = HashMap::new();
        for (rel, size) in [("same.txt", size), ("changed.txt", 1)] {
            index.insert(
                rel.to_string(),
                IndexEntry {
                    rel_path: rel.into(),
                    size,
                    mtime_ns,
                    sha256: String::new(),
                    remote_path: rel.into(),
                },
            );
        }
        let rules = IgnoreRules::load(root, &[]);
        let got = scan(root, &rules, &index, &mut |_| {});
        let mut rels: Vec<_> = got.candidates.iter().map(|c| c.rel_path.as_str()).collect();
        rels.sort();
        assert_eq!(rels, ["changed.txt", "sub/été/new.txt"]);
        assert_eq!(got.files, 3);
        assert!(got.missing.is_empty());
        std::fs::remove_file(root.join("same.txt")).unwrap();
        let got = scan(root, &rules, &index, &mut |_| {});
        assert_eq!(got.missing, ["same.txt"]);
    }
}
