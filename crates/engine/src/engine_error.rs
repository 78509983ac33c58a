//! The error every public call of the engine returns. It sits beside the queue, above the
//! store, the targets and the accounts, so it can carry their errors for callers to match
//! (the app turns a Twake Drive error into its own words) without any of them importing it.

use crate::events::FailureKind;
use crate::targets::TargetError;
use std::path::PathBuf;

/// Errors of the engine's API calls.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a regular file or folder")]
    NotAFile { path: PathBuf },
    /// `shown` is the path with odd bytes escaped (`names::printable`).
    #[error("{shown} cannot be uploaded: {reason}")]
    BadName {
        path: PathBuf,
        shown: String,
        reason: crate::names::BadName,
    },
    #[error("no upload with id {0}")]
    UnknownUpload(u64),
    #[error("invalid target URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the upload engine has stopped")]
    Stopped,
    #[error("cannot start the HTTP client: {0}")]
    Http(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The server refused a batch before anything was queued (no such folder, no access).
    #[error("{message}")]
    Refused {
        target: String,
        kind: FailureKind,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Twake(#[from] crate::targets::twake::TwakeError),
}

impl EngineError {
    /// The refusal of a file whose name cannot be stored on a server.
    pub fn bad_name(path: &std::path::Path, reason: crate::names::BadName) -> EngineError {
        EngineError::BadName {
            path: path.to_path_buf(),
            shown: crate::names::printable(path),
            reason,
        }
    }
}

impl From<TargetError> for EngineError {
    /// A target that cannot be built is a bad address, an HTTP client that cannot start, or
    /// a bug: the same variants callers already match.
    fn from(e: TargetError) -> EngineError {
        match e {
            TargetError::BadUrl { url, reason } => EngineError::BadUrl { url, reason },
            TargetError::Http(reason) => EngineError::Http(reason),
            TargetError::Internal(reason) => EngineError::Internal(reason),
        }
    }
}
