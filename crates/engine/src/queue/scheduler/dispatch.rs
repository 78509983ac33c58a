//! Choosing what to send next under the limits: which files hold a slot, which chunk goes
//! next, and when chunks waiting for their backoff are due.

use super::*;

impl Scheduler {
    /// Gives slots to queued files and starts requests until the limits are reached.
    pub(super) fn dispatch(&mut self) {
        if self.config.hold || !self.holds.is_empty() {
            return;
        }
        while self.active.len() < self.base_files() {
            if !self.admit_next() {
                break;
            }
        }
        if self.offline.is_some() {
            // Nothing new goes out until a probe says the network is back.
            return;
        }
        let mut counts = self.in_flight_by_target();
        loop {
            self.start_requests(&mut counts);
            // Many small files: the files holding a slot leave room on the link, so one
            // more file may use it (each file's own round trips then overlap).
            if !self.files_follow_link() {
                break;
            }
            let Some(label) = self.next_queued_target() else {
                break;
            };
            if !self.room_for(&label, &counts) || !self.admit_next() {
                break;
            }
        }
    }

    /// Starts requests of the files holding a slot, in their order, while their targets
    /// have room.
    fn start_requests(&mut self, counts: &mut HashMap<String, usize>) {
        let mut i = 0;
        while i < self.active.len() {
            let id = self.active[i];
            let Some(label) = self.uploads.get(&id).map(|u| u.target.label()) else {
                i += 1;
                continue;
            };
            if self.room_for(&label, counts) && self.start_one(id) {
                *counts.entry(label).or_insert(0) += 1;
            } else {
                i += 1;
            }
        }
    }

    /// Gives the next queued file a slot; false when none is waiting.
    fn admit_next(&mut self) -> bool {
        loop {
            let Some(id) = self.queued.pop_front() else {
                return false;
            };
            let Some(u) = self.uploads.get(&id) else {
                continue;
            };
            if u.state != FileState::Queued {
                continue;
            }
            self.fit_chunk_size(id);
            let Some(u) = self.uploads.get_mut(&id) else {
                continue;
            };
            self.active.push(id);
            // A resumed file is asked about even when small: the server may have stored
            // chunks whose acknowledgement the crash lost.
            let caps = u.target.capabilities();
            let probe = u.settings.test_chunks
                && (caps.test_chunk || caps.list_stored_chunks)
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
            return true;
        }
    }

    /// Starts one request for upload `id`; false when it has nothing to start now.
    pub(super) fn start_one(&mut self, id: UploadId) -> bool {
        let Some(u) = self.uploads.get_mut(&id) else {
            return false;
        };
        if !u.state.is_active() || u.finishing || u.examining {
            return false;
        }
        if u.verify_first {
            return false;
        }
        u.planned = true;
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
        let caps = u.target.capabilities();
        // A target that creates the file with chunk 1 gets nothing else until that is done;
        // one that takes chunks in order gets one at a time, the lowest first.
        let first_pending = caps.first_chunk_alone && u.slot(1).state != ChunkState::Done;
        // A file still to be created on the server gets one request, which creates it.
        let create_first = caps.creates_file_first && u.file.remote_id.is_none();
        if (first_pending || create_first || caps.in_order) && u.in_flight > 0 {
            return false;
        }
        if caps.in_order {
            let lowest_waiting = u.waiting.iter().map(|(_, n)| *n).min();
            let lowest_ready = u.ready.iter().copied().min();
            match (lowest_ready, lowest_waiting) {
                // The next chunk in order is still waiting for its backoff.
                (Some(r), Some(w)) if w < r => return false,
                (None, _) => return false,
                (Some(r), _) => {
                    u.ready.retain(|n| *n != r);
                    u.ready.push_front(r);
                }
            }
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
            && caps.test_chunk
            && !create_first
            && !known_absent
            && (u.resumed || len > u.settings.test_threshold);
        u.in_flight += 1;
        self.in_flight += 1;
        let job = ChunkJob {
            id,
            epoch: u.epoch,
            number,
            test_first,
            create_first,
            file: u.file.clone(),
            target: u.target.clone(),
            token: u.token.clone(),
            reports: self.reports_tx.clone(),
            throttle: self.throttle.clone(),
            store: self.store.clone(),
        };
        tokio::spawn(job.run());
        true
    }

    /// After limits change: files beyond the new file limit go back to the head of the line.
    pub(super) fn rebalance_active(&mut self) {
        if self.config.limits.parallel_files == 0 {
            // Following the link: files already holding a slot keep it.
            return;
        }
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

    pub(super) fn next_retry_due(&self) -> Option<Instant> {
        self.active
            .iter()
            .filter_map(|id| self.uploads.get(id))
            .flat_map(|u| u.waiting.iter().map(|(t, _)| *t))
            .min()
    }

    pub(super) fn release_due_retries(&mut self) {
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
}
