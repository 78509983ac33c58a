//! The sync loop of one watched folder: scans (on start, on floods, periodically), follows
//! file-system signals, lets files settle, hashes the stable ones and decides per file —
//! nothing to do (unchanged content), rename/move on the server, a copy already uploaded,
//! or an upload — then records finished uploads in the sync index. It owns the folder's
//! index in memory; the store keeps it.

use super::ignore::{IgnoreRules, IGNORE_FILE};
use super::index::{sha256_file, IndexEntry, SavedFolder};
use super::scan::{relative, scan, stat, FoundFile};
use super::settle::{Settler, Verdict};
use super::watcher::{FolderWatcher, Signal};
use super::{FolderState, FolderSummary, Shared, WatchConfig};
use crate::config::UploadSettings;
use crate::events::{Event, FileState};
use crate::ids::UploadId;
use crate::queue::{Engine, EnqueueRequest};
use crate::store::Store;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// An upload this loop queued, and what to record when it is done.
struct Pending {
    entry: IndexEntry,
    /// The index entry it replaces (the old path of a moved file the target could not move).
    replaces: Option<String>,
}

pub(super) struct FolderLoop {
    saved: SavedFolder,
    /// The folder's own name: the first component of every remote path, as with `upload`.
    name: String,
    engine: Engine,
    store: Store,
    config: WatchConfig,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    paused: tokio::sync::watch::Receiver<bool>,
    rules: Arc<IgnoreRules>,
    index: HashMap<String, IndexEntry>,
    /// Index paths by content hash, to recognise renames, moves and copies.
    by_hash: HashMap<String, HashSet<String>>,
    settler: Settler,
    /// Stable files waiting for room in the queue.
    ready: VecDeque<FoundFile>,
    pending: HashMap<UploadId, Pending>,
    /// Index entries seen gone, and when: a new file with the same content soon after is a
    /// rename or move. Entries not claimed within `vanish_window` leave the index (the
    /// server keeps the file: upload-only), so an old deletion is never taken for a move.
    vanished: HashMap<String, Instant>,
    vanish_window: std::time::Duration,
    settings: UploadSettings,
    scanning: Option<(u64, u64)>,
    /// A flood of events (or lost ones) was turned into a scan while files were still
    /// arriving: once the folder is quiet, scan again, until a scan finds nothing new. Files
    /// created while the first scan walked their folder are not missed that way.
    recheck: bool,
    /// Follow-up scans left for the current burst of changes (so a file that keeps failing
    /// does not make the folder scan forever).
    follow_ups: u32,
    /// When the watcher last said something.
    last_signal: Instant,
    /// Why the folder cannot be read or watched (from the last scan or the watcher).
    error: Option<String>,
    /// The last upload that failed, until a later one succeeds.
    upload_error: Option<String>,
    uploaded: u64,
    moved: u64,
    last_sync: Option<i64>,
}

