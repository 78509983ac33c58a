//! A real network link, emulated in userspace (this kernel has no netem): a TCP proxy on
//! 127.0.0.1 that holds every byte for a fixed one-way delay in each direction and carries at
//! most `rate` bytes per second each way, one budget shared by all its connections, as an
//! uplink is. In front of that bottleneck sits a bounded queue: once it holds `queue` worth
//! of bytes, the proxy stops reading from the senders, so whatever a client keeps in flight
//! beyond the link's bandwidth × delay waits there (and in the client's own socket buffer)
//! instead of vanishing into an infinite buffer.
//!
//! What it does not emulate: TCP's own slow start over the delay (the sockets on both sides
//! are loopback ones), loss, and jitter.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Bytes read from a sender at a time: small enough that one piece is a short moment on the
/// slowest profile's wire (32 KiB at 50 Mbit/s ≈ 5 ms).
const PIECE: usize = 32 * 1024;

/// One link's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkProfile {
    /// Added to every byte in each direction (the round trip is twice this).
    pub one_way_delay: Duration,
    /// Bytes per second each way, shared by every connection.
    pub rate: u64,
    /// How long the bottleneck's queue may take to drain before senders are held back.
    pub queue: Duration,
}

impl LinkProfile {
    /// A link of `rtt_ms` round trip and `mbit` Mbit/s each way, with a queue of one round
    /// trip (one bandwidth × delay of buffer, the classic router sizing).
    pub fn new(rtt_ms: u64, mbit: u64) -> LinkProfile {
        LinkProfile {
            one_way_delay: Duration::from_millis(rtt_ms) / 2,
            rate: mbit * 1_000_000 / 8,
            queue: Duration::from_millis(rtt_ms.max(10)),
        }
    }

    /// Bytes the link holds in flight: rate × round trip.
    pub fn bdp(&self) -> u64 {
        (self.rate as f64 * 2.0 * self.one_way_delay.as_secs_f64()) as u64
    }
}

/// One direction's bottleneck: when the wire is next free.
struct Wire {
    rate: f64,
    free_at: Mutex<Instant>,
    queue: Duration,
}

impl Wire {
    /// How long the bytes already queued take to leave.
    fn backlog(&self, now: Instant) -> Duration {
        let free = *self.free_at.lock().expect("wire lock");
        free.saturating_duration_since(now)
    }

    /// Puts `n` bytes on the wire; returns when their last byte has left it.
    fn take(&self, n: usize, now: Instant) -> Instant {
        let mut free = self.free_at.lock().expect("wire lock");
        let start = (*free).max(now);
        *free = start + Duration::from_secs_f64(n as f64 / self.rate);
        *free
    }
}

/// What the link carried, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct LinkStats {
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
    pub connections: AtomicUsize,
    open: AtomicUsize,
    pub peak_open: AtomicUsize,
}

/// A running link emulator in front of one upstream server.
pub struct LinkEmulator {
    addr: SocketAddr,
    stats: Arc<LinkStats>,
    task: JoinHandle<()>,
}

impl LinkEmulator {
    /// Listens on 127.0.0.1 (`port` 0 for any) and forwards every connection to `upstream`
    /// through the emulated link.
    pub async fn start(
        upstream: SocketAddr,
        profile: LinkProfile,
        port: u16,
    ) -> std::io::Result<LinkEmulator> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(LinkStats::default());
        let wire = |_| {
            Arc::new(Wire {
                rate: profile.rate.max(1) as f64,
                free_at: Mutex::new(Instant::now()),
                queue: profile.queue,
            })
        };
        let (up, down) = (wire(0), wire(1));
        let delay = profile.one_way_delay;
        let s = stats.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (up, down, s) = (up.clone(), down.clone(), s.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    s.connections.fetch_add(1, Ordering::Relaxed);
                    let open = s.open.fetch_add(1, Ordering::Relaxed) + 1;
                    s.peak_open.fetch_max(open, Ordering::Relaxed);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let a = carry(cr, sw, up, delay, s.clone(), true);
                    let b = carry(sr, cw, down, delay, s.clone(), false);
                    let _ = tokio::join!(a, b);
                    s.open.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        Ok(LinkEmulator { addr, stats, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its host and port replaced by the emulator's.
    pub fn url_for(&self, url: &str) -> String {
        let mut u = url::Url::parse(url).expect("a valid URL");
        u.set_ip_host(self.addr.ip()).expect("an IP host");
        u.set_port(Some(self.addr.port())).expect("a port");
        u.to_string()
    }

    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// The most connections that were open at once.
    pub fn peak_connections(&self) -> usize {
        self.stats.peak_open.load(Ordering::Relaxed)
    }
}

impl Drop for LinkEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One direction of one connection: reads while the wire's queue has room, stamps each
/// piece with the moment it arrives at the far end, and writes it there at that moment.
async fn carry(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    wire: Arc<Wire>,
    delay: Duration,
    stats: Arc<LinkStats>,
    up: bool,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
    let writer = async move {
        while let Some((at, piece)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&piece).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut buf = vec![0u8; PIECE];
        loop {
            // A full queue holds the sender back, as a router's full buffer would.
            loop {
                let over = wire.backlog(Instant::now()).saturating_sub(wire.queue);
                if over.is_zero() {
                    break;
                }
                tokio::time::sleep(over).await;
            }
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let counter = if up {
                &stats.bytes_up
            } else {
                &stats.bytes_down
            };
            counter.fetch_add(n as u64, Ordering::Relaxed);
            let left_wire = wire.take(n, Instant::now());
            if tx
                .send((left_wire + delay, Bytes::copy_from_slice(&buf[..n])))
                .is_err()
            {
                break;
            }
        }
        // Dropping the sender lets the writer pass the end on once the last piece arrived.
    };
    tokio::join!(reader, writer);
}
