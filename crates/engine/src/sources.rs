//! Turning what the user picked (files and folders) into the list of files to upload, with
//! the relative paths the server should store them under, as a browser would send them.

use crate::error::EngineError;
use std::path::{Path, PathBuf};

/// One file to upload and the `/`-separated path it gets on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub relative_path: String,
}

/// Expands files and folders (recursively). A folder's files keep the folder's own name as
/// their first path component, like a folder dropped in a browser. Symbolic links to folders
/// are not followed, so a link loop cannot make the walk endless. Blocking: call it from a
/// blocking thread in async code.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<SourceFile>, EngineError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| EngineError::Unreadable {
            path: p.clone(),
            source,
        })?;
        let name = display_name(p);
        if meta.is_dir() {
            walk(p, &name, &mut out)?;
        } else if meta.is_file() {
            out.push(SourceFile {
                path: absolute(p),
                relative_path: name,
            });
        } else {
            return Err(EngineError::NotAFile { path: p.clone() });
        }
    }
    Ok(out)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn display_name(p: &Path) -> String {
    let abs = absolute(p);
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into())
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<SourceFile>) -> Result<(), EngineError> {
    let unreadable = |source| EngineError::Unreadable {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().map_err(unreadable)?;
        if kind.is_dir() {
            walk(&path, &rel, out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push(SourceFile {
                path: absolute(&path),
                relative_path: rel,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_expand_with_their_own_name_first() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("photos");
        std::fs::create_dir_all(top.join("été/deep")).unwrap();
        std::fs::write(top.join("a.txt"), b"a").unwrap();
        std::fs::write(top.join("été/deep/b.bin"), b"b").unwrap();
        let single = d.path().join("single.txt");
        std::fs::write(&single, b"s").unwrap();
        let got = collect(&[top.clone(), single.clone()]).unwrap();
        let rels: Vec<&str> = got.iter().map(|f| f.relative_path.as_str()).collect();
        assert_eq!(
            rels,
            ["photos/a.txt", "photos/été/deep/b.bin", "single.txt"]
        );
        assert!(got.iter().all(|f| f.path.is_absolute()));
    }

    #[test]
    fn a_missing_path_is_named_in_the_error() {
        let e = collect(&[PathBuf::from("/nonexistent/x.bin")]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.bin"), "{e}");
    }
}
