//! The durable queue: SQLite (bundled, WAL) holding uploads, the chunks each server
//! acknowledged, the ids targets need to resume, and settings. A dedicated thread is the only
//! writer (see `worker`); the scheduler talks to it through the cheap `Store` handle.
//!
//! What is written when: an upload's row before its first byte is sent; a chunk's mark only
//! after the server's 2xx; so a crash at any moment loses at most the chunks in flight.

pub mod history;
mod lock;
pub mod records;
pub mod schema;
mod worker;

pub use history::{HistoryEntry, HistoryPage, HistoryQuery, HistoryResult};
pub use lock::LockError;
pub use records::{NewUpload, Replan, StoredUpload};

use crate::events::FileState;
use crate::ids::UploadId;
pub mod index_rows;

use index_rows::{IndexEntry, SavedFolder};

/// Distance between neighbours in the saved queue order (`queue/order.rs` keeps it).
pub const ORDER_GAP: i64 = 1024;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;
use worker::Op;

/// Environment variable that overrides the default database path.
pub const DB_ENV: &str = "TWAKE_UPLOADER_DB";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the upload queue {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Migration(#[from] schema::MigrationError),
    #[error("upload queue database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("upload queue record is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the upload queue could not be saved: {0}")]
    Batch(String),
    #[error("the upload queue's writer has stopped")]
    Stopped,
    /// SQLite's own check found damaged pages (a crash of the disk, not of this program).
    #[error("the upload queue is damaged: {0}")]
    Damaged(String),
}

/// Where the queue lives by default: `$TWAKE_UPLOADER_DB`, else the XDG data dir
/// (`~/.local/share/twake-uploader/queue.sqlite3`).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os(DB_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("twake-uploader")
        .join("queue.sqlite3")
}

/// Handle to the store's writer thread. Clones share the thread; it stops when the last
/// handle is dropped, after committing what it was given.
#[derive(Clone)]
pub struct Store {
    ops: mpsc::Sender<Op>,
    path: PathBuf,
}

/// The result of opening: the store, and where a corrupt database was moved, if it was.
pub struct Opened {
    pub store: Store,
    pub moved_aside: Option<PathBuf>,
}

impl Store {
    /// Opens (creating, migrating, locking) the queue at `path`. Blocking: call it from a
    /// blocking thread. A file that is not a readable database is moved aside (never
    /// deleted) and a new queue is started; `Opened::moved_aside` says where it went.
    pub fn open(path: &Path, on_error: Box<dyn Fn(String) + Send>) -> Result<Opened, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let owner = lock::acquire(path)?;
        let (conn, moved_aside) = match open_and_migrate(path) {
            Ok(conn) => (conn, None),
            Err(first) if !is_corruption(&first) => return Err(first),
            Err(first) => {
                let aside = move_aside(path).map_err(|e| StoreError::Open {
                    path: path.to_path_buf(),
                    reason: format!("{first}; moving it aside failed too: {e}"),
                })?;
                tracing::warn!(
                    "the upload queue {} was unreadable ({first}); moved to {}",
                    path.display(),
                    aside.display()
                );
                (open_and_migrate(path)?, Some(aside))
            }
        };
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("queue-store".into())
            .spawn(move || {
                let closing = worker::run(conn, rx, on_error);
                drop(owner);
                if let Some(reply) = closing {
                    let _ = reply.send(());
                }
            })
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the store thread: {e}"),
            })?;
        Ok(Opened {
            store: Store {
                ops: tx,
                path: path.to_path_buf(),
            },
            moved_aside,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, op: Op) {
        // A stopped writer already reported why through `on_error`.
        let _ = self.ops.send(op);
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.ops.send(make(tx)).map_err(|_| StoreError::Stopped)?;
        rx.await.map_err(|_| StoreError::Stopped)?
    }

    /// Records new uploads; resolves once they are committed.
    pub async fn insert(&self, uploads: Vec<NewUpload>) -> Result<Vec<UploadId>, StoreError> {
        self.ask(|r| Op::Insert(uploads, r)).await
    }
    pub fn set_state(&self, id: UploadId, state: &FileState) {
        self.send(Op::SetState(id, state.clone()));
    }
    /// Saves a final state and writes the upload's history line (to `target`, its label),
    /// in the same transaction.
    pub fn finish(&self, id: UploadId, state: &FileState, target: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.send(Op::Finish(id, state.clone(), target.to_string(), now));
    }
    /// The part of the history `query` asks for, newest first.
    pub async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, StoreError> {
        self.ask(|r| Op::History(query, r)).await
    }
    /// Forgets the history (the queue is untouched); returns how many lines went.
    pub async fn clear_history(&self) -> Result<usize, StoreError> {
        self.ask(Op::ClearHistory).await
    }
    /// Notes the share link made for a finished upload in its history line.
    pub fn set_history_link(&self, id: UploadId, link: &str) {
        self.send(Op::SetLink(id, link.to_string()));
    }
    pub fn chunk_done(&self, id: UploadId, number: u32) {
        self.send(Op::ChunkDone(id, number));
    }
    pub fn replan(&self, id: UploadId, replan: Replan) {
        self.send(Op::Replan(id, replan));
    }
    /// The file was renamed or moved: its local path and server path from now on.
    pub fn rename(&self, id: UploadId, path: &Path, relative_path: &str) {
        self.send(Op::Rename(
            id,
            path.to_string_lossy().into_owned(),
            relative_path.to_string(),
        ));
    }
    pub fn set_remote_id(&self, id: UploadId, remote: Option<String>) {
        self.send(Op::SetRemoteId(id, remote));
    }
    /// Saves where uploads stand in the queue's order.
    pub fn set_positions(&self, positions: Vec<(UploadId, i64)>) {
        if !positions.is_empty() {
            self.send(Op::SetPositions(positions));
        }
    }
    pub fn delete(&self, ids: Vec<UploadId>) {
        self.send(Op::Delete(ids));
    }
    /// Forgets done and cancelled uploads; returns how many.
    pub async fn delete_finished(&self) -> Result<usize, StoreError> {
        self.ask(Op::DeleteFinished).await
    }
    pub async fn load_all(&self) -> Result<Vec<StoredUpload>, StoreError> {
        self.ask(Op::LoadAll).await
    }
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.ask(|r| Op::GetSetting(key.to_string(), r)).await
    }
    pub fn set_setting(&self, key: &str, value: &str) {
        self.send(Op::SetSetting(key.to_string(), value.to_string()));
    }
    /// Saves a watched folder (`target` as JSON); answers its id. Saving it again updates
    /// its target and unpauses it, keeping its index.
    pub async fn add_folder(
        &self,
        path: &Path,
        target: &crate::targets::TargetSpec,
    ) -> Result<i64, StoreError> {
        let target = serde_json::to_string(target)?;
        let path = path.to_string_lossy().into_owned();
        self.ask(|r| Op::AddFolder(path, target, r)).await
    }
    /// Forgets a watched folder and its sync index; answers whether it was saved.
    pub async fn remove_folder(&self, path: &Path) -> Result<bool, StoreError> {
        let path = path.to_string_lossy().into_owned();
        self.ask(|r| Op::RemoveFolder(path, r)).await
    }
    pub async fn folders(&self) -> Result<Vec<SavedFolder>, StoreError> {
        self.ask(Op::ListFolders).await
    }
    pub fn set_folder_paused(&self, id: i64, paused: bool) {
        self.send(Op::SetFolderPaused(id, paused));
    }
    /// Records that the folder was up to date at `unix_secs`.
    pub fn set_folder_synced(&self, id: i64, unix_secs: i64) {
        self.send(Op::SetFolderSynced(id, unix_secs));
    }
    pub async fn load_index(&self, folder: i64) -> Result<Vec<IndexEntry>, StoreError> {
        self.ask(|r| Op::LoadIndex(folder, r)).await
    }
    pub fn put_index(&self, folder: i64, entry: IndexEntry) {
        self.send(Op::PutIndex(folder, entry));
    }
    pub fn delete_index(&self, folder: i64, rel_path: &str) {
        self.send(Op::DeleteIndex(folder, rel_path.to_string()));
    }

    /// Commits what was sent, closes the database and releases it for another owner.
    /// Later operations on any handle fail with `Stopped`.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.ops.send(Op::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Resolves once everything sent before is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.ask(Op::Flush).await
    }
}

