//! Behaviour of the fault proxy against real loopback servers: an axum upstream for realistic
//! HTTP, and a raw TCP upstream where the exact bytes on the wire matter.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use e2e_tests::fault_proxy::{FaultConfig, FaultKind, FaultProxy, FaultStats};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An axum server that answers `{method} {body length} {body sha256}` on any path, plus a few
/// paths with special answers, and counts the requests it handled.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicU64>,
}

impl Upstream {
    async fn start() -> Upstream {
        let hits = Arc::new(AtomicU64::new(0));
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&hits));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Upstream { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn handle(State(hits): State<Arc<AtomicU64>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut body = request.into_body().into_data_stream();
    let mut hasher = Sha256::new();
    let mut length = 0usize;
    while let Some(piece) = body.next().await {
        let piece = piece.unwrap();
        length += piece.len();
        hasher.update(&piece);
    }
    hits.fetch_add(1, Ordering::SeqCst);
    if let Some(size) = path.strip_prefix("/blob/") {
        return pattern(size.parse().unwrap()).into_response();
    }
    match path.as_str() {
        "/stream" => {
            let pieces = (0..20).map(|i| Ok::<_, std::io::Error>(vec![i as u8; 10_000 + i]));
            Body::from_stream(futures::stream::iter(pieces)).into_response()
        }
        "/empty" => StatusCode::NO_CONTENT.into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "slow".into_response()
        }
        _ => format!("{method} {length} {}", hex::encode(hasher.finalize())).into_response(),
    }
}

/// Deterministic, non-repeating-looking bytes, so a shifted or dropped range shows up.
fn pattern(size: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn echo_of(method: &str, body: &[u8]) -> String {
    format!(
        "{method} {} {}",
        body.len(),
        hex::encode(Sha256::digest(body))
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

#[tokio::test]
async fn transparent_proxy_relays_large_and_chunked_bodies_unchanged() {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(upstream.addr, FaultConfig::default())
        .await
        .unwrap();
    let client = client();

    let upload = pattern(50 * 1024 * 1024);
    let answer = client
        .post(proxy.url_for(&upstream.url("/upload?resumableChunkNumber=1")))
        .body(upload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), echo_of("POST", &upload));

    let download = client
        .get(proxy.url_for(&upstream.url("/blob/52428800")))
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), upload.as_slice());

    let streamed = client
        .get(proxy.url_for(&upstream.url("/stream")))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.headers()["transfer-encoding"], "chunked");
    let expected: Vec<u8> = (0..20).flat_map(|i| vec![i as u8; 10_000 + i]).collect();
    assert_eq!(
        streamed.bytes().await.unwrap().as_ref(),
        expected.as_slice()
    );

    // No Content-Length: reqwest sends this body chunked.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = upload
        .chunks(1 << 20)
        .take(5)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let chunked_upload = client
        .put(proxy.url_for(&upstream.url("/upload")))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(pieces)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        chunked_upload.text().await.unwrap(),
        echo_of("PUT", &upload[..5 << 20])
    );

    let head = client
        .head(proxy.url_for(&upstream.url("/blob/10")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-length"], "10");
    assert!(head.bytes().await.unwrap().is_empty());
    let empty = client
        .get(proxy.url_for(&upstream.url("/empty")))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 204);

    let stats = proxy.stats();
    assert_eq!(stats.requests_seen, 6);
    assert_eq!(stats.requests_forwarded, 6);
    assert_eq!(stats.faults_injected(), 0);
    assert_eq!(upstream.hits(), 6);
    // All of the above went over one kept-alive client connection.
    assert_eq!(stats.connections, 1);
    proxy.shutdown().await;
}

/// A raw upstream on one connection: for each expected request length it reads exactly that
/// many bytes, records them, and answers `answer`. It yields everything it received.
async fn raw_upstream(
    answer: &'static [u8],
    request_lengths: Vec<usize>,
) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        for length in request_lengths {
            let mut request = vec![0u8; length];
            socket.read_exact(&mut request).await.unwrap();
            received.extend_from_slice(&request);
            socket.write_all(answer).await.unwrap();
        }
        received
    });
    (addr, task)
}

