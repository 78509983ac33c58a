//! File-system notifications for one watched folder (notify + notify-debouncer-full), turned
//! into what the sync loop needs: "look at these paths", or "rescan" when the events are too
//! many to be worth handling one by one (a 10,000-file copy) or were lost.

use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the file system told us.
#[derive(Debug, PartialEq, Eq)]
pub enum Signal {
    /// These paths were created, changed, renamed or removed.
    Paths(Vec<PathBuf>),
    /// Too many events, or the watcher lost some: walk the folder again.
    Rescan,
}

/// Keeps the notifications of one folder coming while it lives.
pub struct FolderWatcher {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
}

impl FolderWatcher {
    /// Starts watching `root` recursively. More than `flood` distinct paths in one debounced
    /// batch become a single `Rescan`.
    pub fn start(
        root: &Path,
        debounce: Duration,
        flood: usize,
        signals: mpsc::UnboundedSender<Signal>,
    ) -> Result<FolderWatcher, String> {
        let mut debouncer = new_debouncer(debounce, None, move |res: DebounceEventResult| {
            let signal = match res {
                Ok(events) => {
                    let mut paths = HashSet::new();
                    let mut rescan = false;
                    for ev in events {
                        rescan |= ev.need_rescan();
                        // Reads (ours included: hashing, uploading) change nothing; only a
                        // close after writing says something.
                        if matches!(
                            ev.event.kind,
                            EventKind::Access(kind)
                                if kind != AccessKind::Close(AccessMode::Write)
                        ) {
                            continue;
                        }
                        paths.extend(ev.event.paths.iter().cloned());
                    }
                    if rescan || paths.len() > flood {
                        Signal::Rescan
                    } else if paths.is_empty() {
                        return;
                    } else {
                        Signal::Paths(paths.into_iter().collect())
                    }
                }
                Err(_) => Signal::Rescan,
            };
            let _ = signals.send(signal);
        })
        .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        debouncer
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        Ok(FolderWatcher {
            _debouncer: debouncer,
        })
    }
}
