//! Folder sync in the app: the one `FolderSync` next to the engine, started on launch with the
//! saved folders, and its summaries folded into batches for the window (latest summary per
//! folder, at most one batch per `FLUSH_EVERY`, like the queue). No Tauri types here, so the
//! path from "folder added" to "up to date" is tested without a window.

use crate::bridge::FLUSH_EVERY;
use crate::ipc::UserError;
use crate::settings::AppSettings;
use crate::state::AppState;
use crate::targets::TargetList;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;
use ts_rs::TS;
use upload_engine::watch::ignore::{IgnoreRules, DEFAULT_PATTERNS};
use upload_engine::{
    Engine, FolderState, FolderSummary, FolderSync, TargetSpec, WatchConfig, WatchError, WatchEvent,
};

/// Name of the event that carries a [`WatchBatch`] to the webview.
pub const WATCH_EVENT: &str = "watch-batch";

/// One watched folder as the panel shows it: the target by name, never its address details.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct WatchedFolder {
    pub path: String,
    /// The target's name as the target menu shows it.
    pub target: String,
    pub state: FolderState,
    /// Files settling, waiting or uploading.
    pub pending: u64,
    /// Files in the sync index.
    pub files: u64,
    /// Uploads finished since the app started.
    pub uploaded: u64,
    /// Files moved on the server instead of uploaded again.
    pub moved: u64,
    /// Unix seconds when the folder was last up to date.
    pub last_sync: Option<i64>,
}

/// Folder news gathered over about 100 ms; the UI applies `folders`, then `removed`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct WatchBatch {
    pub folders: Vec<WatchedFolder>,
    pub removed: Vec<String>,
    /// News was lost (or watching restarted): the UI must re-read `watched_folders`.
    pub resync: bool,
}

/// What the panel reads first: the folders, and the ignore patterns every folder starts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct WatchOverview {
    pub folders: Vec<WatchedFolder>,
    pub builtin_ignore: Vec<String>,
}

impl From<WatchError> for UserError {
    fn from(e: WatchError) -> UserError {
        let hint = match &e {
            WatchError::NeedsDurableQueue | WatchError::Store(_) => {
                "Check that your data folder is writable and has free space, then restart."
            }
            WatchError::NotAFolder { .. } => "Choose a folder that exists and that you may read.",
            WatchError::NotWatched { .. } => "It was probably removed already.",
        };
        UserError::new(e.to_string(), hint)
    }
}

/// The watch settings the app's settings give: its chunk size, its global ignore list.
pub fn watch_config(settings: &AppSettings) -> WatchConfig {
    WatchConfig {
        ignore: settings.watch_ignore.clone(),
        settings: settings.chosen_upload_settings(),
        ..WatchConfig::default()
    }
}

/// Refuses ignore lines the matcher cannot read, naming the line.
pub fn check_ignore(patterns: &[String]) -> Result<(), UserError> {
    // No `.twakeignore` lives in a folder that does not exist: only `patterns` are read.
    let rules = IgnoreRules::load(Path::new("/nonexistent-twake-uploader-check"), patterns);
    match rules.warnings.first() {
        None => Ok(()),
        Some(w) => Err(UserError::new(
            // The matcher's words name the line: "ignore pattern 'a[' is not valid: …".
            w.clone(),
            "Fix or remove that line; patterns use gitignore syntax, like *.tmp or build/.",
        )),
    }
}

/// A target's name for the panel: the menu's name for a known address, else a short form.
pub fn target_name(target: &TargetSpec, known: &TargetList) -> String {
    match target {
        TargetSpec::Resumable { url, .. } => known
            .targets
            .iter()
            .find(|t| t.engine_label.as_deref() == Some(url.as_str()))
            .map(|t| t.name.clone())
            .unwrap_or_else(|| url.clone()),
        // Named as the Upload to menu names it: never with the internal account id.
        TargetSpec::Twake {
            account, folder, ..
        } => crate::targets::twake_name(&crate::targets::account_email(account), folder),
        // A cozy account is named by its instance.
        TargetSpec::Cozy {
            account, folder, ..
        } => crate::targets::twake_name(account, folder),
    }
}

pub fn view(s: FolderSummary, known: &TargetList) -> WatchedFolder {
    WatchedFolder {
        target: target_name(&s.target, known),
        path: s.path,
        state: s.state,
        pending: s.pending,
        files: s.files,
        uploaded: s.uploaded,
        moved: s.moved,
        last_sync: s.last_sync,
    }
}

/// What the relay passes on: one event, or "events were lost".
type News = Option<WatchEvent>;

/// The app's folder sync. Changing the global ignore list or the chunk size restarts it with
/// the new settings (each folder is rescanned against its index: nothing is uploaded twice).
pub struct Watching {
    engine: Engine,
    sync: tokio::sync::Mutex<(FolderSync, WatchConfig)>,
    news: mpsc::UnboundedSender<News>,
}

