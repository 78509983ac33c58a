//! `history`: what was uploaded (done, failed, skipped, cancelled), newest first, kept when
//! `clear` tidies the queue; searched, printed as a table or JSON lines, exported as CSV,
//! and forgotten with `--clear`.

use crate::session::{self, RunOptions};
use crate::size::human_bytes;
use anyhow::Context;
use std::io::Write;
use std::path::Path;
use upload_engine::store::history::{iso_utc, write_csv_rows, CSV_HEADER};
use upload_engine::store::{read_history, HistoryEntry, HistoryQuery, HistoryResult};

/// Lines read from the database at once, so a long history is never held whole.
const PAGE: u32 = 1000;

pub struct HistoryArgs<'a> {
    pub db: &'a Path,
    pub json: bool,
    pub search: &'a str,
    pub csv: Option<&'a Path>,
}

/// Calls `each` with every matching line, a page at a time; answers how many there were.
fn for_each_page(
    db: &Path,
    search: &str,
    mut each: impl FnMut(&[HistoryEntry]) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut offset = 0;
    loop {
        let page = read_history(
            db,
            &HistoryQuery {
                search: search.to_string(),
                limit: PAGE,
                offset,
            },
        )
        .with_context(|| format!("cannot read the history of the queue {}", db.display()))?;
        each(&page.entries)?;
        offset += page.entries.len() as u32;
        if page.entries.len() < PAGE as usize {
            return Ok(offset as u64);
        }
    }
}

/// Prints (or exports) the history; readable while another process uploads.
pub fn show(a: HistoryArgs<'_>) -> anyhow::Result<()> {
    if let Some(file) = a.csv {
        let cannot = || format!("cannot write the history to {}", file.display());
        let mut out = std::io::BufWriter::new(std::fs::File::create(file).with_context(cannot)?);
        out.write_all(CSV_HEADER.as_bytes()).with_context(cannot)?;
        let n = for_each_page(a.db, a.search, |entries| {
            write_csv_rows(&mut out, entries).with_context(cannot)
        })?;
        out.flush().with_context(cannot)?;
        eprintln!("wrote {n} line(s) of history to {}", file.display());
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut header = !a.json;
    let n = for_each_page(a.db, a.search, |entries| {
        for e in entries {
            if a.json {
                writeln!(out, "{}", serde_json::to_string(e)?)?;
                continue;
            }
            if std::mem::take(&mut header) {
                writeln!(
                    out,
                    "{:<20}  {:<24}  {:>10}  {:<40}  target",
                    "finished (UTC)", "result", "size", "file"
                )?;
            }
            writeln!(
                out,
                "{:<20}  {:<24}  {:>10}  {:<40}  {}{}",
                iso_utc(e.finished_at),
                result_word(&e.result),
                human_bytes(e.size),
                e.relative_path,
                e.target,
                e.link
                    .as_deref()
                    .map(|l| format!("  {l}"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    })?;
    if n == 0 && !a.json {
        if a.search.is_empty() {
            println!("The history of {} is empty.", a.db.display());
        } else {
            println!("Nothing in the history matches “{}”.", a.search);
        }
    }
    Ok(())
}

fn result_word(r: &HistoryResult) -> String {
    match r {
        HistoryResult::Failed { kind } => format!(
            "failed ({})",
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        other => other.word().to_string(),
    }
}

/// `history --clear`: forgets the history (the queue is untouched).
pub async fn clear(run: RunOptions) -> anyhow::Result<()> {
    let engine = session::open_engine(&run, true).await?;
    let removed = engine.clear_history().await?;
    engine.close().await;
    println!("removed {removed} line(s) from the history");
    Ok(())
}
