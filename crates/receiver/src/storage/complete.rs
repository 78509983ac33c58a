//! Completion: the whole data file moved into its place under the storage folder, made
//! durable, never copied; and the checks that keep that place inside the storage folder.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::{Storage, DATA_FILE};
use crate::plan::ChunkPlan;
use crate::rejection::Rejection;
use crate::relpath::RelativePath;

/// Moves a complete upload's data file to `path` under the storage folder: check its
/// size, fsync it, rename it (atomically replacing any file there), fsync the folder, so
/// the file appears whole or not at all, and is never copied. Returns its size. Blocking.
pub(crate) fn complete(
    storage: &Storage,
    dir: &Path,
    plan: &ChunkPlan,
    path: &RelativePath,
) -> Result<u64, Rejection> {
    let what = format!("completing '{}'", path.as_str());
    let io_err = |err: io::Error| Rejection::from_io(&what, &err);

    let target = prepare_target(storage.root(), path)?;
    let source = dir.join(DATA_FILE);
    let file = File::open(&source).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    if size != plan.total_size {
        return Err(Rejection::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "chunks_changed",
            format!(
                "{what}: the data file holds {size} bytes, not the planned {}; \
                 was it changed on disk?",
                plan.total_size
            ),
        ));
    }
    file.sync_all().map_err(io_err)?;
    drop(file);
    fs::rename(&source, &target).map_err(|err| {
        Rejection::from_io(format_args!("moving '{}' into place", path.as_str()), &err)
    })?;
    sync_parent(&target).map_err(io_err)?;
    Ok(size)
}

/// Creates the folders leading to `path` under `root` and returns the full target path.
/// Refuses (409) to pass through a symlink or a file, or to replace a folder: a path
/// inside the storage folder must stay inside it on disk too.
fn prepare_target(root: &Path, path: &RelativePath) -> Result<PathBuf, Rejection> {
    let conflict = |why: String| {
        Rejection::new(
            axum::http::StatusCode::CONFLICT,
            "path_conflict",
            format!("cannot store '{}': {why}", path.as_str()),
        )
    };
    let parts: Vec<&str> = path.parts().collect();
    let (file_name, folders) = parts
        .split_last()
        .ok_or_else(|| conflict("empty path".into()))?;
    let mut current = root.to_path_buf();
    // Answers name folders inside the storage folder only: where it is on disk is the
    // server's business, not the client's.
    let mut inside: Vec<&str> = Vec::new();
    for folder in folders {
        current.push(folder);
        inside.push(folder);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(conflict(format!(
                    "'{}' is a symbolic link",
                    inside.join("/")
                )))
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(conflict(format!(
                    "'{}' is a file, not a folder",
                    inside.join("/")
                )))
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => match fs::create_dir(&current) {
                Ok(()) => {}
                // Another upload into the same new folder may have just created it.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => {
                    return Err(Rejection::from_io(
                        format_args!("creating folder '{}'", inside.join("/")),
                        &err,
                    ))
                }
            },
            Err(err) => {
                return Err(Rejection::from_io(
                    format_args!("checking folder '{}'", inside.join("/")),
                    &err,
                ))
            }
        }
    }
    current.push(file_name);
    if let Ok(meta) = fs::symlink_metadata(&current) {
        if meta.is_dir() {
            return Err(conflict(format!("'{}' is a folder", path.as_str())));
        }
    }
    Ok(current)
}

/// Makes the rename itself durable (the new directory entry), where the OS allows it.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_through_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
            let path = RelativePath::parse("p", "link/x.txt").unwrap();
            let err = prepare_target(dir.path(), &path).unwrap_err();
            assert_eq!(err.code, "path_conflict");
        }
    }
}
