//! The scheduler: the one owner of the queue's state. It runs as a single task, takes
//! commands from `Engine` handles and reports from the requests it started, decides what to
//! send next under the limits, and turns every change into an event.

use super::upload::Upload;
use super::work::{self, ChunkJob, ChunkOutcome, Examine, FileNow, WorkReport};
use crate::config::UploadSettings;
use crate::config::{ChangedFilePolicy, EngineConfig, Limits};
use crate::error::{ChunkError, EngineError};
use crate::events::{ChunkState, Event, FileState, QueueTotals, UploadSummary};
use crate::ids::UploadId;
use crate::protocol::{strong_identifier, ChunkPlan};
use crate::store::{Replan, Store};
use crate::targets::{Target, UploadFile};
use crate::throttle::Throttle;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{broadcast, mpsc, oneshot};

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
    /// `None` = every upload.
    Pause(Option<UploadId>, Reply<Result<(), EngineError>>),
    Resume(Option<UploadId>, Reply<Result<(), EngineError>>),
    /// `None` = every unfinished upload.
    Cancel(Option<UploadId>, Reply<Result<(), EngineError>>),
    /// `None` = every failed upload.
    Retry(Option<UploadId>, Reply<Result<(), EngineError>>),
    SetLimits(Limits),
    Snapshot(Reply<Vec<UploadSummary>>),
    Chunks(UploadId, Reply<Option<Vec<ChunkInfo>>>),
    Totals(Reply<QueueTotals>),
    ClearFinished(Reply<Vec<UploadId>>),
    /// An unfinished upload with this identifier to the target with this label.
    FindUnfinished(String, String, Reply<Option<UploadId>>),
    /// Answered once nothing is queued or running (paused and finished files may remain).
    WhenIdle(Reply<()>),
    /// Stops everything; the reply (if any) comes once the queue is saved and released.
    Shutdown(Option<Reply<()>>),
}

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
    /// Wall clock and monotonic clock at the last tick, to notice a sleep (the wall clock
    /// jumps ahead while the monotonic one stood still).
    clocks: (SystemTime, Instant),
    reports_tx: mpsc::UnboundedSender<WorkReport>,
    reports_rx: mpsc::UnboundedReceiver<WorkReport>,
    idle_waiters: Vec<Reply<()>>,
    /// Whether anything changed since the last totals event.
    dirty: bool,
}

/// The queue's state while the network is away.
struct Offline {
    since: Instant,
    reason: String,
    /// The target whose request failed: it is the one probed.
    target: Arc<dyn Target>,
    failed_probes: u32,
    next_probe: Instant,
    probing: bool,
}

/// Connection losses of one chunk that do not use its retry budget (each a spell offline).
const FREE_NETWORK_FAILURES: u32 = 5;

/// Probes back off up to this, so the queue resumes within a few seconds of the network.
const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(2);

