//! Settings of the engine and of each upload, with the defaults of a polished uploader.

use crate::protocol::ChunkRule;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How many requests go at once. 0 means "follow the link" (`queue/pace.rs`): the number
/// of requests in flight to each target adapts to its measured throughput and round trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Limits {
    /// Requests in flight across all files, exactly; 0 = adapt per target (from
    /// `AUTO_START_CHUNKS` up to what the link and the memory budget allow).
    pub parallel_chunks: usize,
    /// Files uploading at once, exactly; 0 = `AUTO_START_FILES`, and more while the files
    /// uploading cannot fill what the link takes (many small files).
    pub parallel_files: usize,
}

/// Where an adaptive window starts: resumable.js's fixed default, safe for a small server.
pub const AUTO_START_CHUNKS: usize = 3;
/// Files at once before the link asks for more.
pub const AUTO_START_FILES: usize = 2;

impl Limits {
    /// The old fixed defaults, for tools and tests that want a pinned count.
    pub const FIXED: Limits = Limits {
        parallel_chunks: AUTO_START_CHUNKS,
        parallel_files: AUTO_START_FILES,
    };
}

/// Retry policy as data: exponential backoff with jitter, a cap, and a limit of attempts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per chunk before the file fails as "retryable".
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Share of the delay randomised away (0.0 = none, 0.5 = up to half shorter).
    pub jitter: f64,
    /// Upper bound on a server's `Retry-After`, so a silly header cannot park a file for days.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt` (2 = first retry). `server_hint` is a `Retry-After`.
    pub fn delay(&self, attempt: u32, server_hint: Option<Duration>, random01: f64) -> Duration {
        if let Some(hint) = server_hint {
            return hint.min(self.max_retry_after);
        }
        let exp = attempt.saturating_sub(2).min(20);
        let raw = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let keep = 1.0 - self.jitter.clamp(0.0, 1.0) * random01.clamp(0.0, 1.0);
        raw.mul_f64(keep)
    }
}

/// Per-upload choices, fixed when the file is queued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadSettings {
    pub chunk_size: u64,
    pub chunk_rule: ChunkRule,
    /// Ask the server which chunks it has before sending (GET test / status extension).
    pub test_chunks: bool,
    /// Chunks at most this big are sent without a test: a test costs as much as the chunk.
    pub test_threshold: u64,
    /// `chunk_size` is only where the plan starts: when the file gets its slot, before
    /// anything of it was sent, the scheduler may plan it anew with a chunk size measured
    /// on its target (`queue/pace.rs`). False when the person chose the size.
    #[serde(default)]
    pub adapt_chunk_size: bool,
}

impl Default for UploadSettings {
    fn default() -> Self {
        UploadSettings {
            chunk_size: 1024 * 1024,
            chunk_rule: ChunkRule::Floor,
            test_chunks: true,
            test_threshold: 64 * 1024,
            adapt_chunk_size: false,
        }
    }
}

/// What happens to a queued file found changed (size, mtime or content) since it was queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ChangedFilePolicy {
    /// Upload the file anew under a new identifier (the old partial upload is abandoned).
    #[default]
    Restart,
    /// Fail the file with a reason; "retry" then uploads the new content.
    Fail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(2, None, 0.7), Duration::from_millis(500));
        assert_eq!(p.delay(3, None, 0.7), Duration::from_millis(1000));
        assert_eq!(p.delay(4, None, 0.7), Duration::from_millis(2000));
        assert_eq!(p.delay(30, None, 0.7), Duration::from_secs(30));
    }

    #[test]
    fn jitter_only_shortens_the_delay() {
        let p = RetryPolicy::default();
        let d = p.delay(3, None, 1.0);
        assert_eq!(d, Duration::from_millis(500));
        assert_eq!(p.delay(3, None, 0.0), Duration::from_millis(1000));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(7)), 0.3),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(100_000)), 0.3),
            Duration::from_secs(300)
        );
    }
}
