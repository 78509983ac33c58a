//! The user's intents: add, pause, resume, cancel, retry, limits, and the questions a
//! front end asks (snapshot, chunk map, totals).

use super::*;

impl Scheduler {
    pub(super) fn handle_command(&mut self, cmd: Command) {
        match cmd {
            Command::Add {
                id,
                file,
                target,
                settings,
                reply,
            } => {
                let key = SourceKey::of(&file, &target.label());
                let mut upload = Upload::new(id, *file, target, settings);
                let summary = upload.summary(Instant::now());
                self.uploads.insert(id, upload);
                self.by_source.insert(key, id);
                let position = self.order.push_back(id);
                if let Some(store) = &self.store {
                    store.set_positions(vec![(id, position)]);
                }
                self.wait_in_line(id);
                self.dirty = true;
                self.emit(Event::Added { upload: summary });
                let _ = reply.send(());
            }
            Command::Restore {
                mut upload,
                position,
                reply,
            } => {
                let id = upload.id;
                let key = SourceKey::of(&upload.file, &upload.target.label());
                let summary = upload.summary(Instant::now());
                self.uploads.insert(id, *upload);
                self.by_source.insert(key, id);
                self.order.place(id, position);
                self.dirty = true;
                self.emit(Event::Added { upload: summary });
                let _ = reply.send(());
            }
            Command::Rename { from, to, reply } => {
                let _ = reply.send(self.rename(from, to));
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
            Command::SignedIn(account, reply) => {
                let stopped: Vec<UploadId> = self
                    .uploads
                    .values()
                    .filter(|u| {
                        matches!(
                            u.state,
                            FileState::Failed {
                                kind: FailureKind::SignedOut,
                                ..
                            }
                        ) && u.target.account().as_deref() == Some(account.as_str())
                    })
                    .map(|u| u.id)
                    .collect();
                let restarted = stopped.len();
                for id in stopped {
                    self.retry(id);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(restarted);
                }
            }
            Command::Hold(reason, on) => self.set_hold(reason, on),
            // Read where a change is found (resume check, chunk read), so it applies to the
            // next change found.
            Command::SetChangedFiles(policy) => self.config.changed_files = policy,
            Command::Move { id, before, reply } => {
                let _ = reply.send(self.move_before(id, before));
            }
            Command::MoveToFront(id, reply) => {
                let _ = reply.send(self.move_to_front(id));
            }
            Command::SetLimits(limits) => {
                // 0 is "follow the link", not a typo for 1.
                self.config.limits = limits;
                self.repin_paces();
                self.rebalance_active();
            }
            Command::Snapshot(reply) => {
                let now = Instant::now();
                let all = self
                    .order
                    .sorted()
                    .into_iter()
                    .filter_map(|id| self.uploads.get_mut(&id).map(|u| u.summary(now)))
                    .collect();
                let _ = reply.send(all);
            }
            Command::Finished(id, reply) => {
                let found = self
                    .uploads
                    .get(&id)
                    .map(|u| (u.file.clone(), u.target.clone(), u.state.clone()));
                let _ = reply.send(found);
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
                    .filter(|(_, u)| {
                        matches!(
                            u.state,
                            FileState::Done | FileState::Cancelled | FileState::Skipped { .. }
                        )
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for id in &gone {
                    if let Some(u) = self.uploads.remove(id) {
                        let key = SourceKey::of(&u.file, &u.target.label());
                        if self.by_source.get(&key) == Some(id) {
                            self.by_source.remove(&key);
                        }
                    }
                    self.order.remove(*id);
                    self.emit(Event::Removed { id: *id });
                }
                if let Some(store) = &self.store {
                    store.delete(gone.clone());
                }
                self.dirty = true;
                let _ = reply.send(gone);
            }
            Command::WhenIdle(reply) => self.idle_waiters.push(reply),
            Command::FindSame(file, target, reply) => {
                let found = self
                    .by_source
                    .get(&SourceKey::of(&file, &target))
                    .and_then(|id| self.uploads.get(id))
                    .filter(|u| {
                        u.state != FileState::Cancelled
                            && u.file
                                .is_unchanged(file.plan.size, file.mtime, &file.quick_hash)
                    })
                    .map(|u| (u.id, u.state.clone()));
                let _ = reply.send(found);
            }
            Command::Shutdown(_) => {}
        }
    }

    /// Points the upload of a file renamed locally and on the server at its new names.
    fn rename(
        &mut self,
        (path, relative_path, target): (PathBuf, String, String),
        (to_path, to_relative): (PathBuf, String),
    ) -> Option<UploadId> {
        let key = SourceKey {
            path,
            relative_path,
            target,
        };
        let id = self.by_source.remove(&key)?;
        let u = self.uploads.get_mut(&id)?;
        let mut file = (*u.file).clone();
        file.filename = to_relative
            .rsplit('/')
            .next()
            .unwrap_or(&to_relative)
            .to_string();
        file.path = to_path.clone();
        file.relative_path = to_relative.clone();
        u.file = Arc::new(file);
        self.by_source.insert(
            SourceKey {
                path: to_path.clone(),
                relative_path: to_relative.clone(),
                target: key.target,
            },
            id,
        );
        if let Some(store) = &self.store {
            store.rename(id, &to_path, &to_relative);
        }
        self.dirty = true;
        self.emit(Event::Renamed {
            id,
            path: to_path.display().to_string(),
            relative_path: to_relative,
        });
        Some(id)
    }

    /// Applies `action` to one upload or, for `None`, to all of them in queue order.
    pub(super) fn for_each_selected(
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
                let ids = self.order.sorted();
                for id in ids {
                    action(self, id);
                }
            }
        }
        Ok(())
    }

    pub(super) fn leave_slot(&mut self, id: UploadId) {
        self.active.retain(|a| *a != id);
        self.queued.retain(|q| *q != id);
    }

    pub(super) fn pause(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if u.state.is_finished() || u.state == FileState::Paused {
            return;
        }
        self.stop_in_flight(id);
        self.leave_slot(id);
        self.set_file_state(id, FileState::Paused);
    }

    /// Stops the requests of upload `id` in flight and puts its unfinished chunks back to
    /// pending (acknowledged ones stay done), as a pause and a hold of the queue both do.
    pub(super) fn stop_in_flight(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        u.disown_in_flight();
        u.rate.reset();
        for n in u.requeue_unfinished(false) {
            self.set_chunk_state(id, n, ChunkState::Pending);
        }
    }

    pub(super) fn resume(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get(&id) else {
            return;
        };
        if u.state != FileState::Paused {
            return;
        }
        self.wait_in_line(id);
        self.set_file_state(id, FileState::Queued);
    }

    pub(super) fn cancel(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        if matches!(
            u.state,
            FileState::Done | FileState::Cancelled | FileState::Skipped { .. }
        ) {
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

    pub(super) fn retry(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get(&id) else {
            return;
        };
        if !matches!(u.state, FileState::Failed { .. }) {
            return;
        }
        // Look at the file again first: a changed file must get a new identifier.
        self.examine(id, Examine::Retry, false);
    }
}