impl Watching {
    /// Folder sync over `engine` (which must have a durable queue); nothing runs until
    /// `start_saved`. The receiver carries every folder's news, for `forward`.
    pub fn new(
        engine: Engine,
        config: WatchConfig,
    ) -> Result<(Watching, mpsc::UnboundedReceiver<News>), WatchError> {
        let (news, rx) = mpsc::unbounded_channel();
        let sync = FolderSync::new(&engine, config.clone())?;
        relay(&sync, news.clone());
        let w = Watching {
            engine,
            sync: tokio::sync::Mutex::new((sync, config)),
            news,
        };
        Ok((w, rx))
    }

    async fn sync(&self) -> FolderSync {
        self.sync.lock().await.0.clone()
    }

    /// Watches again every folder saved by an earlier run; returns how many.
    pub async fn start_saved(&self) -> Result<usize, WatchError> {
        self.sync().await.start_saved().await
    }

    /// Watches `folder` to target `target_id` (an id of the target menu).
    pub async fn add(
        &self,
        folder: &Path,
        target_id: &str,
        state: &AppState,
    ) -> Result<WatchedFolder, UserError> {
        let settings = state.settings();
        let (target, _) = state.targets.resolve(target_id, &settings).await?;
        let summary = self.sync().await.add(folder, target).await?;
        Ok(view(summary, &state.targets.list(&settings)))
    }

    pub async fn remove(&self, folder: &Path) -> Result<(), UserError> {
        Ok(self.sync().await.remove(folder).await?)
    }

    pub async fn pause(&self, folder: &Path, paused: bool) -> Result<(), UserError> {
        self.sync().await.pause(folder, paused).await?;
        // A paused folder loop says so itself; a folder that is not running (its target
        // could not start) would otherwise keep showing its old state.
        let _ = self.news.send(None);
        Ok(())
    }

    pub async fn overview(&self, known: &TargetList) -> Result<WatchOverview, UserError> {
        let folders = self.sync().await.list().await?;
        Ok(WatchOverview {
            folders: folders.into_iter().map(|f| view(f, known)).collect(),
            builtin_ignore: DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect(),
        })
    }

    /// The targets of the saved folders (to start what they need before watching them).
    pub async fn saved_targets(&self) -> Result<Vec<TargetSpec>, WatchError> {
        let folders = self.sync().await.list().await?;
        Ok(folders.into_iter().map(|f| f.target).collect())
    }

    /// Applies new settings: when what folders are watched with changed, every folder loop
    /// stops and starts again with the new configuration.
    pub async fn apply(&self, settings: &AppSettings) -> Result<(), UserError> {
        let config = watch_config(settings);
        let mut guard = self.sync.lock().await;
        let same = guard.1.ignore == config.ignore
            && guard.1.settings.as_ref().map(|s| s.chunk_size)
                == config.settings.as_ref().map(|s| s.chunk_size);
        if same {
            return Ok(());
        }
        guard.0.stop().await;
        let sync = FolderSync::new(&self.engine, config.clone())?;
        relay(&sync, self.news.clone());
        *guard = (sync.clone(), config);
        drop(guard);
        let _ = self.news.send(None);
        sync.start_saved().await?;
        Ok(())
    }

    /// Stops every folder loop (on quit); saved folders stay saved.
    pub async fn stop(&self) {
        self.sync().await.stop().await;
    }
}

/// Passes one `FolderSync`'s events on until it is dropped.
fn relay(sync: &FolderSync, news: mpsc::UnboundedSender<News>) {
    let mut events = sync.subscribe();
    tokio::spawn(async move {
        loop {
            let item = match events.recv().await {
                Ok(e) => Some(e),
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => break,
            };
            if news.send(item).is_err() {
                break;
            }
        }
    });
}

/// Folder news since the last flush: the latest summary per folder.
#[derive(Debug, Default)]
pub struct WatchNews {
    folders: BTreeMap<String, FolderSummary>,
    removed: BTreeSet<String>,
    resync: bool,
}

