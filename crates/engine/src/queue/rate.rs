//! Speed and time-left estimates from acknowledged bytes over a sliding window, so the
//! figures follow real progress and settle quickly after a pause or a stall.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(5);

/// Acknowledged bytes over the last few seconds.
#[derive(Debug, Default)]
pub struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
    started: Option<Instant>,
}

impl RateMeter {
    pub fn record(&mut self, now: Instant, bytes: u64) {
        self.started.get_or_insert(now);
        self.samples.push_back((now, bytes));
        self.trim(now);
    }

    fn trim(&mut self, now: Instant) {
        while let Some((t, _)) = self.samples.front() {
            if now.duration_since(*t) > WINDOW {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Bytes per second over the window (or since the first sample, when that is shorter, so
    /// the first figures are not diluted by time before anything started).
    pub fn bytes_per_sec(&mut self, now: Instant) -> u64 {
        self.trim(now);
        let total: u64 = self.samples.iter().map(|(_, b)| b).sum();
        if total == 0 {
            return 0;
        }
        let since = self.started.map_or(WINDOW, |s| now.duration_since(s));
        let span = since.clamp(Duration::from_millis(250), WINDOW);
        (total as f64 / span.as_secs_f64()) as u64
    }

    /// Forgets history (after a pause), so the speed restarts from real figures.
    pub fn reset(&mut self) {
        self.samples.clear();
        self.started = None;
    }
}

/// Seconds left for `remaining` bytes at `bytes_per_sec`, or `None` while the speed is unknown.
pub fn eta_secs(remaining: u64, bytes_per_sec: u64) -> Option<u64> {
    if remaining == 0 {
        return Some(0);
    }
    (bytes_per_sec > 0).then(|| remaining.div_ceil(bytes_per_sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_bytes_over_the_window() {
        let mut m = RateMeter::default();
        let t0 = Instant::now();
        m.record(t0, 1000);
        m.record(t0 + Duration::from_secs(1), 1000);
        assert_eq!(m.bytes_per_sec(t0 + Duration::from_secs(2)), 1000);
        // Old samples fall out of the window.
        assert_eq!(m.bytes_per_sec(t0 + Duration::from_secs(60)), 0);
    }

    #[test]
    fn eta_is_unknown_without_speed_and_zero_when_finished() {
        assert_eq!(eta_secs(100, 0), None);
        assert_eq!(eta_secs(0, 0), Some(0));
        assert_eq!(eta_secs(1000, 300), Some(4));
    }
}
