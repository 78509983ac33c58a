//! Folder sync: watched folders kept uploaded to a target (Twake Drive or any Resumable.js
//! server). Upload-only: local deletions never delete anything on the server. The pieces
//! are separate so each can be tested alone: `watcher` (file-system notifications), `scan`
//! (walk + compare with the index), `settle` (stable-file detection), `ignore` (patterns),
//! `index` (what was uploaded), and `folder` (the sync loop of one folder tying them up).
//!
//! Front ends hold a [`FolderSync`]: `add`, `remove`, `pause`, `list`, and `subscribe` to
//! [`WatchEvent`]s carrying each folder's [`FolderSummary`].

mod folder;
pub mod ignore;
pub mod index;
pub mod scan;
pub mod settle;
pub mod watcher;

use crate::config::UploadSettings;
use crate::queue::Engine;
use crate::store::{Store, StoreError};
use crate::targets::TargetSpec;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How folders are watched.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// A file is queued once its size and mtime have not changed for this long.
    pub settle: Duration,
    /// A full rescan this often catches events the watcher missed.
    pub rescan_every: Duration,
    /// File-system events are gathered this long before they are looked at.
    pub debounce: Duration,
    /// More distinct paths than this in one batch of events become one rescan.
    pub flood: usize,
    /// How often waiting files are looked at again.
    pub tick: Duration,
    /// Uploads of one folder waiting in the queue at once; more stable files wait their turn
    /// (as paths only), so a 10,000-file copy does not fill memory.
    pub max_pending: usize,
    /// Global ignore patterns (gitignore syntax), added to the built-in defaults.
    pub ignore: Vec<String>,
    /// Upload settings; `None`: the target's default chunk size.
    pub settings: Option<UploadSettings>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            settle: Duration::from_secs(3),
            rescan_every: Duration::from_secs(3600),
            debounce: Duration::from_millis(300),
            flood: 500,
            tick: Duration::from_millis(250),
            max_pending: 500,
            ignore: Vec::new(),
            settings: None,
        }
    }
}

/// Where a watched folder stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FolderState {
    /// Walking the folder: `seen` files so far, of about `total` (the files known from the
    /// index; 0 the first time).
    Scanning {
        seen: u64,
        total: u64,
    },
    /// `pending` files are settling or uploading.
    Syncing {
        pending: u64,
    },
    UpToDate,
    Paused,
    /// Something needs the user (an upload failed, the folder is unreadable).
    Error {
        reason: String,
    },
    /// Saved, but not watched by this process.
    Stopped,
}

/// What the UI and the CLI show for one watched folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderSummary {
    /// Absolute local path.
    pub path: String,
    pub target: TargetSpec,
    pub state: FolderState,
    /// Files settling, waiting or uploading.
    pub pending: u64,
    /// Files in the sync index (uploaded, or known copies of uploaded files).
    pub files: u64,
    /// Uploads finished by this process.
    pub uploaded: u64,
    /// Files renamed or moved on the server instead of uploaded again.
    pub moved: u64,
    /// Unix seconds when the folder was last up to date.
    pub last_sync: Option<i64>,
}

