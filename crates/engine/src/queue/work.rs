//! The requests the scheduler starts: each runs as its own task and reports back through one
//! channel, so the scheduler stays the single owner of every upload's state.

use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::events::ChunkState;
use crate::ids::UploadId;
use crate::protocol::TestAnswer;
use crate::store::Store;
use crate::targets::{ChunkReceipt, Target, UploadFile};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// What a task tells the scheduler. `epoch` identifies the upload's epoch the task belongs to.
#[derive(Debug)]
pub enum WorkReport {
    /// A chunk moved to `Testing` or `Sending`.
    ChunkStarted {
        id: UploadId,
        epoch: u64,
        number: u32,
        state: ChunkState,
    },
    /// Bytes of a chunk being sent that were handed to the connection so far.
    InFlight {
        id: UploadId,
        epoch: u64,
        number: u32,
        sent: u64,
        len: u64,
    },
    /// A chunk request ended, `took` after the task started (its GET test included).
    ChunkEnded {
        id: UploadId,
        epoch: u64,
        number: u32,
        took: std::time::Duration,
        result: Result<ChunkOutcome, ChunkError>,
    },
    /// The answer of the "which chunks do you have" probe.
    Probed {
        id: UploadId,
        epoch: u64,
        result: Result<Option<Vec<u32>>, ChunkError>,
    },
    /// A file was looked at again (before a retry, after it changed, or before resuming).
    Examined {
        id: UploadId,
        epoch: u64,
        why: Examine,
        result: Result<FileNow, ChunkError>,
    },
    /// The answer of a reachability probe while offline.
    Reachability { result: Result<(), ChunkError> },
    /// The target's finish step ended.
    Finished {
        id: UploadId,
        epoch: u64,
        result: Result<(), ChunkError>,
    },
}

#[derive(Debug)]
pub enum ChunkOutcome {
    /// The GET test said the server already has it.
    AlreadyThere,
    Stored(ChunkReceipt),
}

/// How often the bytes in flight of a chunk being sent are reported.
pub const IN_FLIGHT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Everything one chunk task needs.
pub struct ChunkJob {
    pub id: UploadId,
    pub epoch: u64,
    pub number: u32,
    pub test_first: bool,
    /// The server file is to be created (and its id committed) before this chunk is sent.
    pub create_first: bool,
    pub file: Arc<UploadFile>,
    pub target: Arc<dyn Target>,
    pub token: CancellationToken,
    pub reports: UnboundedSender<WorkReport>,
    pub throttle: Arc<crate::throttle::Throttle>,
    /// Where a created server file's id is committed before the chunk goes.
    pub store: Option<Store>,
}

impl ChunkJob {
    pub async fn run(self) {
        let started = tokio::time::Instant::now();
        let result = tokio::select! {
            r = self.attempt() => r,
            _ = self.token.cancelled() => Err(ChunkError::Cancelled),
        };
        let _ = self.reports.send(WorkReport::ChunkEnded {
            id: self.id,
            epoch: self.epoch,
            number: self.number,
            took: started.elapsed(),
            result,
        });
    }

    fn started(&self, state: ChunkState) {
        let _ = self.reports.send(WorkReport::ChunkStarted {
            id: self.id,
            epoch: self.epoch,
            number: self.number,
            state,
        });
    }

    /// Creates the server file and commits its id, so that a run killed while the chunk is
    /// on its way resumes into the same server file instead of leaving it orphaned.
    async fn create(&self) -> Result<Arc<UploadFile>, ChunkError> {
        let remote = self.target.create_file(&self.file).await?;
        if let Some(store) = &self.store {
            store.set_remote_id(self.id, Some(remote.clone()));
            if let Err(e) = store.flush().await {
                // The store reports its own failures; the upload itself can go on.
                tracing::warn!(
                    "cannot commit the server file id of upload {}: {e}",
                    self.id
                );
            }
        }
        let mut file = (*self.file).clone();
        file.remote_id = Some(remote);
        Ok(Arc::new(file))
    }

    async fn attempt(&self) -> Result<ChunkOutcome, ChunkError> {
        let created = if self.create_first {
            Some(self.create().await?)
        } else {
            None
        };
        let file = created.as_ref().unwrap_or(&self.file);
        match self.send(file).await? {
            // The scheduler learns the new id with the receipt, as if chunk 1 had created it.
            ChunkOutcome::Stored(mut receipt) if created.is_some() => {
                receipt.remote_id = file.remote_id.clone();
                Ok(ChunkOutcome::Stored(receipt))
            }
            outcome => Ok(outcome),
        }
    }

