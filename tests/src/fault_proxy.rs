//! A fault-injecting HTTP/1.1 proxy for end-to-end tests: it sits between an upload client and a
//! server on loopback and, per request, resets the connection, stalls, or answers 503/429 in the
//! server's place, with a seeded RNG so a failing run can be replayed.
//!
//! Route a client through it with [`FaultProxy::url_for`]. It speaks HTTP/1.1 only (reqwest built
//! without its `http2` feature, as in this workspace, never tries anything else over `http://`).

mod connection;
mod dice;
mod http;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use dice::{Decision, FaultDice};

/// Which faults to inject and how often. Each share is the probability (0.0 to 1.0) that one
/// request gets that fault; the shares of one config must add up to at most 1.0. The default
/// injects nothing: a transparent proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Reset the client connection (RST) before the request reaches the server.
    pub reset_before: f64,
    /// Forward the request, let the server answer in full, then reset the client connection
    /// instead of relaying the answer: the server did the work but the client never hears of it.
    pub reset_after: f64,
    /// Read the request head, then neither forward nor answer.
    pub stall: f64,
    /// How long a stall lasts; afterwards the request goes through as if the server were slow.
    /// `None` stalls until the client closes the connection.
    pub stall_for: Option<Duration>,
    /// Answer `503 Service Unavailable` (no `Retry-After`) without forwarding.
    pub status_503: f64,
    /// Answer `429 Too Many Requests` with `Retry-After: retry_after_secs` without forwarding.
    pub status_429: f64,
    pub retry_after_secs: u64,
    /// Added before every request is handled, faulted or not, targeted or not.
    pub latency: Duration,
    /// Seeds the fault RNG: the same seed and the same sequence of requests give the same faults.
    pub seed: u64,
    /// When set, only requests with one of these methods (case-insensitive) can be faulted, for
    /// example `["POST"]` to break chunk uploads but not the chunk tests.
    pub only_methods: Option<Vec<String>>,
}

impl Default for FaultConfig {
    fn default() -> FaultConfig {
        FaultConfig {
            reset_before: 0.0,
            reset_after: 0.0,
            stall: 0.0,
            stall_for: None,
            status_503: 0.0,
            status_429: 0.0,
            retry_after_secs: 1,
            latency: Duration::ZERO,
            seed: 0,
            only_methods: None,
        }
    }
}

impl FaultConfig {
    /// The shares in the order the RNG draw is compared against them.
    fn shares(&self) -> [(FaultKind, f64); 5] {
        [
            (FaultKind::ResetBefore, self.reset_before),
            (FaultKind::ResetAfter, self.reset_after),
            (FaultKind::Stall, self.stall),
            (FaultKind::Status503, self.status_503),
            (FaultKind::Status429, self.status_429),
        ]
    }

    /// A config whose shares cannot be probabilities is a bug in the test that wrote it.
    fn assert_valid(&self) {
        let shares = self.shares();
        for (kind, share) in shares {
            assert!(
                (0.0..=1.0).contains(&share),
                "FaultConfig: the share for {kind:?} is {share}, it must lie between 0.0 and 1.0"
            );
        }
        let total: f64 = shares.iter().map(|(_, share)| share).sum();
        assert!(
            total <= 1.0 + 1e-9,
            "FaultConfig: the fault shares add up to {total}, they must add up to at most 1.0"
        );
    }
}

/// One kind of injected fault, as recorded in [`FaultProxy::fault_log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    ResetBefore,
    ResetAfter,
    Stall,
    Status503,
    Status429,
}

/// A snapshot of the proxy's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Client connections accepted, including those held by the blackhole.
    pub connections: u64,
    /// Request heads read from clients.
    pub requests_seen: u64,
    /// Requests sent on to the upstream (including the `reset_after` ones).
    pub requests_forwarded: u64,
    pub reset_before: u64,
    pub reset_after: u64,
    pub stalls: u64,
    pub status_503: u64,
    pub status_429: u64,
}

impl FaultStats {
    pub fn faults_injected(&self) -> u64 {
        self.reset_before + self.reset_after + self.stalls + self.status_503 + self.status_429
    }
}

/// A counter that connection tasks bump without locking.
#[derive(Debug, Default)]
struct Counter(AtomicU64);

