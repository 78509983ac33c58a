//! Driving the engine from the command line: opening it with the user's options, rendering
//! its events until the queue is idle or Ctrl-C, and turning the result into a summary and an
//! exit status. Shared by `upload` and `resume`.

use crate::render::Renderer;
use crate::size::human_bytes;
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use upload_engine::{
    Engine, EngineConfig, Event, FailureKind, FileState, Limits, RetryPolicy, UploadId,
    UploadSummary,
};

/// Options shared by every command that uploads.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The durable queue; `None` keeps it in memory.
    pub db: Option<PathBuf>,
    /// Requests at once, exactly; 0 = follow the link.
    pub parallel: usize,
    /// Files at once, exactly; 0 = as the link needs.
    pub files: usize,
    pub stall_timeout: Duration,
    pub retries: u32,
    pub limit_rate: u64,
    pub give_up_offline: Option<Duration>,
    pub json: bool,
}

/// How the run ended, for the exit status.
pub enum Outcome {
    AllDone,
    SomeFailed,
    Interrupted,
}

pub async fn open_engine(o: &RunOptions, hold: bool) -> anyhow::Result<Engine> {
    let config = EngineConfig {
        database: o.db.clone(),
        limits: Limits {
            parallel_chunks: o.parallel,
            parallel_files: o.files,
        },
        stall_timeout: o.stall_timeout,
        retry: RetryPolicy {
            max_attempts: o.retries.max(1),
            ..RetryPolicy::default()
        },
        bandwidth_limit: o.limit_rate,
        offline_give_up: o.give_up_offline,
        hold,
        // Without a config folder (no HOME) only Twake Drive uploads are impossible; they
        // say so when queued.
        accounts: crate::twake::accounts().ok(),
        network: crate::network::settings(),
        ..EngineConfig::default()
    };
    let engine = Engine::open(config).await.with_context(|| match &o.db {
        Some(db) => format!("cannot open the upload queue {}", db.display()),
        None => "cannot start the upload engine".to_string(),
    })?;
    for notice in engine.notices() {
        eprintln!("warning: {notice}");
    }
    Ok(engine)
}

pub fn renderer(o: &RunOptions) -> Renderer {
    Renderer::new(o.json, std::io::stderr().is_terminal())
}

/// Renders events until the queue is idle or the user presses Ctrl-C, then summarises the
/// uploads in `ours` (the files this command is about). `not_queued` counts paths that never
/// made it into the queue (unreadable), which count as failures. With `links`, each file
/// done gets its share link printed (`upload --link`); a link that cannot be made counts as
/// a failure.
#[allow(clippy::too_many_arguments)]
pub async fn drive(
    engine: &Engine,
    mut renderer: Renderer,
    mut events: tokio::sync::broadcast::Receiver<upload_engine::Event>,
    ours: &HashSet<UploadId>,
    restored: &[UploadSummary],
    not_queued: usize,
    started: Instant,
    links: bool,
) -> anyhow::Result<Outcome> {
    // Uploads continued from the queue were added by an earlier run: announce them so
    // every renderer knows their names and sizes.
    for upload in restored {
        renderer.event(&Event::Added {
            upload: upload.clone(),
        });
    }
    // What the server held of each file when this run began, so the summary counts only
    // the bytes sent now (a resumed file's earlier chunks are not sent again).
    let mut before: HashMap<UploadId, u64> =
        restored.iter().map(|u| (u.id, u.acked_bytes)).collect();
    for u in engine.snapshot().await? {
        if ours.contains(&u.id) && u.state == FileState::Done {
            before.entry(u.id).or_insert(u.acked_bytes);
        }
    }
    let idle = engine.wait_idle();
    tokio::pin!(idle);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    // Ours and only ours: the queue may hold finished files of earlier runs.
    let mine = |all: Vec<UploadSummary>| -> Vec<UploadSummary> {
        all.into_iter().filter(|u| ours.contains(&u.id)).collect()
    };
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(e) => {
                    // An event about a file never announced: its `Added` was lost.
                    if let Event::File { id, .. } = &e {
                        if ours.contains(id) && !renderer.knows(*id) {
                            renderer.resync(&mine(engine.snapshot().await?));
                        }
                    }
                    renderer.event(&e)
                }
                // The stream dropped events (tens of thousands of files): every file's result
                // still reaches the script, from the queue's own state.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    renderer.resync(&mine(engine.snapshot().await?));
                }
                Err(_) => break,
            },
            r = &mut idle => { r.context("the upload engine stopped")?; break; }
            _ = &mut ctrl_c => { interrupted = true; break; }
        }
    }
    // Show what was still in the channel (the last done/failed lines), then whatever the
    // stream lost at the end.
    while let Ok(e) = events.try_recv() {
        renderer.event(&e);
    }
    let all = mine(engine.snapshot().await?);
    renderer.resync(&all);
    renderer.finish();
    let mut no_link = 0;
    if links && !interrupted {
        for u in all.iter().filter(|u| u.state == FileState::Done) {
            match engine.share_link(u.id).await {
                Ok(link) => renderer.link(u, &link),
                Err(e) => {
                    no_link += 1;
                    renderer.note(&format!("failed  no share link for {}: {e}", u.path));
                }
            }
        }
    }
    // Stop sending, and make sure every acknowledged chunk is on disk before exiting.
    engine.close().await;

    let done: Vec<_> = all.iter().filter(|u| u.state == FileState::Done).collect();
    let skipped_n = all
        .iter()
        .filter(|u| matches!(u.state, FileState::Skipped { .. }))
        .count();
    let bytes = sent_this_run(&all, &before);
    let secs = started.elapsed().as_secs_f64();
    let skipped = if skipped_n > 0 {
        format!(" ({skipped_n} skipped: already on the server)")
    } else {
        String::new()
    };
    renderer.note(&format!(
        "{} of {} files uploaded{skipped}, {} sent in {secs:.1} s ({}/s)",
        done.len(),
        all.len() + not_queued,
        human_bytes(bytes),
        human_bytes((bytes as f64 / secs.max(0.001)) as u64),
    ));
    if interrupted {
        let left = all.len() - done.len() - skipped_n;
        let how = if engine.database().is_some() {
            "Run `twake-upload resume` (or the same command again) to continue"
        } else {
            "Run the same command again to continue"
        };
        renderer.note(&format!(
            "Stopped: {left} file(s) not finished. {how}; chunks the server acknowledged are \
             not sent again."
        ));
        return Ok(Outcome::Interrupted);
    }
    let mut failed = 0;
    for u in &all {
        if let FileState::Failed {
            kind,
            reason,
            retryable,
        } = &u.state
        {
            failed += 1;
            let hint = match kind {
                FailureKind::SignedOut => {
                    " (sign in again with `twake-upload login`, then run `twake-upload resume`)"
                }
                FailureKind::NotFound => {
                    " (check the destination; `twake-upload ls` lists Twake Drive folders)"
                }
                _ if *retryable => " (run `twake-upload resume` to retry)",
                _ => "",
            };
            renderer.note(&format!("failed  {}: {reason}{hint}", u.path));
        }
    }
    Ok(if failed == 0 && not_queued == 0 && no_link == 0 {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}

/// Bytes the server acknowledged during this run: what each file has now less what it had
/// when the run began.
fn sent_this_run(all: &[UploadSummary], before: &HashMap<UploadId, u64>) -> u64 {
    all.iter()
        .map(|u| {
            let earlier = before.get(&u.id).copied().unwrap_or(0);
            u.acked_bytes.saturating_sub(earlier)
        })
        .sum()
}
