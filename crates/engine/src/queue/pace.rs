//! How many requests one target gets at once: a congestion-control style loop that follows
//! the link instead of a fixed count. It measures acknowledged throughput and request time
//! round by round (a round is one window's worth of completed requests), grows the window
//! while throughput grows, holds it once throughput stops growing (more in flight would only
//! queue), backs off by half on stalls, errors, 429 and 503, and steps down when requests
//! take much longer without carrying more. An explicit limit pins the window exactly.
//!
//! The controller is plain data: every call takes the time as an argument, so tests drive
//! it with a fake clock and scripted completions.

use std::time::Duration;
use tokio::time::Instant;

/// What bounds the window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaceLimits {
    /// `Some(n)`: exactly `n` requests at once, whatever is measured.
    pub pinned: Option<usize>,
    /// Where an adaptive window starts (the old fixed default, safe for a small server).
    pub start: usize,
    /// The most requests at once, whatever the link (connections a server must hold).
    pub max: usize,
    /// Bytes our process may hold for requests in flight. A streamed chunk body holds one
    /// read piece (`body::PIECE`, 1 MiB) or the chunk when smaller, plus the connection's
    /// write buffer; the window never holds more than this budget.
    pub memory_budget: u64,
}

impl Default for PaceLimits {
    fn default() -> Self {
        PaceLimits {
            pinned: None,
            start: crate::config::AUTO_START_CHUNKS,
            max: 64,
            memory_budget: 24 * 1024 * 1024,
        }
    }
}

/// Bytes held per request in flight for chunks of `chunk_bytes`: the read piece (or the
/// whole chunk when smaller) and about as much again in the connection's buffers.
pub fn held_per_request(chunk_bytes: u64) -> u64 {
    2 * chunk_bytes.clamp(16 * 1024, crate::body::PIECE as u64)
}

/// Throughput has grown when a round carries this much more than the best before it.
const GROWTH: f64 = 1.10;
/// A round must last at least this long to be judged (loopback rounds take microseconds).
const MIN_ROUND: Duration = Duration::from_millis(40);
/// Rounds held steady between two probes of one more request.
const PROBE_EVERY: u32 = 8;
/// Requests taking this many times the best round's time, with no more throughput, mean
/// the window only fills a queue.
const RTT_RISE: f64 = 2.0;
/// In startup, a round whose requests took at most this many times as long as in the
/// fastest earlier round queued nowhere: the link is far from full, and the window triples
/// instead of doubling.
const UNQUEUED: f64 = 1.25;
/// How long a chunk should take at the share of the link one request gets, when the chunk
/// size follows the link (Nextcloud aims for a target chunk duration the same way).
pub const TARGET_CHUNK_TIME: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// Doubling each round while throughput grows (as TCP's slow start does), tripling while
    /// requests take no longer than in the fastest round before.
    Startup,
    /// At the knee: held, with a probe of one more now and then.
    Steady { rounds: u32 },
    /// One more than steady is being tried for a round.
    Probing,
}

/// The controller of one target.
#[derive(Debug)]
pub struct Pace {
    limits: PaceLimits,
    window: usize,
    phase: Phase,
    /// The window before the last increase, to go back to when it did not pay.
    before_increase: usize,
    round_start: Instant,
    round_bytes: u64,
    round_done: usize,
    round_time: Duration,
    /// The best throughput (bytes/s) of a round at the current level, and the one before.
    best_rate: f64,
    /// Smallest mean request time of a round, for chunks of `latency_chunk` bytes.
    best_latency: Option<Duration>,
    latency_chunk: u64,
    /// Latest round's throughput, for the figures a person sees.
    last_rate: f64,
    /// No decrease twice within one round: one burst of 503s is one signal.
    last_decrease: Option<Instant>,
    /// Largest chunk size in flight recently, for the memory bound.
    chunk_bytes: u64,
}

impl Pace {
    pub fn new(limits: PaceLimits, now: Instant) -> Pace {
        let start = limits.start.clamp(1, limits.max.max(1));
        Pace {
            limits,
            window: start,
            phase: Phase::Startup,
            before_increase: start,
            round_start: now,
            round_bytes: 0,
            round_done: 0,
            round_time: Duration::ZERO,
            best_rate: 0.0,
            best_latency: None,
            latency_chunk: 0,
            last_rate: 0.0,
            last_decrease: None,
            chunk_bytes: 0,
        }
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        if let Some(n) = self.limits.pinned {
            return n.max(1);
        }
        self.window.min(self.ceiling())
    }

