//! One file in the queue as the scheduler sees it: its plan, the state of each chunk, what
//! is in flight, and the bookkeeping for speed and retries. Owned by the scheduler alone.

use super::rate::{eta_secs, RateMeter};
use crate::config::UploadSettings;
use crate::events::{ChunkState, FileState, UploadSummary};
use crate::ids::UploadId;
use crate::targets::{Target, UploadFile};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One chunk's state plus what the scheduler needs to retry it.
#[derive(Debug, Clone)]
pub struct ChunkSlot {
    pub state: ChunkState,
    /// Attempts made so far (server failures and stalls).
    pub attempts: u32,
    /// Connection losses so far (spells offline, which do not use the retry budget).
    pub network_failures: u32,
    /// The server is known not to have this chunk, so no GET test is needed.
    pub known_absent: bool,
    /// Last answer from the server, for the chunk map's hover text.
    pub last_answer: String,
}

impl ChunkSlot {
    fn fresh() -> ChunkSlot {
        ChunkSlot {
            state: ChunkState::Pending,
            attempts: 0,
            network_failures: 0,
            known_absent: false,
            last_answer: String::new(),
        }
    }
}

pub struct Upload {
    pub id: UploadId,
    pub file: Arc<UploadFile>,
    pub target: Arc<dyn Target>,
    pub settings: UploadSettings,
    pub state: FileState,
    pub chunks: Vec<ChunkSlot>,
    /// Chunk numbers ready to go, in order.
    pub ready: VecDeque<u32>,
    /// Chunks waiting for their backoff to end.
    pub waiting: Vec<(Instant, u32)>,
    pub acked: u64,
    pub chunks_done: u32,
    /// Requests of this file in flight (chunks, probes, finish).
    pub in_flight: usize,
    /// Bumped whenever in-flight work must be disowned (pause, cancel, re-plan), so late
    /// answers of that work are recognised and ignored.
    pub epoch: u64,
    /// Incremented for each new identifier of this file (re-plan, changed file).
    pub generation: u32,
    /// Cancels the in-flight requests of the current epoch.
    pub token: CancellationToken,
    /// Whether the server was asked for its stored chunks in this epoch.
    pub probed: bool,
    /// Whether the target's finish step is running.
    pub finishing: bool,
    /// Loaded from the store: look at the file again before sending anything.
    pub verify_first: bool,
    /// The file is being looked at again; nothing is sent meanwhile.
    pub examining: bool,
    /// Continues an earlier run: chunks not marked done are asked about even when small,
    /// since the server may have stored them just before the crash.
    pub resumed: bool,
    /// The plan is fixed: a request of this file was started (or it continues an earlier
    /// run), so the server may know its chunk size.
    pub planned: bool,
    /// Bytes of this file went out in a request that did not finish, to a target that takes
    /// files whole: its next request starts from byte 0 again, and the queue says so.
    pub sent_partly: bool,
    pub rate: RateMeter,
}

impl Upload {
    pub fn new(
        id: UploadId,
        file: UploadFile,
        target: Arc<dyn Target>,
        settings: UploadSettings,
    ) -> Upload {
        let total = file.plan.total_chunks;
        Upload {
            id,
            file: Arc::new(file),
            target,
            settings,
            state: FileState::Queued,
            chunks: vec![ChunkSlot::fresh(); total as usize],
            ready: (1..=total).collect(),
            waiting: Vec::new(),
            acked: 0,
            chunks_done: 0,
            in_flight: 0,
            epoch: 0,
            generation: 0,
            token: CancellationToken::new(),
            probed: false,
            finishing: false,
            verify_first: false,
            examining: false,
            resumed: false,
            planned: false,
            sent_partly: false,
            rate: RateMeter::default(),
        }
    }

    /// An upload as the store kept it: chunks the server acknowledged are done, the rest
    /// wait; states that were running become queued again.
    pub fn restored(
        id: UploadId,
        file: UploadFile,
        target: Arc<dyn Target>,
        settings: UploadSettings,
        generation: u32,
        state: FileState,
        done_chunks: &[u32],
    ) -> Upload {
        let mut u = Upload::new(id, file, target, settings);
        u.generation = generation;
        for &n in done_chunks {
            if n >= 1 && n <= u.file.plan.total_chunks && u.slot(n).state != ChunkState::Done {
                u.slot(n).state = ChunkState::Done;
                u.acked += u.file.plan.len(n);
                u.chunks_done += 1;
            }
        }
        let done: std::collections::HashSet<u32> = done_chunks.iter().copied().collect();
        u.ready.retain(|n| !done.contains(n));
        let interrupted = matches!(state, FileState::Testing | FileState::Uploading);
        u.state = match state {
            FileState::Testing | FileState::Uploading => FileState::Queued,
            other => other,
        };
        u.verify_first = true;
        u.resumed = true;
        u.planned = true;
        // An interrupted whole-file upload kept nothing on the server: it starts over.
        u.sent_partly = interrupted && u.target.capabilities().whole_file;
        u
    }

    pub fn slot(&mut self, number: u32) -> &mut ChunkSlot {
        &mut self.chunks[number as usize - 1]
    }

    /// Disowns in-flight work: cancels it and starts a new epoch.
    pub fn disown_in_flight(&mut self) {
        self.token.cancel();
        self.token = CancellationToken::new();
        self.epoch += 1;
        self.probed = false;
        self.finishing = false;
        self.examining = false;
    }

    /// Puts every chunk that is not done back in line (after a pause or a failure), in order.
    /// Returns the numbers whose state changed, for events.
    pub fn requeue_unfinished(&mut self, reset_attempts: bool) -> Vec<u32> {
        let mut changed = Vec::new();
        self.ready.clear();
        self.waiting.clear();
        for (i, slot) in self.chunks.iter_mut().enumerate() {
            if slot.state == ChunkState::Done {
                continue;
            }
            if reset_attempts {
                slot.attempts = 0;
                slot.network_failures = 0;
            }
            if slot.state != ChunkState::Pending {
                slot.state = ChunkState::Pending;
                changed.push(i as u32 + 1);
            }
            self.ready.push_back(i as u32 + 1);
        }
        changed
    }

    /// Starts over with a new plan (a 413, or a file that changed).
    pub fn replan(&mut self, file: UploadFile) {
        self.disown_in_flight();
        let total = file.plan.total_chunks;
        self.file = Arc::new(file);
        self.chunks = vec![ChunkSlot::fresh(); total as usize];
        self.ready = (1..=total).collect();
        self.waiting.clear();
        self.acked = 0;
        self.chunks_done = 0;
        self.rate.reset();
    }

    pub fn all_chunks_done(&self) -> bool {
        self.chunks_done == self.file.plan.total_chunks
    }

    pub fn summary(&mut self, now: Instant) -> UploadSummary {
        let speed = if self.state.is_active() {
            self.rate.bytes_per_sec(now)
        } else {
            0
        };
        let eta = match self.state {
            FileState::Done => Some(0),
            _ if self.state.is_active() => eta_secs(self.file.plan.size - self.acked, speed),
            _ => None,
        };
        UploadSummary {
            id: self.id,
            path: self.file.path.display().to_string(),
            relative_path: self.file.relative_path.clone(),
            target: self.target.label(),
            size: self.file.plan.size,
            chunk_size: self.file.plan.chunk_size,
            total_chunks: self.file.plan.total_chunks,
            state: self.state.clone(),
            acked_bytes: self.acked,
            bytes_per_sec: speed,
            eta_secs: eta,
            share_links: self.target.capabilities().share_links,
        }
    }
}
