//! What the scheduler does with the answer of each request it started: chunks stored,
//! retried, failed; probes; the target's finish step.

use super::*;

impl Scheduler {
    /// A file a whole-file target takes in one request, sent again after part of it went
    /// out (a pause, a retry, a restart): the server kept nothing, so the front ends are told
    /// it starts from 0 and why, with the event they already show for a file cut anew.
    fn say_if_sent_again(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if !std::mem::take(&mut u.sent_partly) {
            return;
        }
        let (chunk_size, total_chunks) = (u.file.plan.chunk_size, u.file.plan.total_chunks);
        let reason = format!(
            "{} goes again from its start: this server takes each file in one request and \
             keeps nothing of an interrupted one",
            u.file.filename
        );
        self.emit(Event::Replanned {
            id,
            chunk_size,
            total_chunks,
            reason,
        });
    }

    pub(super) fn handle_report(&mut self, report: WorkReport) {
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
                        self.say_if_sent_again(id);
                    }
                    self.set_chunk_state(id, number, state);
                }
            }
            WorkReport::InFlight {
                id,
                epoch,
                number,
                sent,
                len,
            } => {
                // A late sample of a chunk that ended (or of an older epoch) is dropped.
                let sending = self.uploads.get(&id).is_some_and(|u| {
                    (number as usize)
                        .checked_sub(1)
                        .and_then(|i| u.chunks.get(i))
                        .is_some_and(|c| c.state == ChunkState::Sending)
                });
                if self.current(id, epoch) && sending {
                    if sent > 0 {
                        if let Some(u) = self.uploads.get_mut(&id) {
                            u.sent_partly = u.target.capabilities().whole_file;
                        }
                    }
                    self.emit(Event::InFlight {
                        id,
                        chunk: number,
                        sent_bytes: sent.min(len),
                        chunk_bytes: len,
                    });
                }
            }
            WorkReport::ChunkEnded {
                id,
                epoch,
                number,
                took,
                result,
            } => {
                self.request_ended(id);
                if self.current(id, epoch) {
                    self.chunk_ended(id, number, took, result);
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

    pub(super) fn request_ended(&mut self, id: UploadId) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(u) = self.uploads.get_mut(&id) {
            u.in_flight = u.in_flight.saturating_sub(1);
        }
    }

    pub(super) fn current(&self, id: UploadId, epoch: u64) -> bool {
        self.uploads
            .get(&id)
            .is_some_and(|u| u.epoch == epoch && u.state.is_active())
    }

    pub(super) fn probed(&mut self, id: UploadId, result: Result<Option<Vec<u32>>, ChunkError>) {
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

    pub(super) fn chunk_stored(&mut self, id: UploadId, number: u32, answer: String, now: Instant) {
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

    pub(super) fn emit_progress(&mut self, id: UploadId, now: Instant) {
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

    pub(super) fn chunk_ended(
        &mut self,
        id: UploadId,
        number: u32,
        took: Duration,
        result: Result<ChunkOutcome, ChunkError>,
    ) {
        let now = Instant::now();
        match &result {
            Ok(ChunkOutcome::Stored(_)) => {
                let bytes = self.uploads.get(&id).map_or(0, |u| u.file.plan.len(number));
                self.paced_ack(id, bytes, took, now);
            }
            Err(
                ChunkError::Stalled(_) | ChunkError::Retryable { .. } | ChunkError::Network { .. },
            ) => self.paced_pushback(id, now),
            _ => {}
        }
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
            Err(ChunkError::TooLarge { chunk_bytes, .. }) => {
                self.remember_refused(id, chunk_bytes);
                self.too_large(id, chunk_bytes)
            }
            Err(ChunkError::Declined { reason }) => self.skip_file(id, reason),
            Err(e @ ChunkError::Network { .. }) => self.lost_network(id, number, e),
            Err(e @ ChunkError::Untrusted { .. }) => {
                // Not an outage: say so now rather than wait for a network that is there.
                self.chunk_failed(id, number, &e);
                self.fail_file(id, e.failure_kind(), e.to_string(), true);
            }
            Err(e @ (ChunkError::Stalled(_) | ChunkError::Retryable { .. })) => {
                self.chunk_retry(id, number, e, now)
            }
            Err(e @ ChunkError::Permanent { status, .. }) => {
                self.chunk_failed(id, number, &e);
                // A server error may pass; a refusal of the request itself will not.
                self.fail_file(id, e.failure_kind(), e.to_string(), status >= 500);
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
                self.fail_file(id, e.failure_kind(), e.to_string(), true);
            }
        }
    }

    pub(super) fn chunk_failed(&mut self, id: UploadId, number: u32, e: &ChunkError) {
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

    pub(super) fn chunk_retry(&mut self, id: UploadId, number: u32, e: ChunkError, now: Instant) {
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
            self.fail_file(id, e.failure_kind(), reason, true);
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

    pub(super) fn fail_file(
        &mut self,
        id: UploadId,
        kind: FailureKind,
        reason: String,
        retryable: bool,
    ) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        u.disown_in_flight();
        self.leave_slot(id);
        self.set_file_state(
            id,
            FileState::Failed {
                kind,
                reason,
                retryable,
            },
        );
    }

    /// The target declined the file: it ends skipped, with what is in flight dropped.
    pub(super) fn skip_file(&mut self, id: UploadId, reason: String) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        u.disown_in_flight();
        self.leave_slot(id);
        self.set_file_state(id, FileState::Skipped { reason });
    }

    pub(super) fn maybe_finish(&mut self, id: UploadId) {
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

    pub(super) fn finished(&mut self, id: UploadId, result: Result<(), ChunkError>) {
        match result {
            Ok(()) => {
                self.leave_slot(id);
                self.set_file_state(id, FileState::Done);
                self.emit_progress(id, Instant::now());
            }
            Err(ChunkError::Declined { reason }) => self.skip_file(id, reason),
            Err(e) => {
                let retryable = !matches!(e, ChunkError::Permanent { .. });
                self.fail_file(id, e.failure_kind(), e.to_string(), retryable);
            }
        }
    }
}
