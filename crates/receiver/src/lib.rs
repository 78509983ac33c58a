//! Strict Resumable.js / Flow.js receiver (docs/receiver.md; its extensions to the protocol
//! in docs/protocol.md): an axum server that takes chunks in either dialect, checks each
//! against the chunk plan and the limits, stores them atomically in a folder and assembles
//! each file exactly once.
//!
//! ```no_run
//! # async fn run() -> Result<(), receiver::ReceiverError> {
//! let receiver = receiver::Receiver::start(receiver::ReceiverConfig::new("/srv/uploads")).await?;
//! println!("listening on {}", receiver.upload_url());
//! receiver.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod config;
mod connections;
mod error;
mod handlers;
mod intake;
mod params;
mod plan;
mod rejection;
mod relpath;
mod server;
mod stats;
mod storage;
mod uploads;

pub use config::{
    ReceiverConfig, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_INCOMPLETE_EXPIRY, DEFAULT_MAX_CHUNK_SIZE,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UPLOADS_IN_PROGRESS,
};
pub use error::ReceiverError;
pub use server::Receiver;
pub use stats::ReceiverStats;