#[tokio::test]
async fn transparent_proxy_passes_heads_and_bodies_byte_for_byte_on_a_kept_alive_connection() {
    const ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\nX-Odd-Header:  spaced \r\nContent-Length: 3\r\n\r\nyes";
    let first =
        b"POST /upload?a=1 HTTP/1.1\r\nHost: x\r\nX-Case: MiXeD\r\nContent-Length: 5\r\n\r\nhello";
    let second = b"PUT /other HTTP/1.1\r\nHost: whatever\r\ncontent-length: 5\r\n\r\nworld";
    let (upstream, recorded) = raw_upstream(ANSWER, vec![first.len(), second.len()]).await;
    let proxy = FaultProxy::start(upstream, FaultConfig::default())
        .await
        .unwrap();

    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut answers = vec![0u8; ANSWER.len()];
    client.write_all(first).await.unwrap();
    client.read_exact(&mut answers).await.unwrap();
    assert_eq!(answers, ANSWER);
    client.write_all(second).await.unwrap();
    client.read_exact(&mut answers).await.unwrap();
    assert_eq!(answers, ANSWER);

    assert_eq!(recorded.await.unwrap(), [&first[..], &second[..]].concat());
    assert_eq!(proxy.stats().connections, 1);
}

#[tokio::test]
async fn expect_continue_requests_get_the_upstreams_interim_answer_and_then_the_final_one() {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(upstream.addr, FaultConfig::default())
        .await
        .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await
        .unwrap();
    let mut interim = [0u8; 25];
    client.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    client.write_all(b"hello").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = client.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with(&echo_of("POST", b"hello")), "{answer}");
}

#[tokio::test]
async fn status_503_share_of_one_answers_503_and_the_upstream_never_sees_the_request() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        status_503: 1.0,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let client = client();
    // Twice on the same connection: the discarded body must leave the connection usable.
    for _ in 0..2 {
        let answer = client
            .post(proxy.url_for(&upstream.url("/upload")))
            .body(pattern(1 << 20))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.headers().get("retry-after").is_none());
        assert!(answer.text().await.unwrap().contains("503"));
    }
    assert_eq!(upstream.hits(), 0);
    assert_eq!(
        proxy.stats(),
        FaultStats {
            connections: 1,
            requests_seen: 2,
            status_503: 2,
            ..FaultStats::default()
        }
    );
}

#[tokio::test]
async fn status_429_carries_the_configured_retry_after() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        status_429: 1.0,
        retry_after_secs: 7,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let answer = client()
        .post(proxy.url_for(&upstream.url("/upload")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.headers()["retry-after"], "7");
    assert_eq!(upstream.hits(), 0);
    assert_eq!(proxy.stats().status_429, 1);
}

#[tokio::test]
async fn reset_before_fails_the_request_and_the_upstream_never_sees_it() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        reset_before: 1.0,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let error = client()
        .post(proxy.url_for(&upstream.url("/upload")))
        .body(pattern(1 << 20))
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout() && !error.is_status(), "{error:?}");
    assert_eq!(upstream.hits(), 0);
    let stats = proxy.stats();
    assert_eq!((stats.reset_before, stats.requests_forwarded), (1, 0));
}

#[tokio::test]
async fn reset_after_fails_the_request_although_the_upstream_handled_it() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        reset_after: 1.0,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let error = client()
        .post(proxy.url_for(&upstream.url("/upload")))
        .body(pattern(1 << 20))
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout() && !error.is_status(), "{error:?}");
    assert_eq!(upstream.hits(), 1);
    let stats = proxy.stats();
    assert_eq!((stats.reset_after, stats.requests_forwarded), (1, 1));
}

