//! The scheduler: the one owner of the queue's state. It runs as a single task, takes
//! commands from `Engine` handles and reports from the requests it started, decides what to
//! send next under the limits, and turns every change into an event.

use super::order::QueueOrder;
use super::upload::Upload;
use super::work::{self, ChunkJob, ChunkOutcome, Examine, FileNow, WorkReport};
use crate::config::UploadSettings;
use crate::config::{ChangedFilePolicy, Limits};
use crate::engine_error::EngineError;
use crate::error::ChunkError;
use crate::events::{
    ChunkState, Event, FailureKind, FileState, HoldReason, QueueTotals, UploadSummary,
};
use crate::ids::UploadId;
use crate::protocol::{strong_identifier, ChunkPlan};
use crate::queue::EngineConfig;
use crate::store::{Replan, Store};
use crate::targets::{Target, UploadFile};
use crate::throttle::Throttle;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

mod commands;
mod dispatch;
mod hold;
mod offline;
mod pacing;
mod reorder;
mod replan;
mod results;
mod totals;

use offline::Offline;

type Reply<T> = oneshot::Sender<T>;

/// What `Engine` handles ask of the scheduler.
pub enum Command {
    /// A file already recorded in the store (when there is one) under `id`.
    Add {
        id: UploadId,
        file: Box<UploadFile>,
        target: Arc<dyn Target>,
        settings: UploadSettings,
        reply: Reply<()>,
    },
    /// An upload of the durable queue brought back as it was stored (a finished file queued
    /// again), at its old place in line.
    Restore {
        upload: Box<Upload>,
        position: i64,
        reply: Reply<()>,
    },
    /// A file renamed or moved locally and on the server: its upload follows, if the queue
    /// holds one (`from` is its local path, server path and target label).
    Rename {
        from: (PathBuf, String, String),
        to: (PathBuf, String),
        reply: Reply<Option<UploadId>>,
    },
    /// `None` = every upload.
    Pause(Option<UploadId>, Reply<Result<(), EngineError>>),
    Resume(Option<UploadId>, Reply<Result<(), EngineError>>),
    /// `None` = every unfinished upload.
    Cancel(Option<UploadId>, Reply<Result<(), EngineError>>),
    /// `None` = every failed upload.
    Retry(Option<UploadId>, Reply<Result<(), EngineError>>),
    /// Account `0` signed in again: its uploads the end of the old session stopped restart;
    /// answers how many.
    SignedIn(String, Option<Reply<usize>>),
    /// Moves a file just before another, or to the end of the line for `None`.
    Move {
        id: UploadId,
        before: Option<UploadId>,
        reply: Reply<Result<(), EngineError>>,
    },
    /// Moves a file to the front of the line ("upload next").
    MoveToFront(UploadId, Reply<Result<(), EngineError>>),
    SetLimits(Limits),
    /// A condition of the machine began (`true`) or ended: the queue waits while any holds.
    Hold(HoldReason, bool),
    SetChangedFiles(ChangedFilePolicy),
    Snapshot(Reply<Vec<UploadSummary>>),
    Chunks(UploadId, Reply<Option<Vec<ChunkInfo>>>),
    /// The file, target and state of one upload, for a share link made outside the loop.
    Finished(UploadId, Reply<Option<FinishedUpload>>),
    Totals(Reply<QueueTotals>),
    ClearFinished(Reply<Vec<UploadId>>),
    /// The upload of this same unchanged file to the same target, if one is in the queue
    /// (finished or not; a cancelled one does not count), with its state.
    FindSame(
        Box<UploadFile>,
        String,
        Reply<Option<(UploadId, FileState)>>,
    ),
    /// Answered once nothing is queued or running (paused and finished files may remain).
    WhenIdle(Reply<()>),
    /// Stops everything; the reply (if any) comes once the queue is saved and released.
    Shutdown(Option<Reply<()>>),
}

/// What a share link needs of one upload.
pub type FinishedUpload = (Arc<UploadFile>, Arc<dyn Target>, FileState);

/// One chunk as the chunk map draws it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChunkInfo {
    pub number: u32,
    pub start: u64,
    pub end: u64,
    pub state: ChunkState,
    pub attempts: u32,
    pub last_answer: String,
}

