//! The commands that look at or change the durable queue: `status`, `resume`, `pause`,
//! `cancel` and `clear`.

use crate::session::{self, Outcome, RunOptions};
use crate::size::human_bytes;
use anyhow::Context;
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;
use upload_engine::store::{read_queue, StoredUpload};
use upload_engine::{ChunkPlan, FileState, TargetSpec, UploadId};

/// Bytes the server acknowledged for a stored upload.
fn acked(u: &StoredUpload) -> u64 {
    let plan = ChunkPlan::new(u.new.size, u.new.chunk_size, u.new.chunk_rule);
    u.done_chunks
        .iter()
        .filter(|n| **n >= 1 && **n <= plan.total_chunks)
        .map(|n| plan.len(*n))
        .sum()
}

fn state_word(s: &FileState) -> String {
    match s {
        FileState::Failed { reason, .. } => format!("failed: {reason}"),
        FileState::Skipped { reason } => format!("skipped: {reason}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

fn target_word(t: &TargetSpec) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.get("url").and_then(|u| u.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("{t:?}"))
}

/// `status`: the queue as stored, readable while another process uploads.
pub fn status(db: &Path, json: bool) -> anyhow::Result<()> {
    let all = read_queue(db).with_context(|| format!("cannot read the queue {}", db.display()))?;
    if json {
        for u in &all {
            let line = serde_json::json!({
                "id": u.id,
                "path": u.new.path,
                "relative_path": u.new.relative_path,
                "target": u.new.target,
                "size": u.new.size,
                "chunk_size": u.new.chunk_size,
                "chunks_done": u.done_chunks.len(),
                "acked_bytes": acked(u),
                "state": u.state,
            });
            println!("{line}");
        }
        return Ok(());
    }
    if all.is_empty() {
        println!("The queue {} is empty.", db.display());
        return Ok(());
    }
    println!(
        "{:>5}  {:>6}  {:>10}  {:<40}  state",
        "id", "done", "size", "file"
    );
    for u in &all {
        let pct = match acked(u).saturating_mul(100).checked_div(u.new.size) {
            Some(p) => p,
            None if u.state == FileState::Done => 100,
            None => 0,
        };
        println!(
            "{:>5}  {:>5}%  {:>10}  {:<40}  {} → {}",
            u.id,
            pct,
            human_bytes(u.new.size),
            u.new.relative_path,
            state_word(&u.state),
            target_word(&u.new.target)
        );
    }
    Ok(())
}

/// `resume`: continues everything unfinished, paused and failed files included.
pub async fn resume(run: RunOptions) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let renderer = session::renderer(&run);
    let engine = session::open_engine(&run, false).await?;
    let events = engine.subscribe();
    engine.resume_all().await?;
    engine.retry_all_failed().await?;
    let restored: Vec<_> = engine
        .snapshot()
        .await?
        .into_iter()
        .filter(|u| !matches!(u.state, FileState::Done | FileState::Cancelled))
        .collect();
    let ours: HashSet<UploadId> = restored.iter().map(|u| u.id).collect();
    if ours.is_empty() {
        renderer.note("Nothing to resume: every upload in the queue is finished.");
    }
    session::drive(
        &engine, renderer, events, &ours, &restored, 0, started, false,
    )
    .await
}

/// `pause ID` / `cancel ID`: changes one upload without sending anything.
pub async fn change(run: RunOptions, id: u64, cancel: bool) -> anyhow::Result<()> {
    let engine = session::open_engine(&run, true).await?;
    let id = UploadId(id);
    let result = if cancel {
        engine.cancel(id).await
    } else {
        engine.pause(id).await
    };
    let db = run.db.clone().unwrap_or_default();
    result.with_context(|| format!("no upload {id} in the queue {}", db.display()))?;
    engine.close().await;
    // A cancel frees the server's partial copy in the background: give it a moment.
    if cancel {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    println!(
        "{} upload {id}",
        if cancel { "cancelled" } else { "paused" }
    );
    Ok(())
}

/// `clear`: forgets finished and cancelled uploads.
pub async fn clear(run: RunOptions) -> anyhow::Result<()> {
    let engine = session::open_engine(&run, true).await?;
    let removed = engine.clear_finished().await?;
    engine.close().await;
    println!("removed {} finished upload(s) from the queue", removed);
    Ok(())
}
