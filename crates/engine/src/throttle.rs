//! The global bandwidth limit: a token bucket shared by every chunk body, adjustable while
//! uploads run. Bodies take tokens before handing each piece to the HTTP client, so the
//! limit holds across files and chunks in flight.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Throttle {
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Bytes per second; 0 = no limit.
    rate: u64,
    /// Bytes that may go now; negative while a large piece is being paid off.
    tokens: f64,
    last: Instant,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(0)
    }
}

impl Throttle {
    pub fn new(rate: u64) -> Throttle {
        Throttle {
            state: Mutex::new(Bucket {
                rate,
                tokens: 0.0,
                last: Instant::now(),
            }),
        }
    }

    /// Changes the limit at once; 0 removes it.
    pub fn set_rate(&self, rate: u64) {
        if let Ok(mut b) = self.state.lock() {
            b.refill(Instant::now());
            b.rate = rate;
            b.tokens = b.tokens.min(b.burst());
        }
    }

    pub fn rate(&self) -> u64 {
        self.state.lock().map(|b| b.rate).unwrap_or(0)
    }

    /// Waits until `bytes` may be sent under the limit.
    pub async fn take(&self, bytes: u64) {
        let wait = {
            let Ok(mut b) = self.state.lock() else {
                return;
            };
            if b.rate == 0 {
                return;
            }
            b.refill(Instant::now());
            b.tokens -= bytes as f64;
            if b.tokens >= 0.0 {
                return;
            }
            Duration::from_secs_f64(-b.tokens / b.rate as f64)
        };
        tokio::time::sleep(wait).await;
    }
}

impl Bucket {
    /// At most a quarter second of traffic may go in one burst.
    fn burst(&self) -> f64 {
        self.rate as f64 / 4.0
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        if self.rate > 0 {
            self.tokens = (self.tokens + elapsed * self.rate as f64).min(self.burst());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_limit_never_waits() {
        let t = Throttle::new(0);
        let start = Instant::now();
        for _ in 0..100 {
            t.take(1 << 30).await;
        }
        assert!(start.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn the_limit_paces_bytes() {
        let t = Throttle::new(1_000_000);
        let start = Instant::now();
        for _ in 0..10 {
            t.take(100_000).await;
        }
        let secs = start.elapsed().as_secs_f64();
        assert!((0.7..1.5).contains(&secs), "1 MB at 1 MB/s took {secs} s");
    }

    #[tokio::test]
    async fn raising_the_limit_applies_at_once() {
        let t = Throttle::new(100_000);
        t.set_rate(0);
        let start = Instant::now();
        t.take(10_000_000).await;
        assert!(start.elapsed() < Duration::from_millis(50));
        assert_eq!(t.rate(), 0);
    }
}