impl Scheduler {
    pub fn new(
        config: EngineConfig,
        events: broadcast::Sender<Event>,
        store: Option<Store>,
        throttle: Arc<Throttle>,
        restored: Vec<Upload>,
    ) -> Scheduler {
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let mut uploads = BTreeMap::new();
        let mut queued = VecDeque::new();
        for u in restored {
            if u.state == FileState::Queued {
                queued.push_back(u.id);
            }
            uploads.insert(u.id, u);
        }
        Scheduler {
            config,
            uploads,
            queued,
            active: Vec::new(),
            in_flight: 0,
            retries_pending: 0,
            events,
            store,
            throttle,
            offline: None,
            clocks: (SystemTime::now(), Instant::now()),
            reports_tx,
            reports_rx,
            idle_waiters: Vec::new(),
            dirty: true,
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
            store.set_state(id, &state);
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

    // ----- commands -------------------------------------------------------------------

    fn handle_command(&mut self, cmd: Command) {
        match cmd {
            Command::Add {
                id,
                file,
                target,
                settings,
                reply,
            } => {
                let mut upload = Upload::new(id, *file, target, settings);
                let summary = upload.summary(Instant::now());
                self.uploads.insert(id, upload);
                self.queued.push_back(id);
                self.dirty = true;
                self.emit(Event::Added { upload: summary });
                let _ = reply.send(());
            }
            Command::Pause(which, reply) => {
                let r = self.for_each_selected(which, Self::pause);
                let _ = reply.send(r);
            }
            Command::Resume(which, reply) => {
                let r = self.for_each_selected(which, Self::resume);
                let _ = reply.send(r);
            }
            Command::Cancel(which, reply) => {
                let r = self.for_each_selected(which, Self::cancel);
                let _ = reply.send(r);
            }
            Command::Retry(which, reply) => {
                let r = self.for_each_selected(which, Self::retry);
                let _ = reply.send(r);
            }
            Command::SetLimits(limits) => {
                self.config.limits = Limits {
                    parallel_chunks: limits.parallel_chunks.max(1),
                    parallel_files: limits.parallel_files.max(1),
                };
                self.rebalance_active();
            }
            Command::Snapshot(reply) => {
                let now = Instant::now();
                let all = self.uploads.values_mut().map(|u| u.summary(now)).collect();
                let _ = reply.send(all);
            }
            Command::Chunks(id, reply) => {
                let info = self.uploads.get(&id).map(|u| {
                    u.chunks
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let number = i as u32 + 1;
                            let r = u.file.plan.range(number);
                            ChunkInfo {
                                number,
                                start: r.start,
                                end: r.end,
                                state: c.state.clone(),
                                attempts: c.attempts,
                                last_answer: c.last_answer.clone(),
                            }
                        })
                        .collect()
                });
                let _ = reply.send(info);
            }
            Command::Totals(reply) => {
                let _ = reply.send(self.totals());
            }
            Command::ClearFinished(reply) => {
                let gone: Vec<UploadId> = self
                    .uploads
                    .iter()
                    .filter(|(_, u)| matches!(u.state, FileState::Done | FileState::Cancelled))
                    .map(|(id, _)| *id)
                    .collect();
                for id in &gone {
                    self.uploads.remove(id);
                    self.emit(Event::Removed { id: *id });
                }
                if let Some(store) = &self.store {
                    store.delete(gone.clone());
                }
                self.dirty = true;
                let _ = reply.send(gone);
            }
            Command::WhenIdle(reply) => self.idle_waiters.push(reply),
            Command::FindUnfinished(identifier, target, reply) => {
                let found = self
                    .uploads
                    .values()
                    .find(|u| {
                        !u.state.is_finished()
                            && u.file.identifier == identifier
                            && u.target.label() == target
                    })
                    .map(|u| u.id);
                let _ = reply.send(found);
            }
            Command::Shutdown(_) => {}
        }
    }

    /// Applies `action` to one upload or, for `None`, to all of them in queue order.
    fn for_each_selected(
        &mut self,
        which: Option<UploadId>,
        action: fn(&mut Self, UploadId),
    ) -> Result<(), EngineError> {
        match which {
            Some(id) => {
                if !self.uploads.contains_key(&id) {
                    return Err(EngineError::UnknownUpload(id.0));
                }
                action(self, id);
            }
            None => {
                let ids: Vec<UploadId> = self.uploads.keys().copied().collect();
                for id in ids {
                    action(self, id);
                }
            }
        }
        Ok(())
    }

    fn leave_slot(&mut self, id: UploadId) {
        self.active.retain(|a| *a != id);
        self.queued.retain(|q| *q != id);
    }

    fn pause(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if u.state.is_finished() || u.state == FileState::Paused {
            return;
        }
        u.disown_in_flight();
        u.rate.reset();
        let changed = u.requeue_unfinished(false);
        self.leave_slot(id);
        for n in changed {
            self.set_chunk_state(id, n, ChunkState::Pending);
        }
        self.set_file_state(id, FileState::Paused);
    }

    fn resume(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get(&id) else {
            return;
        };
        if u.state != FileState::Paused {
            return;
        }
        self.queued.push_back(id);
        self.set_file_state(id, FileState::Queued);
    }

    fn cancel(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if matches!(u.state, FileState::Done | FileState::Cancelled) {
            return;
        }
        u.disown_in_flight();
        let file = u.file.clone();
        let target = u.target.clone();
        self.leave_slot(id);
        self.set_file_state(id, FileState::Cancelled);
        // Freeing the server's copy is best effort: the user's intent is already honoured.
        tokio::spawn(async move {
            if let Err(e) = target.cancel(&file).await {
                tracing::warn!(
                    "cancel of {} on the server failed: {e}",
                    file.path.display()
                );
            }
        });
    }