pub struct Scheduler {
    config: EngineConfig,
    uploads: BTreeMap<UploadId, Upload>,
    /// The latest upload of each local file to each target, so that queuing the same files
    /// again finds them at once, even among 50,000.
    by_source: HashMap<SourceKey, UploadId>,
    /// Where each file stands in line: the order of snapshots and of `queued`.
    order: QueueOrder,
    /// Files waiting for a slot, in queue order.
    queued: VecDeque<UploadId>,
    /// Files holding a slot, in the order they got it.
    active: Vec<UploadId>,
    in_flight: usize,
    /// Failed files being looked at again before a retry: not idle until they are back.
    retries_pending: usize,
    events: broadcast::Sender<Event>,
    store: Option<Store>,
    throttle: Arc<Throttle>,
    offline: Option<Offline>,
    /// Why the whole queue waits for the machine (`hold.rs`): nothing is sent while any is set.
    holds: BTreeSet<HoldReason>,
    /// Wall clock and monotonic clock at the last tick, to notice a sleep (the wall clock
    /// jumps ahead while the monotonic one stood still).
    clocks: (SystemTime, Instant),
    reports_tx: mpsc::UnboundedSender<WorkReport>,
    reports_rx: mpsc::UnboundedReceiver<WorkReport>,
    idle_waiters: Vec<Reply<()>>,
    /// Whether anything changed since the last totals event.
    dirty: bool,
    /// How many requests each target gets at once, by target label (`pacing.rs`).
    paces: HashMap<String, super::pace::Pace>,
    /// The smallest chunk each target refused as too large (413), so new files start below.
    refused_chunk: HashMap<String, u64>,
}

impl Scheduler {
    pub fn new(
        config: EngineConfig,
        events: broadcast::Sender<Event>,
        store: Option<Store>,
        throttle: Arc<Throttle>,
        mut restored: Vec<(Upload, i64)>,
    ) -> Scheduler {
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let holds = config.held.iter().copied().collect();
        let mut uploads = BTreeMap::new();
        let mut order = QueueOrder::default();
        let mut queued = VecDeque::new();
        let mut by_source = HashMap::new();
        restored.sort_by_key(|(u, position)| (*position, u.id));
        for (u, position) in restored {
            if u.state == FileState::Queued {
                queued.push_back(u.id);
            }
            order.place(u.id, position);
            by_source.insert(SourceKey::of(&u.file, &u.target.label()), u.id);
            uploads.insert(u.id, u);
        }
        Scheduler {
            config,
            uploads,
            by_source,
            order,
            queued,
            active: Vec::new(),
            in_flight: 0,
            retries_pending: 0,
            events,
            store,
            throttle,
            offline: None,
            holds,
            clocks: (SystemTime::now(), Instant::now()),
            reports_tx,
            reports_rx,
            idle_waiters: Vec::new(),
            dirty: true,
            paces: HashMap::new(),
            refused_chunk: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let closed_reply = loop {
            self.dispatch();
            self.answer_idle_waiters();
            let wake = match (self.next_retry_due(), self.next_probe_due()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown(reply)) => break reply,
                    None => break None,
                    Some(cmd) => self.handle_command(cmd),
                },
                Some(report) = self.reports_rx.recv() => self.handle_report(report),
                _ = sleep_until(wake) => {
                    self.release_due_retries();
                    self.probe_if_due();
                }
                _ = tick.tick() => self.emit_progress_tick(),
            }
        };
        for upload in self.uploads.values_mut() {
            upload.token.cancel();
        }
        if let Some(store) = &self.store {
            store.close().await;
        }
        if let Some(reply) = closed_reply {
            let _ = reply.send(());
        }
    }

    fn emit(&self, event: Event) {
        // No subscriber is fine: events are for whoever watches.
        let _ = self.events.send(event);
    }

    fn set_file_state(&mut self, id: UploadId, state: FileState) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if u.state == state {
            return;
        }
        u.state = state.clone();
        self.dirty = true;
        if let Some(store) = &self.store {
            if state.is_finished() {
                store.finish(id, &state, &u.target.label());
            } else {
                store.set_state(id, &state);
            }
        }
        self.emit(Event::File { id, state });
    }

    fn set_chunk_state(&mut self, id: UploadId, number: u32, state: ChunkState) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        u.slot(number).state = state.clone();
        let acked_bytes = u.acked;
        self.emit(Event::Chunk {
            id,
            chunk: number,
            state,
            acked_bytes,
        });
    }
}

/// Which local file goes where: the same path under the same server name to the same target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SourceKey {
    path: PathBuf,
    relative_path: String,
    target: String,
}

impl SourceKey {
    fn of(file: &UploadFile, target_label: &str) -> SourceKey {
        SourceKey {
            path: file.path.clone(),
            relative_path: file.relative_path.clone(),
            target: target_label.to_string(),
        }
    }
}

/// The identifier of a file under a given generation.
fn identifier_for(file: &UploadFile, generation: u32) -> String {
    strong_identifier(
        file.plan.size,
        file.plan.chunk_size,
        &file.relative_path,
        mtime_nanos(file.mtime),
        &file.quick_hash,
        generation,
    )
}

pub fn mtime_nanos(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

async fn sleep_until(when: Option<Instant>) {
    match when {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
