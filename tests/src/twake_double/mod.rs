//! A Twake Drive API double (docs/protocol.md) for tests: axum on 127.0.0.1:0, chunks stored as
//! separate files in a temp folder. It keeps the real server's strictness and quirks: chunk
//! parameters are read from the query string only, chunk 1 creates the file, an unknown file
//! id is refused, name collisions are silently renamed (`a-2.txt`, trashed items count), the
//! GET listing stops at 1000 children (`browse` pages further), every route but sign-in wants
//! a bearer token, and token lifetimes go down to seconds so renewal is exercised. Emails are
//! stored lower-cased (as sign-up does) and looked up at sign-in exactly as typed. It can be
//! restarted like the real server (`stop`, `start_again`: see `restart.rs`). With
//! `ConsoleMode::Remote` it signs people in with an OpenID provider's token instead (`oidc.rs`).

pub mod conformance;
mod model;
pub mod oidc;
mod public;
pub mod reader;
mod restart;
mod routes;
pub mod visitor;

pub use model::LISTING_CAP;
pub use oidc::ConsoleMode;

/// The ids of the user's companies: UUIDs, as on the real server.
pub const COMPANY_A: &str = "0c0a0a00-0000-1000-8000-00000000000a";
pub const COMPANY_B: &str = "0c0b0b00-0000-1000-8000-00000000000b";

use model::{Model, User};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How the double behaves. Fields can also be changed while it runs (see `TwakeDouble`).
#[derive(Clone, Debug)]
pub struct DoubleConfig {
    pub email: String,
    pub password: String,
    /// The user belongs to two companies instead of one.
    pub two_companies: bool,
    /// Lifetime of access tokens, in seconds.
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
    /// Added to the server's clock, to test skew correction.
    pub clock_offset: i64,
    /// Bytes all stored chunks may take; `None` = unlimited.
    pub quota: Option<u64>,
    /// Who checks sign-ins: the server's own passwords, or an OpenID provider. In remote mode
    /// the double starts with no user: the first sign-in creates `user-1`.
    pub console: ConsoleMode,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        DoubleConfig {
            email: "alice@example.com".into(),
            password: "correct horse battery staple".into(),
            two_companies: false,
            access_lifetime: 3600,
            refresh_lifetime: 30 * 86_400,
            clock_offset: 0,
            quota: None,
            console: ConsoleMode::Internal,
        }
    }
}

/// What the double saw, for assertions.
#[derive(Default, Debug)]
pub struct Counters {
    pub logins: AtomicU64,
    /// Sign-ins with an OpenID provider's token (counted in `logins` too).
    pub oidc_logins: AtomicU64,
    /// Provider tokens refused at sign-in.
    pub refused_oidc_tokens: AtomicU64,
    pub renewals: AtomicU64,
    pub refused_renewals: AtomicU64,
    /// Requests answered 401 (missing, unknown or expired bearer).
    pub unauthorized: AtomicU64,
    /// Chunk POSTs stored.
    pub chunk_posts: AtomicU64,
    /// `POST …/files` without a body: a file created before its chunks.
    pub empty_creates: AtomicU64,
    pub folders_created: AtomicU64,
    pub files_placed: AtomicU64,
    pub versions_added: AtomicU64,
    pub restores: AtomicU64,
    pub file_deletes: AtomicU64,
    pub browse_calls: AtomicU64,
    /// Items renamed or moved (`POST …/item/{id}`).
    pub items_updated: AtomicU64,
    /// Requests refused because the services were still starting after a restart.
    pub warming_refusals: AtomicU64,
}

pub(crate) struct Shared {
    pub model: Mutex<Model>,
    pub config: Mutex<DoubleConfig>,
    pub counters: Counters,
    pub dir: PathBuf,
    /// Refuse every renewal (401), as when the refresh token was revoked.
    pub refuse_renewal: AtomicBool,
    /// Until when the services are still starting after a restart.
    pub warming_until: Mutex<Option<Instant>>,
}

impl Shared {
    pub fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn config(&self) -> DoubleConfig {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// True while the services are still starting after a restart.
    pub fn warming(&self) -> bool {
        let until = *self.warming_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }
    pub fn chunk_path(&self, file_id: &str, number: u32) -> PathBuf {
        self.dir.join(format!("{file_id}.{number}"))
    }
    pub fn now(&self) -> i64 {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        secs + self.config().clock_offset
    }
}

pub struct TwakeDouble {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    /// Cancelled when the double stops: every open connection is cut.
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

/// Serves the double's routes on `listener` until `stop` is cancelled.
fn serve(
    shared: &Arc<Shared>,
    listener: tokio::net::TcpListener,
) -> (JoinHandle<()>, CancellationToken) {
    let stop = CancellationToken::new();
    let cut = restart::CutListener {
        inner: listener,
        stop: stop.clone(),
    };
    let app = routes::router(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(cut, app).await;
    });
    (task, stop)
}

impl TwakeDouble {
    pub async fn start() -> TwakeDouble {
        Self::start_with(DoubleConfig::default()).await
    }