    fn retry(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get(&id) else {
            return;
        };
        if !matches!(u.state, FileState::Failed { .. }) {
            return;
        }
        // Look at the file again first: a changed file must get a new identifier.
        self.examine(id, Examine::Retry, false);
    }

    /// Starts looking at a file again. `counts` makes it an in-flight request of the file
    /// (so its answer is tied to the current epoch).
    fn examine(&mut self, id: UploadId, why: Examine, counts: bool) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if counts {
            u.in_flight += 1;
            u.examining = true;
            self.in_flight += 1;
        } else {
            self.retries_pending += 1;
        }
        tokio::spawn(work::examine(
            id,
            u.epoch,
            why,
            u.file.clone(),
            u.settings.chunk_size,
            u.settings.chunk_rule,
            self.reports_tx.clone(),
        ));
    }

    /// What to do once a file was looked at again.
    fn examined(&mut self, id: UploadId, why: Examine, result: Result<FileNow, ChunkError>) {
        let Some(u) = self.uploads.get(&id) else {
            return;
        };
        let expected = match why {
            Examine::Retry => matches!(u.state, FileState::Failed { .. }),
            Examine::Restart | Examine::Resume => u.state.is_active(),
        };
        if !expected {
            return;
        }
        if why != Examine::Retry {
            if let Some(u) = self.uploads.get_mut(&id) {
                u.examining = false;
            }
        }
        let now = match result {
            Ok(now) => now,
            Err(e) => {
                // Re-set the state so the user sees the retry was tried and why it stopped.
                if let Some(u) = self.uploads.get_mut(&id) {
                    u.state = FileState::Queued;
                }
                self.fail_file(id, e.to_string(), true);
                return;
            }
        };
        if now.unchanged {
            match why {
                Examine::Retry => {
                    if let Some(u) = self.uploads.get_mut(&id) {
                        u.disown_in_flight();
                        let changed = u.requeue_unfinished(true);
                        for n in changed {
                            self.set_chunk_state(id, n, ChunkState::Pending);
                        }
                    }
                    self.queued.push_back(id);
                    self.set_file_state(id, FileState::Queued);
                }
                Examine::Resume | Examine::Restart => {
                    // Unchanged: carry on from the chunks the store says are done.
                    if let Some(u) = self.uploads.get_mut(&id) {
                        u.verify_first = false;
                    }
                }
            }
            return;
        }
        if why == Examine::Resume && self.config.changed_files == ChangedFilePolicy::Fail {
            let path = self
                .uploads
                .get(&id)
                .map(|u| u.file.path.display().to_string());
            let reason = format!(
                "{} changed since it was queued; retry to upload the new content",
                path.unwrap_or_default()
            );
            self.fail_file(id, reason, true);
            return;
        }
        self.start_over(
            id,
            now,
            "the file changed since it was queued: uploading it anew",
        );
    }

    /// Re-plans a file that changed, under a new identifier, and queues it from chunk 1.
    fn start_over(&mut self, id: UploadId, now: FileNow, reason: &str) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let mut file = (*u.file).clone();
        u.generation += 1;
        file.plan = ChunkPlan::new(now.size, u.settings.chunk_size, u.settings.chunk_rule);
        file.mtime = now.mtime;
        file.quick_hash = now.quick_hash;
        file.remote_id = None;
        file.identifier = identifier_for(&file, u.generation);
        let old = u.file.clone();
        let target = u.target.clone();
        u.replan(file);
        u.verify_first = false;
        let (cs, tc) = (u.file.plan.chunk_size, u.file.plan.total_chunks);
        self.persist_replan(id);
        // The server's partial copy of the old content is useless now.
        tokio::spawn(async move {
            let _ = target.cancel(&old).await;
        });
        self.emit(Event::Replanned {
            id,
            chunk_size: cs,
            total_chunks: tc,
            reason: reason.to_string(),
        });
        self.leave_slot(id);
        self.queued.push_back(id);
        if let Some(u) = self.uploads.get_mut(&id) {
            // Force the state event even when it already was queued.
            u.state = FileState::Paused;
        }
        self.set_file_state(id, FileState::Queued);
    }

    fn persist_replan(&self, id: UploadId) {
        let (Some(store), Some(u)) = (&self.store, self.uploads.get(&id)) else {
            return;
        };
        store.replan(
            id,
            Replan {
                size: u.file.plan.size,
                mtime: u.file.mtime,
                quick_hash: u.file.quick_hash.clone(),
                identifier: u.file.identifier.clone(),
                generation: u.generation,
                chunk_size: u.file.plan.chunk_size,
            },
        );
    }

    // ----- reports from running work ----------------------------------------------------

    fn handle_report(&mut self, report: WorkReport) {
        match report {
            WorkReport::ChunkStarted {
                id,
                epoch,
                number,
                state,
            } => {
                if self.current(id, epoch) {
                    if state == ChunkState::Sending {
                        self.set_file_state(id, FileState::Uploading);
                    }
                    self.set_chunk_state(id, number, state);
                }
            }
            WorkReport::ChunkEnded {
                id,
                epoch,
                number,
                result,
            } => {
                self.request_ended(id);
                if self.current(id, epoch) {
                    self.chunk_ended(id, number, result);
                }
            }
            WorkReport::Probed { id, epoch, result } => {
                self.request_ended(id);
                if self.current(id, epoch) {
                    self.probed(id, result);
                }
            }
            WorkReport::Finished { id, epoch, result } => {
                self.request_ended(id);
                if self.current(id, epoch) {
                    self.finished(id, result);
                }
            }
            WorkReport::Examined {
                id,
                epoch,
                why,
                result,
            } => {
                if why == Examine::Retry {
                    self.retries_pending = self.retries_pending.saturating_sub(1);
                    self.examined(id, why, result);
                } else {
                    self.request_ended(id);
                    if self.current(id, epoch) {
                        self.examined(id, why, result);
                    }
                }
            }
            WorkReport::Reachability { result } => self.reachability(result),
        }
    }

    fn request_ended(&mut self, id: UploadId) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(u) = self.uploads.get_mut(&id) {
            u.in_flight = u.in_flight.saturating_sub(1);
        }
    }

    fn current(&self, id: UploadId, epoch: u64) -> bool {
        self.uploads
            .get(&id)
            .is_some_and(|u| u.epoch == epoch && u.state.is_active())
    }

    fn probed(&mut self, id: UploadId, result: Result<Option<Vec<u32>>, ChunkError>) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let now = Instant::now();
        let mut present = Vec::new();
        // No extension, or it failed: chunks are then tested one by one.
        if let Ok(Some(stored)) = result {
            let stored: std::collections::HashSet<u32> = stored.into_iter().collect();
            for n in 1..=u.file.plan.total_chunks {
                if u.slot(n).state == ChunkState::Done {
                    continue;
                }
                if stored.contains(&n) {
                    present.push(n);
                } else {
                    u.slot(n).known_absent = true;
                }
            }
        }
        let skip: std::collections::HashSet<u32> = present.iter().copied().collect();
        u.ready.retain(|n| !skip.contains(n));
        for n in present {
            self.chunk_stored(id, n, "already on the server".into(), now);
        }
        self.set_file_state(id, FileState::Uploading);
        self.maybe_finish(id);
    }

    fn chunk_stored(&mut self, id: UploadId, number: u32, answer: String, now: Instant) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if u.slot(number).state == ChunkState::Done {
            return;
        }
        let len = u.file.plan.len(number);
        u.slot(number).last_answer = answer;
        u.acked += len;
        u.chunks_done += 1;
        u.rate.record(now, len);
        if let Some(store) = &self.store {
            store.chunk_done(id, number);
        }
        self.set_chunk_state(id, number, ChunkState::Done);
        self.emit_progress(id, now);
        self.dirty = true;
    }

    fn emit_progress(&mut self, id: UploadId, now: Instant) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let s = u.summary(now);
        self.emit(Event::Progress {
            id,
            acked_bytes: s.acked_bytes,
            total_bytes: s.size,
            bytes_per_sec: s.bytes_per_sec,
            eta_secs: s.eta_secs,
        });
    }

    fn chunk_ended(&mut self, id: UploadId, number: u32, result: Result<ChunkOutcome, ChunkError>) {
        let now = Instant::now();
        match result {
            Ok(ChunkOutcome::AlreadyThere) => {
                self.chunk_stored(id, number, "already on the server".into(), now);
                self.maybe_finish(id);
            }
            Ok(ChunkOutcome::Stored(receipt)) => {
                if let Some(remote) = receipt.remote_id {
                    if let Some(u) = self.uploads.get_mut(&id) {
                        let mut file = (*u.file).clone();
                        file.remote_id = Some(remote.clone());
                        u.file = Arc::new(file);
                    }
                    if let Some(store) = &self.store {
                        store.set_remote_id(id, Some(remote));
                    }
                }
                self.chunk_stored(id, number, receipt.answer, now);
                self.maybe_finish(id);
            }
            Err(ChunkError::Cancelled) => {
                // Our own cancel of a still-current epoch cannot happen; treat as a retry.
                if let Some(u) = self.uploads.get_mut(&id) {
                    u.ready.push_front(number);
                }
                self.set_chunk_state(id, number, ChunkState::Pending);
            }
            Err(ChunkError::TooLarge { chunk_bytes, .. }) => self.too_large(id, chunk_bytes),
            Err(e @ ChunkError::Network { .. }) => self.lost_network(id, number, e),
            Err(e @ (ChunkError::Stalled(_) | ChunkError::Retryable { .. })) => {
                self.chunk_retry(id, number, e, now)
            }
            Err(e @ ChunkError::Permanent { status, .. }) => {
                self.chunk_failed(id, number, &e);
                // A server error may pass; a refusal of the request itself will not.
                self.fail_file(id, e.to_string(), status >= 500);
            }
            Err(e @ ChunkError::FileChanged { .. })
                if self.config.changed_files == ChangedFilePolicy::Restart =>
            {
                // Stop sending the old content now; the file is examined and started over.
                if let Some(u) = self.uploads.get_mut(&id) {
                    u.disown_in_flight();
                }
                self.chunk_failed(id, number, &e);
                self.examine(id, Examine::Restart, true);
            }
            Err(e @ (ChunkError::FileChanged { .. } | ChunkError::Read { .. })) => {
                self.chunk_failed(id, number, &e);
                self.fail_file(id, e.to_string(), true);
            }
        }
    }

    fn chunk_failed(&mut self, id: UploadId, number: u32, e: &ChunkError) {
        if let Some(u) = self.uploads.get_mut(&id) {
            u.slot(number).last_answer = e.to_string();
        }
        self.set_chunk_state(
            id,
            number,
            ChunkState::Failed {
                reason: e.to_string(),
            },
        );
    }

    fn chunk_retry(&mut self, id: UploadId, number: u32, e: ChunkError, now: Instant) {
        let policy = self.config.retry;
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let slot = u.slot(number);
        slot.attempts += 1;
        slot.last_answer = e.to_string();
        let attempts = slot.attempts;
        if attempts >= policy.max_attempts {
            self.chunk_failed(id, number, &e);
            let reason = format!("gave up after {attempts} attempts: {e}");
            self.fail_file(id, reason, true);
            return;
        }
        let hint = match &e {
            ChunkError::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        };
        let delay = policy.delay(attempts + 1, hint, rand::random::<f64>());
        u.waiting.push((now + delay, number));
        self.set_chunk_state(
            id,
            number,
            ChunkState::Retrying {
                attempt: attempts + 1,
                retry_in_ms: delay.as_millis() as u64,
                reason: e.to_string(),
            },
        );
    }

    fn too_large(&mut self, id: UploadId, chunk_bytes: u64) {
        let min = self.config.min_chunk_size;
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let old = u.file.plan.chunk_size;
        let new = (old / 2).max(1);
        if new < min {
            let reason = format!(
                "{} refuses chunks of {chunk_bytes} bytes (413) even at the smallest chunk size ({min} bytes)",
                u.target.label()
            );
            self.fail_file(id, reason, false);
            return;
        }
        u.generation += 1;
        u.settings.chunk_size = new;
        let mut file = (*u.file).clone();
        file.plan = ChunkPlan::new(file.plan.size, new, u.settings.chunk_rule);
        file.remote_id = None;
        file.identifier = identifier_for(&file, u.generation);
        let target = u.target.clone();
        let old_file = u.file.clone();
        u.replan(file);
        let total = u.file.plan.total_chunks;
        self.persist_replan(id);
        // The server's partial copy under the old plan is useless now.
        tokio::spawn(async move {
            let _ = target.cancel(&old_file).await;
        });
        self.emit(Event::Replanned {
            id,
            chunk_size: new,
            total_chunks: total,
            reason: format!(
                "the server refused a {chunk_bytes}-byte chunk as too large (413): retrying with {new}-byte chunks"
            ),
        });
        self.dirty = true;
    }

    fn fail_file(&mut self, id: UploadId, reason: String, retryable: bool) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        u.disown_in_flight();
        self.leave_slot(id);
        self.set_file_state(id, FileState::Failed { reason, retryable });
    }

    fn maybe_finish(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if !u.all_chunks_done() || u.finishing {
            return;
        }
        u.finishing = true;
        u.in_flight += 1;
        self.in_flight += 1;
        tokio::spawn(work::finish(
            id,
            u.epoch,
            u.file.clone(),
            u.target.clone(),
            u.token.clone(),
            self.reports_tx.clone(),
        ));
    }

    fn finished(&mut self, id: UploadId, result: Result<(), ChunkError>) {
        match result {
            Ok(()) => {
                self.leave_slot(id);
                self.set_file_state(id, FileState::Done);
                self.emit_progress(id, Instant::now());
            }
            Err(e) => {
                let retryable = !matches!(e, ChunkError::Permanent { .. });
                self.fail_file(id, e.to_string(), retryable);
            }
        }
    }

    // ----- choosing what to send ------------------------------------------------------

    /// Gives slots to queued files and starts requests until the limits are reached.
    fn dispatch(&mut self) {
        if self.config.hold {
            return;
        }
        let limits = self.config.limits;
        while self.active.len() < limits.parallel_files {
            let Some(id) = self.queued.pop_front() else {
                break;
            };
            let Some(u) = self.uploads.get_mut(&id) else {
                continue;
            };
            if u.state != FileState::Queued {
                continue;
            }
            self.active.push(id);
            // A resumed file is asked about even when small: the server may have stored
            // chunks whose acknowledgement the crash lost.
            let probe = u.settings.test_chunks
                && u.target.can_test()
                && (u.resumed || u.file.plan.total_chunks > 1)
                && (u.resumed || u.file.plan.chunk_size > u.settings.test_threshold);
            let state = if probe {
                FileState::Testing
            } else {
                u.probed = true;
                FileState::Uploading
            };
            let verify = u.verify_first;
            self.set_file_state(id, state);
            if verify {
                self.examine(id, Examine::Resume, true);
            } else {
                // A restart with every chunk already done goes straight to finishing.
                self.maybe_finish(id);
            }
        }
        if self.offline.is_some() {
            // Nothing new goes out until a probe says the network is back.
            return;
        }
        let mut i = 0;
        while self.in_flight < limits.parallel_chunks && i < self.active.len() {
            let id = self.active[i];
            if !self.start_one(id) {
                i += 1;
            }
        }
    }

    /// Starts one request for upload `id`; false when it has nothing to start now.
    fn start_one(&mut self, id: UploadId) -> bool {
        let Some(u) = self.uploads.get_mut(&id) else {
            return false;
        };
        if !u.state.is_active() || u.finishing || u.examining {
            return false;
        }
        if u.verify_first {
            return false;
        }
        if !u.probed {
            u.probed = true;
            u.in_flight += 1;
            self.in_flight += 1;
            tokio::spawn(work::probe(
                id,
                u.epoch,
                u.file.clone(),
                u.target.clone(),
                u.token.clone(),
                self.reports_tx.clone(),
            ));
            return true;
        }
        if u.state == FileState::Testing {
            // The probe is still out.
            return false;
        }
        // A target that creates the file with chunk 1 gets nothing else until that is done.
        let first_pending = u.target.first_chunk_alone() && u.slot(1).state != ChunkState::Done;
        if first_pending && u.in_flight > 0 {
            return false;
        }
        let number = if first_pending {
            if !u.ready.contains(&1) {
                return false;
            }
            u.ready.retain(|n| *n != 1);
            1
        } else {
            match u.ready.pop_front() {
                Some(n) => n,
                None => return false,
            }
        };
        let len = u.file.plan.len(number);
        let known_absent = u.slot(number).known_absent;
        let test_first = u.settings.test_chunks
            && u.target.can_test()
            && !known_absent
            && (u.resumed || len > u.settings.test_threshold);
        u.in_flight += 1;
        self.in_flight += 1;
        let job = ChunkJob {
            id,
            epoch: u.epoch,
            number,
            test_first,
            file: u.file.clone(),
            target: u.target.clone(),
            token: u.token.clone(),
            reports: self.reports_tx.clone(),
            throttle: self.throttle.clone(),
        };
        tokio::spawn(job.run());
        true
    }

    /// After limits change: files beyond the new file limit go back to the head of the line.
    fn rebalance_active(&mut self) {
        let keep = self.config.limits.parallel_files;
        while self.active.len() > keep {
            if let Some(id) = self.active.pop() {
                // Only files with nothing in flight can step back without losing work.
                let busy = self.uploads.get(&id).is_some_and(|u| u.in_flight > 0);
                if busy {
                    self.active.push(id);
                    break;
                }
                if let Some(u) = self.uploads.get_mut(&id) {
                    u.probed = false;
                }
                self.queued.push_front(id);
                self.set_file_state(id, FileState::Queued);
            }
        }
    }

    fn next_retry_due(&self) -> Option<Instant> {
        self.active
            .iter()
            .filter_map(|id| self.uploads.get(id))
            .flat_map(|u| u.waiting.iter().map(|(t, _)| *t))
            .min()
    }

    fn release_due_retries(&mut self) {
        let now = Instant::now();
        for id in self.active.clone() {
            if let Some(u) = self.uploads.get_mut(&id) {
                let (due, later): (Vec<_>, Vec<_>) =
                    u.waiting.drain(..).partition(|(t, _)| *t <= now);
                u.waiting = later;
                let mut due: Vec<u32> = due.into_iter().map(|(_, n)| n).collect();
                due.sort_unstable();
                for n in due.into_iter().rev() {
                    u.ready.push_front(n);
                }
            }
        }
    }

    // ----- offline --------------------------------------------------------------------------

    /// A request got no HTTP answer: the network (or the server's host) is away. The chunk
    /// waits without using its retry budget, and the whole queue goes offline.
    fn lost_network(&mut self, id: UploadId, number: u32, e: ChunkError) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let slot = u.slot(number);
        slot.network_failures += 1;
        if slot.network_failures > FREE_NETWORK_FAILURES {
            // The same chunk keeps losing its connection while the server answers probes:
            // something refuses this request (a proxy's body limit?), not the network.
            self.chunk_retry(id, number, e, Instant::now());
            return;
        }
        u.slot(number).last_answer = e.to_string();
        u.ready.push_front(number);
        let target = u.target.clone();
        self.set_chunk_state(id, number, ChunkState::Pending);
        if self.offline.is_none() {
            let now = Instant::now();
            self.offline = Some(Offline {
                since: now,
                reason: e.to_string(),
                target,
                failed_probes: 0,
                next_probe: now + Duration::from_millis(250),
                probing: false,
            });
            self.dirty = true;
            self.emit(Event::Connectivity {
                online: false,
                reason: Some(e.to_string()),
            });
        }
    }

    fn next_probe_due(&self) -> Option<Instant> {
        self.offline
            .as_ref()
            .filter(|o| !o.probing)
            .map(|o| o.next_probe)
    }

    fn probe_if_due(&mut self) {
        let give_up = self.config.offline_give_up;
        let Some(o) = self.offline.as_mut() else {
            return;
        };
        if let Some(limit) = give_up {
            if o.since.elapsed() >= limit {
                let reason = format!(
                    "offline for {} s: {}",
                    o.since.elapsed().as_secs(),
                    o.reason
                );
                self.give_up_offline(reason);
                return;
            }
        }
        if o.probing || o.next_probe > Instant::now() {
            return;
        }
        o.probing = true;
        tokio::spawn(work::reach(o.target.clone(), self.reports_tx.clone()));
    }

    fn reachability(&mut self, result: Result<(), ChunkError>) {
        let Some(o) = self.offline.as_mut() else {
            return;
        };
        o.probing = false;
        match result {
            Ok(()) => {
                self.offline = None;
                self.dirty = true;
                self.emit(Event::Connectivity {
                    online: true,
                    reason: None,
                });
            }
            Err(e) => {
                o.failed_probes += 1;
                o.reason = e.to_string();
                let backoff = Duration::from_millis(250)
                    .saturating_mul(1 << o.failed_probes.min(8))
                    .min(MAX_PROBE_INTERVAL);
                o.next_probe = Instant::now() + backoff;
            }
        }
    }

    /// Fails what waits for the network (the configured patience ran out).
    fn give_up_offline(&mut self, reason: String) {
        self.offline = None;
        let waiting: Vec<UploadId> = self
            .active
            .iter()
            .chain(self.queued.iter())
            .copied()
            .collect();
        for id in waiting {
            self.fail_file(id, reason.clone(), true);
        }
        self.emit(Event::Connectivity {
            online: true,
            reason: Some(reason),
        });
    }

    /// Notices a jump of the wall clock past the monotonic one (a laptop that slept): the
    /// network may have changed, so an offline queue probes at once.
    fn check_clocks(&mut self) {
        let (wall_then, mono_then) = self.clocks;
        let wall_now = SystemTime::now();
        let mono_now = Instant::now();
        self.clocks = (wall_now, mono_now);
        if clock_jumped((wall_then, mono_then), (wall_now, mono_now)) {
            tracing::info!("the wall clock jumped ahead (the machine slept?): probing now");
            if let Some(o) = self.offline.as_mut() {
                o.next_probe = mono_now;
            }
        }
    }

    // ----- totals and idleness ------------------------------------------------------------

    fn totals(&mut self) -> QueueTotals {
        let now = Instant::now();
        let mut t = QueueTotals::default();
        for u in self.uploads.values_mut() {
            t.files += 1;
            t.bytes_total += u.file.plan.size;
            t.bytes_acked += u.acked;
            match u.state {
                FileState::Done => t.files_done += 1,
                FileState::Failed { .. } => t.files_failed += 1,
                _ => {}
            }
            if u.state.is_active() {
                t.bytes_per_sec += u.rate.bytes_per_sec(now);
            }
        }
        let remaining: u64 = self
            .uploads
            .values()
            .filter(|u| !u.state.is_finished())
            .map(|u| u.file.plan.size - u.acked)
            .sum();
        t.eta_secs = super::rate::eta_secs(remaining, t.bytes_per_sec);
        t.offline = self.offline.is_some();
        t
    }

    fn emit_progress_tick(&mut self) {
        self.check_clocks();
        self.probe_if_due();
        let now = Instant::now();
        for id in self.active.clone() {
            self.emit_progress(id, now);
        }
        if self.dirty || !self.active.is_empty() {
            self.dirty = false;
            let totals = self.totals();
            self.emit(Event::Totals { totals });
        }
    }

    fn answer_idle_waiters(&mut self) {
        if self.idle_waiters.is_empty() {
            return;
        }
        if self.queued.is_empty()
            && self.active.is_empty()
            && self.in_flight == 0
            && self.retries_pending == 0
        {
            for w in self.idle_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }
}

/// True when the wall clock moved more than 2 s further than the monotonic clock between two
/// readings: the machine was asleep (Linux's monotonic clock stops during suspend).
fn clock_jumped(before: (SystemTime, Instant), after: (SystemTime, Instant)) -> bool {
    let wall = after.0.duration_since(before.0).unwrap_or_default();
    let mono = after.1.duration_since(before.1);
    wall > mono + Duration::from_secs(2)
}

/// The identifier of a file under a given generation.
fn identifier_for(file: &UploadFile, generation: u32) -> String {
    strong_identifier(
        file.plan.size,
        &file.relative_path,
        mtime_nanos(file.mtime),
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
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_shows_as_the_wall_clock_outrunning_the_monotonic_one() {
        let t = SystemTime::now();
        let i = Instant::now();
        let second = Duration::from_secs(1);
        assert!(!clock_jumped((t, i), (t + second, i + second)));
        assert!(clock_jumped(
            (t, i),
            (t + Duration::from_secs(600), i + second)
        ));
        // A wall clock set backwards is not a sleep.
        assert!(!clock_jumped(
            (t + Duration::from_secs(60), i),
            (t, i + second)
        ));
    }
}
