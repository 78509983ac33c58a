//! Refusals answered to a client: an HTTP status, a stable machine code and a sentence
//! naming the parameter or file involved. Every refusal goes through this one type so the
//! JSON shape `{"error": code, "reason": text}` cannot drift between handlers.

use std::io;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// One refused request. `code` is for programs (stable), `reason` is for people.
#[derive(Debug, Clone)]
pub(crate) struct Rejection {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: String,
    /// Seconds for a `Retry-After` header, on refusals that a later retry can fix.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct RejectionBody<'a> {
    error: &'a str,
    reason: &'a str,
}

impl Rejection {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Rejection {
            status,
            code,
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, reason)
    }

    pub fn too_large(code: &'static str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, reason)
    }

    /// 503 with `Retry-After`: the request was fine, the server cannot take it right now.
    pub fn busy(code: &'static str, reason: impl Into<String>, retry_after_secs: u64) -> Self {
        Rejection {
            retry_after: Some(retry_after_secs),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, reason)
        }
    }

    /// Maps a storage failure: a full disk is 507 (the client may retry later, elsewhere
    /// space may be freed), anything else is a 500 that names what we were doing.
    pub fn from_io(what: impl std::fmt::Display, err: &io::Error) -> Self {
        if is_disk_full(err) {
            Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                format!(
                    "the receiver's disk is full while {what}: {err}; free some space and retry"
                ),
            )
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "io_error",
                format!("the receiver failed while {what}: {err}"),
            )
        }
    }
}

/// ENOSPC (and EDQUOT, a full quota, which the client sees the same way).
pub(crate) fn is_disk_full(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::StorageFull
        || err.kind() == io::ErrorKind::QuotaExceeded
        || err.raw_os_error() == Some(28)
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = Json(RejectionBody {
            error: self.code,
            reason: &self.reason,
        });
        let mut response = (self.status, body).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_from_the_os_maps_to_507() {
        let err = io::Error::from_raw_os_error(28);
        assert_eq!(
            Rejection::from_io("writing x", &err).status,
            StatusCode::INSUFFICIENT_STORAGE
        );
    }

    #[test]
    fn other_io_errors_map_to_500_naming_the_action() {
        let err = io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let rejection = Rejection::from_io("writing chunk 3 of 'a.txt'", &err);
        assert_eq!(rejection.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(rejection.reason.contains("chunk 3 of 'a.txt'"));
    }
}
