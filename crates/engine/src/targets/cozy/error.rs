//! Errors of the cozy-stack target, written for the person who reads them (they name the
//! instance or the file and say what to do), each with its place for the scheduler: retry,
//! wait for the network, or stop the file with a `FailureKind`.

use crate::error::ChunkError;
use crate::events::FailureKind;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CozyError {
    #[error("cannot reach the Twake Drive instance {server}: {reason}. Check its address and the network connection")]
    Unreachable { server: String, reason: String },

    #[error(
        "the certificate of {server} is not trusted by this system ({reason}): give the \
         authority's certificate with --ca-cert FILE (in the app: Settings, Extra certificate \
         authority) or check the address"
    )]
    Untrusted { server: String, reason: String },

    #[error(
        "signed out of the Twake Drive instance {server} ({reason}): sign in again; the queued \
         uploads are kept and continue after that"
    )]
    SignedOut { server: String, reason: String },

    #[error(
        "{path} is {size} bytes, more than the {limit} bytes a Twake Drive instance takes in one \
         file: split it (or compress it) before uploading"
    )]
    FileTooBig {
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    #[error(
        "not enough space on {server} for {name} ({detail}): free some space in Twake Drive or \
         ask for a larger quota"
    )]
    Quota {
        server: String,
        name: String,
        detail: String,
    },

    #[error(
        "{url} refused {name} ({size} bytes) as too large (413) with a web page, not the \
         instance's answer: a reverse proxy in front of it caps request bodies, and this server \
         takes each file in one request, so ask its administrator to raise the proxy's limit"
    )]
    ProxyCap {
        url: String,
        name: String,
        size: u64,
    },

    #[error(
        "{server} has no folder '{path}' any more (404): check the destination folder, then retry"
    )]
    FolderGone { server: String, path: String },

    #[error("{server} refused the name '{name}' (422: {detail}): rename it and upload it again")]
    BadName {
        server: String,
        name: String,
        detail: String,
    },

    #[error("'{path}' on {server} is a file, not a folder: choose another destination")]
    NotAFolder { server: String, path: String },

    #[error("{url} answered {status}: {detail}")]
    Server {
        url: String,
        status: u16,
        detail: String,
        retry_after: Option<Duration>,
    },

    #[error("{url} gave an answer that is not the instance's ({reason}): check the address")]
    BadAnswer { url: String, reason: String },

    #[error("{server} refused to register Twake Uploader as an OAuth client ({status}: {detail})")]
    Registration {
        server: String,
        status: u16,
        detail: String,
    },

    #[error("{server} refused the sign-in code ({detail}): sign in again")]
    CodeRefused { server: String, detail: String },
}

impl CozyError {
    /// A request to `server` that got no answer.
    pub fn from_transport(server: &str, e: &reqwest::Error) -> CozyError {
        match crate::targets::http::certificate_refusal(e) {
            Some(reason) => CozyError::Untrusted {
                server: server.to_string(),
                reason,
            },
            None => CozyError::Unreachable {
                server: server.to_string(),
                reason: crate::targets::http::describe_transport_error(e),
            },
        }
    }

    pub fn is_signed_out(&self) -> bool {
        matches!(self, CozyError::SignedOut { .. })
    }

    /// The same failure as the scheduler classifies it.
    pub fn into_chunk_error(self) -> ChunkError {
        let message = self.to_string();
        let permanent = |url: &str, status: u16, kind: FailureKind| ChunkError::Permanent {
            url: url.to_string(),
            status,
            message: message.clone(),
            kind,
        };
        match self {
            CozyError::Unreachable { server, reason } => ChunkError::Network {
                url: server,
                reason,
            },
            CozyError::Untrusted { server, reason } => ChunkError::Untrusted {
                url: server,
                reason,
            },
            CozyError::Server {
                url,
                status,
                detail,
                retry_after,
            } if status >= 500 || status == 429 || status == 408 => ChunkError::Retryable {
                url,
                status,
                message: detail,
                retry_after,
            },
            CozyError::SignedOut { server, .. } => permanent(&server, 401, FailureKind::SignedOut),
            CozyError::FileTooBig { .. } => permanent("", 413, FailureKind::TooLarge),
            CozyError::Quota { server, .. } => permanent(&server, 413, FailureKind::Quota),
            CozyError::ProxyCap { url, .. } => permanent(&url, 413, FailureKind::TooLarge),
            CozyError::FolderGone { server, .. } => permanent(&server, 404, FailureKind::NotFound),
            CozyError::NotAFolder { server, .. } => permanent(&server, 409, FailureKind::NotFound),
            CozyError::BadName { server, .. } => permanent(&server, 422, FailureKind::Refused),
            CozyError::Server { url, status, .. } => {
                permanent(&url, status, FailureKind::for_status(status))
            }
            CozyError::BadAnswer { url, .. } => permanent(&url, 502, FailureKind::Refused),
            CozyError::Registration { server, status, .. } => {
                permanent(&server, status, FailureKind::Refused)
            }
            CozyError::CodeRefused { server, .. } => {
                permanent(&server, 400, FailureKind::SignedOut)
            }
        }
    }
}
