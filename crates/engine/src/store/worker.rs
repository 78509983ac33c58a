//! The store's own thread: the only code that touches the database. Operations arrive on a
//! channel and are applied in batches, one transaction per batch, so 10,000 chunk marks cost
//! a few commits rather than 10,000, and SQLite never blocks an async executor thread.

use super::index_rows::{IndexEntry, SavedFolder};
use super::records::{
    mtime_to_nanos, nanos_to_mtime, rule_from, rule_name, NewUpload, Replan, StoredUpload,
};
use super::StoreError;
use crate::events::FileState;
use crate::ids::UploadId;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::sync::mpsc::Receiver;
use tokio::sync::oneshot;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A reply held back until its batch is committed; told the commit's error, if any.
type PendingAnswer = Box<dyn FnOnce(Option<&StoreError>)>;

pub enum Op {
    Insert(Vec<NewUpload>, Reply<Vec<UploadId>>),
    SetState(UploadId, FileState),
    /// A final state, with the target's label and the wall-clock time for the history.
    Finish(UploadId, FileState, String, i64),
    History(
        super::history::HistoryQuery,
        Reply<super::history::HistoryPage>,
    ),
    /// Forgets the whole history; answers how many lines went.
    ClearHistory(Reply<usize>),
    SetLink(UploadId, String),
    ChunkDone(UploadId, u32),
    Replan(UploadId, Replan),
    SetRemoteId(UploadId, Option<String>),
    /// New local path and server path of an upload.
    Rename(UploadId, String, String),
    SetPositions(Vec<(UploadId, i64)>),
    Delete(Vec<UploadId>),
    /// Removes done and cancelled uploads; answers how many.
    DeleteFinished(Reply<usize>),
    LoadAll(Reply<Vec<StoredUpload>>),
    GetSetting(String, Reply<Option<String>>),
    SetSetting(String, String),
    Flush(Reply<()>),
    /// Saves a watched folder (or updates its target and unpauses it); answers its id.
    AddFolder(String, String, Reply<i64>),
    /// Forgets a watched folder and its index; answers whether it was there.
    RemoveFolder(String, Reply<bool>),
    ListFolders(Reply<Vec<SavedFolder>>),
    SetFolderPaused(i64, bool),
    SetFolderSynced(i64, i64),
    LoadIndex(i64, Reply<Vec<IndexEntry>>),
    PutIndex(i64, IndexEntry),
    DeleteIndex(i64, String),
    /// Commits, closes the database and releases the owner lock; answered after that.
    Close(oneshot::Sender<()>),
}

/// Largest batch per transaction, so a flood of marks still commits regularly.
const MAX_BATCH: usize = 4096;