/// One observable change of folder sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A folder's summary changed.
    Folder { folder: FolderSummary },
    /// A folder is no longer watched.
    Removed { path: String },
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("watching folders needs the durable upload queue (drop --in-memory)")]
    NeedsDurableQueue,
    #[error("{path} is not a folder that can be watched: {reason}")]
    NotAFolder { path: PathBuf, reason: String },
    #[error("{path} is not a watched folder (`twake-upload watch --list` shows them)")]
    NotWatched { path: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Summaries of running folders, and the event channel; shared with the folder loops.
struct Shared {
    summaries: Mutex<HashMap<String, FolderSummary>>,
    events: broadcast::Sender<WatchEvent>,
}

impl Shared {
    /// Records a folder's summary, telling subscribers when it changed.
    fn publish(&self, summary: FolderSummary) {
        let mut map = match self.summaries.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.get(&summary.path) == Some(&summary) {
            return;
        }
        map.insert(summary.path.clone(), summary.clone());
        let _ = self.events.send(WatchEvent::Folder { folder: summary });
    }

    fn forget(&self, path: &str) {
        if let Ok(mut map) = self.summaries.lock() {
            map.remove(path);
        }
        let _ = self.events.send(WatchEvent::Removed {
            path: path.to_string(),
        });
    }

    fn get(&self, path: &str) -> Option<FolderSummary> {
        self.summaries.lock().ok()?.get(path).cloned()
    }
}

/// A folder loop running in this process.
struct Running {
    id: i64,
    cancel: CancellationToken,
    paused: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Watched folders of one engine. Cheap to clone; folder loops stop with `stop` (or when
/// the engine closes).
#[derive(Clone)]
pub struct FolderSync {
    engine: Engine,
    store: Store,
    config: WatchConfig,
    shared: Arc<Shared>,
    running: Arc<tokio::sync::Mutex<HashMap<PathBuf, Running>>>,
}

/// The absolute, link-free form of a folder path, so one folder has one name.
fn canonical(folder: &Path) -> Result<PathBuf, WatchError> {
    let path = std::fs::canonicalize(folder).map_err(|e| WatchError::NotAFolder {
        path: folder.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !path.is_dir() {
        return Err(WatchError::NotAFolder {
            path: folder.to_path_buf(),
            reason: "it is not a folder".into(),
        });
    }
    Ok(path)
}

impl FolderSync {
    /// Folder sync over `engine`, which must have a durable queue (the index lives there).
    /// Nothing is watched until `add` or `start_saved`.
    pub fn new(engine: &Engine, config: WatchConfig) -> Result<FolderSync, WatchError> {
        let store = engine
            .store()
            .cloned()
            .ok_or(WatchError::NeedsDurableQueue)?;
        let (events, _) = broadcast::channel(1024);
        Ok(FolderSync {
            engine: engine.clone(),
            store,
            config,
            shared: Arc::new(Shared {
                summaries: Mutex::new(HashMap::new()),
                events,
            }),
            running: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
        })
    }

    /// Changes to any watched folder from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.shared.events.subscribe()
    }

    /// Starts watching every saved folder (the app at start). Each is scanned first, which
    /// catches what changed while nothing watched. Returns how many started.
    pub async fn start_saved(&self) -> Result<usize, WatchError> {
        let saved = self.store.folders().await?;
        let n = saved.len();
        for folder in saved {
            self.launch(folder).await;
        }
        Ok(n)
    }

    /// Watches `folder`, uploading it to `target` (saved: it is watched again by
    /// `start_saved`). Adding a folder already watched changes its target. The folder is
    /// scanned at once.
    pub async fn add(
        &self,
        folder: &Path,
        target: TargetSpec,
    ) -> Result<FolderSummary, WatchError> {
        let path = canonical(folder)?;
        let id = self.store.add_folder(&path, &target).await?;
        self.stop_one(&path).await;
        let saved = self
            .store
            .folders()
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| WatchError::NotWatched { path: path.clone() })?;
        self.launch(saved).await;
        let shown = path.to_string_lossy().into_owned();
        Ok(self.shared.get(&shown).unwrap_or(FolderSummary {
            path: shown,
            target,
            state: FolderState::Scanning { seen: 0, total: 0 },
            pending: 0,
            files: 0,
            uploaded: 0,
            moved: 0,
            last_sync: None,
        }))
    }

    /// Stops watching `folder` and forgets it and its index. Nothing is deleted anywhere.
    pub async fn remove(&self, folder: &Path) -> Result<(), WatchError> {
        let path = canonical(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.stop_one(&path).await;
        if !self.store.remove_folder(&path).await? {
            return Err(WatchError::NotWatched { path });
        }
        self.shared.forget(&path.to_string_lossy());
        Ok(())
    }

    /// Pauses (no new uploads are queued; changes are caught up on resume) or resumes a
    /// watched folder. Uploads already queued carry on.
    pub async fn pause(&self, folder: &Path, paused: bool) -> Result<(), WatchError> {
        let path = canonical(folder).unwrap_or_else(|_| folder.to_path_buf());
        let saved = self.store.folders().await?;
        let Some(f) = saved.iter().find(|f| f.path == path) else {
            return Err(WatchError::NotWatched { path });
        };
        self.store.set_folder_paused(f.id, paused);
        if let Some(r) = self.running.lock().await.get(&path) {
            let _ = r.paused.send(paused);
        }
        Ok(())
    }

    /// Every saved folder with its state (`Stopped` for those this process does not watch).
    pub async fn list(&self) -> Result<Vec<FolderSummary>, WatchError> {
        let saved = self.store.folders().await?;
        let running = self.running.lock().await;
        Ok(saved
            .into_iter()
            .map(|f| {
                let shown = f.path.to_string_lossy().into_owned();
                let live = running
                    .get(&f.path)
                    .filter(|r| r.id == f.id)
                    .and_then(|_| self.shared.get(&shown));
                live.unwrap_or(FolderSummary {
                    path: shown,
                    target: f.target,
                    state: if f.paused {
                        FolderState::Paused
                    } else {
                        FolderState::Stopped
                    },
                    pending: 0,
                    files: 0,
                    uploaded: 0,
                    moved: 0,
                    last_sync: f.last_sync,
                })
            })
            .collect())
    }

    /// Stops every folder loop of this process (saved folders stay saved). Uploads already
    /// queued stay in the engine's queue.
    pub async fn stop(&self) {
        let all: Vec<Running> = self.running.lock().await.drain().map(|(_, r)| r).collect();
        for r in all {
            r.cancel.cancel();
            let _ = r.task.await;
        }
    }

    async fn stop_one(&self, path: &Path) {
        let removed = self.running.lock().await.remove(path);
        if let Some(r) = removed {
            r.cancel.cancel();
            let _ = r.task.await;
        }
    }

    async fn launch(&self, saved: index::SavedFolder) {
        let cancel = CancellationToken::new();
        let (paused_tx, paused_rx) = tokio::sync::watch::channel(saved.paused);
        let path = saved.path.clone();
        let id = saved.id;
        let job = folder::FolderLoop::new(
            saved,
            self.engine.clone(),
            self.store.clone(),
            self.config.clone(),
            self.shared.clone(),
            cancel.clone(),
            paused_rx,
        );
        let task = tokio::spawn(job.run());
        self.running.lock().await.insert(
            path,
            Running {
                id,
                cancel,
                paused: paused_tx,
                task,
            },
        );
    }
}