    /// Whether the window follows the link.
    pub fn adaptive(&self) -> bool {
        self.limits.pinned.is_none()
    }

    /// The highest window the limits allow for the chunks seen lately.
    fn ceiling(&self) -> usize {
        let per = held_per_request(self.chunk_bytes.max(1));
        let by_memory = (self.limits.memory_budget / per).max(1) as usize;
        self.limits.max.max(1).min(by_memory)
    }

    pub fn set_pinned(&mut self, pinned: Option<usize>, now: Instant) {
        if self.limits.pinned != pinned {
            self.limits.pinned = pinned;
            self.new_round(now);
        }
    }

    /// Acknowledged bytes per second over the latest round (0 before the first one ends).
    pub fn throughput(&self) -> u64 {
        self.last_rate as u64
    }

    /// A request of `bytes` acknowledged at `now`, `took` after it started.
    pub fn acknowledged(&mut self, bytes: u64, took: Duration, now: Instant) {
        if bytes > 0 && bytes != self.latency_chunk && self.round_done == 0 {
            // Request times are only comparable between chunks of one size.
            self.latency_chunk = bytes;
            self.best_latency = None;
        }
        self.chunk_bytes = if self.round_done == 0 {
            bytes
        } else {
            self.chunk_bytes.max(bytes)
        };
        self.round_bytes += bytes;
        self.round_done += 1;
        self.round_time += took;
        let elapsed = now.saturating_duration_since(self.round_start);
        if self.round_done >= self.limit() && elapsed >= MIN_ROUND {
            self.end_round(elapsed, now);
        }
    }

    /// The link or the server pushed back (stall, lost connection, 429, 503).
    pub fn congested(&mut self, now: Instant) {
        if self.limits.pinned.is_some() {
            return;
        }
        let recent = self.last_decrease.is_some_and(|t| t >= self.round_start);
        if recent {
            return;
        }
        self.last_decrease = Some(now);
        self.window = (self.window / 2).max(1);
        self.before_increase = self.window;
        self.phase = Phase::Steady { rounds: 0 };
        self.best_rate = 0.0;
        self.new_round(now);
    }

    /// The chunk size for a new file to this target, between `min` and `max`: about
    /// `TARGET_CHUNK_TIME` at one request's share of the measured throughput. `None` while
    /// nothing was measured.
    pub fn chunk_size(&self, min: u64, max: u64) -> Option<u64> {
        if self.last_rate <= 0.0 || !self.adaptive() {
            return None;
        }
        let share = self.last_rate / self.limit().max(1) as f64;
        let ideal = (share * TARGET_CHUNK_TIME.as_secs_f64()) as u64;
        const MIB: u64 = 1024 * 1024;
        // Whole MiB above one MiB: plans that read well and stay stable between files.
        let rounded = if ideal > MIB {
            ideal / MIB * MIB
        } else {
            ideal
        };
        Some(rounded.clamp(min, max.max(min)))
    }

    fn new_round(&mut self, now: Instant) {
        self.round_start = now;
        self.round_bytes = 0;
        self.round_done = 0;
        self.round_time = Duration::ZERO;
    }

