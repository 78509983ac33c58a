//! Shared test kit: a real receiver on 127.0.0.1:0 over a temporary folder, and a small
//! client that speaks both dialects and all three ways of sending parameters.
#![allow(dead_code)] // each test file uses a different part of the kit

use std::path::PathBuf;

use receiver::{Receiver, ReceiverConfig};
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub struct Server {
    pub receiver: Receiver,
    pub dir: TempDir,
    pub client: reqwest::Client,
    pub url: String,
}

pub async fn start() -> Server {
    start_with(|_| {}).await
}

pub async fn start_with(adjust: impl FnOnce(&mut ReceiverConfig)) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    start_in(dir, adjust).await
}

pub async fn start_in(dir: TempDir, adjust: impl FnOnce(&mut ReceiverConfig)) -> Server {
    let mut config = ReceiverConfig::new(dir.path());
    adjust(&mut config);
    let receiver = Receiver::start(config).await.expect("receiver starts");
    let url = receiver.upload_url();
    Server {
        receiver,
        dir,
        client: reqwest::Client::new(),
        url,
    }
}

impl Server {
    pub fn stored(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub async fn stats_json(&self) -> serde_json::Value {
        let response = self
            .client
            .get(format!("{}/stats", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn status(&self, identifier: &str) -> serde_json::Value {
        let response = self
            .client
            .get(format!("{}/status", self.url))
            .query(&[("identifier", identifier)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Resumable,
    Flow,
}

/// Where a multipart request puts its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamsIn {
    /// Resumable.js: query string and form fields.
    Both,
    /// Flow.js: form fields only.
    Form,
    Query,
    /// Form fields, sent after the file part.
    FormAfterFile,
}

/// One chunk request, described the way the libraries would send it.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub dialect: Dialect,
    pub number: u64,
    pub chunk_size: u64,
    pub current_size: u64,
    pub total_size: u64,
    pub total_chunks: u64,
    pub identifier: String,
    pub filename: String,
    pub relative_path: String,
    /// Bytes sent as the body (usually the planned slice of the file).
    pub body: Vec<u8>,
    /// Parameters overridden or added after planning, e.g. to make one invalid.
    pub overrides: Vec<(String, String)>,
    /// Parameters removed, by full name.
    pub removed: Vec<String>,
}

/// The libraries' default chunk plan: floor(S/cs) chunks, the last one takes the rest.
pub fn default_plan(total: u64, cs: u64) -> Vec<(u64, u64)> {
    let n = (total / cs).max(1);
    (1..=n)
        .map(|k| {
            let start = (k - 1) * cs;
            let end = if k == n { total } else { k * cs };
            (start, end)
        })
        .collect()
}

/// All chunks of `data` under the default plan.
pub fn chunks(data: &[u8], cs: u64, identifier: &str, path: &str) -> Vec<Chunk> {
    let plan = default_plan(data.len() as u64, cs);
    let total_chunks = plan.len() as u64;
    plan.iter()
        .enumerate()
        .map(|(i, (start, end))| Chunk {
            dialect: Dialect::Resumable,
            number: i as u64 + 1,
            chunk_size: cs,
            current_size: end - start,
            total_size: data.len() as u64,
            total_chunks,
            identifier: identifier.to_owned(),
            filename: path.rsplit('/').next().unwrap_or(path).to_owned(),
            relative_path: path.to_owned(),
            body: data[*start as usize..*end as usize].to_vec(),
            overrides: Vec::new(),
            removed: Vec::new(),
        })
        .collect()
}

pub fn chunk(data: &[u8], cs: u64, identifier: &str, path: &str, number: u64) -> Chunk {
    chunks(data, cs, identifier, path).remove(number as usize - 1)
}

impl Chunk {
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    pub fn set(mut self, name: &str, value: impl ToString) -> Self {
        self.overrides.push((name.to_owned(), value.to_string()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.removed.push(name.to_owned());
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub fn params(&self) -> Vec<(String, String)> {
        let prefix = match self.dialect {
            Dialect::Resumable => "resumable",
            Dialect::Flow => "flow",
        };
        let mut list: Vec<(String, String)> = vec![
            ("ChunkNumber", self.number.to_string()),
            ("ChunkSize", self.chunk_size.to_string()),
            ("CurrentChunkSize", self.current_size.to_string()),
            ("TotalSize", self.total_size.to_string()),
            ("Identifier", self.identifier.clone()),
            ("Filename", self.filename.clone()),
            ("RelativePath", self.relative_path.clone()),
            ("TotalChunks", self.total_chunks.to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (format!("{prefix}{name}"), value))
        .collect();
        if self.dialect == Dialect::Resumable {
            list.push(("resumableType".into(), String::new()));
        }
        for (name, value) in &self.overrides {
            match list.iter_mut().find(|(n, _)| n == name) {
                Some(entry) => entry.1 = value.clone(),
                None => list.push((name.clone(), value.clone())),
            }
        }
        list.retain(|(name, _)| !self.removed.contains(name));
        list
    }

    /// The library's test request.
    pub async fn test(&self, server: &Server) -> Response {
        server
            .client
            .get(&server.url)
            .query(&self.params())
            .send()
            .await
            .expect("test request")
    }

    /// The library's default upload: multipart with the chunk in the part `file`.
    pub async fn post(&self, server: &Server, params_in: ParamsIn) -> Response {
        use reqwest::multipart::{Form, Part};
        let file_part = || {
            Part::bytes(self.body.clone())
                .file_name(self.filename.clone())
                .mime_str("application/octet-stream")
                .unwrap()
        };
        let mut form = Form::new();
        if params_in == ParamsIn::FormAfterFile {
            form = form.part("file", file_part());
        }
        if params_in != ParamsIn::Query {
            for (name, value) in self.params() {
                form = form.text(name, value);
            }
        }
        if params_in != ParamsIn::FormAfterFile {
            form = form.part("file", file_part());
        }
        let mut request = server.client.post(&server.url).multipart(form);
        if matches!(params_in, ParamsIn::Both | ParamsIn::Query) {
            request = request.query(&self.params());
        }
        request.send().await.expect("post request")
    }

    /// The libraries' `octet` method: raw body, parameters in the query string.
    pub async fn post_octet(&self, server: &Server) -> Response {
        server
            .client
            .post(&server.url)
            .query(&self.params())
            .header("content-type", "application/octet-stream")
            .body(self.body.clone())
            .send()
            .await
            .expect("octet request")
    }
}

/// Sends every chunk of `data` (multipart, Resumable.js style) and returns the last answer.
pub async fn upload(
    server: &Server,
    data: &[u8],
    cs: u64,
    identifier: &str,
    path: &str,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for chunk in chunks(data, cs, identifier, path) {
        let response = chunk.post(server, ParamsIn::Both).await;
        assert_eq!(response.status(), StatusCode::OK, "chunk {}", chunk.number);
        last = response.json().await.unwrap();
    }
    last
}

/// Deterministic test bytes that differ from chunk to chunk.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8 ^ (i >> 8) as u8)
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Asserts an error answer: its status and its JSON `error` code; returns the reason.
pub async fn expect_refusal(response: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status, "status for expected {code}");
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"], code, "error code in {body}");
    let reason = body["reason"].as_str().expect("a reason").to_owned();
    assert!(!reason.is_empty());
    reason
}
