//! The queue: the `Engine` handle that front ends hold, and the scheduler task behind it.
//! Handles are cheap clones that send commands; the scheduler alone owns the state.

#[cfg(test)]
mod clock_tests;
mod config;
mod order;
pub mod pace;
mod rate;
mod scheduler;
mod unavailable;
mod upload;
mod work;

pub use config::EngineConfig;
pub use scheduler::ChunkInfo;

/// Distance between neighbours in the saved queue order.
use crate::accounts::{AccountChange, Accounts};
use crate::config::{ChangedFilePolicy, Limits, UploadSettings};
use crate::engine_error::EngineError;
use crate::events::{Event, FileState, HoldReason, QueueTotals, UploadSummary};
use crate::ids::UploadId;
use crate::protocol::strong_identifier;
use crate::sources::SourceFile;
use crate::store::{HistoryPage, HistoryQuery, NewUpload, Store, StoredUpload};
use crate::targets::{build_target, HttpSettings, Target, TargetContext, TargetSpec, UploadFile};
use crate::throttle::Throttle;
use scheduler::{mtime_nanos, Command, Scheduler};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, oneshot};

/// A file to upload, as a front end asks for it.
#[derive(Clone, Debug)]
pub struct EnqueueRequest {
    pub path: PathBuf,
    /// Path the server should store it under; the file name when `None`.
    pub relative_path: Option<String>,
    pub target: TargetSpec,
    pub settings: UploadSettings,
}

/// Handle to a running upload engine. Clone it freely; the engine stops when the last
/// handle is dropped or `shutdown` is called.
#[derive(Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<Event>,
    context: TargetContext,
    accounts: Option<Arc<Accounts>>,
    /// One live target per description, so files to the same server share connections.
    targets: Arc<Mutex<HashMap<TargetSpec, Arc<dyn Target>>>>,
    store: Option<Store>,
    throttle: Arc<Throttle>,
    /// Ids for queues kept in memory; a store hands out its own.
    next_id: Arc<AtomicU64>,
    notices: Arc<Vec<String>>,
    /// Finished uploads of the durable queue, which the scheduler does not hold: queuing the
    /// same unchanged file to the same target again brings its entry back as done instead
    /// of sending it twice.
    finished: Arc<Mutex<HashMap<FinishedKey, StoredUpload>>>,
}

/// A finished upload's local file, server path and target.
type FinishedKey = (PathBuf, String, TargetSpec);

