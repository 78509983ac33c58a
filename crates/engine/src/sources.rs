//! Turning what the user picked (files and folders) into the list of files to upload, with
//! the relative paths the server should store them under, as a browser would send them.

use crate::engine_error::EngineError;
use crate::names::{printable, upload_name};
use std::path::{Path, PathBuf};

/// One file to upload and the `/`-separated path it gets on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub relative_path: String,
}

/// An entry inside a chosen folder that is not uploaded, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    /// The path with odd bytes and control characters escaped, for messages.
    pub shown: String,
    pub reason: String,
    /// True for what cannot be uploaded at all (a FIFO, a device, a dangling link): noted, not
    /// counted as a failure. False for a file or folder that should have gone up and did not.
    pub not_a_file: bool,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.shown, self.reason)
    }
}

/// What a walk found: the files to upload, and every entry left out with its reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub files: Vec<SourceFile>,
    pub skipped: Vec<Skipped>,
}

impl Collected {
    /// Skipped entries that count as failures (unreadable, or a name no server can store).
    pub fn failures(&self) -> impl Iterator<Item = &Skipped> {
        self.skipped.iter().filter(|s| !s.not_a_file)
    }
}

/// Expands files and folders (recursively). A folder's files keep the folder's own name as
/// their first path component, like a folder dropped in a browser. Symbolic links to folders
/// are not followed, so a link loop cannot make the walk endless. One bad entry inside a
/// folder (unreadable, a name that is not UTF-8, a FIFO) is reported in `skipped` and the rest
/// of the folder still goes up; a chosen path that is itself unusable is an error. Blocking:
/// call it from a blocking thread in async code.
pub fn collect(paths: &[PathBuf]) -> Result<Collected, EngineError> {
    let mut out = Collected::default();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| EngineError::Unreadable {
            path: p.clone(),
            source,
        })?;
        let name = display_name(p)?;
        if meta.is_dir() {
            walk(p, &name, &mut out);
        } else if meta.is_file() {
            out.files.push(SourceFile {
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

fn display_name(p: &Path) -> Result<String, EngineError> {
    let abs = absolute(p);
    match abs.file_name() {
        Some(n) => upload_name(n)
            .map(str::to_string)
            .map_err(|reason| EngineError::bad_name(p, reason)),
        None => Ok("upload".into()),
    }
}

fn skip(out: &mut Collected, path: &Path, reason: String, not_a_file: bool) {
    out.skipped.push(Skipped {
        path: path.to_path_buf(),
        shown: printable(path),
        reason,
        not_a_file,
    });
}

fn walk(dir: &Path, prefix: &str, out: &mut Collected) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return skip(out, dir, format!("the folder cannot be read: {e}"), false),
    };
    let mut found = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => found.push(entry),
            Err(e) => return skip(out, dir, format!("the folder cannot be read: {e}"), false),
        }
    }
    found.sort_by_key(|e| e.file_name());
    for entry in found {
        let path = entry.path();
        let name = match upload_name(&entry.file_name()) {
            Ok(name) => name.to_string(),
            Err(reason) => {
                skip(out, &path, reason.to_string(), false);
                continue;
            }
        };
        let rel = format!("{prefix}/{name}");
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) => {
                skip(out, &path, format!("cannot be read: {e}"), false);
                continue;
            }
        };
        if kind.is_dir() {
            walk(&path, &rel, out);
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.files.push(SourceFile {
                path: absolute(&path),
                relative_path: rel,
            });
        } else if kind.is_symlink() && path.is_dir() {
            skip(out, &path, "a link to a folder (not followed)".into(), true);
        } else if kind.is_symlink() {
            skip(out, &path, "a link to nothing".into(), true);
        } else {
            let what = special_kind(&kind);
            skip(out, &path, format!("{what}, not a regular file"), true);
        }
    }
}

fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
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
        let rels: Vec<&str> = got.files.iter().map(|f| f.relative_path.as_str()).collect();
        assert_eq!(
            rels,
            ["photos/a.txt", "photos/été/deep/b.bin", "single.txt"]
        );
        assert!(got.files.iter().all(|f| f.path.is_absolute()));
        assert!(got.skipped.is_empty());
    }

    #[test]
    fn bad_entries_are_listed_and_the_rest_of_the_folder_goes_up() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("docs");
        std::fs::create_dir_all(top.join("locked")).unwrap();
        std::fs::write(top.join("locked/secret.txt"), b"s").unwrap();
        std::fs::write(top.join("ok.txt"), b"ok").unwrap();
        let ff = top.join(std::ffi::OsStr::from_bytes(b"x\xff.txt"));
        let fe = top.join(std::ffi::OsStr::from_bytes(b"x\xfe.txt"));
        std::fs::write(&ff, b"1").unwrap();
        std::fs::write(&fe, b"2").unwrap();
        std::os::unix::fs::symlink(top.join("gone"), top.join("dangling")).unwrap();
        let fifo = top.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        std::fs::set_permissions(top.join("locked"), PermissionsExt::from_mode(0o000)).unwrap();
        let locked_readable = std::fs::read_dir(top.join("locked")).is_ok(); // root reads all
        let got = collect(std::slice::from_ref(&top)).unwrap();
        std::fs::set_permissions(top.join("locked"), PermissionsExt::from_mode(0o755)).unwrap();

        let rels: Vec<&str> = got.files.iter().map(|f| f.relative_path.as_str()).collect();
        assert!(rels.contains(&"docs/ok.txt"), "{rels:?}");
        assert!(
            rels.iter().all(|r| !r.contains('\u{FFFD}')),
            "never merged: {rels:?}"
        );
        let shown: Vec<String> = got.skipped.iter().map(|s| s.to_string()).collect();
        assert!(shown
            .iter()
            .any(|s| s.contains("x\\xFF.txt") && s.contains("UTF-8")));
        assert!(shown.iter().any(|s| s.contains("x\\xFE.txt")));
        assert!(shown
            .iter()
            .any(|s| s.contains("dangling") && s.contains("link")));
        if made.is_ok_and(|s| s.success()) {
            assert!(shown
                .iter()
                .any(|s| s.contains("pipe") && s.contains("FIFO")));
        }
        if !locked_readable {
            assert!(shown.iter().any(|s| s.contains("locked")), "{shown:?}");
        }
        assert_eq!(got.failures().count(), if locked_readable { 2 } else { 3 });
    }

    #[test]
    fn a_missing_path_is_named_in_the_error() {
        let e = collect(&[PathBuf::from("/nonexistent/x.bin")]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.bin"), "{e}");
    }
}