impl WatchNews {
    pub fn push(&mut self, news: News) {
        match news {
            Some(WatchEvent::Folder { folder }) => {
                self.removed.remove(&folder.path);
                self.folders.insert(folder.path.clone(), folder);
            }
            Some(WatchEvent::Removed { path }) => {
                self.folders.remove(&path);
                self.removed.insert(path);
            }
            None => {
                *self = WatchNews {
                    resync: true,
                    ..WatchNews::default()
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.resync && self.folders.is_empty() && self.removed.is_empty()
    }

    /// Everything gathered, with targets named from `known`; leaves nothing behind.
    pub fn take(&mut self, known: &TargetList) -> WatchBatch {
        let n = std::mem::take(self);
        WatchBatch {
            folders: n.folders.into_values().map(|f| view(f, known)).collect(),
            removed: n.removed.into_iter().collect(),
            resync: n.resync,
        }
    }
}

/// Runs until every sender is gone, calling `flush` at most once per `FLUSH_EVERY`; `known`
/// names the targets at flush time (the target list may have changed meanwhile).
pub async fn forward(
    mut news: mpsc::UnboundedReceiver<News>,
    known: impl Fn() -> TargetList,
    mut flush: impl FnMut(WatchBatch),
) {
    let mut pending = WatchNews::default();
    let mut last_flush = Instant::now() - FLUSH_EVERY;
    loop {
        let due = (!pending.is_empty()).then(|| last_flush + FLUSH_EVERY);
        tokio::select! {
            received = news.recv() => match received {
                Some(n) => pending.push(n),
                None => break,
            },
            _ = async { tokio::time::sleep_until(due.unwrap_or_else(Instant::now)).await }, if due.is_some() => {
                last_flush = Instant::now();
                flush(pending.take(&known()));
            }
        }
    }
    if !pending.is_empty() {
        flush(pending.take(&known()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{Targets, LOCAL_ID};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn summary(path: &str, state: FolderState) -> FolderSummary {
        FolderSummary {
            path: path.into(),
            target: TargetSpec::Resumable {
                url: "http://127.0.0.1:9/upload".into(),
                dialect: upload_engine::Dialect::Resumable,
            },
            state,
            pending: 0,
            files: 0,
            uploaded: 0,
            moved: 0,
            last_sync: None,
        }
    }

    #[test]
    fn news_keeps_the_latest_summary_per_folder_and_a_removal_wins() {
        let mut n = WatchNews::default();
        for seen in 0..1000 {
            n.push(Some(WatchEvent::Folder {
                folder: summary("/a", FolderState::Scanning { seen, total: 1000 }),
            }));
        }
        n.push(Some(WatchEvent::Folder {
            folder: summary("/b", FolderState::UpToDate),
        }));
        n.push(Some(WatchEvent::Removed { path: "/b".into() }));
        let known = Targets::new("/tmp/x".into(), 0).list(&AppSettings::default());
        let b = n.take(&known);
        assert_eq!(b.folders.len(), 1);
        assert_eq!(
            b.folders[0].state,
            FolderState::Scanning {
                seen: 999,
                total: 1000
            }
        );
        assert_eq!(b.folders[0].target, "http://127.0.0.1:9/upload");
        assert_eq!(b.removed, ["/b"]);
        assert!(n.is_empty());
    }

    #[test]
    fn a_bad_ignore_line_is_refused_by_name_and_good_ones_pass() {
        assert!(check_ignore(&["*.log".into(), "build/".into(), "!keep.log".into()]).is_ok());
        let e = check_ignore(&["*.[z-a]".into()]).unwrap_err();
        assert!(e.message.contains("*.[z-a]"), "{e:?}");
    }

    /// The whole path the panel relies on, with the real local test server: add a folder,
    /// write a file, see it received and the folder's last summary say "up to date".
    #[tokio::test]
    async fn a_watched_folder_uploads_a_new_file_to_the_local_test_server_and_is_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AppSettings {
            chunk_size: Some(64 * 1024),
            ..AppSettings::default()
        };
        let state = Arc::new(AppState::in_folder(dir.path(), settings.clone()).await);
        let engine = state.engine.clone();
        let config = WatchConfig {
            settle: Duration::from_millis(300),
            debounce: Duration::from_millis(100),
            tick: Duration::from_millis(50),
            ..watch_config(&settings)
        };
        let (watching, rx) = Watching::new(engine, config).unwrap();
        let batches: Arc<Mutex<Vec<WatchBatch>>> = Arc::default();
        let sink = batches.clone();
        let for_names = state.clone();
        tokio::spawn(forward(
            rx,
            move || for_names.targets.list(&for_names.settings()),
            move |b| sink.lock().unwrap().push(b),
        ));

        let folder = dir.path().join("Photos");
        std::fs::create_dir_all(&folder).unwrap();
        let added = watching.add(&folder, LOCAL_ID, &state).await.unwrap();
        assert_eq!(added.target, "Local test server");
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(folder.join("beach.jpg"), &body).unwrap();

        let received = dir.path().join("received/Photos/beach.jpg");
        let deadline = Instant::now() + Duration::from_secs(30);
        let last = loop {
            let last = batches
                .lock()
                .unwrap()
                .iter()
                .flat_map(|b| b.folders.iter().cloned())
                .last();
            if let Some(f) = &last {
                if f.state == FolderState::UpToDate && f.uploaded == 1 && received.exists() {
                    break f.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "not up to date in 30 s: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(std::fs::read(&received).unwrap(), body);
        assert!(last.last_sync.is_some());
        assert_eq!(last.target, "Local test server");
        let listed = watching
            .overview(&state.targets.list(&state.settings()))
            .await
            .unwrap();
        assert_eq!(listed.folders.len(), 1);
        assert!(listed.builtin_ignore.contains(&"*.part".to_string()));

        watching.pause(&folder, true).await.unwrap();
        watching.remove(&folder).await.unwrap();
        let listed = watching
            .overview(&state.targets.list(&state.settings()))
            .await
            .unwrap();
        assert!(listed.folders.is_empty());
        assert_eq!(
            std::fs::read(&received).unwrap(),
            body,
            "removing never deletes"
        );
        watching.stop().await;
    }
}
