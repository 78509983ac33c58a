//! Folding the engine's event stream into batches for the webview: the latest state wins per
//! file and per chunk, so a burst of 10,000 chunk events costs the UI one small update. Pure
//! data, no Tauri: the forwarding task (`bridge`) decides when to flush.

use crate::ipc::{
    ChunkUpdate, ConnectivityUpdate, EventBatch, FileUpdate, InFlightUpdate, ProgressUpdate,
    RenameUpdate, ReplanUpdate,
};
use std::collections::BTreeMap;
use upload_engine::{Event, FileState, QueueTotals, UploadId, UploadSummary};

/// Events received since the last flush.
#[derive(Debug, Default)]
pub struct Coalescer {
    added: Vec<UploadSummary>,
    replanned: BTreeMap<UploadId, ReplanUpdate>,
    files: BTreeMap<UploadId, FileState>,
    chunks: BTreeMap<(UploadId, u32), ChunkUpdate>,
    progress: BTreeMap<UploadId, ProgressUpdate>,
    removed: Vec<UploadId>,
    totals: Option<QueueTotals>,
    connectivity: Option<ConnectivityUpdate>,
    notices: Vec<String>,
    resync: bool,
    order: Option<Vec<UploadId>>,
    in_flight: BTreeMap<(UploadId, u32), InFlightUpdate>,
    renamed: BTreeMap<UploadId, RenameUpdate>,
}

impl Coalescer {
    pub fn push(&mut self, event: Event) {
        match event {
            Event::Added { upload } => self.added.push(upload),
            Event::File { id, state } => {
                self.files.insert(id, state);
            }
            Event::Chunk {
                id,
                chunk,
                state,
                acked_bytes,
            } => {
                // The chunk left `sending` (or restarts): an older fill must not repaint it.
                self.in_flight.remove(&(id, chunk));
                self.chunks.insert(
                    (id, chunk),
                    ChunkUpdate {
                        id,
                        chunk,
                        state,
                        acked_bytes,
                    },
                );
            }
            Event::Progress {
                id,
                acked_bytes,
                total_bytes,
                bytes_per_sec,
                eta_secs,
            } => {
                self.progress.insert(
                    id,
                    ProgressUpdate {
                        id,
                        acked_bytes,
                        total_bytes,
                        bytes_per_sec,
                        eta_secs,
                    },
                );
            }
            Event::Replanned {
                id,
                chunk_size,
                total_chunks,
                reason,
            } => {
                // Chunk and progress news about the old plan would be applied after the
                // reset and paint chunks that no longer exist.
                self.drop_chunks_of(id);
                self.progress.remove(&id);
                self.replanned.insert(
                    id,
                    ReplanUpdate {
                        id,
                        chunk_size,
                        total_chunks,
                        reason,
                    },
                );
            }
            Event::Totals { totals } => self.totals = Some(totals),
            Event::Connectivity { online, reason } => {
                self.connectivity = Some(ConnectivityUpdate { online, reason })
            }
            Event::Notice { message } => self.notices.push(message),
            Event::Reordered { order } => self.order = Some(order),
            // The window asked for the link and has it as the command's answer.
            Event::Shared { .. } => {}
            Event::InFlight {
                id,
                chunk,
                sent_bytes,
                chunk_bytes,
            } => {
                self.in_flight.insert(
                    (id, chunk),
                    InFlightUpdate {
                        id,
                        chunk,
                        sent_bytes,
                        chunk_bytes,
                    },
                );
            }
            Event::Renamed {
                id,
                path,
                relative_path,
            } => {
                // Added in this same batch: it is added under its new names.
                if let Some(u) = self.added.iter_mut().find(|u| u.id == id) {
                    u.path = path;
                    u.relative_path = relative_path;
                } else {
                    self.renamed.insert(
                        id,
                        RenameUpdate {
                            id,
                            path,
                            relative_path,
                        },
                    );
                }
            }
            Event::Removed { id } => {
                self.renamed.remove(&id);
                self.added.retain(|u| u.id != id);
                self.replanned.remove(&id);
                self.files.remove(&id);
                self.drop_chunks_of(id);
                self.progress.remove(&id);
                self.removed.push(id);
            }
        }
    }