impl Counter {
    fn increment(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: Counter,
    requests_seen: Counter,
    requests_forwarded: Counter,
    reset_before: Counter,
    reset_after: Counter,
    stalls: Counter,
    status_503: Counter,
    status_429: Counter,
}

/// State shared by the handle and every connection task.
#[derive(Debug)]
struct Shared {
    dice: Mutex<FaultDice>,
    counters: Counters,
    /// `true` while the simulated network is gone; connections watch it to drop themselves.
    blackhole: watch::Sender<bool>,
}

impl Shared {
    fn dice(&self) -> MutexGuard<'_, FaultDice> {
        // The dice hold no invariant that a panicking test thread could break halfway.
        self.dice
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the request and draws its fault.
    fn decide(&self, method: &str) -> Decision {
        self.counters.requests_seen.increment();
        let decision = self.dice().decide(method);
        let counter = match decision.fault {
            None => None,
            Some(FaultKind::ResetBefore) => Some(&self.counters.reset_before),
            Some(FaultKind::ResetAfter) => Some(&self.counters.reset_after),
            Some(FaultKind::Stall) => Some(&self.counters.stalls),
            Some(FaultKind::Status503) => Some(&self.counters.status_503),
            Some(FaultKind::Status429) => Some(&self.counters.status_429),
        };
        if let Some(counter) = counter {
            counter.increment();
        }
        decision
    }
}

/// A running fault proxy on `127.0.0.1`. Dropping it stops it too; [`FaultProxy::shutdown`] also
/// waits until every connection is closed.
#[derive(Debug)]
pub struct FaultProxy {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    accept_task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Binds `127.0.0.1:0` and starts relaying every accepted connection to `upstream`.
    ///
    /// # Panics
    /// If a share in `config` is outside 0.0..=1.0 or the shares add up to more than 1.0.
    pub async fn start(upstream: SocketAddr, config: FaultConfig) -> std::io::Result<FaultProxy> {
        config.assert_valid();
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            dice: Mutex::new(FaultDice::new(config)),
            counters: Counters::default(),
            blackhole: watch::Sender::new(false),
        });
        let shutdown = CancellationToken::new();
        let accept_task = tokio::spawn(accept_loop(
            listener,
            upstream,
            Arc::clone(&shared),
            shutdown.clone(),
        ));
        Ok(FaultProxy {
            local_addr,
            shared,
            shutdown,
            accept_task: Some(accept_task),
        })
    }

    /// A proxy that only delays each request by `latency` (no faults): uploads last long
    /// enough for a test to act while they run.
    pub async fn slow(upstream: SocketAddr, latency: Duration) -> std::io::Result<FaultProxy> {
        FaultProxy::start(
            upstream,
            FaultConfig {
                latency,
                ..FaultConfig::default()
            },
        )
        .await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Rewrites an upstream URL like `http://127.0.0.1:UP/upload?x=1` to go through the proxy
    /// (`http://127.0.0.1:PROXY/upload?x=1`). Path and query are kept as they are.
    ///
    /// # Panics
    /// If the URL is not a plain `http://` URL: the proxy does not speak TLS.
    pub fn url_for(&self, upstream_url: &str) -> String {
        let Some(rest) = upstream_url.strip_prefix("http://") else {
            panic!("FaultProxy::url_for takes a plain http:// URL, got {upstream_url:?}");
        };
        let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        format!("http://{}{}", self.local_addr, &rest[path_start..])
    }

    /// Replaces the fault config for requests read from now on, and restarts the RNG from the
    /// new config's seed. Requests already being handled keep the decision they got.
    ///
    /// # Panics
    /// Like [`FaultProxy::start`], on shares that are not probabilities.
    pub fn set_config(&self, config: FaultConfig) {
        config.assert_valid();
        self.shared.dice().reconfigure(config);
    }

    /// Turning the blackhole on drops every relaying connection at once (RST) and leaves new
    /// connections accepted but unread; turning it off lets those waiting connections proceed.
    pub fn set_blackhole(&self, on: bool) {
        self.shared.blackhole.send_replace(on);
    }

    pub fn stats(&self) -> FaultStats {
        let counters = &self.shared.counters;
        FaultStats {
            connections: counters.connections.get(),
            requests_seen: counters.requests_seen.get(),
            requests_forwarded: counters.requests_forwarded.get(),
            reset_before: counters.reset_before.get(),
            reset_after: counters.reset_after.get(),
            stalls: counters.stalls.get(),
            status_503: counters.status_503.get(),
            status_429: counters.status_429.get(),
        }
    }

    /// The decision for every request seen so far, in the order they were made (`None`: passed
    /// through untouched). With one request in flight at a time this order is the request order.
    pub fn fault_log(&self) -> Vec<Option<FaultKind>> {
        self.shared.dice().log()
    }

    /// Stops accepting, closes every connection, and waits until that is done.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(accept_task) = self.accept_task.take() {
            let _ = accept_task.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Pause after a failed accept (for example a full file table), so it does not spin.
const ACCEPT_RETRY_PAUSE: Duration = Duration::from_millis(20);

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            // Reap finished connections so the set does not grow over a long test.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    shared.counters.connections.increment();
                    let shared = Arc::clone(&shared);
                    let serve = connection::serve(client, upstream, shared, shutdown.clone());
                    connections.spawn(serve);
                }
                Err(_) => tokio::time::sleep(ACCEPT_RETRY_PAUSE).await,
            },
        }
    }
    drop(listener);
    // Every connection task also watches `shutdown`, so this join is short.
    while connections.join_next().await.is_some() {}
}
