//! A server whose answers a test scripts: for servers that misbehave in ways our receiver
//! never would (HTML pages, refusals, `Retry-After`, full disks), so the client's handling of
//! each can be checked against a real HTTP peer.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the script sees of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    /// 0-based index of this request among all requests so far.
    pub index: u64,
    pub body_len: usize,
}

/// The scripted answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// After `body`, the answer goes on forever (a misconfigured server streaming a file or a
    /// log), to check that clients cap what they read.
    pub endless: bool,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            endless: false,
        }
    }
    /// An answer whose body never ends.
    pub fn endless(status: u16) -> Answer {
        Answer {
            endless: true,
            ..Answer::new(status, "")
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

type Script = dyn Fn(&Seen) -> Answer + Send + Sync;

#[derive(Clone)]
struct Shared {
    script: Arc<Script>,
    count: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Seen>>>,
}

pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    pub async fn start(script: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> ScriptedServer {
        let shared = Shared {
            script: Arc::new(script),
            count: Arc::new(AtomicU64::new(0)),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind scripted server");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedServer { addr, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/upload", self.addr)
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let seen = Seen {
        method,
        path,
        query,
        index: shared.count.fetch_add(1, Ordering::SeqCst),
        body_len: body.len(),
    };
    let answer = (shared.script)(&seen);
    if let Ok(mut log) = shared.log.lock() {
        log.push(seen);
    }
    let mut response = if answer.endless {
        let block = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
        let first = bytes::Bytes::from(answer.body);
        let rest = futures::stream::repeat(block);
        let stream = futures::stream::once(async move { first })
            .chain(rest)
            .map(Ok::<_, std::io::Error>);
        Response::new(Body::from_stream(stream))
    } else {
        Response::new(Body::from(answer.body))
    };
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    for (k, v) in answer.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            response.headers_mut().insert(k, v);
        }
    }
    response
}

/// A server that accepts connections, reads what is sent and never answers: a hung backend
/// behind a live load balancer. Counts the connections it accepted.
pub struct SilentServer {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    pub async fn start() -> SilentServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind silent server");
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut sink = tokio::io::sink();
                    let _ = tokio::io::copy(&mut socket, &mut sink).await;
                });
            }
        });
        SilentServer {
            addr,
            accepted,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/upload", self.addr)
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
