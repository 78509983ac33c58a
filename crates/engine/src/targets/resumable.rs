//! Target `resumable`: any Resumable.js / Flow.js endpoint (docs/protocol.md). GET test, then a
//! multipart POST carrying the parameters both in the query string and as form fields, so
//! servers written for either library understand it. Uses our receiver's status extension
//! when the server offers it, to learn every stored chunk in one request.
//!
//! A "present" test answer lets us skip bytes, so it is believed only when it is plausible: not
//! a web page, not a redirect (redirects are never followed), and only once the same server
//! has said "absent" for a chunk that cannot exist (the control test). A server that answers
//! 200 to everything — a sign-in front, a catch-all web app — would otherwise make us report
//! files uploaded with nothing sent.

use super::http::{
    chunk_part, content_type, header, looks_like_html, parse_http_url, read_capped, redact_url,
    stalled, too_long_answer, transport_error, CappedBody,
};
use super::{
    Capabilities, ChunkReceipt, HttpSettings, Target, TargetContext, TargetKind, TargetSpec,
    UploadFile,
};
use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::events::FailureKind;
use crate::protocol::{
    classify_post, classify_test, parse_retry_after, ChunkParams, Dialect, PostAnswer, TestAnswer,
};
use crate::targets::TargetError;
use async_trait::async_trait;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The `resumable` kind: chunks of 1 MiB by default (resumable.js's own), tested with a GET,
/// listed in one request where the server has our status extension.
pub static KIND: TargetKind = TargetKind {
    name: "resumable",
    capabilities: Capabilities {
        test_chunk: true,
        list_stored_chunks: true,
        preferred_chunk_size: 1024 * 1024,
        reachability_probe: true,
        ..Capabilities::NONE
    },
    build,
};

fn build(spec: &TargetSpec, context: &TargetContext) -> Result<Arc<dyn Target>, TargetError> {
    match spec {
        TargetSpec::Resumable { url, dialect } => Ok(Arc::new(ResumableTarget::new(
            url,
            *dialect,
            &context.http,
        )?)),
        other => Err(TargetError::Internal(format!(
            "{other:?} handed to the resumable kind"
        ))),
    }
}

/// The Resumable.js parameters of chunk `number` of `file` (Twake Drive's files service takes
/// them too).
pub fn chunk_params(file: &UploadFile, number: u32) -> ChunkParams {
    ChunkParams::for_chunk(
        &file.plan,
        number,
        &file.identifier,
        &file.filename,
        &file.relative_path,
        &file.mime_type,
    )
}

/// Whether the server answered our status extension. Learnt once per target.
const STATUS_UNKNOWN: u8 = 0;
const STATUS_YES: u8 = 1;
const STATUS_NO: u8 = 2;

/// Whether the server's test answers can be believed. Learnt once per target by the control
/// test, the first time a chunk is said to be present.
const TESTS_UNKNOWN: u8 = 0;
const TESTS_TRUSTED: u8 = 1;
const TESTS_UNTRUSTED: u8 = 2;

/// A reachability probe that takes longer than this counts as "still offline".
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct ResumableTarget {
    url: url::Url,
    dialect: Dialect,
    client: reqwest::Client,
    stall_timeout: Duration,
    status_extension: AtomicU8,
    tests: AtomicU8,
    deciding: tokio::sync::Mutex<()>,
}

impl ResumableTarget {
    pub fn new(url: &str, dialect: Dialect, http: &HttpSettings) -> Result<Self, TargetError> {
        let parsed = parse_upload_url(url)?;
        // A redirect is an answer of its own (a sign-in page, a moved endpoint): following
        // it would turn a login page's 200 into "chunk present".
        let client = super::network::http_client(http, reqwest::redirect::Policy::none())
            .map_err(|e| TargetError::Http(e.to_string()))?;
        Ok(ResumableTarget {
            url: parsed,
            dialect,
            client,
            stall_timeout: http.stall_timeout,
            status_extension: AtomicU8::new(STATUS_UNKNOWN),
            tests: AtomicU8::new(TESTS_UNKNOWN),
            deciding: tokio::sync::Mutex::new(()),
        })
    }

    fn params(&self, file: &UploadFile, number: u32) -> Vec<(String, String)> {
        chunk_params(file, number).pairs(self.dialect)
    }

    fn network(&self, e: &reqwest::Error) -> ChunkError {
        transport_error(self.url.as_str(), e, self.stall_timeout)
    }

    /// One GET test with these parameters, read as the protocol's answer or as "absent" when
    /// it is not plausibly one.
    async fn ask(&self, params: &[(String, String)]) -> Result<TestAnswer, ChunkError> {
        let resp = self
            .client
            .get(self.url.clone())
            .query(params)
            .timeout(self.stall_timeout)
            .send()
            .await
            .map_err(|e| self.network(&e))?;
        let status = resp.status().as_u16();
        let kind = content_type(&resp);
        let body = read_capped(resp).await.map_err(|e| self.network(&e))?;
        Ok(match body {
            CappedBody::Text(text) if !looks_like_html(&kind, &text) => classify_test(status),
            _ => TestAnswer::Absent,
        })
    }

    /// Whether "present" answers of this server mean anything: asks once about a chunk of a
    /// file that was never uploaded; a server that has that too answers yes to everything.
    async fn tests_trusted(&self, file: &UploadFile, number: u32) -> Result<bool, ChunkError> {
        match self.tests.load(Ordering::Relaxed) {
            TESTS_TRUSTED => return Ok(true),
            TESTS_UNTRUSTED => return Ok(false),
            _ => {}
        }
        // One control test per target: tests running side by side wait for its verdict.
        let _deciding = self.deciding.lock().await;
        match self.tests.load(Ordering::Relaxed) {
            TESTS_TRUSTED => return Ok(true),
            TESTS_UNTRUSTED => return Ok(false),
            _ => {}
        }
        let control = format!("twake-uploader-control-{:016x}", rand::random::<u64>());
        let params: Vec<(String, String)> = self
            .params(file, number)
            .into_iter()
            .map(|(k, v)| {
                if k.ends_with("Identifier") || k == "identifier" {
                    (k, control.clone())
                } else {
                    (k, v)
                }
            })
            .collect();
        let trusted = self.ask(&params).await? == TestAnswer::Absent;
        let verdict = if trusted {
            TESTS_TRUSTED
        } else {
            tracing::warn!(
                url = %self.url,
                "the server says it has chunks of a file never sent: its test answers are ignored"
            );
            TESTS_UNTRUSTED
        };
        self.tests.store(verdict, Ordering::Relaxed);
        Ok(trusted)
    }

    fn status_url(&self) -> url::Url {
        let mut u = self.url.clone();
        let path = format!("{}/status", u.path().trim_end_matches('/'));
        u.set_path(&path);
        u.set_query(None);
        u
    }
}

/// Parses and checks a user-given upload URL, with a message that says what is wrong.
pub fn parse_upload_url(url: &str) -> Result<url::Url, TargetError> {
    parse_http_url(url).map_err(|reason| TargetError::BadUrl {
        url: redact_url(url),
        reason,
    })
}

#[async_trait]
impl Target for ResumableTarget {
    fn label(&self) -> String {
        self.url.to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // A server found to say "present" to anything is no longer asked.
            test_chunk: self.tests.load(Ordering::Relaxed) != TESTS_UNTRUSTED,
            ..KIND.capabilities
        }
    }

    async fn stored_chunks(&self, file: &UploadFile) -> Result<Option<Vec<u32>>, ChunkError> {
        if self.status_extension.load(Ordering::Relaxed) == STATUS_NO {
            return Ok(None);
        }
        let request = self
            .client
            .get(self.status_url())
            .query(&[("identifier", &file.identifier)])
            .timeout(self.stall_timeout)
            .send();
        let resp = match request.await {
            Ok(r) => r,
            Err(e) => return Err(self.network(&e)),
        };
        let ok = resp.status().is_success();
        let body = if ok {
            read_capped(resp).await.map_err(|e| self.network(&e))?
        } else {
            CappedBody::TooLong
        };
        let parsed: Option<serde_json::Value> = match body {
            CappedBody::Text(text) => serde_json::from_str(&text).ok(),
            CappedBody::TooLong => None,
        };
        // Only a JSON answer naming our identifier counts: catch-all servers answer 200 with
        // HTML or with anything at all to any path.
        let chunks = parsed.as_ref().and_then(|v| {
            let same = v.get("identifier")?.as_str()? == file.identifier;
            let list = v.get("chunks")?.as_array()?;
            same.then(|| {
                list.iter()
                    .filter_map(|n| n.as_u64())
                    .filter_map(|n| u32::try_from(n).ok())
                    .filter(|n| *n >= 1 && *n <= file.plan.total_chunks)
                    .collect::<Vec<u32>>()
            })
        });
        match chunks {
            Some(list) => {
                self.status_extension.store(STATUS_YES, Ordering::Relaxed);
                Ok(Some(list))
            }
            None => {
                self.status_extension.store(STATUS_NO, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    async fn reachable(&self) -> Result<(), ChunkError> {
        self.client
            .get(self.url.clone())
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.network(&e))
    }

    async fn test_chunk(&self, file: &UploadFile, number: u32) -> Result<TestAnswer, ChunkError> {
        if self.tests.load(Ordering::Relaxed) == TESTS_UNTRUSTED {
            return Ok(TestAnswer::Absent);
        }
        let answer = self.ask(&self.params(file, number)).await?;
        if answer == TestAnswer::Present && !self.tests_trusted(file, number).await? {
            return Ok(TestAnswer::Absent);
        }
        Ok(answer)
    }

    async fn send_chunk(
        &self,
        file: &UploadFile,
        number: u32,
        body: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError> {
        let params = self.params(file, number);
        let len = body.len();
        let (part, progress) = chunk_part(body, &file.filename).map_err(|e| self.network(&e))?;
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in &params {
            form = form.text(k.clone(), v.clone());
        }
        form = form.part("file", part);
        let request = self
            .client
            .post(self.url.clone())
            .query(&params)
            .multipart(form)
            .send();

        let exchange = async {
            let resp = request.await?;
            let status = resp.status().as_u16();
            let retry_after = header(&resp, reqwest::header::RETRY_AFTER)
                .as_deref()
                .and_then(parse_retry_after);
            let location = header(&resp, reqwest::header::LOCATION);
            let kind = content_type(&resp);
            let text = read_capped(resp).await?;
            Ok::<_, reqwest::Error>((status, retry_after, location, kind, text))
        };
        let outcome = tokio::select! {
            r = exchange => r,
            e = stalled(progress.clone(), self.stall_timeout) => return Err(e),
        };
        let (status, retry_after, location, kind, text) = match outcome {
            Ok(v) => v,
            Err(e) => return Err(progress.failure().unwrap_or_else(|| self.network(&e))),
        };
        let url = self.url.to_string();
        let text = match text {
            CappedBody::Text(text) => text,
            CappedBody::TooLong => return Err(too_long_answer(&url, status)),
        };
        if (300..400).contains(&status) {
            let to = location.unwrap_or_else(|| "another address".into());
            return Err(ChunkError::Permanent {
                url,
                status,
                message: format!(
                    "the server redirected the upload to {to} (a sign-in page, or a moved \
                     endpoint): check the upload URL"
                ),
                kind: FailureKind::Refused,
            });
        }
        if (200..300).contains(&status) && looks_like_html(&kind, &text) {
            // A sign-in front answers 200 with its login page: that stores nothing.
            return Err(ChunkError::Permanent {
                url,
                status,
                message: "the server answered with a web page, not an upload acknowledgement \
                          (a sign-in page in front of the server? check the upload URL)"
                    .into(),
                kind: FailureKind::Refused,
            });
        }
        let message = ChunkError::summarize_body(&text);
        match classify_post(status, retry_after, &text) {
            PostAnswer::Accepted => Ok(ChunkReceipt {
                remote_id: None,
                answer: format!("{status} {}", text.chars().take(200).collect::<String>()),
            }),
            PostAnswer::TooLarge => Err(ChunkError::TooLarge {
                url,
                chunk_bytes: len,
            }),
            PostAnswer::Permanent => Err(ChunkError::refused(url, status, message)),
            PostAnswer::Retry { after } => Err(ChunkError::Retryable {
                url,
                status,
                message,
                retry_after: after,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        assert!(parse_upload_url("http://127.0.0.1:1/upload").is_ok());
        let e = parse_upload_url("ftp://x/upload").unwrap_err().to_string();
        assert!(e.contains("only http"), "{e}");
        let e = parse_upload_url("not a url").unwrap_err().to_string();
        assert!(e.contains("not a url"), "{e}");
        let e = parse_upload_url("http://alice:secret@h/upload")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn the_status_extension_sits_beside_the_upload_path() {
        let http = HttpSettings {
            connect_timeout: Duration::from_secs(1),
            stall_timeout: Duration::from_secs(1),
            network: Default::default(),
        };
        let t = ResumableTarget::new("http://h:1/up/load?x=1", Dialect::Flow, &http).unwrap();
        assert_eq!(t.status_url().as_str(), "http://h:1/up/load/status");
    }
}
