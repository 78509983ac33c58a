//! `twake-upload upload`: queues files and folders to a Resumable.js / Flow.js URL, renders
//! progress, and ends with one line per failed file. Exit status: 0 all done, 1 any failed.

use crate::render::Renderer;
use crate::size::human_bytes;
use anyhow::Context;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;
use upload_engine::targets::resumable::parse_upload_url;
use upload_engine::{
    sources, ChunkRule, Dialect, Engine, EngineConfig, FileState, Limits, TargetSpec,
    UploadSettings,
};

pub struct UploadArgs {
    pub paths: Vec<PathBuf>,
    pub to: String,
    pub chunk_size: u64,
    pub force_chunk_size: bool,
    pub parallel: usize,
    pub files: usize,
    pub dialect: Dialect,
    pub json: bool,
    pub stall_timeout: std::time::Duration,
    pub retries: u32,
}

/// How the run ended, for the exit status.
pub enum Outcome {
    AllDone,
    SomeFailed,
    Interrupted,
}

pub async fn run(args: UploadArgs) -> anyhow::Result<Outcome> {
    let url = parse_upload_url(&args.to)?;
    let target = TargetSpec::Resumable {
        url: url.to_string(),
        dialect: args.dialect,
    };
    let mut renderer = Renderer::new(args.json, std::io::stderr().is_terminal());

    // Unreadable paths are reported and the rest still goes up: nothing is lost by one typo.
    let mut files = Vec::new();
    let mut unreadable = 0usize;
    for path in &args.paths {
        let p = path.clone();
        match tokio::task::spawn_blocking(move || sources::collect(&[p])).await? {
            Ok(found) => files.extend(found),
            Err(e) => {
                unreadable += 1;
                renderer.note(&format!("failed  {e}"));
            }
        }
    }

    let config = EngineConfig {
        limits: Limits {
            parallel_chunks: args.parallel.max(1),
            parallel_files: args.files.max(1),
        },
        stall_timeout: args.stall_timeout,
        retry: upload_engine::RetryPolicy {
            max_attempts: args.retries,
            ..upload_engine::RetryPolicy::default()
        },
        ..EngineConfig::default()
    };
    let engine = Engine::open(config).await?;
    let mut events = engine.subscribe();
    let settings = UploadSettings {
        chunk_size: args.chunk_size,
        chunk_rule: if args.force_chunk_size {
            ChunkRule::Force
        } else {
            ChunkRule::Floor
        },
        ..UploadSettings::default()
    };
    let started = Instant::now();
    for f in files {
        let shown = f.path.display().to_string();
        if let Err(e) = engine
            .enqueue(upload_engine::EnqueueRequest {
                path: f.path,
                relative_path: Some(f.relative_path),
                target: target.clone(),
                settings: settings.clone(),
            })
            .await
        {
            unreadable += 1;
            renderer.note(&format!("failed  {shown}: {e}"));
        }
    }

    let idle = engine.wait_idle();
    tokio::pin!(idle);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(e) => renderer.event(&e),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
            r = &mut idle => { r.context("the upload engine stopped")?; break; }
            _ = &mut ctrl_c => { interrupted = true; break; }
        }
    }
    // Show what was still in the channel (the last done/failed lines).
    while let Ok(e) = events.try_recv() {
        renderer.event(&e);
    }
    if interrupted {
        engine.pause_all().await?;
    }
    renderer.finish();

    let all = engine.snapshot().await?;
    engine.shutdown();
    let done = all.iter().filter(|u| u.state == FileState::Done).count();
    let failed: Vec<_> = all
        .iter()
        .filter(|u| matches!(u.state, FileState::Failed { .. }))
        .collect();
    let bytes: u64 = all
        .iter()
        .filter(|u| u.state == FileState::Done)
        .map(|u| u.size)
        .sum();
    let secs = started.elapsed().as_secs_f64();
    let summary = format!(
        "{done} of {} files uploaded to {url}, {} in {secs:.1} s ({}/s)",
        all.len() + unreadable,
        human_bytes(bytes),
        human_bytes((bytes as f64 / secs.max(0.001)) as u64),
    );
    renderer.note(&summary);
    if interrupted {
        let left = all.len() - done;
        renderer.note(&format!(
            "Stopped: {left} file(s) not finished. Run the same command again to resume; the \
             server keeps the chunks it acknowledged and they are not sent twice."
        ));
        return Ok(Outcome::Interrupted);
    }
    for u in &failed {
        if let FileState::Failed { reason, retryable } = &u.state {
            let hint = if *retryable {
                " (run the command again to retry)"
            } else {
                ""
            };
            renderer.note(&format!("failed  {}: {reason}{hint}", u.path));
        }
    }
    Ok(if failed.is_empty() && unreadable == 0 {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}