    fn end_round(&mut self, elapsed: Duration, now: Instant) {
        let rate = self.round_bytes as f64 / elapsed.as_secs_f64();
        let latency = self.round_time / self.round_done.max(1) as u32;
        self.last_rate = rate;
        self.new_round(now);
        if self.limits.pinned.is_some() {
            return;
        }
        let compared = self.best_latency.is_some();
        let best_latency = *self.best_latency.get_or_insert(latency);
        if latency < best_latency {
            self.best_latency = Some(latency);
        }
        let grew = rate >= self.best_rate * GROWTH;
        let ceiling = self.ceiling();
        // What the controller saw and decided, for `TWAKE_LOG=upload_engine::queue::pace=debug`.
        tracing::debug!(
            window = self.window,
            rate_mbit = rate * 8.0 / 1e6,
            latency_ms = latency.as_secs_f64() * 1e3,
            phase = ?self.phase,
            grew,
            "pace round"
        );
        match self.phase {
            Phase::Startup if grew => {
                self.best_rate = rate;
                // Requests as fast as in the fastest round before queue nowhere: there is
                // room for much more in flight (a folder of small files over a far link needs
                // 48). The first round has nothing to compare with, so it only doubles: a
                // slow link sees at most 6 requests before its window settles.
                let unqueued =
                    compared && latency.as_secs_f64() <= best_latency.as_secs_f64() * UNQUEUED;
                let by = if unqueued { 2 } else { 1 };
                self.increase(self.window * by, ceiling);
            }
            Phase::Startup => {
                // The last increase did not pay: one above the window before it.
                self.window = (self.before_increase + 1).min(self.window);
                self.phase = Phase::Steady { rounds: 0 };
                self.best_rate = self.best_rate.max(rate);
            }
            Phase::Probing if grew => {
                // The link has more room than it had: grow again.
                self.best_rate = rate;
                self.phase = Phase::Startup;
                self.increase((self.window / 2).max(1), ceiling);
            }
            Phase::Probing => {
                self.window = self.before_increase;
                self.phase = Phase::Steady { rounds: 0 };
            }
            Phase::Steady { rounds } => {
                let queueing = latency.as_secs_f64() > best_latency.as_secs_f64() * RTT_RISE
                    && rate < self.best_rate * GROWTH;
                self.best_rate = self.best_rate.max(rate);
                if queueing && self.window > 1 {
                    self.window -= 1;
                    self.phase = Phase::Steady { rounds: 0 };
                } else if rounds + 1 >= PROBE_EVERY && self.window < ceiling {
                    self.best_rate = rate;
                    self.phase = Phase::Probing;
                    self.increase(1, ceiling);
                } else {
                    self.phase = Phase::Steady { rounds: rounds + 1 };
                }
            }
        }
    }

    fn increase(&mut self, by: usize, ceiling: usize) {
        self.before_increase = self.window;
        self.window = (self.window + by).min(ceiling).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    /// A link of `rate` bytes/s and `rtt`, with requests of `chunk` bytes kept `pace.limit()`
    /// deep: below the knee a request takes its round trip plus its time on the wire; above
    /// it, requests queue and the link carries its rate. Returns the time it ended.
    fn run(
        pace: &mut Pace,
        start: Instant,
        rate: f64,
        rtt: Duration,
        chunk: u64,
        n: usize,
    ) -> Instant {
        let mut now = start;
        for _ in 0..n {
            let depth = pace.limit() as f64;
            let alone = rtt.as_secs_f64() + chunk as f64 / rate;
            let took = alone.max(depth * chunk as f64 / rate);
            let carried = depth * chunk as f64 / took;
            now += Duration::from_secs_f64(chunk as f64 / carried);
            pace.acknowledged(chunk, Duration::from_secs_f64(took), now);
        }
        now
    }

    /// The 60 ms, 400 Mbit/s link of the issue.
    fn far(pace: &mut Pace, start: Instant, chunk: u64, n: usize) -> Instant {
        run(pace, start, 50e6, Duration::from_millis(60), chunk, n)
    }

    #[test]
    fn grows_on_a_fat_link_until_throughput_stops_growing() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        assert_eq!(pace.limit(), 3);
        // 400 Mbit/s, 60 ms: 3 MB in flight needed, i.e. more than 3 chunks of 1 MiB.
        far(&mut pace, t0, MIB, 400);
        let bdp_chunks = (50e6 * 0.060 / MIB as f64).ceil() as usize;
        assert!(pace.limit() > bdp_chunks, "window {}", pace.limit());
        assert!(
            pace.limit() <= 2 * bdp_chunks + 2,
            "window {}",
            pace.limit()
        );
        let carried = pace.throughput() as f64;
        assert!(carried > 0.9 * 50e6, "throughput {carried}");
    }

