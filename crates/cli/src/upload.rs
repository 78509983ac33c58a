//! `twake-upload upload`: queues files and folders to a target and uploads them (together
//! with anything left unfinished in the queue by an earlier run).

use crate::session::{self, Outcome, RunOptions};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;
use upload_engine::targets::resumable::parse_upload_url;
use upload_engine::{sources, ChunkRule, Dialect, FileState, TargetSpec, UploadSettings};

pub struct UploadArgs {
    pub paths: Vec<PathBuf>,
    pub to: String,
    pub chunk_size: u64,
    pub force_chunk_size: bool,
    pub dialect: Dialect,
    pub run: RunOptions,
}

/// The target a `--to` value names.
fn target_for(to: &str, dialect: Dialect) -> anyhow::Result<TargetSpec> {
    let url = parse_upload_url(to)?;
    Ok(TargetSpec::Resumable {
        url: url.to_string(),
        dialect,
    })
}

pub async fn run(args: UploadArgs) -> anyhow::Result<Outcome> {
    let target = target_for(&args.to, args.dialect)?;
    let renderer = session::renderer(&args.run);
    let started = Instant::now();

    // Unreadable paths are reported and the rest still goes up: nothing is lost by one typo.
    let mut files = Vec::new();
    let mut not_queued = 0usize;
    for path in &args.paths {
        let p = path.clone();
        match tokio::task::spawn_blocking(move || sources::collect(&[p])).await? {
            Ok(found) => files.extend(found),
            Err(e) => {
                not_queued += 1;
                renderer.note(&format!("failed  {e}"));
            }
        }
    }

    let engine = session::open_engine(&args.run, false).await?;
    let events = engine.subscribe();
    // Uploads an earlier run left unfinished continue too, and count in the summary.
    let restored: Vec<_> = engine
        .snapshot()
        .await?
        .into_iter()
        .filter(|u| !u.state.is_finished() && u.state != FileState::Paused)
        .collect();
    let mut ours: HashSet<_> = restored.iter().map(|u| u.id).collect();
    if !ours.is_empty() {
        renderer.note(&format!(
            "continuing {} unfinished upload(s) from the queue",
            ours.len()
        ));
    }
    let settings = UploadSettings {
        chunk_size: args.chunk_size,
        chunk_rule: if args.force_chunk_size {
            ChunkRule::Force
        } else {
            ChunkRule::Floor
        },
        ..UploadSettings::default()
    };
    for f in files {
        let shown = f.path.display().to_string();
        match engine
            .enqueue(upload_engine::EnqueueRequest {
                path: f.path,
                relative_path: Some(f.relative_path),
                target: target.clone(),
                settings: settings.clone(),
            })
            .await
        {
            Ok(id) => {
                ours.insert(id);
            }
            Err(e) => {
                not_queued += 1;
                renderer.note(&format!("failed  {shown}: {e}"));
            }
        }
    }
    session::drive(
        &engine, renderer, events, &ours, &restored, not_queued, started,
    )
    .await
}
