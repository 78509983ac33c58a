//! The running receiver: binding, the background server and expiry tasks, and the handle
//! that reports the address and counters and stops it all. Shutdown is an explicit call
//! (or dropping the handle), never a global.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ReceiverConfig;
use crate::connections::{self, ConnectionLimits};
use crate::error::ReceiverError;
use crate::handlers;
use crate::intake;
use crate::stats::{Counters, ReceiverStats};
use crate::storage::Storage;
use crate::uploads::Registry;

/// How long `shutdown` lets in-flight requests finish before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub config: ReceiverConfig,
    pub storage: Arc<Storage>,
    pub registry: Registry,
    pub counters: Counters,
}

/// A receiver serving in the background. Dropping it stops serving too, without waiting.
#[derive(Debug)]
pub struct Receiver {
    local_addr: SocketAddr,
    app: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    sweeper: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Creates the storage folder, reads back unfinished uploads left by a previous run,
    /// binds, and starts serving in a background tokio task.
    pub async fn start(config: ReceiverConfig) -> Result<Receiver, ReceiverError> {
        tokio::fs::create_dir_all(&config.dir)
            .await
            .map_err(|source| ReceiverError::CreateDir {
                path: config.dir.clone(),
                source,
            })?;
        let storage = Arc::new(Storage::new(config.dir.clone()));
        let state_dir = storage.state_dir().to_path_buf();
        let opening = Arc::clone(&storage);
        let loaded = tokio::task::spawn_blocking(move || opening.open())
            .await
            .map_err(std::io::Error::other)
            .and_then(|result| result)
            .map_err(|source| ReceiverError::LoadState {
                path: state_dir,
                source,
            })?;

        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| ReceiverError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ReceiverError::Bind {
                addr: config.bind,
                source,
            })?;

        let registry = Registry::new(
            Arc::clone(&storage),
            loaded,
            config.max_uploads_in_progress,
            config.incomplete_expiry,
        );
        let app = Arc::new(AppState {
            config,
            storage,
            registry,
            counters: Counters::default(),
        });
        intake::recover_complete_uploads(&app).await;

        let (stop, stopped) = oneshot::channel::<()>();
        let router = handlers::routes(Arc::clone(&app));
        let limits = ConnectionLimits {
            header_read_timeout: app.config.header_read_timeout,
            max_connections: app.config.max_connections.max(1),
        };
        let server = tokio::spawn(connections::serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        let sweeper = tokio::spawn(sweep_expired(Arc::clone(&app)));
        tracing::info!(addr = %local_addr, dir = %app.config.dir.display(), "receiver listening");
        Ok(Receiver {
            local_addr,
            app,
            stop: Some(stop),
            server: Some(server),
            sweeper: Some(sweeper),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients send chunks to, e.g. `http://127.0.0.1:PORT/upload`. A wildcard
    /// bind address is reported as loopback, which is reachable from this machine.
    pub fn upload_url(&self) -> String {
        let mut addr = self.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}/upload")
    }

    /// A snapshot of the counters (same as `GET /upload/stats`).
    pub fn stats(&self) -> ReceiverStats {
        self.app.counters.snapshot()
    }

    /// Stops accepting connections, lets in-flight requests finish (up to 10 s), and stops
    /// the expiry sweep.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(sweeper) = self.sweeper.take() {
            sweeper.abort();
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
            {
                tracing::warn!("requests still running after the grace period; cutting them off");
                server.abort();
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(sweeper) = self.sweeper.take() {
            sweeper.abort();
        }
    }
}

/// Every so often, forgets expired uploads and deletes their folders. The period follows
/// the expiry (a quarter of it, between 50 ms and a minute) so short expiries in tests
/// act promptly while the default costs one scan a minute.
async fn sweep_expired(app: Arc<AppState>) {
    let period = (app.config.incomplete_expiry / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(60));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let app = Arc::clone(&app);
        let swept = tokio::task::spawn_blocking(move || {
            for folder in app.registry.sweep(SystemTime::now()) {
                if let Err(err) = std::fs::remove_dir_all(&folder) {
                    tracing::warn!(folder = %folder.display(), %err, "cannot delete an expired upload");
                }
            }
        })
        .await;
        if let Err(err) = swept {
            tracing::warn!(%err, "expiry sweep failed");
        }
    }
}