#[tokio::test]
async fn endless_stall_makes_a_client_with_a_one_second_timeout_time_out() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        stall: 1.0,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let started = Instant::now();
    let error = client_with_timeout(Duration::from_secs(1))
        .post(proxy.url_for(&upstream.url("/upload")))
        .body(pattern(1 << 20))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(upstream.hits(), 0);
    assert_eq!(proxy.stats().stalls, 1);
}

#[tokio::test]
async fn bounded_stall_delays_the_request_and_then_lets_it_through() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        stall: 1.0,
        stall_for: Some(Duration::from_millis(300)),
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let started = Instant::now();
    let answer = client()
        .post(proxy.url_for(&upstream.url("/upload")))
        .body("abc")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.text().await.unwrap(), echo_of("POST", b"abc"));
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test]
async fn latency_delays_every_request() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        latency: Duration::from_millis(200),
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let client = client();
    for _ in 0..2 {
        let started = Instant::now();
        let answer = client
            .get(proxy.url_for(&upstream.url("/x")))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}

#[tokio::test]
async fn blackhole_drops_live_connections_holds_new_ones_and_lifts_cleanly() {
    let upstream = Upstream::start().await;
    let proxy = Arc::new(
        FaultProxy::start(upstream.addr, FaultConfig::default())
            .await
            .unwrap(),
    );
    let slow_url = proxy.url_for(&upstream.url("/slow"));

    // A request in flight when the network goes away fails at once, not after the server's 2 s.
    let in_flight = tokio::spawn(client().get(slow_url).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    proxy.set_blackhole(true);
    let error = in_flight.await.unwrap().unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // While it is on, requests go nowhere: a client with a timeout times out.
    let error = client_with_timeout(Duration::from_millis(500))
        .get(proxy.url_for(&upstream.url("/x")))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");

    // A request made during the blackhole goes through once the network is back.
    let waiting = tokio::spawn(
        client()
            .post(proxy.url_for(&upstream.url("/late")))
            .body("late")
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    proxy.set_blackhole(false);
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.text().await.unwrap(), echo_of("POST", b"late"));

    let answer = client()
        .get(proxy.url_for(&upstream.url("/x")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// Runs `requests` sequential POSTs and records what each one got.
async fn outcomes(proxy: &FaultProxy, upstream: &Upstream, requests: usize) -> Vec<String> {
    let client = client();
    let mut outcomes = Vec::new();
    for i in 0..requests {
        let result = client
            .post(proxy.url_for(&upstream.url("/upload")))
            .body(format!("chunk {i}"))
            .send()
            .await;
        outcomes.push(match result {
            Ok(answer) => answer.status().as_u16().to_string(),
            Err(_) => "error".to_string(),
        });
    }
    outcomes
}

#[tokio::test]
async fn same_seed_gives_the_same_fault_sequence_and_another_seed_a_different_one() {
    let upstream = Upstream::start().await;
    let config = |seed| FaultConfig {
        reset_before: 0.15,
        reset_after: 0.15,
        status_503: 0.15,
        status_429: 0.15,
        seed,
        ..FaultConfig::default()
    };
    let mut runs = Vec::new();
    for seed in [42, 42, 43] {
        let proxy = FaultProxy::start(upstream.addr, config(seed))
            .await
            .unwrap();
        let seen = outcomes(&proxy, &upstream, 40).await;
        runs.push((seen, proxy.fault_log()));
        proxy.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert_ne!(runs[0].1, runs[2].1);
    let log = &runs[0].1;
    assert_eq!(log.len(), 40);
    for kind in [
        FaultKind::ResetBefore,
        FaultKind::ResetAfter,
        FaultKind::Status503,
        FaultKind::Status429,
    ] {
        assert!(
            log.contains(&Some(kind)),
            "{kind:?} never came up in {log:?}"
        );
    }
    // What the client saw matches what the proxy says it did.
    for (outcome, fault) in runs[0].0.iter().zip(log) {
        let expected = match fault {
            None => "200",
            Some(FaultKind::Status503) => "503",
            Some(FaultKind::Status429) => "429",
            Some(_) => "error",
        };
        assert_eq!(outcome, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_under_mixed_faults_all_land_and_only_forwarded_ones_reach_upstream() {
    let upstream = Arc::new(Upstream::start().await);
    let config = FaultConfig {
        reset_before: 0.1,
        reset_after: 0.1,
        stall: 0.1,
        stall_for: Some(Duration::from_millis(50)),
        status_503: 0.1,
        status_429: 0.1,
        seed: 9,
        ..FaultConfig::default()
    };
    let proxy = Arc::new(FaultProxy::start(upstream.addr, config).await.unwrap());
    let mut uploaders = Vec::new();
    for uploader in 0..4 {
        let (upstream, proxy) = (Arc::clone(&upstream), Arc::clone(&proxy));
        uploaders.push(tokio::spawn(async move {
            let client = client_with_timeout(Duration::from_secs(10));
            for chunk in 0..30 {
                let body = pattern(64 * 1024 + uploader * 100 + chunk);
                let url = proxy.url_for(&upstream.url("/upload"));
                // Retry like an upload client: until the server says it has the chunk.
                loop {
                    if let Ok(answer) = client.post(&url).body(body.clone()).send().await {
                        if answer.status() == 200 {
                            assert_eq!(answer.text().await.unwrap(), echo_of("POST", &body));
                            break;
                        }
                    }
                }
            }
        }));
    }
    for uploader in uploaders {
        uploader.await.unwrap();
    }
    let stats = proxy.stats();
    assert!(stats.faults_injected() > 20, "{stats:?}");
    assert_eq!(upstream.hits(), stats.requests_forwarded, "{stats:?}");
    assert_eq!(
        stats.requests_seen,
        stats.requests_forwarded + stats.reset_before + stats.status_503 + stats.status_429,
        "{stats:?}"
    );
}

#[tokio::test]
async fn only_methods_limits_faults_to_those_methods() {
    let upstream = Upstream::start().await;
    let config = FaultConfig {
        status_503: 1.0,
        only_methods: Some(vec!["POST".to_string()]),
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(upstream.addr, config).await.unwrap();
    let client = client();
    let test = client
        .get(proxy.url_for(&upstream.url("/upload")))
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), 200);
    let post = client
        .post(proxy.url_for(&upstream.url("/upload")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 503);
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test]
async fn set_config_changes_the_faults_of_later_requests() {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(upstream.addr, FaultConfig::default())
        .await
        .unwrap();
    let client = client();
    let url = proxy.url_for(&upstream.url("/upload"));
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    proxy.set_config(FaultConfig {
        status_429: 1.0,
        ..FaultConfig::default()
    });
    assert_eq!(client.get(&url).send().await.unwrap().status(), 429);
    proxy.set_config(FaultConfig::default());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        proxy.fault_log(),
        vec![None, Some(FaultKind::Status429), None]
    );
}

#[tokio::test]
async fn url_for_swaps_only_the_host_and_port() {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(upstream.addr, FaultConfig::default())
        .await
        .unwrap();
    let proxied = proxy.url_for("http://127.0.0.1:9/upload?resumableChunkNumber=3&x=%2F");
    assert_eq!(
        proxied,
        format!(
            "http://{}/upload?resumableChunkNumber=3&x=%2F",
            proxy.local_addr()
        )
    );
    assert_eq!(
        proxy.url_for("http://localhost:9"),
        format!("http://{}", proxy.local_addr())
    );
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(upstream.addr, FaultConfig::default())
        .await
        .unwrap();
    let addr = proxy.local_addr();
    proxy.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[test]
#[should_panic(expected = "add up to")]
fn shares_adding_up_past_one_are_refused() {
    let config = FaultConfig {
        status_503: 0.6,
        status_429: 0.6,
        ..FaultConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(FaultProxy::start("127.0.0.1:9".parse().unwrap(), config))
        .unwrap();
}
