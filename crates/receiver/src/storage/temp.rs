//! Staging files: unique temporary names, and a file deleted when its owner drops it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A staging file, deleted when dropped (or at once with [`TempFile::remove`]). Handler
/// futures are dropped when a client disconnects mid-body, so this is what guarantees no
/// half-written staged chunk survives.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: Option<PathBuf>,
}

/// A temporary name in `dir` that no other request or process uses.
pub(crate) fn unique_name(dir: &Path, stem: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{stem}.part-{}-{n}", std::process::id()))
}

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        TempFile { path: Some(path) }
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Deletes the file now rather than in the background. Blocking.
    pub fn remove(mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Unlinking a large file can take a while: keep it off the async workers.
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn_blocking(move || {
                        let _ = fs::remove_file(path);
                    });
                }
                Err(_) => {
                    let _ = fs::remove_file(path);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_temp_file_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part-1");
        fs::write(&path, b"half").unwrap();
        drop(TempFile::new(path.clone()));
        for _ in 0..100 {
            if !path.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{} still exists", path.display());
    }
}
