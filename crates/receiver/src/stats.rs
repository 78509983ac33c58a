//! Counters of what the receiver answered, kept as atomics so handlers never contend on
//! them. Tests and benchmarks read them (from the handle or `GET /upload/stats`) to prove
//! how many chunks a client really sent, e.g. that a resumed upload skipped stored chunks.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of the counters, as served by `GET /upload/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverStats {
    /// Chunk POSTs answered 200 (stored, or a duplicate of a finished upload).
    pub posts_accepted: u64,
    /// Chunk POSTs answered with an error status.
    pub posts_rejected: u64,
    /// Test GETs received, whatever the answer.
    pub gets: u64,
    /// Test GETs answered 200 (chunk present).
    pub gets_present: u64,
    /// Body bytes of accepted chunk POSTs.
    pub bytes_accepted: u64,
    /// Files assembled and moved into place.
    pub uploads_done: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    posts_accepted: AtomicU64,
    posts_rejected: AtomicU64,
    gets: AtomicU64,
    gets_present: AtomicU64,
    bytes_accepted: AtomicU64,
    uploads_done: AtomicU64,
}

impl Counters {
    pub fn post_accepted(&self, bytes: u64) {
        self.posts_accepted.fetch_add(1, Ordering::Relaxed);
        self.bytes_accepted.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn post_rejected(&self) {
        self.posts_rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, present: bool) {
        self.gets.fetch_add(1, Ordering::Relaxed);
        if present {
            self.gets_present.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn upload_done(&self) {
        self.uploads_done.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ReceiverStats {
        ReceiverStats {
            posts_accepted: self.posts_accepted.load(Ordering::Relaxed),
            posts_rejected: self.posts_rejected.load(Ordering::Relaxed),
            gets: self.gets.load(Ordering::Relaxed),
            gets_present: self.gets_present.load(Ordering::Relaxed),
            bytes_accepted: self.bytes_accepted.load(Ordering::Relaxed),
            uploads_done: self.uploads_done.load(Ordering::Relaxed),
        }
    }
}