/// Applies operations until every handle is gone or one asks to close; returns the close
/// request's reply, to be sent once the database and its lock are released.
pub fn run(
    mut conn: Connection,
    ops: Receiver<Op>,
    on_error: Box<dyn Fn(String) + Send>,
) -> Option<oneshot::Sender<()>> {
    let mut closing = None;
    while closing.is_none() {
        let Ok(first) = ops.recv() else {
            break;
        };
        let mut batch = Vec::new();
        match first {
            Op::Close(reply) => closing = Some(reply),
            op => batch.push(op),
        }
        while closing.is_none() && batch.len() < MAX_BATCH {
            match ops.try_recv() {
                Ok(Op::Close(reply)) => closing = Some(reply),
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut answers: Vec<PendingAnswer> = Vec::new();
        let outcome = (|| -> Result<(), StoreError> {
            let tx = conn.transaction()?;
            for op in batch {
                apply(&tx, op, &mut answers)?;
            }
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = &outcome {
            // A damage found while running cannot be repaired under the running queue: the
            // uploads go on from memory, and the next start moves the file aside (its quick
            // check finds the damage) and starts clean.
            let damaged = super::is_corruption(e);
            on_error(if damaged {
                format!(
                    "the upload queue's database is damaged ({e}): uploads go on, but what \
                     they do now is not saved; the next start moves the damaged file aside \
                     and starts a new queue"
                )
            } else {
                format!("the upload queue could not be saved: {e}")
            });
        }
        for answer in answers {
            answer(outcome.as_ref().err());
        }
    }
    closing
}

/// Queues the reply to send once the batch is committed (or failed).
fn later<T: Send + 'static>(answers: &mut Vec<PendingAnswer>, reply: Reply<T>, value: T) {
    answers.push(Box::new(move |err| {
        let _ = reply.send(match err {
            None => Ok(value),
            Some(e) => Err(StoreError::Batch(e.to_string())),
        });
    }));
}

fn apply(tx: &Transaction<'_>, op: Op, answers: &mut Vec<PendingAnswer>) -> Result<(), StoreError> {
    match op {
        Op::Insert(uploads, reply) => {
            let mut ids = Vec::with_capacity(uploads.len());
            let mut stmt = tx.prepare_cached(
                "INSERT INTO uploads (path, relative_path, mime_type, size, mtime_ns, identifier,
                   generation, chunk_size, chunk_rule, target, settings, state, created_at,
                   quick_hash, position)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, strftime('%s','now'), ?12,
                   (SELECT COALESCE(MAX(position), 0) + ?13 FROM uploads))",
            )?;
            let queued = serde_json::to_string(&FileState::Queued)?;
            for u in uploads {
                stmt.execute(params![
                    u.path.to_string_lossy(),
                    u.relative_path,
                    u.mime_type,
                    u.size as i64,
                    mtime_to_nanos(u.mtime).to_string(),
                    u.identifier,
                    u.chunk_size as i64,
                    rule_name(u.chunk_rule),
                    serde_json::to_string(&u.target)?,
                    serde_json::to_string(&u.settings)?,
                    queued,
                    u.quick_hash,
                    super::ORDER_GAP,
                ])?;
                ids.push(UploadId(tx.last_insert_rowid() as u64));
            }
            later(answers, reply, ids);
        }
        Op::SetState(id, state) => {
            tx.prepare_cached("UPDATE uploads SET state = ?2 WHERE id = ?1")?
                .execute(params![id.0 as i64, serde_json::to_string(&state)?])?;
        }
        Op::Finish(id, state, target, now) => {
            tx.prepare_cached("UPDATE uploads SET state = ?2 WHERE id = ?1")?
                .execute(params![id.0 as i64, serde_json::to_string(&state)?])?;
            super::history::record(tx, id, &state, &target, now)?;
        }
        Op::History(query, reply) => {
            let page = super::history::read(tx, &query)?;
            later(answers, reply, page);
        }
        Op::ClearHistory(reply) => {
            let n = tx.execute("DELETE FROM history", [])?;
            later(answers, reply, n);
        }
        Op::SetLink(id, link) => {
            tx.prepare_cached("UPDATE history SET link = ?2 WHERE upload_id = ?1")?
                .execute(params![id.0 as i64, link])?;
        }
        Op::ChunkDone(id, n) => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO chunks_done (upload_id, number) VALUES (?1, ?2)",
            )?
            .execute(params![id.0 as i64, n])?;
        }
        Op::Replan(id, r) => {
            tx.prepare_cached(
                "UPDATE uploads SET size = ?2, mtime_ns = ?3, quick_hash = ?4, identifier = ?5,
                   generation = ?6, chunk_size = ?7, remote_id = NULL WHERE id = ?1",
            )?
            .execute(params![
                id.0 as i64,
                r.size as i64,
                mtime_to_nanos(r.mtime).to_string(),
                r.quick_hash,
                r.identifier,
                r.generation,
                r.chunk_size as i64
            ])?;
            tx.prepare_cached("DELETE FROM chunks_done WHERE upload_id = ?1")?
                .execute(params![id.0 as i64])?;
        }
        Op::Rename(id, path, relative_path) => {
            tx.prepare_cached("UPDATE uploads SET path = ?2, relative_path = ?3 WHERE id = ?1")?
                .execute(params![id.0 as i64, path, relative_path])?;
        }
        Op::SetRemoteId(id, remote) => {
            tx.prepare_cached("UPDATE uploads SET remote_id = ?2 WHERE id = ?1")?
                .execute(params![id.0 as i64, remote])?;
        }
        Op::SetPositions(positions) => {
            let mut stmt = tx.prepare_cached("UPDATE uploads SET position = ?2 WHERE id = ?1")?;
            for (id, position) in positions {
                stmt.execute(params![id.0 as i64, position])?;
            }
        }
        Op::Delete(ids) => {
            let mut chunks = tx.prepare_cached("DELETE FROM chunks_done WHERE upload_id = ?1")?;
            let mut rows = tx.prepare_cached("DELETE FROM uploads WHERE id = ?1")?;
            for id in ids {
                chunks.execute(params![id.0 as i64])?;
                rows.execute(params![id.0 as i64])?;
            }
        }
        Op::DeleteFinished(reply) => {
            // A skipped upload's state carries its reason: matched by its tag.
            const SKIPPED_LIKE: &str = r#"{"state":"skipped"%"#;
            let finished = [
                serde_json::to_string(&FileState::Done)?,
                serde_json::to_string(&FileState::Cancelled)?,
            ];
            tx.execute(
                "DELETE FROM chunks_done WHERE upload_id IN (SELECT id FROM uploads WHERE state IN (?1, ?2) OR state LIKE ?3)",
                params![finished[0], finished[1], SKIPPED_LIKE],
            )?;
            let n = tx.execute(
                "DELETE FROM uploads WHERE state IN (?1, ?2) OR state LIKE ?3",
                params![finished[0], finished[1], SKIPPED_LIKE],
            )?;
            later(answers, reply, n);
        }
        Op::LoadAll(reply) => {
            let all = load_all(tx)?;
            later(answers, reply, all);
        }
        Op::GetSetting(key, reply) => {
            let v: Option<String> = tx
                .query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()?;
            later(answers, reply, v);
        }
        Op::SetSetting(key, value) => {
            tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        }
        Op::Flush(reply) => later(answers, reply, ()),
        Op::AddFolder(path, target, reply) => {
            let id: i64 = tx.query_row(
                "INSERT INTO watched_folders (path, target) VALUES (?1, ?2)
                 ON CONFLICT(path) DO UPDATE SET target = excluded.target, paused = 0
                 RETURNING id",
                params![path, target],
                |r| r.get(0),
            )?;
            later(answers, reply, id);
        }
        Op::RemoveFolder(path, reply) => {
            tx.execute(
                "DELETE FROM sync_index WHERE folder_id IN
                   (SELECT id FROM watched_folders WHERE path = ?1)",
                [&path],
            )?;
            let n = tx.execute("DELETE FROM watched_folders WHERE path = ?1", [&path])?;
            later(answers, reply, n > 0);
        }
        Op::ListFolders(reply) => {
            let out = load_folders(tx)?;
            later(answers, reply, out);
        }
        Op::SetFolderPaused(id, paused) => {
            tx.prepare_cached("UPDATE watched_folders SET paused = ?2 WHERE id = ?1")?
                .execute(params![id, paused as i64])?;
        }
        Op::SetFolderSynced(id, when) => {
            tx.prepare_cached("UPDATE watched_folders SET last_sync = ?2 WHERE id = ?1")?
                .execute(params![id, when])?;
        }
        Op::LoadIndex(folder, reply) => {
            let mut stmt = tx.prepare_cached(
                "SELECT rel_path, size, mtime_ns, sha256, remote_path FROM sync_index
                 WHERE folder_id = ?1",
            )?;
            let rows = stmt.query_map([folder], |r| {
                Ok(IndexEntry {
                    rel_path: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get::<_, String>(2)?.parse().unwrap_or(0),
                    sha256: r.get(3)?,
                    remote_path: r.get(4)?,
                })
            })?;
            let entries = rows.collect::<Result<Vec<_>, _>>()?;
            later(answers, reply, entries);
        }
        Op::PutIndex(folder, e) => {
            tx.prepare_cached(
                "INSERT INTO sync_index (folder_id, rel_path, size, mtime_ns, sha256, remote_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(folder_id, rel_path) DO UPDATE SET size = excluded.size,
                   mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
                   remote_path = excluded.remote_path",
            )?
            .execute(params![
                folder,
                e.rel_path,
                e.size as i64,
                e.mtime_ns.to_string(),
                e.sha256,
                e.remote_path
            ])?;
        }
        Op::DeleteIndex(folder, rel) => {
            tx.prepare_cached("DELETE FROM sync_index WHERE folder_id = ?1 AND rel_path = ?2")?
                .execute(params![folder, rel])?;
        }
        // Taken out of the batch by `run` before it gets here.
        Op::Close(reply) => {
            let _ = reply.send(());
        }
    }
    Ok(())
}

