//! The queue: the `Engine` handle that front ends hold, and the scheduler task behind it.
//! Handles are cheap clones that send commands; the scheduler alone owns the state.

mod rate;
mod scheduler;
mod upload;
mod work;

pub use scheduler::ChunkInfo;

use crate::config::{EngineConfig, Limits, UploadSettings};
use crate::error::EngineError;
use crate::events::{Event, QueueTotals, UploadSummary};
use crate::ids::UploadId;
use crate::protocol::strong_identifier;
use crate::sources::SourceFile;
use crate::targets::{build_target, HttpSettings, Target, TargetSpec, UploadFile};
use scheduler::{mtime_nanos, Command, Scheduler};
use std::collections::HashMap;
use std::path::PathBuf;
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
    http: HttpSettings,
    /// One live target per description, so files to the same server share connections.
    targets: Arc<Mutex<HashMap<TargetSpec, Arc<dyn Target>>>>,
}

impl Engine {
    /// Starts an engine with an empty in-memory queue. Must be called inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        let (events, _) = broadcast::channel(config.event_capacity.max(16));
        let (commands, rx) = mpsc::unbounded_channel();
        let http = HttpSettings {
            connect_timeout: config.connect_timeout,
            stall_timeout: config.stall_timeout,
        };
        let scheduler = Scheduler::new(config, events.clone());
        tokio::spawn(scheduler.run(rx));
        Ok(Engine {
            commands,
            events,
            http,
            targets: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Events from now on. A subscriber that falls behind gets `Lagged`; it should then
    /// re-read `snapshot()`.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn target(&self, spec: &TargetSpec) -> Result<Arc<dyn Target>, EngineError> {
        let mut map = self.targets.lock().map_err(|_| EngineError::Stopped)?;
        if let Some(t) = map.get(spec) {
            return Ok(t.clone());
        }
        let t = build_target(spec, &self.http)?;
        map.insert(spec.clone(), t.clone());
        Ok(t)
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
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let relative_path = request.relative_path.unwrap_or_else(|| filename.clone());
        let settings = request.settings;
        let plan =
            crate::protocol::ChunkPlan::new(meta.len(), settings.chunk_size, settings.chunk_rule);
        let file = UploadFile {
            mime_type: mime_guess::from_path(&path)
                .first_raw()
                .unwrap_or("")
                .to_string(),
            identifier: strong_identifier(plan.size, &relative_path, mtime_nanos(mtime), 0),
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
        self.ask(|reply| Command::Add {
            file: Box::new(file),
            target,
            settings,
            reply,
        })
        .await
    }

    /// Queues files found by `sources::collect`, stopping at the first that cannot be read.
    pub async fn enqueue_all(
        &self,
        files: Vec<SourceFile>,
        target: &TargetSpec,
        settings: &UploadSettings,
    ) -> Result<Vec<UploadId>, EngineError> {
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
        self.ask(|r| Command::Cancel(id, r)).await?
    }
    /// Retries a failed file; a file that changed since it was queued starts over with a new
    /// identifier.
    pub async fn retry(&self, id: UploadId) -> Result<(), EngineError> {
        self.ask(|r| Command::Retry(Some(id), r)).await?
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
    pub async fn snapshot(&self) -> Result<Vec<UploadSummary>, EngineError> {
        self.ask(Command::Snapshot).await
    }
    /// The chunk map of one file.
    pub async fn chunks(&self, id: UploadId) -> Result<Vec<ChunkInfo>, EngineError> {
        self.ask(|r| Command::Chunks(id, r))
            .await?
            .ok_or(EngineError::UnknownUpload(id.0))
    }
    pub async fn totals(&self) -> Result<QueueTotals, EngineError> {
        self.ask(Command::Totals).await
    }
    /// Removes done and cancelled files from the queue; returns their ids.
    pub async fn clear_finished(&self) -> Result<Vec<UploadId>, EngineError> {
        self.ask(Command::ClearFinished).await
    }
    /// Resolves once nothing is queued or running (paused and finished files may remain).
    pub async fn wait_idle(&self) -> Result<(), EngineError> {
        self.ask(Command::WhenIdle).await
    }
    /// Stops every request and the scheduler.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}
