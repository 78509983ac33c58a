//! Why a target could not be built from its spec: the only error the targets layer returns
//! outside a request (those are `ChunkError`s). `EngineError` takes it in, variant for variant.

/// A target that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("invalid target URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot start the HTTP client: {0}")]
    Http(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl TargetError {
    /// A spec handed to a kind that is not its own: a bug in the registry.
    pub fn wrong_kind(spec: &super::TargetSpec, kind: &str) -> TargetError {
        TargetError::Internal(format!("{spec:?} handed to the {kind} kind"))
    }

    /// A kind that signs in, built by an engine opened without the accounts service.
    pub fn no_accounts(what: &str) -> TargetError {
        TargetError::Internal(format!(
            "{what} uploads need the accounts service, which this engine was opened without"
        ))
    }
}
