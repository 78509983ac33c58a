//! Errors of the Twake Drive target, each written for the person who reads it: it names the
//! server (or the folder) and says what to do. The scheduler only knows `ChunkError`, so
//! every variant also says how it maps there (retry, wait for the network, or stop).

use crate::error::ChunkError;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TwakeError {
    #[error(
        "cannot reach the Twake Drive server {server}: {reason}. Check the server URL and the \
         network connection"
    )]
    Unreachable { server: String, reason: String },

    #[error(
        "the certificate of {server} is not trusted by this system ({reason}): if the server \
         uses a company or self-signed certificate authority, give that authority's \
         certificate file with --ca-cert FILE (in the app: Settings, Extra certificate \
         authority) or add it to the system's trusted certificates; else check the address"
    )]
    Untrusted { server: String, reason: String },

    #[error("{server} refused the email or password (403): check them and sign in again")]
    WrongCredentials { server: String },

    #[error(
        "{url} does not look like a Twake Drive server ({what}): check the server URL, the \
         address you open Twake Drive at in a browser"
    )]
    NotTwakeDrive { url: String, what: String },

    /// `account` is the email the person signs in with.
    #[error(
        "signed out of {server} as {account} ({reason}): sign in again; the queued uploads are \
         kept and continue after that"
    )]
    SignedOut {
        server: String,
        account: String,
        reason: String,
    },

    #[error(
        "not enough space on {server} for this upload ({message}): free some space in Twake \
         Drive or ask the administrator for a larger quota"
    )]
    QuotaExceeded { server: String, message: String },

    #[error(
        "no write access to the Drive folder '{folder}' on {server} ({message}): choose another \
         folder or ask its owner for write access"
    )]
    NoWriteAccess {
        server: String,
        folder: String,
        message: String,
    },

    #[error("{url} answered {status}: {message}")]
    Server {
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "{url} refused a chunk of {bytes} bytes as too large (413): a proxy in front of the \
         server limits request sizes; use a smaller chunk size"
    )]
    TooLarge { url: String, bytes: u64 },

    #[error(
        "there is no Drive folder '{path}' on {server}: create it in Twake Drive first or check \
         the path"
    )]
    FolderNotFound { server: String, path: String },

    #[error("there is already a folder '{path}' on {server}")]
    FolderExists { server: String, path: String },

    #[error("there is already a file '{path}' on {server}: a folder cannot take its name")]
    FileExists { server: String, path: String },

    #[error("not signed in to Twake Drive as {account}: sign in first")]
    NotSignedIn { account: String },

    #[error("invalid Twake Drive server URL '{url}': {reason}")]
    BadServerUrl { url: String, reason: String },

    #[error("{account} is not in company '{company}' on {server}; its companies: {choices}")]
    NotInCompany {
        server: String,
        account: String,
        company: String,
        choices: String,
    },

    #[error("{account} belongs to no company on {server}: ask the administrator to add you")]
    NoCompany { server: String, account: String },

    #[error(
        "{url} redirected to another server ({to}); it was not followed, so nothing (no password, \
         no session) went there: use the address of the Twake Drive server itself"
    )]
    RedirectedAway { url: String, to: String },

    #[error("cannot use the account settings in {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// A Twake Drive on cozy-stack refused or failed (the accounts service signs in to both).
    #[error(transparent)]
    Cozy(#[from] crate::targets::cozy::CozyError),

    /// The browser part of a sign-in failed (timed out, cancelled, refused, wrong state).
    #[error(transparent)]
    Browser(#[from] crate::targets::browser::BrowserError),

    #[error(
        "cannot tell from {email} where its Twake Drive is ({tried}: {reason}): type the \
         address you open Twake Drive at in a browser instead"
    )]
    NoServerForEmail {
        email: String,
        tried: String,
        reason: String,
    },

    #[error(
        "{server} signs people in through its organisation's sign-in page, not with a password \
         typed here: sign in with the browser"
    )]
    NeedsBrowser { server: String },

    /// The OpenID provider a tdrive server sends people to failed or refused the sign-in.
    #[error("the sign-in service {url} of {server} {reason}")]
    Provider {
        server: String,
        url: String,
        reason: String,
    },

    #[error(
        "{server} did not accept the sign-in from its identity provider ({status}: {message}): \
         sign in again; if it keeps failing, its administrator should check the server's OpenID \
         settings"
    )]
    ProviderTokenRefused {
        server: String,
        status: u16,
        message: String,
    },

    #[error("the sign-in to {server} was cancelled")]
    SignInCancelled { server: String },

    #[error("the sign-in to {server} in the browser did not finish: {reason}")]
    BrowserFlow { server: String, reason: String },

    #[error("{server} signs in with an email and password, not through the browser")]
    NeedsPassword { server: String },
}