    fn drop_chunks_of(&mut self, id: UploadId) {
        self.chunks.retain(|(owner, _), _| *owner != id);
        self.in_flight.retain(|(owner, _), _| *owner != id);
    }

    /// The engine dropped events for us: what we hold is incomplete, so the UI must reload.
    pub fn lagged(&mut self) {
        *self = Coalescer {
            resync: true,
            ..Coalescer::default()
        };
    }

    pub fn is_empty(&self) -> bool {
        !self.resync
            && self.added.is_empty()
            && self.replanned.is_empty()
            && self.files.is_empty()
            && self.chunks.is_empty()
            && self.progress.is_empty()
            && self.removed.is_empty()
            && self.totals.is_none()
            && self.connectivity.is_none()
            && self.notices.is_empty()
            && self.order.is_none()
            && self.in_flight.is_empty()
            && self.renamed.is_empty()
    }

    /// Everything gathered so far, leaving the coalescer empty.
    pub fn take(&mut self) -> EventBatch {
        let c = std::mem::take(self);
        EventBatch {
            added: c.added,
            replanned: c.replanned.into_values().collect(),
            files: c
                .files
                .into_iter()
                .map(|(id, state)| FileUpdate { id, state })
                .collect(),
            chunks: c.chunks.into_values().collect(),
            progress: c.progress.into_values().collect(),
            removed: c.removed,
            totals: c.totals,
            connectivity: c.connectivity,
            notices: c.notices,
            resync: c.resync,
            order: c.order,
            in_flight: c.in_flight.into_values().collect(),
            renamed: c.renamed.into_values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upload_engine::ChunkState;

    fn chunk(id: u64, chunk: u32, state: ChunkState, acked: u64) -> Event {
        Event::Chunk {
            id: UploadId(id),
            chunk,
            state,
            acked_bytes: acked,
        }
    }

    #[test]
    fn a_rename_reaches_the_ui_once_and_an_upload_added_in_the_same_batch_under_its_new_name() {
        let mut c = Coalescer::default();
        let renamed = |id: u64, rel: &str| Event::Renamed {
            id: UploadId(id),
            path: format!("/w/{rel}"),
            relative_path: format!("w/{rel}"),
        };
        c.push(renamed(1, "a.txt"));
        c.push(renamed(1, "b.txt"));
        let batch = c.take();
        assert_eq!(batch.renamed.len(), 1);
        assert_eq!(batch.renamed[0].relative_path, "w/b.txt");
        let summary = UploadSummary {
            id: UploadId(2),
            path: "/w/old.txt".into(),
            relative_path: "w/old.txt".into(),
            target: "t".into(),
            size: 1,
            chunk_size: 1,
            total_chunks: 1,
            state: FileState::Done,
            acked_bytes: 1,
            bytes_per_sec: 0,
            eta_secs: None,
            share_links: false,
        };
        c.push(Event::Added { upload: summary });
        c.push(renamed(2, "new.txt"));
        let batch = c.take();
        assert!(batch.renamed.is_empty());
        assert_eq!(batch.added[0].relative_path, "w/new.txt");
    }

    #[test]
    fn ten_thousand_chunk_events_of_one_chunk_become_one_update_with_the_last_state() {
        let mut c = Coalescer::default();
        for i in 0..10_000u64 {
            let state = if i % 2 == 0 {
                ChunkState::Sending
            } else {
                ChunkState::Pending
            };
            c.push(chunk(1, 7, state, i));
        }
        c.push(chunk(1, 7, ChunkState::Done, 10_000));
        let batch = c.take();
        assert_eq!(batch.chunks.len(), 1);
        assert_eq!(batch.chunks[0].state, ChunkState::Done);
        assert_eq!(batch.chunks[0].acked_bytes, 10_000);
        assert!(c.is_empty(), "take leaves nothing behind");
    }

    #[test]
    fn file_states_keep_only_the_latest_per_file() {
        let mut c = Coalescer::default();
        for (id, state) in [
            (1, FileState::Testing),
            (2, FileState::Uploading),
            (1, FileState::Uploading),
            (1, FileState::Done),
        ] {
            c.push(Event::File {
                id: UploadId(id),
                state,
            });
        }
        let b = c.take();
        assert_eq!(
            b.files,
            vec![
                FileUpdate {
                    id: UploadId(1),
                    state: FileState::Done
                },
                FileUpdate {
                    id: UploadId(2),
                    state: FileState::Uploading
                },
            ]
        );
    }

    #[test]
    fn a_replan_forgets_chunk_and_progress_news_of_the_old_plan() {
        let mut c = Coalescer::default();
        c.push(chunk(3, 9, ChunkState::Done, 900));
        c.push(Event::Progress {
            id: UploadId(3),
            acked_bytes: 900,
            total_bytes: 1000,
            bytes_per_sec: 1,
            eta_secs: None,
        });
        c.push(Event::Replanned {
            id: UploadId(3),
            chunk_size: 10,
            total_chunks: 100,
            reason: "413".into(),
        });
        c.push(chunk(3, 1, ChunkState::Sending, 0));
        let b = c.take();
        assert_eq!(b.replanned.len(), 1);
        assert_eq!(b.chunks.len(), 1);
        assert_eq!(b.chunks[0].chunk, 1);
        assert!(b.progress.is_empty());
    }

    #[test]
    fn a_removed_file_leaves_no_other_trace_in_the_batch() {
        let mut c = Coalescer::default();
        c.push(chunk(4, 1, ChunkState::Done, 1));
        c.push(Event::File {
            id: UploadId(4),
            state: FileState::Done,
        });
        c.push(Event::Removed { id: UploadId(4) });
        let b = c.take();
        assert_eq!(b.removed, vec![UploadId(4)]);
        assert!(b.files.is_empty() && b.chunks.is_empty());
    }

    #[test]
    fn the_latest_network_news_wins_and_notices_all_pass() {
        let mut c = Coalescer::default();
        c.push(Event::Connectivity {
            online: false,
            reason: Some("connection refused".into()),
        });
        c.push(Event::Notice {
            message: "one".into(),
        });
        c.push(Event::Connectivity {
            online: true,
            reason: None,
        });
        let b = c.take();
        assert_eq!(
            b.connectivity,
            Some(ConnectivityUpdate {
                online: true,
                reason: None
            })
        );
        assert_eq!(b.notices, ["one"]);
    }

    fn in_flight(id: u64, chunk: u32, sent: u64) -> Event {
        Event::InFlight {
            id: UploadId(id),
            chunk,
            sent_bytes: sent,
            chunk_bytes: 4_000_000,
        }
    }

    #[test]
    fn bytes_in_flight_keep_the_latest_per_chunk_and_end_with_the_chunk() {
        let mut c = Coalescer::default();
        for sent in (1..=30).map(|i| i * 100_000) {
            c.push(in_flight(1, 1, sent));
            c.push(in_flight(1, 2, sent / 2));
        }
        c.push(in_flight(2, 1, 5));
        let b = c.take();
        let got: Vec<(u64, u32, u64)> = b
            .in_flight
            .iter()
            .map(|f| (f.id.0, f.chunk, f.sent_bytes))
            .collect();
        assert_eq!(got, [(1, 1, 3_000_000), (1, 2, 1_500_000), (2, 1, 5)]);
        // Once the chunk is acknowledged (or retried), its fill is old news.
        c.push(in_flight(1, 1, 3_900_000));
        c.push(chunk(1, 1, ChunkState::Done, 4_000_000));
        c.push(in_flight(1, 2, 2_000_000));
        c.push(Event::Removed { id: UploadId(1) });
        let b = c.take();
        assert!(b.in_flight.is_empty(), "{:?}", b.in_flight);
    }

    #[test]
    fn the_latest_order_wins() {
        let mut c = Coalescer::default();
        assert!(c.is_empty());
        c.push(Event::Reordered {
            order: vec![UploadId(2), UploadId(1)],
        });
        assert!(!c.is_empty(), "an order alone is worth a batch");
        c.push(Event::Reordered {
            order: vec![UploadId(1), UploadId(2)],
        });
        assert_eq!(c.take().order, Some(vec![UploadId(1), UploadId(2)]));
    }

    #[test]
    fn lagging_asks_the_ui_to_reload() {
        let mut c = Coalescer::default();
        c.push(chunk(1, 1, ChunkState::Done, 1));
        c.lagged();
        assert!(!c.is_empty());
        let b = c.take();
        assert!(b.resync);
        assert!(b.chunks.is_empty());
    }
}