/// Every upload with its acknowledged chunks, in queue order.
pub fn load_all(conn: &Connection) -> Result<Vec<StoredUpload>, StoreError> {
    let mut done: std::collections::HashMap<i64, Vec<u32>> = std::collections::HashMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT upload_id, number FROM chunks_done ORDER BY upload_id, number")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?)))?;
        for row in rows {
            let (id, n) = row?;
            done.entry(id).or_default().push(n);
        }
    }
    let mut stmt = conn.prepare(
        "SELECT id, path, relative_path, mime_type, size, mtime_ns, identifier, generation,
                chunk_size, chunk_rule, target, settings, state, remote_id, quick_hash, position
         FROM uploads ORDER BY position, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, u32>(7)?,
            r.get::<_, i64>(8)?,
            r.get::<_, String>(9)?,
            r.get::<_, String>(10)?,
            r.get::<_, String>(11)?,
            r.get::<_, String>(12)?,
            r.get::<_, Option<String>>(13)?,
            r.get::<_, String>(14)?,
            r.get::<_, i64>(15)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            path,
            rel,
            mime,
            size,
            mtime,
            ident,
            generation,
            cs,
            rule,
            target,
            settings,
            state,
            remote,
            qh,
            position,
        ) = row?;
        out.push(StoredUpload {
            id: UploadId(id as u64),
            new: NewUpload {
                path: path.into(),
                relative_path: rel,
                mime_type: mime,
                size: size as u64,
                mtime: nanos_to_mtime(mtime.parse().unwrap_or(0)),
                quick_hash: qh,
                identifier: ident,
                chunk_size: cs as u64,
                chunk_rule: rule_from(&rule),
                target: serde_json::from_str(&target)?,
                settings: serde_json::from_str(&settings)?,
            },
            generation,
            state: serde_json::from_str(&state)?,
            remote_id: remote,
            done_chunks: done.remove(&id).unwrap_or_default(),
            position,
        });
    }
    Ok(out)
}

/// Every watched folder, in the order they were added.
pub fn load_folders(conn: &Connection) -> Result<Vec<SavedFolder>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, path, target, paused, last_sync FROM watched_folders ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, path, target, paused, last_sync) = row?;
        out.push(SavedFolder {
            id,
            path: path.into(),
            target: serde_json::from_str(&target)?,
            paused: paused != 0,
            last_sync,
        });
    }
    Ok(out)
}
