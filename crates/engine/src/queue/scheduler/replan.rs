//! Starting a file over: after it changed (before a resume or while uploading) or after a
//! 413, under a new identifier so old and new bytes never mix.

use super::*;

impl Scheduler {
    /// Starts looking at a file again. `counts` makes it an in-flight request of the file
    /// (so its answer is tied to the current epoch).
    pub(super) fn examine(&mut self, id: UploadId, why: Examine, counts: bool) {
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
    pub(super) fn examined(
        &mut self,
        id: UploadId,
        why: Examine,
        result: Result<FileNow, ChunkError>,
    ) {
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
                self.fail_file(id, e.failure_kind(), e.to_string(), true);
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
                    self.wait_in_line(id);
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
            self.fail_file(id, FailureKind::FileChanged, reason, true);
            return;
        }
        self.start_over(
            id,
            now,
            "the file changed since it was queued: uploading it anew",
        );
    }

    /// Re-plans a file that changed, under a new identifier, and queues it from chunk 1.
    pub(super) fn start_over(&mut self, id: UploadId, now: FileNow, reason: &str) {
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
        self.wait_in_line(id);
        if let Some(u) = self.uploads.get_mut(&id) {
            // Force the state event even when it already was queued.
            u.state = FileState::Paused;
        }
        self.set_file_state(id, FileState::Queued);
    }

    pub(super) fn persist_replan(&self, id: UploadId) {
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

    pub(super) fn too_large(&mut self, id: UploadId, chunk_bytes: u64) {
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
            self.fail_file(id, FailureKind::TooLarge, reason, false);
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
}
