//! The single-owner rule: one process at a time drives a queue database. A second
//! `twake-upload upload` gets a clear message instead of two schedulers sending the same
//! chunks and writing the same rows.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Held for as long as the queue is open; the OS releases it if the process dies.
#[derive(Debug)]
pub struct OwnerLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the upload queue {db} is in use by another Twake Uploader process{pid}; wait for it to finish, stop it, or use another queue with --db")]
    InUse { db: PathBuf, pid: String },
    #[error("cannot create the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

pub fn acquire(db: &Path) -> Result<OwnerLock, LockError> {
    let path = lock_path(db);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            return Err(LockError::InUse {
                db: db.to_path_buf(),
                pid,
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(OwnerLock { _file: file })
}
