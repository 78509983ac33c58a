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
