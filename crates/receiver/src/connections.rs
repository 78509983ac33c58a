//! Accepting connections with limits a public server needs and `axum::serve` does not set: the
//! request headers must arrive within a time limit (a client that sends one byte a minute
//! would otherwise hold its connection, and a file descriptor, forever), and at most so many
//! connections are served at once (past that, new ones are closed at once rather than
//! exhausting the process's file descriptors).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The limits of [`serve`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` resolves, then lets open connections finish
/// their requests and returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => break,
        };
        let (tcp, _) = match accepted {
            Ok(a) => a,
            Err(err) => {
                // Out of file descriptors or similar: wait a little instead of spinning.
                tracing::warn!(%err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(
                limit = limits.max_connections,
                "too many connections; closing a new one"
            );
            continue;
        };
        // Small answers must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let mut closing = closing_rx.clone();
        tasks.spawn(async move {
            // HTTP/1.1 only, like every client of this protocol; no HTTP/2 stack to build.
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(err) = result {
                            tracing::debug!(%err, "connection ended with an error");
                        }
                        break;
                    }
                    _ = closing.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(slot);
        });
        // Reap finished connections so the set does not grow with every one ever served.
        while tasks.try_join_next().is_some() {}
    }
    let _ = closing_tx.send(true);
    while tasks.join_next().await.is_some() {}
}