impl Engine {
    /// Starts an engine. With `config.database` set, the queue is durable: unfinished
    /// uploads of an earlier run are loaded and continue (paused ones stay paused).
    /// Must be called inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        Self::open_with(config, Vec::new()).await
    }

    /// Like `open`, with live targets for some descriptions given up front (targets that
    /// need a signed-in session the engine cannot build alone), so that uploads restored
    /// from the queue use them.
    pub async fn open_with(
        config: EngineConfig,
        known: Vec<(TargetSpec, Arc<dyn Target>)>,
    ) -> Result<Engine, EngineError> {
        let (events, _) = broadcast::channel(config.event_capacity.max(16));
        let (commands, rx) = mpsc::unbounded_channel();
        let http = HttpSettings {
            connect_timeout: config.connect_timeout,
            stall_timeout: config.stall_timeout,
            network: config.network.clone(),
        };
        let accounts = config.accounts.clone();
        let context = TargetContext {
            http,
            sessions: accounts
                .clone()
                .map(|a| a as Arc<dyn crate::targets::twake::Sessions>),
            cozy: accounts
                .clone()
                .map(|a| a as Arc<dyn crate::targets::cozy::CozySessions>),
        };
        let throttle = Arc::new(Throttle::new(config.bandwidth_limit));
        let mut notices = Vec::new();
        let (store, stored) = match &config.database {
            Some(path) => {
                let path = path.clone();
                let tx = events.clone();
                let on_error: Box<dyn Fn(String) + Send> = Box::new(move |message| {
                    tracing::error!("{message}");
                    let _ = tx.send(Event::Notice { message });
                });
                let opened = tokio::task::spawn_blocking(move || Store::open(&path, on_error))
                    .await
                    .map_err(|e| EngineError::Internal(e.to_string()))??;
                if let Some(aside) = &opened.moved_aside {
                    notices.push(format!(
                        "the upload queue {} was damaged; it was moved to {} and a new, empty queue was started",
                        opened.store.path().display(),
                        aside.display()
                    ));
                }
                let stored = opened.store.load_all().await?;
                (Some(opened.store), stored)
            }
            None => (None, Vec::new()),
        };
        let targets: Arc<Mutex<HashMap<TargetSpec, Arc<dyn Target>>>> =
            Arc::new(Mutex::new(known.into_iter().collect()));
        let mut restored = Vec::new();
        let mut finished = HashMap::new();
        for s in stored {
            if s.state == FileState::Done {
                let key = (
                    s.new.path.clone(),
                    s.new.relative_path.clone(),
                    s.new.target.clone(),
                );
                finished.insert(key, s);
                continue;
            }
            if s.state == FileState::Cancelled {
                continue;
            }
            let position = s.position;
            restored.push((restore(s, &targets, &context), position));
        }
        let scheduler = Scheduler::new(
            config,
            events.clone(),
            store.clone(),
            throttle.clone(),
            restored,
        );
        tokio::spawn(scheduler.run(rx));
        if let Some(accounts) = &accounts {
            restart_on_sign_in(accounts.subscribe(), commands.downgrade());
        }
        Ok(Engine {
            commands,
            events,
            context,
            accounts,
            targets,
            store,
            throttle,
            next_id: Arc::new(AtomicU64::new(1)),
            notices: Arc::new(notices),
            finished: Arc::new(Mutex::new(finished)),
        })
    }

    /// Things the user should be told about opening the queue (a damaged database moved
    /// aside). Empty when all went well.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Where the durable queue lives, if it is durable.
    pub fn database(&self) -> Option<&std::path::Path> {
        self.store.as_ref().map(|s| s.path())
    }

    /// Changes the global bandwidth limit at once (bytes per second; 0 = none).
    pub fn set_bandwidth_limit(&self, bytes_per_sec: u64) {
        self.throttle.set_rate(bytes_per_sec);
    }

    pub fn bandwidth_limit(&self) -> u64 {
        self.throttle.rate()
    }

    /// Events from now on. A subscriber that falls behind gets `Lagged`; it should then
    /// re-read `snapshot()`.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn target(&self, spec: &TargetSpec) -> Result<Arc<dyn Target>, EngineError> {
        target_for(&self.targets, spec, &self.context)
    }

    /// The accounts service this engine was opened with, shared with the front end.
    pub fn accounts(&self) -> Option<&Arc<Accounts>> {
        self.accounts.as_ref()
    }

    /// Gets the server ready for a batch of files to `spec` (their server paths) before they
    /// are queued: a target that can keeps the batch's new top folders hidden until their
    /// last file is in. A destination that refuses (no such folder, no write access) is an
    /// error here, before anything is queued; a server that cannot be reached is not: the
    /// files are queued and wait for it, and their folders simply appear at once.
    pub async fn prepare(
        &self,
        spec: &TargetSpec,
        relative_paths: &[String],
    ) -> Result<(), EngineError> {
        let target = self.target(spec)?;
        if !target.capabilities().hide_new_folders {
            return Ok(());
        }
        match target.prepare(relative_paths).await {
            Ok(()) => Ok(()),
            Err(
                e @ (crate::error::ChunkError::Network { .. }
                | crate::error::ChunkError::Stalled(_)
                | crate::error::ChunkError::Retryable { .. }),
            ) => {
                tracing::warn!(
                    "{}: {e}; the files are queued and wait for it",
                    target.label()
                );
                Ok(())
            }
            Err(crate::error::ChunkError::Permanent {
                kind: crate::events::FailureKind::SignedOut,
                message,
                ..
            }) => {
                // Queued anyway: they wait, signed out, and start after the next sign-in.
                tracing::warn!("{message}");
                Ok(())
            }
            Err(e) => Err(EngineError::Refused {
                target: target.label(),
                kind: e.failure_kind(),
                message: e.to_string(),
            }),
        }
    }

    /// Restarts the uploads of `account` that its sign-out stopped, and answers how many.
    /// The engine does this by itself when its accounts service signs the account in; a
    /// front end that must know it happened before going on (a dialog) calls it too.
    pub async fn restart_signed_out(&self, account: &str) -> Result<usize, EngineError> {
        let account = account.to_string();
        self.ask(|reply| Command::SignedIn(account, Some(reply)))
            .await
    }

    /// Folders of `spec` kept out of sight until their files are in, with how many files
    /// each still waits for.
    pub async fn waiting_folders(&self, spec: &TargetSpec) -> Vec<(String, usize)> {
        match self.target(spec) {
            Ok(t) => t.waiting_folders().await,
            Err(_) => Vec::new(),
        }
    }

    /// The live target for `spec` (folder sync asks it to move files).
    pub(crate) fn live_target(&self, spec: &TargetSpec) -> Result<Arc<dyn Target>, EngineError> {
        self.target(spec)
    }

    /// The durable queue's store, if the queue is durable (folder sync keeps its index there).
    pub(crate) fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Uses a target built elsewhere (tests, or targets that need a session) for `spec`.
    pub fn register_target(&self, spec: TargetSpec, target: Arc<dyn Target>) {
        if let Ok(mut map) = self.targets.lock() {
            map.insert(spec, target);
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Queues one file. The file is looked at now (size, mtime); a missing or unreadable
    /// file is refused here with its path in the message.
    pub async fn enqueue(&self, request: EnqueueRequest) -> Result<UploadId, EngineError> {
        let target = self.target(&request.target)?;
        let path = request.path;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|source| EngineError::Unreadable {
                path: path.clone(),
                source,
            })?;
        if !meta.is_file() {
            return Err(EngineError::NotAFile { path });
        }
        // Opening proves we may read it, so a permission problem shows now, not mid-upload.
        tokio::fs::File::open(&path)
            .await
            .map_err(|source| EngineError::Unreadable {
                path: path.clone(),
                source,
            })?;
        let mtime = meta.modified().map_err(|source| EngineError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let filename = match path.file_name() {
            Some(n) => crate::names::upload_name(n)
                .map_err(|reason| EngineError::bad_name(&path, reason))?
                .to_string(),
            None => "file".into(),
        };
        let relative_path = request.relative_path.unwrap_or_else(|| filename.clone());
        // A server path given by the caller gets the same check as a file's own name.
        for part in relative_path.split('/') {
            crate::names::upload_name(std::ffi::OsStr::new(part))
                .map_err(|reason| EngineError::bad_name(&path, reason))?;
        }
        let mut settings = request.settings;
        // Within what the server takes (a whole-file target gets one piece).
        settings.chunk_size = target
            .capabilities()
            .chunk_size_for(Some(settings.chunk_size), meta.len());
        let plan =
            crate::protocol::ChunkPlan::new(meta.len(), settings.chunk_size, settings.chunk_rule);
        let hash_path = path.clone();
        let quick_hash = tokio::task::spawn_blocking(move || {
            crate::quick_hash::quick_hash(&hash_path, plan.size)
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|source| EngineError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let identifier = strong_identifier(
            plan.size,
            plan.chunk_size,
            &relative_path,
            mtime_nanos(mtime),
            &quick_hash,
            0,
        );
        let file = UploadFile {
            quick_hash,
            mime_type: mime_guess::from_path(&path)
                .first_raw()
                .unwrap_or("")
                .to_string(),
            identifier,
            filename: relative_path
                .rsplit('/')
                .next()
                .unwrap_or(&filename)
                .to_string(),
            relative_path,
            plan,
            mtime,
            path,
            remote_id: None,
        };
        // The same unchanged file to the same target already in the queue (an interrupted or
        // finished command run again) is the same upload, not a second one: it keeps its plan
        // (whatever chunk size is asked now), a finished one is not sent again, and a failed
        // one is retried.
        if let Some(id) = self.bring_back_finished(&file, &request.target).await? {
            return Ok(id);
        }
        let label = target.label();
        let probe = Box::new(file.clone());
        let existing = self.ask(|r| Command::FindSame(probe, label, r)).await?;
        match existing {
            Some((id, FileState::Failed { .. })) => {
                self.retry(id).await?;
                return Ok(id);
            }
            Some((id, _)) => return Ok(id),
            None => {}
        }
        let id = match &self.store {
            Some(store) => {
                // Recorded before anything is sent: from here on a crash loses nothing.
                let row = NewUpload {
                    path: file.path.clone(),
                    relative_path: file.relative_path.clone(),
                    mime_type: file.mime_type.clone(),
                    size: file.plan.size,
                    mtime: file.mtime,
                    quick_hash: file.quick_hash.clone(),
                    identifier: file.identifier.clone(),
                    chunk_size: file.plan.chunk_size,
                    chunk_rule: file.plan.rule,
                    target: request.target.clone(),
                    settings: settings.clone(),
                };
                store
                    .insert(vec![row])
                    .await?
                    .pop()
                    .ok_or(EngineError::Stopped)?
            }
            None => UploadId(self.next_id.fetch_add(1, Ordering::Relaxed)),
        };
        self.ask(|reply| Command::Add {
            id,
            file: Box::new(file),
            target,
            settings,
            reply,
        })
        .await?;
        Ok(id)
    }

    /// The finished entry of this same unchanged file to this target, put back in the queue
    /// (as done), if the durable queue has one.
    async fn bring_back_finished(
        &self,
        file: &UploadFile,
        spec: &TargetSpec,
    ) -> Result<Option<UploadId>, EngineError> {
        let key = (file.path.clone(), file.relative_path.clone(), spec.clone());
        let found = {
            let mut finished = self
                .finished
                .lock()
                .map_err(|_| EngineError::Internal("finished uploads lock poisoned".into()))?;
            let same = finished
                .get(&key)
                .is_some_and(|s| file.is_unchanged(s.new.size, s.new.mtime, &s.new.quick_hash));
            if same {
                finished.remove(&key)
            } else {
                None
            }
        };
        let Some(stored) = found else {
            return Ok(None);
        };
        let id = stored.id;
        let position = stored.position;
        let upload = Box::new(restore(stored, &self.targets, &self.context));
        self.ask(|reply| Command::Restore {
            upload,
            position,
            reply,
        })
        .await?;
        Ok(Some(id))
    }

    /// A file of the queue was renamed or moved (`from` → `to`, local path and server path)
    /// and the target moved it too, without sending it again: its upload follows, so the
    /// queue shows the file's name now. Answers the upload's id, if the queue holds one.
    pub async fn follow_rename(
        &self,
        target: &TargetSpec,
        from: (PathBuf, String),
        to: (PathBuf, String),
    ) -> Result<Option<UploadId>, EngineError> {
        let label = self.target(target)?.label();
        self.ask(|reply| Command::Rename {
            from: (from.0, from.1, label),
            to,
            reply,
        })
        .await
    }

    /// Queues files found by `sources::collect` as one batch (`prepare` first), stopping at
    /// the first that cannot be read.
    pub async fn enqueue_all(
        &self,
        files: Vec<SourceFile>,
        target: &TargetSpec,
        settings: &UploadSettings,
    ) -> Result<Vec<UploadId>, EngineError> {
        let paths: Vec<String> = files.iter().map(|f| f.relative_path.clone()).collect();
        self.prepare(target, &paths).await?;
        let mut ids = Vec::with_capacity(files.len());
        for f in files {
            ids.push(
                self.enqueue(EnqueueRequest {
                    path: f.path,
                    relative_path: Some(f.relative_path),
                    target: target.clone(),
                    settings: settings.clone(),
                })
                .await?,
            );
        }
        Ok(ids)
    }

    pub async fn pause(&self, id: UploadId) -> Result<(), EngineError> {
        self.ask(|r| Command::Pause(Some(id), r)).await?
    }
    pub async fn pause_all(&self) -> Result<(), EngineError> {
        self.ask(|r| Command::Pause(None, r)).await?
    }
    pub async fn resume(&self, id: UploadId) -> Result<(), EngineError> {
        self.ask(|r| Command::Resume(Some(id), r)).await?
    }
    pub async fn resume_all(&self) -> Result<(), EngineError> {
        self.ask(|r| Command::Resume(None, r)).await?
    }
    pub async fn cancel(&self, id: UploadId) -> Result<(), EngineError> {
        self.ask(|r| Command::Cancel(Some(id), r)).await?
    }
    /// Cancels every unfinished upload.
    pub async fn cancel_all(&self) -> Result<(), EngineError> {
        self.ask(|r| Command::Cancel(None, r)).await?
    }
    /// Retries a failed file; a file that changed since it was queued starts over with a new
    /// identifier.
    pub async fn retry(&self, id: UploadId) -> Result<(), EngineError> {
        self.ask(|r| Command::Retry(Some(id), r)).await?
    }
    /// "Upload next": the file goes to the front of the line, so it gets the next free slot.
    /// Files already uploading keep going. The order is saved with the queue.
    pub async fn move_to_front(&self, id: UploadId) -> Result<(), EngineError> {
        self.ask(|r| Command::MoveToFront(id, r)).await?
    }
    /// Moves file `id` just before file `before`, or to the end of the line for `None`.
    pub async fn reorder(&self, id: UploadId, before: Option<UploadId>) -> Result<(), EngineError> {
        self.ask(|reply| Command::Move { id, before, reply })
            .await?
    }
    pub async fn retry_all_failed(&self) -> Result<(), EngineError> {
        self.ask(|r| Command::Retry(None, r)).await?
    }
    /// Changes the limits while uploads run.
    pub fn set_limits(&self, limits: Limits) -> Result<(), EngineError> {
        self.commands
            .send(Command::SetLimits(limits))
            .map_err(|_| EngineError::Stopped)
    }
    /// The whole queue waits for `reason` (a metered connection, the battery), until
    /// `release`: nothing new is sent, and requests in flight stop as for a pause, but files
    /// stay queued, not paused: what the person paused stays paused and the rest continues
    /// by itself when the last reason is released. Several reasons may hold at once; holding
    /// for a reason already held changes nothing. `QueueTotals::held` tells the reasons.
    pub fn hold(&self, reason: HoldReason) -> Result<(), EngineError> {
        self.commands
            .send(Command::Hold(reason, true))
            .map_err(|_| EngineError::Stopped)
    }
    /// Ends the wait for `reason`; the queue continues once no reason holds it.
    pub fn release(&self, reason: HoldReason) -> Result<(), EngineError> {
        self.commands
            .send(Command::Hold(reason, false))
            .map_err(|_| EngineError::Stopped)
    }
    /// Changes what happens to a file that changes while it uploads, for the next change
    /// found.
    pub fn set_changed_files(&self, policy: ChangedFilePolicy) -> Result<(), EngineError> {
        self.commands
            .send(Command::SetChangedFiles(policy))
            .map_err(|_| EngineError::Stopped)
    }
    pub async fn snapshot(&self) -> Result<Vec<UploadSummary>, EngineError> {
        self.ask(Command::Snapshot).await
    }
    /// The chunk map of one file.
    pub async fn chunks(&self, id: UploadId) -> Result<Vec<ChunkInfo>, EngineError> {
        self.ask(|r| Command::Chunks(id, r))
            .await?
            .ok_or(EngineError::UnknownUpload(id.0))
    }
    /// A public read link to upload `id`, once it is done, on a target that makes them
    /// (`Capabilities::share_links`); the same link each time, noted in the file's history
    /// line. Every front end hears of it (`Event::Shared`).
    pub async fn share_link(&self, id: UploadId) -> Result<String, EngineError> {
        let (file, target, state) = self
            .ask(|r| Command::Finished(id, r))
            .await?
            .ok_or(EngineError::UnknownUpload(id.0))?;
        let refused = |message: String| EngineError::Refused {
            target: target.label(),
            kind: crate::events::FailureKind::Refused,
            message,
        };
        if !target.capabilities().share_links {
            return Err(refused(format!(
                "{} cannot make share links: only Twake Drive targets can",
                target.label()
            )));
        }
        if state != FileState::Done {
            return Err(refused(format!(
                "{} is not uploaded yet: a link can be made once it is done",
                file.path.display()
            )));
        }
        let link = target.share_link(&file).await.map_err(|e| match e {
            crate::error::ChunkError::Permanent { message, kind, .. } => EngineError::Refused {
                target: target.label(),
                kind,
                message,
            },
            other => refused(other.to_string()),
        })?;
        // The history keeps the link with the file, for "link if any" after a restart.
        self.set_history_link(id, &link);
        let _ = self.events.send(Event::Shared {
            id,
            link: link.clone(),
        });
        Ok(link)
    }
    pub async fn totals(&self) -> Result<QueueTotals, EngineError> {
        self.ask(Command::Totals).await
    }
    /// Removes done and cancelled files from the queue (the durable one too, including
    /// those finished in earlier runs); returns how many went.
    pub async fn clear_finished(&self) -> Result<usize, EngineError> {
        let loaded = self.ask(Command::ClearFinished).await?;
        // Forgotten means forgotten: the same file queued again is sent again.
        if let Ok(mut finished) = self.finished.lock() {
            finished.clear();
        }
        match &self.store {
            Some(store) => Ok(loaded.len() + store.delete_finished().await?),
            None => Ok(loaded.len()),
        }
    }
    /// The part of the upload history `query` asks for, newest first; empty for a queue kept
    /// in memory. "Clear finished" leaves it alone.
    pub async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, EngineError> {
        match &self.store {
            Some(store) => Ok(store.history(query).await?),
            None => Ok(HistoryPage::default()),
        }
    }
    /// Forgets the upload history; returns how many lines went.
    pub async fn clear_history(&self) -> Result<usize, EngineError> {
        match &self.store {
            Some(store) => Ok(store.clear_history().await?),
            None => Ok(0),
        }
    }
    /// Notes a share link made for a finished upload in its history line.
    pub fn set_history_link(&self, id: UploadId, link: &str) {
        if let Some(store) = &self.store {
            store.set_history_link(id, link);
        }
    }
    /// Resolves once nothing is queued or running (paused and finished files may remain).
    pub async fn wait_idle(&self) -> Result<(), EngineError> {
        self.ask(Command::WhenIdle).await
    }
    /// Stops every request and the scheduler.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown(None));
    }

    /// Stops every request and the scheduler, and resolves once the queue is saved and its
    /// database released (another engine may then open it).
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(Some(tx))).is_ok() {
            let _ = rx.await;
        }
    }

    /// Waits until everything the queue recorded so far is on disk.
    pub async fn flush(&self) -> Result<(), EngineError> {
        if let Some(store) = &self.store {
            store.flush().await?;
        }
        Ok(())
    }
}