/// Follow-up scans after a burst of changes: one normally finds nothing more; a copy still
/// running when it came needs another.
const FOLLOW_UPS: u32 = 3;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl FolderLoop {
    pub(super) fn new(
        saved: SavedFolder,
        engine: Engine,
        store: Store,
        config: WatchConfig,
        shared: Arc<Shared>,
        cancel: CancellationToken,
        paused: tokio::sync::watch::Receiver<bool>,
    ) -> FolderLoop {
        let name = saved
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "folder".into());
        let settings = config.settings.clone().unwrap_or_else(|| UploadSettings {
            chunk_size: saved.target.default_chunk_size(),
            adapt_chunk_size: true,
            ..UploadSettings::default()
        });
        FolderLoop {
            vanish_window: config.settle * 2 + std::time::Duration::from_secs(30),
            rules: Arc::new(IgnoreRules::load(&saved.path, &config.ignore)),
            settler: Settler::new(config.settle),
            last_sync: saved.last_sync,
            saved,
            name,
            engine,
            store,
            config,
            shared,
            cancel,
            paused,
            index: HashMap::new(),
            by_hash: HashMap::new(),
            ready: VecDeque::new(),
            pending: HashMap::new(),
            vanished: HashMap::new(),
            settings,
            scanning: None,
            recheck: false,
            follow_ups: 1,
            last_signal: Instant::now(),
            error: None,
            upload_error: None,
            uploaded: 0,
            moved: 0,
        }
    }

    fn root(&self) -> &PathBuf {
        &self.saved.path
    }

    fn summary(&self) -> FolderSummary {
        let pending = (self.settler.len() + self.ready.len() + self.pending.len()) as u64;
        let state = if let Some((seen, total)) = self.scanning {
            FolderState::Scanning { seen, total }
        } else if *self.paused.borrow() {
            FolderState::Paused
        } else if let Some(reason) = self.error.as_ref().or(self.upload_error.as_ref()) {
            FolderState::Error {
                reason: reason.clone(),
            }
        } else if pending > 0 {
            FolderState::Syncing { pending }
        } else {
            FolderState::UpToDate
        };
        FolderSummary {
            path: self.root().to_string_lossy().into_owned(),
            target: self.saved.target.clone(),
            state,
            pending,
            // What is in the folder now: a file deleted here stays on the server (upload-only
            // sync) and in the index for a while, in case it reappears as a rename, but it is
            // no longer one of the folder's files.
            files: self
                .index
                .keys()
                .filter(|rel| !self.vanished.contains_key(*rel))
                .count() as u64,
            uploaded: self.uploaded,
            moved: self.moved,
            last_sync: self.last_sync,
        }
    }

    fn publish(&mut self) {
        let mut summary = self.summary();
        if summary.state == FolderState::UpToDate {
            let was = self.shared.get(&summary.path).map(|s| s.state);
            if was != Some(FolderState::UpToDate) {
                let now = unix_now();
                self.last_sync = Some(now);
                summary.last_sync = Some(now);
                self.store.set_folder_synced(self.saved.id, now);
            }
        }
        self.shared.publish(summary);
    }

    fn remember(&mut self, entry: IndexEntry) {
        if let Some(old) = self.index.get(&entry.rel_path) {
            if let Some(set) = self.by_hash.get_mut(&old.sha256) {
                set.remove(&entry.rel_path);
            }
        }
        self.by_hash
            .entry(entry.sha256.clone())
            .or_default()
            .insert(entry.rel_path.clone());
        self.store.put_index(self.saved.id, entry.clone());
        self.index.insert(entry.rel_path.clone(), entry);
    }

    fn forget_entry(&mut self, rel: &str) {
        if let Some(old) = self.index.remove(rel) {
            if let Some(set) = self.by_hash.get_mut(&old.sha256) {
                set.remove(rel);
            }
            self.store.delete_index(self.saved.id, rel);
        }
    }

    pub(super) async fn run(mut self) {
        match self.store.load_index(self.saved.id).await {
            Ok(entries) => {
                for e in entries {
                    self.by_hash
                        .entry(e.sha256.clone())
                        .or_default()
                        .insert(e.rel_path.clone());
                    self.index.insert(e.rel_path.clone(), e);
                }
            }
            Err(e) => self.error = Some(format!("cannot read the sync index: {e}")),
        }
        let (tx, mut signals) = mpsc::unbounded_channel();
        let _watcher =
            match FolderWatcher::start(self.root(), self.config.debounce, self.config.flood, tx) {
                Ok(w) => Some(w),
                Err(e) => {
                    // Periodic rescans still catch changes.
                    self.error = Some(e);
                    None
                }
            };
        let mut events = self.engine.subscribe();
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let period = self.config.rescan_every;
        let mut rescan = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut scan_due = true;
        loop {
            if scan_due && !*self.paused.borrow() {
                scan_due = false;
                self.scan().await;
            }
            self.publish();
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                changed = self.paused.changed() => {
                    if changed.is_err() { break; }
                    if !*self.paused.borrow() { scan_due = true; }
                }
                signal = signals.recv() => {
                    self.last_signal = Instant::now();
                    match signal {
                        Some(Signal::Paths(paths)) if !self.on_paths(&paths) => {}
                        // Too many events, lost ones, a folder moved in, the ignore file.
                        Some(_) => {
                            scan_due = true;
                            self.follow_ups = FOLLOW_UPS;
                        }
                        None => {}
                    }
                },
                ev = events.recv() => match ev {
                    Ok(Event::File { id, state }) => self.on_file_state(id, &state),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.reconcile().await,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {
                    if !*self.paused.borrow() {
                        self.expire_vanished();
                        self.check_settling().await;
                        self.process_ready().await;
                        scan_due |= self.recheck_due();
                    }
                }
                _ = rescan.tick() => scan_due = true,
            }
        }
        self.scanning = None;
        let mut last = self.summary();
        last.state = FolderState::Stopped;
        self.shared.publish(last);
    }

    fn want_follow_up(&mut self) {
        if self.follow_ups > 0 {
            self.follow_ups -= 1;
            self.recheck = true;
        }
    }

    /// Whether the follow-up scan after a flood should run now: the watcher has been quiet
    /// for a while and nothing is settling or waiting to be hashed.
    fn recheck_due(&mut self) -> bool {
        let quiet = (self.config.debounce * 3).max(self.config.settle);
        let due = self.recheck
            && self.settler.is_empty()
            && self.ready.is_empty()
            && self.last_signal.elapsed() >= quiet;
        if due {
            self.recheck = false;
        }
        due
    }

    /// Walks the folder and starts settling what is new or changed.
    async fn scan(&mut self) {
        self.rules = Arc::new(IgnoreRules::load(self.root(), &self.config.ignore));
        let total = self.index.len() as u64;
        self.scanning = Some((0, total));
        self.publish();
        let root = self.root().clone();
        let rules = self.rules.clone();
        let index = std::mem::take(&mut self.index);
        let shared = self.shared.clone();
        let mut base = self.summary();
        let outcome = tokio::task::spawn_blocking(move || {
            let result = scan(&root, &rules, &index, &mut |seen| {
                base.state = FolderState::Scanning {
                    seen: seen as u64,
                    total,
                };
                shared.publish(base.clone());
            });
            (index, result)
        })
        .await;
        self.scanning = None;
        let Ok((index, result)) = outcome else {
            self.error = Some("the folder scan stopped unexpectedly".into());
            return;
        };
        self.index = index;
        self.error = result.problems.first().cloned();
        let seen_at = Instant::now();
        for rel in result.missing {
            self.vanished.entry(rel).or_insert(seen_at);
        }
        if let Some(w) = self.rules.warnings.first() {
            self.error = Some(w.clone());
        }
        let now = Instant::now();
        // Files already on their way are not looked at again.
        let busy: HashSet<String> = self
            .pending
            .values()
            .map(|p| p.entry.rel_path.clone())
            .chain(self.ready.iter().map(|f| f.rel_path.clone()))
            .collect();
        let mut new = 0;
        for c in result.candidates {
            if !busy.contains(&c.rel_path) {
                new += 1;
                self.settler.track(&c.rel_path, c.size, c.mtime_ns, now);
            }
        }
        // What a scan finds may still be arriving (a copy in progress): look once more
        // when it is quiet.
        if new > 0 {
            self.want_follow_up();
        }
    }

    /// Paths the watcher reported; returns whether a rescan is needed (ignore file changed).
    fn on_paths(&mut self, paths: &[PathBuf]) -> bool {
        let now = Instant::now();
        let mut rescan = false;
        for path in paths {
            if path.file_name().is_some_and(|n| n == IGNORE_FILE) {
                rescan = true;
                continue;
            }
            let Some(rel) = relative(self.root(), path) else {
                continue;
            };
            if path.is_dir() {
                // A folder moved or copied in: its files came without events of their own.
                if !self.rules.is_ignored(path, true) {
                    rescan = true;
                }
                continue;
            }
            if self.rules.is_ignored(path, false) {
                self.settler.forget(&rel);
                continue;
            }
            match stat(path) {
                Some((size, mtime_ns)) => {
                    let known = self
                        .index
                        .get(&rel)
                        .is_some_and(|e| e.size == size && e.mtime_ns == mtime_ns);
                    if !known {
                        self.settler.track(&rel, size, mtime_ns, now);
                    }
                }
                // Deleted: nothing happens on the server (upload-only sync).
                None => {
                    self.settler.forget(&rel);
                    if self.index.contains_key(&rel) {
                        self.vanished.entry(rel).or_insert(now);
                    }
                }
            }
        }
        rescan
    }

    /// Forgets index entries gone for longer than the window (still gone).
    fn expire_vanished(&mut self) {
        let window = self.vanish_window;
        let expired: Vec<String> = self
            .vanished
            .iter()
            .filter(|(_, at)| at.elapsed() >= window)
            .map(|(rel, _)| rel.clone())
            .collect();
        for rel in expired {
            self.vanished.remove(&rel);
            if !self.root().join(&rel).exists() {
                self.forget_entry(&rel);
            }
        }
    }

    /// Looks at settling files again; stable ones move on to `ready`.
    async fn check_settling(&mut self) {
        if self.settler.is_empty() {
            return;
        }
        let root = self.root().clone();
        let rels: Vec<String> = self.settler.waiting().map(str::to_string).collect();
        let Ok(stats) = tokio::task::spawn_blocking(move || {
            rels.into_iter()
                .map(|rel| {
                    let s = stat(&root.join(&rel));
                    (rel, s)
                })
                .collect::<Vec<_>>()
        })
        .await
        else {
            return;
        };
        let now = Instant::now();
        for (rel, s) in stats {
            match s {
                None => self.settler.forget(&rel),
                Some((size, mtime_ns)) => {
                    if self.settler.observe(&rel, size, mtime_ns, now) == Verdict::Stable {
                        self.ready.push_back(FoundFile {
                            rel_path: rel,
                            size,
                            mtime_ns,
                        });
                    }
                }
            }
        }
    }

    /// Hashes stable files and acts on them, while the queue has room.
    async fn process_ready(&mut self) {
        while !self.ready.is_empty() && self.pending.len() < self.config.max_pending {
            let room = (self.config.max_pending - self.pending.len()).min(256);
            let batch: Vec<FoundFile> = (0..room).filter_map(|_| self.ready.pop_front()).collect();
            let root = self.root().clone();
            let Ok(hashed) = tokio::task::spawn_blocking(move || {
                batch
                    .into_iter()
                    .map(|f| {
                        let path = root.join(&f.rel_path);
                        let hash = sha256_file(&path).ok();
                        // Changed while we read it: it settles again.
                        let same = stat(&path) == Some((f.size, f.mtime_ns));
                        (f, hash.filter(|_| same))
                    })
                    .collect::<Vec<_>>()
            })
            .await
            else {
                return;
            };
            let now = Instant::now();
            for (found, hash) in hashed {
                match hash {
                    Some(h) => self.act(found, h).await,
                    None => {
                        if let Some((size, mtime_ns)) = stat(&self.root().join(&found.rel_path)) {
                            self.settler.track(&found.rel_path, size, mtime_ns, now);
                        }
                    }
                }
            }
        }
    }

    /// Decides what one stable, hashed file needs.
    async fn act(&mut self, found: FoundFile, sha256: String) {
        let rel = found.rel_path.clone();
        // Seen again (a late event) while this very version is already on its way.
        let queued = self.pending.values().any(|p| {
            p.entry.rel_path == rel
                && p.entry.size == found.size
                && p.entry.mtime_ns == found.mtime_ns
        });
        if queued {
            return;
        }
        let entry = IndexEntry {
            rel_path: rel.clone(),
            size: found.size,
            mtime_ns: found.mtime_ns,
            sha256: sha256.clone(),
            remote_path: format!("{}/{}", self.name, rel),
        };
        // Same content as uploaded (touched, or restored): nothing to send.
        if let Some(old) = self.index.get(&rel) {
            if old.sha256 == sha256 {
                let remote_path = old.remote_path.clone();
                self.remember(IndexEntry {
                    remote_path,
                    ..entry
                });
                return;
            }
        }
        // Empty files all share one hash: they are never taken for renames or copies.
        let mut replaces = None;
        if found.size > 0 {
            let others: Vec<String> = self
                .by_hash
                .get(&sha256)
                .map(|s| s.iter().filter(|r| **r != rel).cloned().collect())
                .unwrap_or_default();
            let root = self.root().clone();
            let (gone, present): (Vec<String>, Vec<String>) =
                others.into_iter().partition(|o| !root.join(o).exists());
            // A file that just vanished, uploaded under its own path, can be moved on the
            // server; a vanished copy simply leaves the index.
            let own_path =
                |me: &Self, o: &str| me.index[o].remote_path == format!("{}/{o}", me.name);
            let just_gone: Vec<String> = gone
                .into_iter()
                .filter(|o| self.vanished.contains_key(o))
                .collect();
            let movable = just_gone.iter().find(|o| own_path(self, o)).cloned();
            for o in &just_gone {
                if !own_path(self, o) {
                    self.vanished.remove(o);
                    self.forget_entry(o);
                }
            }
            let others = present;
            if let Some(from) = movable {
                // Renamed or moved inside the folder.
                let from_remote = self.index[&from].remote_path.clone();
                match self.move_on_target(&from_remote, &entry.remote_path).await {
                    Ok(true) => {
                        // The queue's entry for the file takes its new names too.
                        let followed = self
                            .engine
                            .follow_rename(
                                &self.saved.target,
                                (self.root().join(&from), from_remote.clone()),
                                (self.root().join(&rel), entry.remote_path.clone()),
                            )
                            .await;
                        if let Err(e) = followed {
                            tracing::warn!("the queue did not follow {from} to {rel}: {e}");
                        }
                        self.vanished.remove(&from);
                        self.forget_entry(&from);
                        self.remember(entry);
                        self.moved += 1;
                        return;
                    }
                    Ok(false) => replaces = Some(from),
                    Err(e) => {
                        tracing::warn!(
                            "cannot move {from_remote} to {} on the server ({e}); uploading it \
                             again",
                            entry.remote_path
                        );
                        replaces = Some(from);
                    }
                }
            } else if let Some(original) = others.first() {
                // A copy of a file already uploaded: its content is on the server.
                let remote_path = self.index[original].remote_path.clone();
                self.remember(IndexEntry {
                    remote_path,
                    ..entry
                });
                return;
            }
        }
        let request = EnqueueRequest {
            path: self.root().join(&rel),
            relative_path: Some(entry.remote_path.clone()),
            target: self.saved.target.clone(),
            settings: self.settings.clone(),
        };
        match self.engine.enqueue(request).await {
            Ok(id) => {
                self.pending.insert(id, Pending { entry, replaces });
            }
            Err(e) => {
                // Gone or unreadable now: the reason shows on the folder, and the next scan
                // (the follow-up one, or the periodic one) looks at it again.
                tracing::warn!("cannot queue {rel}: {e}");
                if self.root().join(&rel).exists() {
                    self.upload_error = Some(format!("{rel}: {e}"));
                }
                self.want_follow_up();
            }
        }
    }

    async fn move_on_target(&self, from: &str, to: &str) -> Result<bool, String> {
        let target = self
            .engine
            .live_target(&self.saved.target)
            .map_err(|e| e.to_string())?;
        target.move_file(from, to).await.map_err(|e| e.to_string())
    }

    fn on_file_state(&mut self, id: UploadId, state: &FileState) {
        if !self.pending.contains_key(&id) {
            return;
        }
        match state {
            // A skipped file's name is on the server already: not sent at each scan again.
            FileState::Done | FileState::Skipped { .. } => self.finish(id),
            FileState::Failed { reason, .. } => {
                if let Some(p) = self.pending.remove(&id) {
                    self.upload_error = Some(format!("{}: {reason}", p.entry.rel_path));
                }
            }
            FileState::Cancelled => {
                self.pending.remove(&id);
            }
            _ => {}
        }
    }

    fn finish(&mut self, id: UploadId) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        if let Some(old) = &p.replaces {
            self.vanished.remove(old);
            self.forget_entry(old);
        }
        self.remember(p.entry);
        self.uploaded += 1;
        // A failed file is found again by the next scan (it is not in the index).
        self.upload_error = None;
    }

    /// After missing events: reads the states of our uploads from the queue.
    async fn reconcile(&mut self) {
        let Ok(all) = self.engine.snapshot().await else {
            return;
        };
        for u in all {
            if self.pending.contains_key(&u.id) {
                self.on_file_state(u.id, &u.state);
            }
        }
    }
}
