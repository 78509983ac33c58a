//! `twake-upload upload`: queues files and folders to a Resumable.js / Flow.js URL or to a
//! Twake Drive folder (`--to twake:/Path`), renders progress, and ends with one line per
//! failed file. Exit status: 0 all done, 1 any failed.

use crate::render::Renderer;
use crate::size::human_bytes;
use anyhow::Context;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use upload_engine::targets::resumable::parse_upload_url;
use upload_engine::targets::twake::{CollisionPolicy, TwakeTarget};
use upload_engine::{
    sources, ChunkRule, Dialect, Engine, EngineConfig, FileState, Limits, SourceFile, TargetSpec,
    UploadSettings,
};

pub struct UploadArgs {
    pub paths: Vec<PathBuf>,
    pub to: String,
    /// `None`: the target's default (1 MiB, 8 MiB for Twake Drive).
    pub chunk_size: Option<u64>,
    pub force_chunk_size: bool,
    pub parallel: usize,
    pub files: usize,
    pub dialect: Dialect,
    pub collision: CollisionPolicy,
    pub json: bool,
}

/// Where `--to` points: a Resumable.js URL, or a folder of the signed-in Twake Drive account.
enum Destination {
    Resumable(TargetSpec),
    Twake {
        spec: TargetSpec,
        target: Arc<TwakeTarget>,
        shown: String,
    },
}

impl Destination {
    async fn parse(args: &UploadArgs) -> anyhow::Result<Destination> {
        let Some(folder) = args.to.strip_prefix("twake:") else {
            let url = parse_upload_url(&args.to)?;
            return Ok(Destination::Resumable(TargetSpec::Resumable {
                url: url.to_string(),
                dialect: args.dialect,
            }));
        };
        let store = crate::twake::store().await?;
        let account = {
            let store = store.clone();
            crate::twake::blocking(move || store.current()).await?
        };
        let folder = folder.trim().to_string();
        let spec = TargetSpec::Twake {
            account: account.name.clone(),
            folder: folder.clone(),
            collision: args.collision,
        };
        let target = Arc::new(TwakeTarget::new(
            store,
            &account.name,
            &folder,
            args.collision,
            &crate::twake::http(),
        ));
        let shown = format!(
            "Twake Drive {}:/{}",
            account.server,
            folder.trim_matches('/')
        );
        Ok(Destination::Twake {
            spec,
            target,
            shown,
        })
    }

    fn spec(&self) -> &TargetSpec {
        match self {
            Destination::Resumable(spec) | Destination::Twake { spec, .. } => spec,
        }
    }

    fn shown(&self) -> String {
        match self {
            Destination::Resumable(TargetSpec::Resumable { url, .. }) => url.clone(),
            Destination::Resumable(spec) => format!("{spec:?}"),
            Destination::Twake { shown, .. } => shown.clone(),
        }
    }

    /// Gets the server ready for these files: for Twake Drive, checks the folder and
    /// announces the files so new folders stay hidden until complete.
    async fn prepare(&self, engine: &Engine, files: &[SourceFile]) -> anyhow::Result<()> {
        if let Destination::Twake { spec, target, .. } = self {
            engine.register_target(spec.clone(), target.clone());
            target.check_destination().await?;
            let rels: Vec<String> = files.iter().map(|f| f.relative_path.clone()).collect();
            target.announce(&rels).await?;
        }
        Ok(())
    }

    /// Lines to show after the run (folders still hidden because files are missing).
    async fn closing_notes(&self) -> Vec<String> {
        let Destination::Twake { target, .. } = self else {
            return Vec::new();
        };
        target
            .hidden_folders()
            .await
            .into_iter()
            .map(|(name, missing)| {
                format!(
                    "note    the folder '{name}' stays hidden in the Twake Drive trash until its                      {missing} remaining file(s) are uploaded"
                )
            })
            .collect()
    }
}

/// How the run ended, for the exit status.
pub enum Outcome {
    AllDone,
    SomeFailed,
    Interrupted,
}

pub async fn run(args: UploadArgs) -> anyhow::Result<Outcome> {
    let destination = Destination::parse(&args).await?;
    let target = destination.spec().clone();
    let url = destination.shown();
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
        ..EngineConfig::default()
    };
    let engine = Engine::open(config).await?;
    let mut events = engine.subscribe();
    destination.prepare(&engine, &files).await?;
    let settings = UploadSettings {
        chunk_size: args.chunk_size.unwrap_or(target.default_chunk_size()),
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
    for line in destination.closing_notes().await {
        renderer.note(&line);
    }
    if interrupted {
        let left = all.len() - done;
        let how = match destination {
            // Twake Drive has no chunk test: until the queue is kept on disk, a new run
            // cannot find the chunks already sent.
            Destination::Twake { .. } => {
                "Run the same command again to upload them; their chunks are sent anew."
            }
            Destination::Resumable(_) => {
                "Run the same command again to resume; the server keeps the chunks it \
                 acknowledged and they are not sent twice."
            }
        };
        renderer.note(&format!("Stopped: {left} file(s) not finished. {how}"));
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
