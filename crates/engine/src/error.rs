//! Why a chunk request did not succeed (`ChunkError`), at the bottom of the engine so every
//! target can say it; the error of the engine's API calls is `engine_error::EngineError`.
//! Every message names the file or URL involved and, where there is one, what the user can
//! do; the CLI and the app only add context.

use crate::events::FailureKind;
use std::path::PathBuf;
use std::time::Duration;

impl FailureKind {
    /// What an HTTP refusal means when the server says no more.
    pub fn for_status(status: u16) -> FailureKind {
        match status {
            401 => FailureKind::SignedOut,
            403 => FailureKind::NoWriteAccess,
            404 | 410 => FailureKind::NotFound,
            413 => FailureKind::TooLarge,
            507 => FailureKind::Quota,
            500..=599 => FailureKind::ServerError,
            _ => FailureKind::Refused,
        }
    }
}

/// Why one chunk request did not succeed. The scheduler decides from the variant whether to
/// retry, re-plan, wait for the network, or fail the file.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChunkError {
    /// The request never got an HTTP answer (refused, reset, DNS): maybe offline.
    #[error("network error talking to {url}: {reason}")]
    Network { url: String, reason: String },
    /// The server's TLS certificate is not trusted (unknown authority, expired, another name):
    /// not an outage, so the queue does not wait for the network; retrying cannot help until
    /// the certificate or the trust settings change.
    #[error(
        "the certificate of {url} is not trusted by this system ({reason}): if the server \
         uses a company or self-signed certificate authority, give that authority's \
         certificate file with --ca-cert FILE (in the app: Settings, Extra certificate \
         authority) or add it to the system's trusted certificates; else check the address"
    )]
    Untrusted { url: String, reason: String },
    /// No progress for the stall timeout.
    #[error("no progress for {0:?} (stalled connection)")]
    Stalled(Duration),
    /// An HTTP answer that a later attempt may change (5xx other than the permanent ones,
    /// 429, 408…).
    #[error("{url} answered {status}: {message}")]
    Retryable {
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The chunk is larger than the server (or a proxy) accepts.
    #[error("{url} refused a chunk of {chunk_bytes} bytes as too large (413)")]
    TooLarge { url: String, chunk_bytes: u64 },
    /// An answer that retrying cannot fix; `kind` says what for the front ends.
    #[error("{url} refused the upload ({status}): {message}")]
    Permanent {
        url: String,
        status: u16,
        message: String,
        kind: FailureKind,
    },
    /// The local file no longer matches what was queued.
    #[error("{path} changed while uploading ({what}); it was not mixed with the old bytes")]
    FileChanged { path: PathBuf, what: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    /// Stopped on purpose (pause, cancel, shutdown).
    #[error("stopped")]
    Cancelled,
    /// The target does not want this file (a collision policy said skip): nothing more is
    /// sent and the upload ends as skipped, not failed.
    #[error("{reason}")]
    Declined { reason: String },
}

impl ChunkError {
    /// A refusal of the upload by `url`.
    pub fn refused(url: impl Into<String>, status: u16, message: impl Into<String>) -> ChunkError {
        ChunkError::Permanent {
            url: url.into(),
            status,
            message: message.into(),
            kind: FailureKind::for_status(status),
        }
    }

    /// The kind of failure this is, when it stops a file.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            ChunkError::Network { .. } | ChunkError::Stalled(_) => FailureKind::Unreachable,
            ChunkError::Untrusted { .. } => FailureKind::Untrusted,
            ChunkError::Retryable { .. } => FailureKind::ServerError,
            ChunkError::TooLarge { .. } => FailureKind::TooLarge,
            ChunkError::Permanent { kind, .. } => *kind,
            ChunkError::FileChanged { .. } => FailureKind::FileChanged,
            ChunkError::Read { .. } => FailureKind::Unreadable,
            ChunkError::Cancelled | ChunkError::Declined { .. } => FailureKind::Refused,
        }
    }

    /// Short text of a server's answer for messages: HTML pages and huge bodies become a hint
    /// instead of flooding the UI.
    pub fn summarize_body(body: &str) -> String {
        let trimmed = body.trim();
        if trimmed.is_empty() {
            return "no message".into();
        }
        if crate::protocol::looks_like_html("", trimmed) {
            return "an HTML page instead of an upload answer (is this the upload URL?)".into();
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
            for key in ["reason", "message", "error"] {
                if let Some(s) = v.get(key).and_then(|s| s.as_str()) {
                    return s.to_string();
                }
            }
        }
        let mut s: String = trimmed.chars().take(200).collect();
        if trimmed.chars().count() > 200 {
            s.push('…');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_bodies_are_summarized_for_people() {
        assert_eq!(ChunkError::summarize_body(""), "no message");
        assert!(ChunkError::summarize_body("<!DOCTYPE html><p>x").contains("HTML page"));
        assert_eq!(
            ChunkError::summarize_body(r#"{"error":"bad_plan","reason":"chunk 3 is 5 bytes"}"#),
            "chunk 3 is 5 bytes"
        );
        assert_eq!(
            ChunkError::summarize_body(&"x".repeat(500)).chars().count(),
            201
        );
    }
}
