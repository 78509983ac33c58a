//! A cozy-stack double (the Twake Drive of Twake Workplace) for tests, written from
//! cozy-stack's docs (docs/files.md, docs/auth.md): axum on 127.0.0.1:0, file contents on disk
//! in a temp folder, the tree, the OAuth clients and the tokens in memory. Files are sent in
//! one request each, MD5 and length checked; folders and files have ids and revisions; the
//! stack's OAuth server registers clients, shows an authorize page a browser can submit and
//! hands out codes and tokens that expire (lifetimes settable down to milliseconds).
//!
//! Misbehaviour of real deployments it imitates: a reverse proxy's 413 with an nginx HTML
//! page for bodies over its cap (`proxy_body_limit`), 400 `invalid_grant` (not 401) for a
//! revoked refresh token, sizes written as strings in the JSON:API documents, the trash
//! folder listed among the root's children, and listings cut into pages of 30.

pub mod approver;
mod auth;
pub mod conformance;
mod files;
mod model;

pub use model::{ROOT_ID, TRASH_ID};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use model::Model;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How the double behaves; changed while it runs through `CozyDouble`'s setters.
#[derive(Clone, Debug)]
pub struct CozyConfig {
    /// What the authorize page wants typed before "Accept".
    pub passphrase: String,
    pub access_lifetime: Duration,
    pub code_lifetime: Duration,
    /// Bytes all files may take; `None` = unlimited.
    pub quota: Option<u64>,
    /// The largest file the storage takes (5 GiB on Swift-backed stacks).
    pub max_file_size: u64,
    /// A reverse proxy's body cap in front of the stack, answered with nginx's HTML 413.
    pub proxy_body_limit: Option<u64>,
}

impl Default for CozyConfig {
    fn default() -> Self {
        CozyConfig {
            passphrase: "cozy passphrase".into(),
            access_lifetime: Duration::from_secs(3600),
            code_lifetime: Duration::from_secs(600),
            quota: None,
            max_file_size: 5 * 1024 * 1024 * 1024,
            proxy_body_limit: None,
        }
    }
}

/// What the double saw, for assertions.
#[derive(Default, Debug)]
pub struct Counters {
    pub registrations: AtomicU64,
    pub unregistrations: AtomicU64,
    pub approvals: AtomicU64,
    pub refreshes: AtomicU64,
    pub refused_refreshes: AtomicU64,
    pub unauthorized: AtomicU64,
    /// File bodies stored (new files and new versions).
    pub files_stored: AtomicU64,
    pub folders_created: AtomicU64,
    pub md5_mismatches: AtomicU64,
    pub quota_refusals: AtomicU64,
    pub stale_revisions: AtomicU64,
    pub proxy_refusals: AtomicU64,
    pub listings: AtomicU64,
}

pub(crate) struct Shared {
    model: Mutex<Model>,
    config: Mutex<CozyConfig>,
    pub counters: Counters,
    dir: PathBuf,
    /// Refuse every refresh grant, as when the client was revoked from the stack's settings.
    pub refuse_refresh: AtomicBool,
    /// The next N file bodies arrive damaged (a byte changed on the way): their MD5 differs.
    pub damage_next: AtomicU64,
    /// Before each of the next N `PUT`s is checked, another device writes a new revision.
    pub race_next_put: AtomicU64,
}

impl Shared {
    pub fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn config(&self) -> CozyConfig {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub fn blob(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }
}

/// A JSON:API error document, the shape of the stack's `/files` errors.
pub(crate) fn jsonapi_error(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({ "errors": [{
        "status": status.as_u16().to_string(),
        "title": title,
        "detail": detail,
    }]});
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/vnd.api+json")],
        Json(body),
    )
        .into_response()
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/files/", post(files::create_in_root))
        .route("/files/metadata", get(files::metadata))
        .route("/files/download/{id}", get(files::download))
        .route(
            "/files/{id}",
            post(files::create).put(files::replace).get(files::get_node),
        )
        .route("/auth/register", post(auth::register))
        .route("/auth/register/{id}", delete(auth::unregister))
        .route(
            "/auth/authorize",
            get(auth::authorize_page).post(auth::authorize),
        )
        .route("/auth/access_token", post(auth::access_token))
        .route(
            "/version",
            get(|| async { Json(json!({"version": "1.6.0-double"})) }),
        )
        // The stack's health check, open to anyone: what tells a cozy-stack from a tdrive
        // server when the person types only an address.
        .route(
            "/status",
            get(|| async {
                Json(json!({
                    "cache": "healthy", "couchdb": "healthy", "fs": "healthy",
                    "status": "OK", "message": "OK",
                }))
            }),
        )
        .fallback(|| async { jsonapi_error(StatusCode::NOT_FOUND, "Not Found", "No such route") })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(shared)
}