    async fn send(&self, file: &UploadFile) -> Result<ChunkOutcome, ChunkError> {
        if self.test_first {
            self.started(ChunkState::Testing);
            if self.target.test_chunk(file, self.number).await? == TestAnswer::Present {
                return Ok(ChunkOutcome::AlreadyThere);
            }
        }
        self.started(ChunkState::Sending);
        let range = file.plan.range(self.number);
        let body = ChunkBody::new(
            file.path.clone(),
            range.start,
            range.end - range.start,
            file.plan.size,
            file.mtime,
        )
        .throttled(self.throttle.clone());
        let progress = body.progress();
        let len = body.len();
        let send = self.target.send_chunk(file, self.number, body);
        tokio::pin!(send);
        // Sampled, not reported per piece: a 10,000-chunk file must not flood the events.
        let mut tick = tokio::time::interval(IN_FLIGHT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported = 0;
        let receipt = loop {
            tokio::select! {
                r = &mut send => break r?,
                _ = tick.tick() => {
                    let sent = progress.sent();
                    if sent > reported {
                        reported = sent;
                        self.in_flight(sent, len);
                    }
                }
            }
        };
        // A chunk slow enough to have shown a fill ends full before it turns done; quick
        // ones (most of a 10,000-chunk file) cost no extra event.
        if reported > 0 && reported < len {
            self.in_flight(len, len);
        }
        Ok(ChunkOutcome::Stored(receipt))
    }

    fn in_flight(&self, sent: u64, len: u64) {
        let _ = self.reports.send(WorkReport::InFlight {
            id: self.id,
            epoch: self.epoch,
            number: self.number,
            sent,
            len,
        });
    }
}

/// Asks the target which chunks it has.
pub async fn probe(
    id: UploadId,
    epoch: u64,
    file: Arc<UploadFile>,
    target: Arc<dyn Target>,
    token: CancellationToken,
    reports: UnboundedSender<WorkReport>,
) {
    let result = tokio::select! {
        r = target.stored_chunks(&file) => r,
        _ = token.cancelled() => Err(ChunkError::Cancelled),
    };
    let _ = reports.send(WorkReport::Probed { id, epoch, result });
}

/// Runs the target's finish step.
pub async fn finish(
    id: UploadId,
    epoch: u64,
    file: Arc<UploadFile>,
    target: Arc<dyn Target>,
    token: CancellationToken,
    reports: UnboundedSender<WorkReport>,
) {
    let result = tokio::select! {
        r = target.finish(&file) => r,
        _ = token.cancelled() => Err(ChunkError::Cancelled),
    };
    let _ = reports.send(WorkReport::Finished { id, epoch, result });
}

/// Why a file is examined; decides what the scheduler does with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Examine {
    /// The user asked to retry a failed file.
    Retry,
    /// The file changed while uploading and the policy says start over.
    Restart,
    /// An upload loaded from the store is about to continue.
    Resume,
}

/// A file as it is now on disk.
#[derive(Clone, Debug)]
pub struct FileNow {
    pub size: u64,
    pub mtime: std::time::SystemTime,
    pub quick_hash: String,
    /// Same size, mtime and quick hash as when queued.
    pub unchanged: bool,
}

/// Looks at a file again: size, mtime, and the quick hash of its first and last chunk.
pub async fn examine(
    id: UploadId,
    epoch: u64,
    why: Examine,
    file: Arc<UploadFile>,
    chunk_size: u64,
    rule: crate::protocol::ChunkRule,
    reports: UnboundedSender<WorkReport>,
) {
    let result = tokio::task::spawn_blocking(move || look(&file, chunk_size, rule))
        .await
        .unwrap_or_else(|e| {
            Err(ChunkError::Read {
                path: std::path::PathBuf::new(),
                reason: e.to_string(),
            })
        });
    let _ = reports.send(WorkReport::Examined {
        id,
        epoch,
        why,
        result,
    });
}

fn look(
    file: &UploadFile,
    chunk_size: u64,
    rule: crate::protocol::ChunkRule,
) -> Result<FileNow, ChunkError> {
    let path = &file.path;
    let read_err = |e: std::io::Error| ChunkError::Read {
        path: path.clone(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ChunkError::FileChanged {
            path: path.clone(),
            what: "it was deleted or moved".into(),
        },
        _ => read_err(e),
    })?;
    let mtime = meta.modified().map_err(read_err)?;
    let size = meta.len();
    let same_meta = size == file.plan.size && mtime == file.mtime;
    let plan = if same_meta {
        file.plan
    } else {
        crate::protocol::ChunkPlan::new(size, chunk_size, rule)
    };
    let quick_hash = crate::quick_hash::quick_hash(path, plan.size).map_err(read_err)?;
    // Queues written before quick hashes existed have none to compare with.
    let same_content = file.quick_hash.is_empty() || file.quick_hash == quick_hash;
    Ok(FileNow {
        size,
        mtime,
        quick_hash,
        unchanged: same_meta && same_content,
    })
}

/// Asks a target whether it answers at all.
pub async fn reach(target: Arc<dyn Target>, reports: UnboundedSender<WorkReport>) {
    let result = target.reachable().await;
    let _ = reports.send(WorkReport::Reachability { result });
}