    #[test]
    fn small_requests_on_a_far_link_grow_far_beyond_the_start() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        far(&mut pace, t0, 64 * 1024, 3000);
        assert!(pace.limit() >= 40, "window {}", pace.limit());
        assert!(pace.limit() <= PaceLimits::default().max);
    }

    #[test]
    fn startup_triples_while_nothing_queues_so_small_files_fill_a_far_link_in_four_rounds() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        let mut now = t0;
        let mut windows = vec![pace.limit()];
        while now < t0 + Duration::from_millis(500) {
            now = far(&mut pace, now, 64 * 1024, 1);
            if windows.last() != Some(&pace.limit()) {
                windows.push(pace.limit());
            }
        }
        assert_eq!(windows[..5], [3, 6, 18, 54, 64], "{windows:?}");
        // The link's bandwidth × delay, in requests: what it takes to fill it.
        let bdp = (50e6_f64 * 0.060 / (64.0 * 1024.0)).ceil() as usize;
        assert!(pace.limit() >= bdp, "{windows:?}");
    }

    #[test]
    fn a_slow_link_keeps_a_small_window() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        // 10 Mbit/s, 20 ms: one 1 MiB chunk already fills it.
        let mut now = t0;
        let mut most = pace.limit();
        for _ in 0..200 {
            now = run(&mut pace, now, 1.25e6, Duration::from_millis(20), MIB, 1);
            most = most.max(pace.limit());
        }
        assert!(pace.limit() <= 4, "window {}", pace.limit());
        // Its requests queue from the start: startup never gets past doubling once.
        assert_eq!(most, 6, "most requests at once");
    }

    #[test]
    fn shrinks_on_503_and_stalls_once_per_round() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        let t = far(&mut pace, t0, 64 * 1024, 2000);
        let before = pace.limit();
        assert!(before >= 8);
        pace.congested(t);
        // A burst of 503s in the same round is one signal.
        pace.congested(t + Duration::from_millis(1));
        pace.congested(t + Duration::from_millis(2));
        assert_eq!(pace.limit(), before / 2);
        // The next round's stall halves it again.
        let t = far(&mut pace, t + Duration::from_millis(3), 64 * 1024, 80);
        pace.congested(t);
        assert!(pace.limit() <= before / 4 + 1, "window {}", pace.limit());
        for i in 0..20 {
            let t = run(
                &mut pace,
                t + Duration::from_secs(i),
                1e6,
                Duration::from_millis(60),
                MIB,
                4,
            );
            pace.congested(t);
        }
        assert_eq!(pace.limit(), 1, "never below one request");
    }

    #[test]
    fn a_pinned_limit_is_exact_whatever_is_measured() {
        let t0 = Instant::now();
        let limits = PaceLimits {
            pinned: Some(2),
            ..PaceLimits::default()
        };
        let mut pace = Pace::new(limits, t0);
        let t = far(&mut pace, t0, 64 * 1024, 2000);
        assert_eq!(pace.limit(), 2);
        pace.congested(t);
        assert_eq!(pace.limit(), 2);
        assert!(pace.throughput() > 0, "still measured, for the figures");
        assert_eq!(
            pace.chunk_size(MIB, 16 * MIB),
            None,
            "a pinned target keeps its size"
        );
        pace.set_pinned(None, t);
        assert_eq!(pace.limit(), 3);
    }

    #[test]
    fn the_memory_budget_bounds_the_window() {
        let t0 = Instant::now();
        // Room for four requests of 4 MiB chunks, whatever the read piece is.
        let limits = PaceLimits {
            memory_budget: 4 * held_per_request(4 * MIB),
            ..PaceLimits::default()
        };
        let mut pace = Pace::new(limits, t0);
        run(
            &mut pace,
            t0,
            500e6,
            Duration::from_millis(200),
            4 * MIB,
            500,
        );
        assert_eq!(pace.limit(), 4);
    }

    #[test]
    fn more_requests_that_only_queue_are_given_back() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        let t = far(&mut pace, t0, MIB, 400);
        let steady = pace.limit();
        // Probes of one more come and go; the window stays near the knee.
        far(&mut pace, t, MIB, 2000);
        assert!(pace.limit() <= steady + 1, "{} vs {steady}", pace.limit());
    }

    #[test]
    fn the_chunk_size_follows_the_measured_share_within_bounds() {
        let t0 = Instant::now();
        let mut pace = Pace::new(PaceLimits::default(), t0);
        assert_eq!(pace.chunk_size(MIB, 16 * MIB), None, "nothing measured yet");
        far(&mut pace, t0, MIB, 400);
        let size = pace.chunk_size(MIB, 64 * MIB).unwrap();
        let share = 50e6 / pace.limit() as f64;
        assert!(size as f64 >= share, "{size}");
        assert_eq!(size % MIB, 0);
        assert_eq!(
            pace.chunk_size(MIB, 4 * MIB),
            Some(4 * MIB),
            "the server's maximum wins"
        );
        let mut slow = Pace::new(PaceLimits::default(), t0);
        run(
            &mut slow,
            t0,
            100e3,
            Duration::from_millis(20),
            64 * 1024,
            100,
        );
        assert_eq!(
            slow.chunk_size(MIB, 16 * MIB),
            Some(MIB),
            "never below the minimum"
        );
    }
}