/// Restarts the uploads a sign-out stopped when their account signs in again, for as long as
/// the engine runs.
fn restart_on_sign_in(
    mut changes: broadcast::Receiver<AccountChange>,
    commands: mpsc::WeakUnboundedSender<Command>,
) {
    tokio::spawn(async move {
        loop {
            let change = match changes.recv().await {
                Ok(c) => c,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Some(commands) = commands.upgrade() else {
                return;
            };
            if let AccountChange::SignedIn { account } = change {
                if commands.send(Command::SignedIn(account, None)).is_err() {
                    return;
                }
            }
        }
    });
}

fn target_for(
    targets: &Mutex<HashMap<TargetSpec, Arc<dyn Target>>>,
    spec: &TargetSpec,
    context: &TargetContext,
) -> Result<Arc<dyn Target>, EngineError> {
    let mut map = targets.lock().map_err(|_| EngineError::Stopped)?;
    if let Some(t) = map.get(spec) {
        return Ok(t.clone());
    }
    let t = build_target(spec, context)?;
    map.insert(spec.clone(), t.clone());
    Ok(t)
}

/// Rebuilds a scheduler upload from its stored row. A target that can no longer be built
/// (a removed account, a URL this version refuses) fails the upload with the reason.
fn restore(
    s: StoredUpload,
    targets: &Mutex<HashMap<TargetSpec, Arc<dyn Target>>>,
    context: &TargetContext,
) -> upload::Upload {
    let n = s.new;
    let plan = crate::protocol::ChunkPlan::new(n.size, n.chunk_size, n.chunk_rule);
    let filename = n
        .relative_path
        .rsplit('/')
        .next()
        .unwrap_or(&n.relative_path)
        .to_string();
    let file = UploadFile {
        path: n.path,
        relative_path: n.relative_path,
        filename,
        mime_type: n.mime_type,
        identifier: n.identifier,
        plan,
        mtime: n.mtime,
        quick_hash: n.quick_hash,
        remote_id: s.remote_id,
    };
    let (target, state) = match target_for(targets, &n.target, context) {
        Ok(t) => (t, s.state),
        Err(e) => (
            Arc::new(unavailable::Unavailable(e.to_string())) as Arc<dyn Target>,
            crate::events::FileState::Failed {
                kind: crate::events::FailureKind::Refused,
                reason: e.to_string(),
                retryable: false,
            },
        ),
    };
    upload::Upload::restored(
        s.id,
        file,
        target,
        n.settings,
        s.generation,
        state,
        &s.done_chunks,
    )
}