pub struct CozyDouble {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl CozyDouble {
    pub async fn start() -> CozyDouble {
        CozyDouble::start_with(CozyConfig::default()).await
    }

    pub async fn start_with(config: CozyConfig) -> CozyDouble {
        let dir = tempfile::tempdir().expect("temp dir for the cozy double");
        let shared = Arc::new(Shared {
            model: Mutex::new(Model::new()),
            config: Mutex::new(config),
            counters: Counters::default(),
            dir: dir.path().to_path_buf(),
            refuse_refresh: AtomicBool::new(false),
            damage_next: AtomicU64::new(0),
            race_next_put: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the cozy double");
        let addr = listener.local_addr().expect("double address");
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CozyDouble {
            shared,
            addr,
            task,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> CozyConfig {
        self.shared.config()
    }

    pub fn configure(&self, change: impl FnOnce(&mut CozyConfig)) {
        let mut config = self.shared.config.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut config);
    }

    pub fn count(&self, pick: impl Fn(&Counters) -> &AtomicU64) -> u64 {
        pick(&self.shared.counters).load(Ordering::Relaxed)
    }

    pub fn refuse_refresh(&self, refuse: bool) {
        self.shared.refuse_refresh.store(refuse, Ordering::Relaxed);
    }

    /// Damages the next `n` file bodies on their way (the stack then sees another MD5).
    pub fn damage_next_bodies(&self, n: u64) {
        self.shared.damage_next.store(n, Ordering::Relaxed);
    }

    /// Makes another device write each of the next `n` files being replaced just before
    /// the upload's `If-Match` is checked.
    pub fn race_next_puts(&self, n: u64) {
        self.shared.race_next_put.store(n, Ordering::Relaxed);
    }

    /// Deletes the node at `path` and everything under it, as another device would.
    pub fn remove(&self, path: &str) {
        let mut model = self.shared.model();
        let Some(top) = model.by_path(path).map(|n| n.id.clone()) else {
            return;
        };
        let mut gone = vec![top];
        let mut i = 0;
        while i < gone.len() {
            let id = gone[i].clone();
            gone.extend(model.children(&id).iter().map(|n| n.id.clone()));
            i += 1;
        }
        for id in gone {
            model.nodes.remove(&id);
        }
    }

    /// Expires every access token now, as a day passing would.
    pub fn expire_access_tokens(&self) {
        let now = std::time::Instant::now();
        for t in self.shared.model().tokens.values_mut() {
            if t.kind == model::TokenKind::Access {
                t.expires = Some(now);
            }
        }
    }

    /// Registers a client and hands it tokens directly, skipping the browser: for tests of
    /// the files API. Returns (client id, client secret, access token, refresh token).
    pub fn issue_client(&self, redirect_uri: &str) -> (String, String, String, String) {
        let life = self.config().access_lifetime;
        let mut model = self.shared.model();
        let client = model::Client {
            id: model::random_hex(16),
            secret: model::random_hex(24),
            registration_token: model::random_hex(24),
            redirect_uris: vec![redirect_uri.to_string()],
            name: "test client".into(),
            kind: "desktop".into(),
        };
        let (id, secret) = (client.id.clone(), client.secret.clone());
        model.clients.insert(id.clone(), client);
        let access = model.new_token(&id, model::TokenKind::Access, "io.cozy.files", Some(life));
        let refresh = model.new_token(&id, model::TokenKind::Refresh, "io.cozy.files", None);
        (id, secret, access, refresh)
    }

    /// Registered clients (ids).
    pub fn clients(&self) -> Vec<String> {
        self.shared.model().clients.keys().cloned().collect()
    }

    /// Every token value handed out (to grep logs and files for them).
    pub fn issued_secrets(&self) -> Vec<String> {
        let model = self.shared.model();
        let mut out: Vec<String> = model.tokens.keys().cloned().collect();
        for c in model.clients.values() {
            out.push(c.secret.clone());
            out.push(c.registration_token.clone());
        }
        out
    }

    /// The tree under the root as (path, is_dir), sorted, the trash left out.
    pub fn tree(&self) -> Vec<(String, bool)> {
        let model = self.shared.model();
        let mut out: Vec<(String, bool)> = model
            .nodes
            .values()
            .filter(|n| n.id != ROOT_ID && n.id != TRASH_ID)
            .map(|n| (model.path_of(&n.id), n.is_dir))
            .collect();
        out.sort();
        out
    }

    /// sha256 of the file at `path` ("/a/b.txt"), read from its blob.
    pub fn sha256_of(&self, path: &str) -> Option<String> {
        let id = {
            let model = self.shared.model();
            let node = model.by_path(path).filter(|n| !n.is_dir)?;
            node.id.clone()
        };
        let bytes = std::fs::read(self.shared.blob(&id)).ok()?;
        Some(hex::encode(Sha256::digest(&bytes)))
    }

    /// How many versions of the content the file at `path` had.
    pub fn versions(&self, path: &str) -> Option<u32> {
        self.shared.model().by_path(path).map(|n| n.versions)
    }

    /// (created_at, updated_at) of the node at `path`.
    pub fn dates(&self, path: &str) -> Option<(String, String)> {
        self.shared
            .model()
            .by_path(path)
            .map(|n| (n.created_at.clone(), n.updated_at.clone()))
    }

    /// The mime type the file at `path` was stored with.
    pub fn mime(&self, path: &str) -> Option<String> {
        self.shared.model().by_path(path).map(|n| n.mime.clone())
    }

    /// Makes a folder by path (parents too), as another device would; returns its id.
    pub fn make_folder(&self, path: &str) -> String {
        let mut model = self.shared.model();
        let mut at = ROOT_ID.to_string();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let existing = model.child(&at, name).map(|n| n.id.clone());
            at = match existing {
                Some(id) => id,
                None => {
                    let now = model::now_rfc3339();
                    let node = model::Node {
                        id: model::random_hex(16),
                        rev: format!("1-{}", model::random_hex(16)),
                        name: name.to_string(),
                        dir_id: at.clone(),
                        is_dir: true,
                        size: 0,
                        md5: String::new(),
                        mime: String::new(),
                        created_at: now.clone(),
                        updated_at: now,
                        versions: 1,
                    };
                    let id = node.id.clone();
                    model.nodes.insert(id.clone(), node);
                    id
                }
            };
        }
        at
    }

    /// Puts a file at `path` as another device would (its folder must exist).
    pub fn put_file(&self, path: &str, bytes: &[u8]) {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let dir_id = self.make_folder(dir);
        let id = model::random_hex(16);
        std::fs::write(self.shared.blob(&id), bytes).expect("write a blob");
        let now = model::now_rfc3339();
        let node = model::Node {
            id: id.clone(),
            rev: format!("1-{}", model::random_hex(16)),
            name: name.to_string(),
            dir_id,
            is_dir: false,
            size: bytes.len() as u64,
            md5: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                md5::Md5::digest(bytes),
            ),
            mime: "application/octet-stream".into(),
            created_at: now.clone(),
            updated_at: now,
            versions: 1,
        };
        self.shared.model().nodes.insert(id, node);
    }

    /// Fills a folder with `count` small files, for paging tests; returns its id.
    pub fn fill_folder(&self, path: &str, count: usize) -> String {
        for i in 0..count {
            self.put_file(&format!("{path}/filler-{i:04}.txt"), b"x");
        }
        self.make_folder(path)
    }
}

impl Drop for CozyDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}