impl TwakeError {
    /// A request to `server` that got no answer: a refused certificate, or unreachable.
    pub fn from_transport(server: &str, e: &reqwest::Error) -> TwakeError {
        match crate::targets::http::certificate_refusal(e) {
            Some(reason) => TwakeError::Untrusted {
                server: server.to_string(),
                reason,
            },
            None => TwakeError::Unreachable {
                server: server.to_string(),
                reason: crate::targets::http::describe_transport_error(e),
            },
        }
    }

    /// The same failure as the scheduler classifies it.
    pub fn into_chunk_error(self) -> ChunkError {
        match self {
            TwakeError::Untrusted { server, reason } => ChunkError::Untrusted {
                url: server,
                reason,
            },
            TwakeError::Unreachable { server, reason } => ChunkError::Network {
                url: server,
                reason,
            },
            TwakeError::Server {
                url,
                status,
                message,
                retry_after,
            } if status >= 500 || status == 429 || status == 408 => ChunkError::Retryable {
                url,
                status,
                message,
                retry_after,
            },
            TwakeError::TooLarge { url, bytes } => ChunkError::TooLarge {
                url,
                chunk_bytes: bytes,
            },
            TwakeError::Cozy(e) => e.into_chunk_error(),
            other => {
                use crate::events::FailureKind as K;
                let (url, status, kind) = match &other {
                    TwakeError::SignedOut { server, .. } => (server.clone(), 401, K::SignedOut),
                    TwakeError::NotSignedIn { .. } => (String::new(), 401, K::SignedOut),
                    TwakeError::WrongCredentials { server } => (server.clone(), 403, K::SignedOut),
                    TwakeError::QuotaExceeded { server, .. } => (server.clone(), 403, K::Quota),
                    TwakeError::NoWriteAccess { server, .. } => {
                        (server.clone(), 403, K::NoWriteAccess)
                    }
                    TwakeError::NotTwakeDrive { url, .. } => (url.clone(), 404, K::NotFound),
                    TwakeError::RedirectedAway { url, .. } => (url.clone(), 307, K::Refused),
                    TwakeError::FolderNotFound { server, .. } => (server.clone(), 404, K::NotFound),
                    TwakeError::FolderExists { server, .. }
                    | TwakeError::FileExists { server, .. } => (server.clone(), 409, K::Refused),
                    TwakeError::Server { url, status, .. } => {
                        (url.clone(), *status, K::for_status(*status))
                    }
                    _ => (String::new(), 400, K::Refused),
                };
                ChunkError::Permanent {
                    url,
                    status,
                    message: other.to_string(),
                    kind,
                }
            }
        }
    }

    /// True when the session is over and only a new sign-in helps.
    pub fn is_signed_out(&self) -> bool {
        match self {
            TwakeError::Cozy(e) => e.is_signed_out(),
            other => matches!(other, TwakeError::SignedOut { .. }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_out_session_stops_the_file_without_retrying() {
        let e = TwakeError::SignedOut {
            server: "https://drive.example".into(),
            account: "a@drive.example".into(),
            reason: "the refresh token was refused".into(),
        };
        match e.into_chunk_error() {
            ChunkError::Permanent {
                status, message, ..
            } => {
                assert_eq!(status, 401);
                assert!(message.contains("signed out"), "{message}");
                assert!(message.contains("kept"), "{message}");
            }
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    #[test]
    fn server_errors_are_retried_and_refusals_are_not() {
        let busy = TwakeError::Server {
            url: "u".into(),
            status: 503,
            message: "busy".into(),
            retry_after: None,
        };
        assert!(matches!(
            busy.into_chunk_error(),
            ChunkError::Retryable { .. }
        ));
        let refused = TwakeError::Server {
            url: "u".into(),
            status: 400,
            message: "bad".into(),
            retry_after: None,
        };
        assert!(matches!(
            refused.into_chunk_error(),
            ChunkError::Permanent { status: 400, .. }
        ));
    }
}
