//! Status classes: what an HTTP answer to a GET test or a chunk POST means for the client
//! (docs/protocol.md, "What an answer means"). Pure functions, so every target shares them.

use std::time::Duration;

/// Whether an answer is a web page rather than a protocol answer: a sign-in page of a
/// single-sign-on front, a proxy's error page, or a web app's catch-all route.
pub fn looks_like_html(content_type: &str, body: &str) -> bool {
    let start: String = body.trim_start().chars().take(16).collect();
    let start = start.to_ascii_lowercase();
    content_type.to_ascii_lowercase().contains("text/html")
        || start.starts_with("<!doctype")
        || start.starts_with("<html")
}

/// What a GET test answer says about a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestAnswer {
    /// The server has the chunk: skip it.
    Present,
    /// Anything else: send it.
    Absent,
}

/// Classifies a GET test status. Flow.js also treats 202 as present; 404 means "send it" for
/// us (flow.js would fail the file, which is a bug we do not copy).
pub fn classify_test(status: u16) -> TestAnswer {
    match status {
        200..=202 => TestAnswer::Present,
        _ => TestAnswer::Absent,
    }
}

/// What a chunk POST answer means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostAnswer {
    Accepted,
    /// Try this chunk again later (after `after` when the server said so).
    Retry {
        after: Option<Duration>,
    },
    /// The chunk is too large for the server or a proxy in front of it: re-plan smaller.
    TooLarge,
    /// The server refuses this upload; retrying the same request cannot help.
    Permanent,
}

/// Statuses resumable.js gives up on at once.
const PERMANENT: [u16; 5] = [400, 404, 415, 500, 501];

/// Classifies a chunk POST answer. `body` is consulted only to recognise our receiver's
/// checksum refusal, which is a 400 that a retry fixes.
pub fn classify_post(status: u16, retry_after: Option<Duration>, body: &str) -> PostAnswer {
    match status {
        200..=202 => PostAnswer::Accepted,
        413 => PostAnswer::TooLarge,
        400 if body.contains("checksum_mismatch") => PostAnswer::Retry { after: None },
        s if PERMANENT.contains(&s) => PostAnswer::Permanent,
        401 | 403 | 405 | 410 | 422 | 507 => PostAnswer::Permanent,
        429 | 503 => PostAnswer::Retry { after: retry_after },
        _ => PostAnswer::Retry { after: None },
    }
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_answers_follow_the_table() {
        assert_eq!(classify_test(200), TestAnswer::Present);
        assert_eq!(classify_test(202), TestAnswer::Present);
        assert_eq!(classify_test(204), TestAnswer::Absent);
        assert_eq!(classify_test(404), TestAnswer::Absent);
        assert_eq!(classify_test(500), TestAnswer::Absent);
    }

    #[test]
    fn post_answers_follow_the_table() {
        assert_eq!(classify_post(200, None, ""), PostAnswer::Accepted);
        assert_eq!(classify_post(201, None, ""), PostAnswer::Accepted);
        for s in [400, 404, 415, 500, 501, 403, 507] {
            assert_eq!(classify_post(s, None, "{}"), PostAnswer::Permanent, "{s}");
        }
        assert_eq!(classify_post(413, None, ""), PostAnswer::TooLarge);
        let after = Some(Duration::from_secs(2));
        assert_eq!(classify_post(429, after, ""), PostAnswer::Retry { after });
        assert_eq!(classify_post(503, after, ""), PostAnswer::Retry { after });
        assert_eq!(
            classify_post(502, after, ""),
            PostAnswer::Retry { after: None }
        );
        assert_eq!(
            classify_post(400, None, r#"{"error":"checksum_mismatch"}"#),
            PostAnswer::Retry { after: None }
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
