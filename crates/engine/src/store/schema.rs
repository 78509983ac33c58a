//! The queue database's schema and its migrations. `PRAGMA user_version` holds the schema
//! version; each migration moves it up by one inside a transaction, so a database from any
//! earlier version (or none) is brought up to date on open.

use rusqlite::Connection;

/// The migrations, in order; migration `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: uploads and the chunks the server acknowledged.
    "CREATE TABLE uploads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL,
        relative_path TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns TEXT NOT NULL,
        identifier TEXT NOT NULL,
        generation INTEGER NOT NULL,
        chunk_size INTEGER NOT NULL,
        chunk_rule TEXT NOT NULL,
        target TEXT NOT NULL,
        settings TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE TABLE chunks_done (
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        PRIMARY KEY (upload_id, number)
     ) WITHOUT ROWID;",
    // 2: what a target needs to resume (a server file id), the quick content check, and
    // settings.
    "ALTER TABLE uploads ADD COLUMN remote_id TEXT;
     ALTER TABLE uploads ADD COLUMN quick_hash TEXT NOT NULL DEFAULT '';
     CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 3: watched folders and their sync index (what each watched file was when it was last
    // uploaded, and where it went).
    "CREATE TABLE watched_folders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        target TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        last_sync INTEGER
     );
     CREATE TABLE sync_index (
        folder_id INTEGER NOT NULL REFERENCES watched_folders(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        remote_path TEXT NOT NULL,
        PRIMARY KEY (folder_id, rel_path)
     ) WITHOUT ROWID;",
    // 4: the queue's order, which the person may change ("upload next", dragging a row).
    // Positions are sparse (1024 apart) so a move rewrites one row; existing uploads keep
    // the order they were added in. The index keeps "after the last one" (MAX) cheap when
    // 10,000 files are queued at once.
    "ALTER TABLE uploads ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
     UPDATE uploads SET position = id * 1024;
     CREATE INDEX uploads_by_position ON uploads (position);",
    // 5: the history, apart from the queue so that clearing finished uploads keeps it. One
    // row per upload (its latest outcome); `link` is filled when a share link is made.
    "CREATE TABLE history (
        upload_id INTEGER PRIMARY KEY,
        relative_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        target TEXT NOT NULL,
        finished_at INTEGER NOT NULL,
        result TEXT NOT NULL,
        failure_kind TEXT,
        reason TEXT,
        link TEXT
     );
     CREATE INDEX history_by_time ON history (finished_at);",
];

/// The version this code writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the schema to `target` (at most `CURRENT_VERSION`). Refuses a database written by
/// a newer version of the app rather than guessing at its meaning.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), MigrationError> {
    let mut v = version(conn)?;
    if v > CURRENT_VERSION {
        return Err(MigrationError::TooNew {
            found: v,
            known: CURRENT_VERSION,
        });
    }
    while v < target.min(CURRENT_VERSION) {
        let tx = conn.transaction()?;
        tx.execute_batch(MIGRATIONS[v as usize])?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
        v += 1;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the queue database has schema version {found}, newer than this program knows ({known}); update Twake Uploader")]
    TooNew { found: i64, known: i64 },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}
