//! `twake-upload serve`: runs the strict receiver in the foreground until Ctrl-C.

use anyhow::Context;
use receiver::{Receiver, ReceiverConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

pub struct ServeArgs {
    pub dir: PathBuf,
    pub bind: SocketAddr,
    pub max_chunk_size: u64,
    pub cors: bool,
    pub max_uploads_in_progress: usize,
    pub expire_after: std::time::Duration,
    pub header_timeout: std::time::Duration,
    pub max_connections: usize,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = ReceiverConfig::new(&args.dir);
    config.bind = args.bind;
    config.max_chunk_size = args.max_chunk_size;
    config.cors = args.cors;
    config.max_uploads_in_progress = args.max_uploads_in_progress;
    config.incomplete_expiry = args.expire_after;
    config.header_read_timeout = args.header_timeout;
    config.max_connections = args.max_connections;
    let server = Receiver::start(config)
        .await
        .with_context(|| format!("cannot start the receiver on {}", args.bind))?;
    // Scripts read this first line to find the port: keep it exact and flushed.
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", server.upload_url())?;
    out.flush()?;
    eprintln!(
        "storing files in {}{}; Ctrl-C stops",
        args.dir.display(),
        if args.cors { " (CORS on)" } else { "" }
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}
