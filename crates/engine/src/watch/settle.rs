//! Stable-file detection: a file is handed on only once its size and mtime have stayed the
//! same for the settle time, so a file still being written or copied is never uploaded
//! half-done. Pure logic over an explicit clock (`now` is passed in), so tests use a fake one.

use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// What was last seen of a candidate file, and since when it has not changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub size: u64,
    pub mtime_ns: i128,
    pub since: Instant,
}

/// Files waiting to settle, by relative path.
#[derive(Debug)]
pub struct Settler {
    settle: Duration,
    waiting: HashMap<String, Seen>,
}

/// The verdict on one observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Unchanged for the settle time: hand it on (it is no longer tracked).
    Stable,
    /// Still changing, or not quiet long enough yet.
    Wait,
}

impl Settler {
    pub fn new(settle: Duration) -> Settler {
        Settler {
            settle,
            waiting: HashMap::new(),
        }
    }

    /// Starts (or keeps) tracking `rel`; a later `observe` decides.
    pub fn track(&mut self, rel: &str, size: u64, mtime_ns: i128, now: Instant) {
        self.observe(rel, size, mtime_ns, now);
    }

    /// Records what `rel` looks like now and says whether it has settled.
    pub fn observe(&mut self, rel: &str, size: u64, mtime_ns: i128, now: Instant) -> Verdict {
        match self.waiting.get_mut(rel) {
            Some(seen) if seen.size == size && seen.mtime_ns == mtime_ns => {
                if now.saturating_duration_since(seen.since) >= self.settle {
                    self.waiting.remove(rel);
                    Verdict::Stable
                } else {
                    Verdict::Wait
                }
            }
            Some(seen) => {
                *seen = Seen {
                    size,
                    mtime_ns,
                    since: now,
                };
                Verdict::Wait
            }
            None => {
                self.waiting.insert(
                    rel.to_string(),
                    Seen {
                        size,
                        mtime_ns,
                        since: now,
                    },
                );
                Verdict::Wait
            }
        }
    }

    /// Stops tracking a file (deleted, or now ignored).
    pub fn forget(&mut self, rel: &str) {
        self.waiting.remove(rel);
    }

    /// Paths being tracked.
    pub fn waiting(&self) -> impl Iterator<Item = &str> {
        self.waiting.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_secs(3);

    #[test]
    fn a_file_unchanged_for_the_settle_time_is_stable_once() {
        let t0 = Instant::now();
        let mut s = Settler::new(SETTLE);
        s.track("a", 10, 1, t0);
        assert_eq!(
            s.observe("a", 10, 1, t0 + Duration::from_secs(1)),
            Verdict::Wait
        );
        assert_eq!(s.observe("a", 10, 1, t0 + SETTLE), Verdict::Stable);
        assert!(s.is_empty(), "a stable file is handed on and forgotten");
    }

    #[test]
    fn a_file_still_growing_never_settles_until_it_stops() {
        let t0 = Instant::now();
        let mut s = Settler::new(SETTLE);
        // Written a little every half second for 5 s.
        for step in 0..=10u64 {
            let now = t0 + Duration::from_millis(500 * step);
            assert_eq!(s.observe("a", step * 100, step as i128, now), Verdict::Wait);
        }
        let last = t0 + Duration::from_secs(5);
        assert_eq!(
            s.observe("a", 1000, 10, last + Duration::from_millis(2999)),
            Verdict::Wait
        );
        assert_eq!(s.observe("a", 1000, 10, last + SETTLE), Verdict::Stable);
    }

    #[test]
    fn a_changed_mtime_with_the_same_size_restarts_the_wait() {
        let t0 = Instant::now();
        let mut s = Settler::new(SETTLE);
        s.track("a", 10, 1, t0);
        assert_eq!(
            s.observe("a", 10, 2, t0 + Duration::from_secs(2)),
            Verdict::Wait
        );
        assert_eq!(
            s.observe("a", 10, 2, t0 + Duration::from_secs(4)),
            Verdict::Wait
        );
        assert_eq!(
            s.observe("a", 10, 2, t0 + Duration::from_secs(5)),
            Verdict::Stable
        );
    }

    #[test]
    fn forgotten_files_are_no_longer_tracked() {
        let t0 = Instant::now();
        let mut s = Settler::new(SETTLE);
        s.track("a", 1, 1, t0);
        s.track("b", 1, 1, t0);
        s.forget("a");
        assert_eq!(s.waiting().collect::<Vec<_>>(), ["b"]);
        assert_eq!(s.len(), 1);
    }
}
