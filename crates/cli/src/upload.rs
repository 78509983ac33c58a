//! `twake-upload upload`: queues files and folders to a target (a Resumable.js / Flow.js URL
//! or a Twake Drive folder) and uploads them, together with anything left unfinished in the
//! queue by an earlier run.

use crate::destination::Destination;
use crate::session::{self, Outcome, RunOptions};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::{sources, ChunkRule, Dialect, FileState, UploadSettings};

pub struct UploadArgs {
    pub paths: Vec<PathBuf>,
    pub to: String,
    /// `None`: the target's default (1 MiB, 8 MiB for Twake Drive).
    pub chunk_size: Option<u64>,
    pub force_chunk_size: bool,
    pub dialect: Dialect,
    pub collision: CollisionPolicy,
    /// Print a share link for each file once it is uploaded.
    pub link: bool,
    pub run: RunOptions,
}

pub async fn run(args: UploadArgs) -> anyhow::Result<Outcome> {
    let destination = Destination::parse(&args.to, args.dialect, args.collision).await?;
    let target = destination.spec().clone();
    if args.link && !target.capabilities().share_links {
        anyhow::bail!(
            "--link makes share links of Twake Drive uploads; {} cannot make them: upload \
             with --to twake:/Folder, or without --link",
            destination.shown()
        );
    }
    let renderer = session::renderer(&args.run);
    let started = Instant::now();

    // Unreadable paths are reported and the rest still goes up: nothing is lost by one typo.
    let mut files = Vec::new();
    let mut not_queued = 0usize;
    for path in &args.paths {
        let p = path.clone();
        match tokio::task::spawn_blocking(move || sources::collect(&[p])).await? {
            Ok(found) => {
                for skipped in &found.skipped {
                    if skipped.not_a_file {
                        renderer.note(&format!("skipped {skipped}"));
                    } else {
                        not_queued += 1;
                        renderer.note(&format!("failed  {skipped}"));
                    }
                }
                files.extend(found.files);
            }
            Err(e) => {
                not_queued += 1;
                renderer.note(&format!("failed  {e}"));
            }
        }
    }

    let engine = session::open_engine(&args.run, false).await?;
    let events = engine.subscribe();
    destination.prepare(&engine, &files).await?;
    if !args.run.json {
        renderer.note(&format!("uploading to {}", destination.shown()));
    }
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
        chunk_size: args.chunk_size.unwrap_or(target.default_chunk_size()),
        chunk_rule: if args.force_chunk_size {
            ChunkRule::Force
        } else {
            ChunkRule::Floor
        },
        // No --chunk-size: the size may follow what the link measures.
        adapt_chunk_size: args.chunk_size.is_none(),
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
    let outcome = session::drive(
        &engine, renderer, events, &ours, &restored, not_queued, started, args.link,
    )
    .await?;
    for line in destination.closing_notes(&engine).await {
        eprintln!("{line}");
    }
    Ok(outcome)
}
