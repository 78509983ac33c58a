//! The receiver's settings: where files go, where it listens, and the limits it enforces.
//! Kept apart from the server so the CLI can build one from flags and tests can tighten
//! limits without touching any handler.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Everything [`crate::Receiver::start`] needs. Build it with [`ReceiverConfig::new`] and
/// override the public fields.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Storage folder: finished files land under their relative path inside it, and the
    /// receiver keeps its own state (chunks, plans, done records) in `DIR/.resumable/`.
    pub dir: PathBuf,
    /// Address to listen on. Port 0 picks a free port; read it back with `local_addr()`.
    pub bind: SocketAddr,
    /// Largest chunk body accepted, in bytes; a larger declared chunk gets 413 before its
    /// body is read.
    pub max_chunk_size: u64,
    /// Largest file accepted (`resumableTotalSize`), in bytes; larger gets 413.
    pub max_file_size: u64,
    /// How many unfinished uploads may exist at once; a new one beyond this gets 503 with
    /// `Retry-After`, so a flood of abandoned uploads cannot fill the disk.
    pub max_uploads_in_progress: usize,
    /// An unfinished upload untouched for this long is deleted, and a finished one is
    /// forgotten (its chunks then answer 204 again) after the same time.
    pub incomplete_expiry: Duration,
    /// Answer CORS preflights and add `Access-Control-Allow-Origin: *`, so the browser
    /// libraries (resumable.js, flow.js) served from another origin can talk to us.
    pub cors: bool,
    /// A request's headers must have arrived this long after its first byte could be sent;
    /// a slower client is disconnected.
    pub header_read_timeout: Duration,
    /// Connections served at once; a new one past this is closed at once.
    pub max_connections: usize,
}

/// Default largest chunk: 512 MiB, enough for a client that sends big files whole.
pub const DEFAULT_MAX_CHUNK_SIZE: u64 = 512 * 1024 * 1024;
/// Default cap on unfinished uploads: enough for a folder of ten thousand files in flight.
pub const DEFAULT_MAX_UPLOADS_IN_PROGRESS: usize = 10_000;
/// Default expiry of unfinished uploads and of the memory of finished ones: long enough for a
/// laptop closed overnight to resume, short enough that abandoned uploads do not keep the cap
/// reached for a day.
pub const DEFAULT_INCOMPLETE_EXPIRY: Duration = Duration::from_secs(12 * 60 * 60);
/// Default time for a request's headers to arrive.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on connections served at once (below the usual 1,024 file descriptors).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

impl ReceiverConfig {
    /// Defaults: bind 127.0.0.1 on a free port, 512 MiB chunks, no file size limit,
    /// 10,000 uploads in progress, 12 h expiry, CORS off, 30 s for request headers,
    /// 512 connections at once.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ReceiverConfig {
            dir: dir.into(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            max_file_size: u64::MAX,
            max_uploads_in_progress: DEFAULT_MAX_UPLOADS_IN_PROGRESS,
            incomplete_expiry: DEFAULT_INCOMPLETE_EXPIRY,
            cors: false,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}