fn open_and_migrate(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Reading the schema version touches the header: a non-database fails here.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate_to(&mut conn, schema::CURRENT_VERSION)?;
    conn.query_row("SELECT count(*) FROM uploads", [], |r| r.get::<_, i64>(0))?;
    // A damaged page deep inside passes the lines above and would stop the writer later, on
    // every command; SQLite's quick check reads every page once (milliseconds for a queue).
    let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(StoreError::Damaged(verdict));
    }
    Ok(conn)
}

/// Only a file that is not a database (or a damaged one) is moved aside; any other failure
/// (permissions, a full disk) is reported and the file left alone.
fn is_corruption(e: &StoreError) -> bool {
    let sql = match e {
        StoreError::Damaged(_) => return true,
        StoreError::Sql(e) | StoreError::Migration(schema::MigrationError::Sql(e)) => e,
        _ => return false,
    };
    matches!(
        sql.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{stamp}"));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    Ok(aside)
}

/// A read-only connection beside the owner (SQLite's WAL lets it read while another process
/// writes), and whether its schema is the current one; `None` when there is no queue yet.
fn open_beside(path: &Path) -> Result<Option<(Connection, bool)>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let current = schema::version(&conn)? >= schema::CURRENT_VERSION;
    Ok(Some((conn, current)))
}

/// Reads the queue without taking ownership (for `twake-upload status` while another process
/// uploads).
pub fn read_queue(path: &Path) -> Result<Vec<StoredUpload>, StoreError> {
    match open_beside(path)? {
        None => Ok(Vec::new()),
        Some((conn, true)) => worker::load_all(&conn),
        Some((_, false)) => Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: "the queue was written by an older version; run any upload or resume once to update it".into(),
        }),
    }
}

/// Reads the history without taking ownership (for `twake-upload history` while another
/// process uploads). A queue written before the history existed has none yet.
pub fn read_history(path: &Path, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
    match open_beside(path)? {
        Some((conn, true)) => Ok(history::read(&conn, query)?),
        _ => Ok(HistoryPage::default()),
    }
}

/// Reads the watched folders without taking ownership (for `twake-upload watch --list`
/// while another process watches).
pub fn read_watched(path: &Path) -> Result<Vec<SavedFolder>, StoreError> {
    match open_beside(path)? {
        Some((conn, true)) => worker::load_folders(&conn),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests;