    pub async fn start_with(config: DoubleConfig) -> TwakeDouble {
        let dir = tempfile::tempdir().expect("temp dir for the Twake double");
        let mut companies = vec![(COMPANY_A.to_string(), "Acme".to_string())];
        if config.two_companies {
            companies.push((COMPANY_B.to_string(), "Beta Corp".to_string()));
        }
        let users = match config.console {
            ConsoleMode::Internal => vec![User {
                id: "user-1".into(),
                email: config.email.to_lowercase(),
                password: config.password.clone(),
                companies,
            }],
            ConsoleMode::Remote { .. } => Vec::new(),
        };
        let model = Model {
            users,
            ..Model::default()
        };
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            config: Mutex::new(config),
            counters: Counters::default(),
            dir: dir.path().to_path_buf(),
            refuse_renewal: AtomicBool::new(false),
            warming_until: Mutex::new(None),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Twake double");
        let addr = listener.local_addr().expect("double address");
        let (task, stop) = serve(&shared, listener);
        TwakeDouble {
            shared,
            addr,
            task,
            stop,
            _dir: dir,
        }
    }

    /// Stops the server as a restart does: the port is closed and every connection is cut.
    /// What it stored (files, items, tokens) stays, as in the real server's database.
    pub fn stop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }

    /// Opens the port again on the same address; for `warm_up` the services are still
    /// starting (401 to authenticated routes and renewals, 500 to sign-in), as tdrive's
    /// ~250 ms after a restart.
    pub async fn start_again(&mut self, warm_up: Duration) {
        *self
            .shared
            .warming_until
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + warm_up);
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot bind the Twake double again on {}: {e}", self.addr),
            }
        };
        (self.task, self.stop) = serve(&self.shared, listener);
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> DoubleConfig {
        self.shared.config()
    }

    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    pub fn count(&self, pick: impl Fn(&Counters) -> &AtomicU64) -> u64 {
        pick(&self.shared.counters).load(Ordering::Relaxed)
    }

    pub fn user_id(&self) -> String {
        "user-1".into()
    }

    pub fn company_id(&self) -> String {
        match self.config().console {
            ConsoleMode::Internal => COMPANY_A.into(),
            ConsoleMode::Remote { .. } => oidc::REMOTE_COMPANY.0.into(),
        }
    }

    /// Emails of the users the server knows (remote mode creates them at sign-in).
    pub fn user_emails(&self) -> Vec<String> {
        self.shared
            .model()
            .users
            .iter()
            .map(|u| u.email.clone())
            .collect()
    }

    /// Sets the quota (bytes of all stored chunks) while running.
    pub fn set_quota(&self, quota: Option<u64>) {
        if let Ok(mut c) = self.shared.config.lock() {
            c.quota = quota;
        }
    }

    pub fn set_access_lifetime(&self, secs: i64) {
        if let Ok(mut c) = self.shared.config.lock() {
            c.access_lifetime = secs;
        }
    }

    pub fn refuse_renewals(&self, refuse: bool) {
        self.shared.refuse_renewal.store(refuse, Ordering::Relaxed);
    }

    /// Gives the user only this access to a folder ("read" makes it read-only).
    pub fn set_access(&self, folder_id: &str, access: &str) {
        self.shared
            .model()
            .access
            .insert(folder_id.to_string(), access.to_string());
    }

    /// Every token value the double handed out (to grep logs for them).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.model().tokens.keys().cloned().collect()
    }

    /// Drive items as (path from My Drive, is_directory, is_in_trash), sorted.
    pub fn tree(&self) -> Vec<(String, bool, bool)> {
        let model = self.shared.model();
        let root = format!("user_{}", self.user_id());
        let mut out = Vec::new();
        let mut stack = vec![(root, String::new(), false)];
        while let Some((id, prefix, trashed)) = stack.pop() {
            for child in model.all_children(&id) {
                let path = format!("{prefix}/{}", child.name);
                let t = trashed || child.is_in_trash;
                out.push((path.clone(), child.is_directory, t));
                if child.is_directory {
                    stack.push((child.id.clone(), path, t));
                }
            }
        }
        out.sort();
        out
    }

    /// Versions (file ids) of the visible Drive file at `path` ("/a/b.txt").
    pub fn versions(&self, path: &str) -> Option<usize> {
        let model = self.shared.model();
        let mut id = format!("user_{}", self.user_id());
        let names: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for name in names {
            id = model
                .visible_children(&id)
                .into_iter()
                .find(|c| c.name == name)?
                .id
                .clone();
        }
        model.items.get(&id).map(|i| i.versions.len())
    }

    /// Files of the files service, placed in the Drive or not.
    pub fn stored_files(&self) -> usize {
        self.shared.model().files.len()
    }

    /// Uploaded files no Drive item points at.
    pub fn orphan_files(&self) -> usize {
        let model = self.shared.model();
        model
            .files
            .keys()
            .filter(|f| model.items_of_file(f) == 0)
            .count()
    }

    /// Creates `count` empty files in a folder of My Drive (by path), for paging tests.
    pub fn fill_folder(&self, folder_path: &str, count: usize) -> String {
        let mut model = self.shared.model();
        let mut parent = format!("user_{}", self.user_id());
        for name in folder_path.split('/').filter(|s| !s.is_empty()) {
            let existing = model
                .visible_children(&parent)
                .into_iter()
                .find(|c| c.name == name)
                .map(|c| c.id.clone());
            parent = match existing {
                Some(id) => id,
                None => routes::insert_item(&mut model, &parent, name, true, false, None, 0).id,
            };
        }
        for i in 0..count {
            routes::insert_item(
                &mut model,
                &parent,
                &format!("filler-{i:05}.txt"),
                false,
                false,
                None,
                0,
            );
        }
        parent
    }

    /// Where a chunk is kept on disk (to prove chunks are stored separately).
    pub fn chunk_file(&self, file_id: &str, number: u32) -> PathBuf {
        self.shared.chunk_path(file_id, number)
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for TwakeDouble {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}
