//! The upload history: one row per upload that reached a final state (done, failed,
//! skipped, cancelled), kept apart from the queue so that "Clear finished" tidies the queue
//! without forgetting what was sent. An upload that finishes again (a retry after a failure)
//! updates its row, so each upload appears once with its latest outcome.

use crate::events::{FailureKind, FileState};
use crate::ids::UploadId;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// How an upload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum HistoryResult {
    Done,
    Failed { kind: FailureKind },
    Skipped,
    Cancelled,
}

impl HistoryResult {
    /// The outcome a final state records; `None` for a state that is not final.
    pub fn of(state: &FileState) -> Option<HistoryResult> {
        Some(match state {
            FileState::Done => HistoryResult::Done,
            FileState::Failed { kind, .. } => HistoryResult::Failed { kind: *kind },
            FileState::Skipped { .. } => HistoryResult::Skipped,
            FileState::Cancelled => HistoryResult::Cancelled,
            _ => return None,
        })
    }

    /// The word saved in the database and written in CSV.
    pub fn word(&self) -> &'static str {
        match self {
            HistoryResult::Done => "done",
            HistoryResult::Failed { .. } => "failed",
            HistoryResult::Skipped => "skipped",
            HistoryResult::Cancelled => "cancelled",
        }
    }
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryEntry {
    pub upload_id: UploadId,
    /// The file's name (the last part of its server path).
    pub name: String,
    /// Where the server stored it, below the target's folder.
    pub relative_path: String,
    pub size: u64,
    /// The target's label (its URL, or `twake:account:/folder`).
    pub target: String,
    /// When it reached this outcome, in seconds since 1970 (UTC).
    pub finished_at: i64,
    #[serde(flatten)]
    pub result: HistoryResult,
    /// The engine's sentence for a failure or a skip.
    pub reason: Option<String>,
    /// A share link, once one was made for the file.
    pub link: Option<String>,
}

/// Which part of the history to read: newest first, `limit` lines after `offset`, only those
/// whose name, path or target contains `search` (ignoring ASCII case) when it is not empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryQuery {
    #[serde(default)]
    pub search: String,
    pub limit: u32,
    #[serde(default)]
    pub offset: u32,
}

impl HistoryQuery {
    /// Every line matching `search`.
    pub fn all(search: &str) -> HistoryQuery {
        HistoryQuery {
            search: search.to_string(),
            limit: u32::MAX,
            offset: 0,
        }
    }
}

/// A page of the history, with how many lines match in all (for a scroll bar).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    pub total: u64,
}

/// Records (or updates) the history line of an upload that reached `state`; nothing for a
/// state that is not final. Reads name, path and size from the upload's queue row.
pub(super) fn record(
    conn: &Connection,
    id: UploadId,
    state: &FileState,
    target: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let Some(result) = HistoryResult::of(state) else {
        return Ok(());
    };
    let (kind, reason) = match state {
        FileState::Failed { kind, reason, .. } => (Some(kind_word(*kind)), Some(reason.clone())),
        FileState::Skipped { reason } => (None, Some(reason.clone())),
        _ => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO history (upload_id, relative_path, size, target, finished_at, result,
           failure_kind, reason)
         SELECT id, relative_path, size, ?2, ?3, ?4, ?5, ?6 FROM uploads WHERE id = ?1
         ON CONFLICT(upload_id) DO UPDATE SET relative_path = excluded.relative_path,
           size = excluded.size, target = excluded.target, finished_at = excluded.finished_at,
           result = excluded.result, failure_kind = excluded.failure_kind,
           reason = excluded.reason",
    )?
    .execute(params![
        id.0 as i64,
        target,
        now,
        result.word(),
        kind,
        reason
    ])?;
    Ok(())
}

fn kind_word(kind: FailureKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `%`, `_` and the escape itself lose their LIKE meaning, so a search is plain text.
fn like_pattern(search: &str) -> String {
    let mut out = String::from("%");
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

const MATCHES: &str =
    "(?1 = '' OR relative_path LIKE ?2 ESCAPE '\\' OR target LIKE ?2 ESCAPE '\\')";

/// The page `query` asks for.
pub fn read(conn: &Connection, query: &HistoryQuery) -> rusqlite::Result<HistoryPage> {
    let search = query.search.trim();
    let pattern = like_pattern(search);
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM history WHERE {MATCHES}"),
        params![search, pattern],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT upload_id, relative_path, size, target, finished_at, result, failure_kind,
                reason, link
         FROM history WHERE {MATCHES}
         ORDER BY finished_at DESC, upload_id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            search,
            pattern,
            i64::from(query.limit),
            i64::from(query.offset)
        ],
        |r| {
            let relative_path: String = r.get(1)?;
            let result: String = r.get(5)?;
            let kind: Option<String> = r.get(6)?;
            Ok(HistoryEntry {
                upload_id: UploadId(r.get::<_, i64>(0)? as u64),
                name: relative_path
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                relative_path,
                size: r.get::<_, i64>(2)? as u64,
                target: r.get(3)?,
                finished_at: r.get(4)?,
                result: parse_result(&result, kind.as_deref()),
                reason: r.get(7)?,
                link: r.get(8)?,
            })
        },
    )?;
    let entries = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(HistoryPage {
        entries,
        total: total as u64,
    })
}

fn parse_result(word: &str, kind: Option<&str>) -> HistoryResult {
    match word {
        "done" => HistoryResult::Done,
        "skipped" => HistoryResult::Skipped,
        "cancelled" => HistoryResult::Cancelled,
        _ => HistoryResult::Failed {
            kind: kind
                .and_then(|k| serde_json::from_value(serde_json::Value::from(k)).ok())
                .unwrap_or_default(),
        },
    }
}

/// The first line of a CSV export.
pub const CSV_HEADER: &str =
    "finished_at,result,failure_kind,name,relative_path,size,target,link,reason\r\n";

/// Writes a CSV export: the header, then the entries.
pub fn write_csv<'a>(
    out: &mut impl Write,
    entries: impl IntoIterator<Item = &'a HistoryEntry>,
) -> std::io::Result<()> {
    out.write_all(CSV_HEADER.as_bytes())?;
    write_csv_rows(out, entries)
}

/// Writes entries as CSV lines (RFC 4180: fields quoted when they need it, CRLF), the times
/// as UTC ISO 8601 so a spreadsheet reads them; a long history is written page by page.
pub fn write_csv_rows<'a>(
    out: &mut impl Write,
    entries: impl IntoIterator<Item = &'a HistoryEntry>,
) -> std::io::Result<()> {
    for e in entries {
        let kind = match e.result {
            HistoryResult::Failed { kind } => kind_word(kind),
            _ => String::new(),
        };
        let fields = [
            iso_utc(e.finished_at),
            e.result.word().to_string(),
            kind,
            e.name.clone(),
            e.relative_path.clone(),
            e.size.to_string(),
            e.target.clone(),
            e.link.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.write_all(line.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

fn csv_field(f: &str) -> String {
    // A leading = + - @ would make a spreadsheet run the cell as a formula.
    let formula = f.starts_with(['=', '+', '-', '@']);
    let f = if formula {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// Dates in the history and its CSV, shared with the cozy target's `CreatedAt`.
pub use crate::iso_time::iso_utc;
