//! Target `resumable`: any Resumable.js / Flow.js endpoint (docs/protocol.md). GET test, then a
//! multipart POST carrying the parameters both in the query string and as form fields, so
//! servers written for either library understand it. Uses our receiver's status extension
//! when the server offers it, to learn every stored chunk in one request.

use super::http::{chunk_part, describe_transport_error, parse_http_url, stalled};
use super::{ChunkReceipt, HttpSettings, Target, UploadFile};
use crate::body::ChunkBody;
use crate::error::{ChunkError, EngineError};
use crate::protocol::{
    classify_post, classify_test, parse_retry_after, Dialect, PostAnswer, TestAnswer,
};
use async_trait::async_trait;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// Whether the server answered our status extension. Learnt once per target.
const STATUS_UNKNOWN: u8 = 0;
const STATUS_YES: u8 = 1;
const STATUS_NO: u8 = 2;

/// A reachability probe that takes longer than this counts as "still offline".
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct ResumableTarget {
    url: url::Url,
    dialect: Dialect,
    client: reqwest::Client,
    stall_timeout: Duration,
    status_extension: AtomicU8,
}

impl ResumableTarget {
    pub fn new(url: &str, dialect: Dialect, http: &HttpSettings) -> Result<Self, EngineError> {
        let parsed = parse_upload_url(url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(http.connect_timeout)
            .user_agent(concat!("twake-uploader/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Http(e.to_string()))?;
        Ok(ResumableTarget {
            url: parsed,
            dialect,
            client,
            stall_timeout: http.stall_timeout,
            status_extension: AtomicU8::new(STATUS_UNKNOWN),
        })
    }

    fn params(&self, file: &UploadFile, number: u32) -> Vec<(String, String)> {
        file.chunk_params(number).pairs(self.dialect)
    }

    fn network(&self, e: &reqwest::Error) -> ChunkError {
        ChunkError::Network {
            url: self.url.to_string(),
            reason: describe_transport_error(e),
        }
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
pub fn parse_upload_url(url: &str) -> Result<url::Url, EngineError> {
    parse_http_url(url).map_err(|reason| EngineError::BadUrl {
        url: url.to_string(),
        reason,
    })
}

#[async_trait]
impl Target for ResumableTarget {
    fn label(&self) -> String {
        self.url.to_string()
    }

    fn can_test(&self) -> bool {
        true
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
        let parsed: Option<serde_json::Value> = if ok { resp.json().await.ok() } else { None };
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
        let resp = self
            .client
            .get(self.url.clone())
            .query(&self.params(file, number))
            .timeout(self.stall_timeout)
            .send()
            .await
            .map_err(|e| self.network(&e))?;
        Ok(classify_test(resp.status().as_u16()))
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
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, retry_after, text))
        };
        let outcome = tokio::select! {
            r = exchange => r,
            e = stalled(progress.clone(), self.stall_timeout) => return Err(e),
        };
        let (status, retry_after, text) = match outcome {
            Ok(v) => v,
            Err(e) => return Err(progress.failure().unwrap_or_else(|| self.network(&e))),
        };
        let url = self.url.to_string();
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
            PostAnswer::Permanent => Err(ChunkError::Permanent {
                url,
                status,
                message,
            }),
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
    }

    #[test]
    fn the_status_extension_sits_beside_the_upload_path() {
        let http = HttpSettings {
            connect_timeout: Duration::from_secs(1),
            stall_timeout: Duration::from_secs(1),
        };
        let t = ResumableTarget::new("http://h:1/up/load?x=1", Dialect::Flow, &http).unwrap();
        assert_eq!(t.status_url().as_str(), "http://h:1/up/load/status");
    }
}
