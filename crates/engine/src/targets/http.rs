//! HTTP pieces every target shares: checking a user's URL, describing a transport failure
//! in words, a chunk as a streamed multipart part, and the stall watchdog.

use crate::body::{BodyProgress, ChunkBody};
use crate::error::ChunkError;
use std::time::Duration;

/// Checks a user-given http(s) URL; the error is a reason to show after the URL.
pub fn parse_http_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| e.to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("only http:// and https:// addresses can be used".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(parsed)
}

/// A chunk as the `file` part of a multipart body, streamed from disk, and the handle that
/// follows its progress.
pub fn chunk_part(
    body: ChunkBody,
    filename: &str,
) -> Result<(reqwest::multipart::Part, BodyProgress), reqwest::Error> {
    let len = body.len();
    let progress = body.progress();
    let stream = reqwest::Body::wrap_stream(body.into_stream());
    let part = reqwest::multipart::Part::stream_with_length(stream, len)
        .file_name(filename.to_string())
        .mime_str("application/octet-stream")?;
    Ok((part, progress))
}

/// A short account of a transport failure: what failed, and the innermost cause (the part
/// that says "connection refused" or "reset by peer"), without the request's long URL.
pub fn describe_transport_error(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() {
        "connection lost while sending"
    } else {
        "connection lost"
    };
    let mut root: Option<&dyn std::error::Error> = None;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        root = Some(s);
        src = s.source();
    }
    match root {
        Some(r) => format!("{what}: {r}"),
        None => what.to_string(),
    }
}

/// Waits until `progress` has not moved for `limit`, checking a few times a second.
pub(crate) async fn stalled(progress: BodyProgress, limit: Duration) -> ChunkError {
    let tick = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut last = progress.sent();
    let mut still_since = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = progress.sent();
        if now != last {
            last = now;
            still_since = tokio::time::Instant::now();
        } else if still_since.elapsed() >= limit {
            return ChunkError::Stalled(limit);
        }
    }
}
