//! The requests the scheduler starts: each runs as its own task and reports back through one
//! channel, so the scheduler stays the single owner of every upload's state.

use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::events::ChunkState;
use crate::ids::UploadId;
use crate::protocol::TestAnswer;
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
    /// A chunk request ended.
    ChunkEnded {
        id: UploadId,
        epoch: u64,
        number: u32,
        result: Result<ChunkOutcome, ChunkError>,
    },
    /// The answer of the "which chunks do you have" probe.
    Probed {
        id: UploadId,
        epoch: u64,
        result: Result<Option<Vec<u32>>, ChunkError>,
    },
    /// A failed file was looked at again before a retry: its size and mtime now.
    Restated {
        id: UploadId,
        result: Result<(u64, std::time::SystemTime), ChunkError>,
    },
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

/// Everything one chunk task needs.
pub struct ChunkJob {
    pub id: UploadId,
    pub epoch: u64,
    pub number: u32,
    pub test_first: bool,
    pub file: Arc<UploadFile>,
    pub target: Arc<dyn Target>,
    pub token: CancellationToken,
    pub reports: UnboundedSender<WorkReport>,
}

impl ChunkJob {
    pub async fn run(self) {
        let result = tokio::select! {
            r = self.attempt() => r,
            _ = self.token.cancelled() => Err(ChunkError::Cancelled),
        };
        let _ = self.reports.send(WorkReport::ChunkEnded {
            id: self.id,
            epoch: self.epoch,
            number: self.number,
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

    async fn attempt(&self) -> Result<ChunkOutcome, ChunkError> {
        if self.test_first {
            self.started(ChunkState::Testing);
            if self.target.test_chunk(&self.file, self.number).await? == TestAnswer::Present {
                return Ok(ChunkOutcome::AlreadyThere);
            }
        }
        self.started(ChunkState::Sending);
        let range = self.file.plan.range(self.number);
        let body = ChunkBody::new(
            self.file.path.clone(),
            range.start,
            range.end - range.start,
            self.file.plan.size,
            self.file.mtime,
        );
        let receipt = self
            .target
            .send_chunk(&self.file, self.number, body)
            .await?;
        Ok(ChunkOutcome::Stored(receipt))
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

/// Reads a file's size and mtime again (before a retry decides whether it changed).
pub async fn restat(id: UploadId, path: std::path::PathBuf, reports: UnboundedSender<WorkReport>) {
    let result = match tokio::fs::metadata(&path).await {
        Ok(m) => match m.modified() {
            Ok(t) => Ok((m.len(), t)),
            Err(e) => Err(ChunkError::Read {
                path,
                reason: e.to_string(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ChunkError::FileChanged {
            path,
            what: "it was deleted or moved".into(),
        }),
        Err(e) => Err(ChunkError::Read {
            path,
            reason: e.to_string(),
        }),
    };
    let _ = reports.send(WorkReport::Restated { id, result });
}
