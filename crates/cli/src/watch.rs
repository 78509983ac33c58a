//! `twake-upload watch`: keeps a folder uploaded to a target in the foreground until Ctrl-C
//! (`watch DIR --to TARGET`), lists the watched folders (`--list`) or forgets one
//! (`--remove DIR`). Thin over the engine's `FolderSync`; upload-only, never deletes.

use crate::destination::Destination;
use crate::session::{self, RunOptions};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::{
    Dialect, FolderState, FolderSummary, FolderSync, TargetSpec, WatchConfig, WatchEvent,
};

pub enum WatchArgs {
    Follow {
        dir: PathBuf,
        to: String,
        dialect: Dialect,
        settle: Duration,
        chunk_size: Option<u64>,
        run: RunOptions,
    },
    List {
        db: PathBuf,
        json: bool,
    },
    Remove {
        dir: PathBuf,
        run: RunOptions,
    },
}

fn target_word(t: &TargetSpec) -> String {
    match t {
        TargetSpec::Resumable { url, .. } => url.clone(),
        TargetSpec::Twake {
            account, folder, ..
        }
        | TargetSpec::Cozy {
            account, folder, ..
        } => format!("twake:/{} ({account})", folder.trim_matches('/')),
    }
}

fn state_word(s: &FolderState) -> String {
    match s {
        FolderState::Scanning { seen, total } if *total > 0 => format!("scanning {seen}/{total}"),
        FolderState::Scanning { seen, .. } => format!("scanning {seen}"),
        FolderState::Syncing { pending } => format!("{pending} pending"),
        FolderState::UpToDate => "up to date".into(),
        FolderState::Paused => "paused".into(),
        FolderState::Error { reason } => format!("error: {reason}"),
        FolderState::Stopped => "not watched now".into(),
    }
}

fn line(f: &FolderSummary) -> String {
    let last = f
        .last_sync
        .map(|t| format!(", last sync {t} (unix)"))
        .unwrap_or_default();
    format!(
        "{} -> {}: {}{last}",
        f.path,
        target_word(&f.target),
        state_word(&f.state)
    )
}

pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    match args {
        WatchArgs::List { db, json } => {
            let folders = upload_engine::store::read_watched(&db)
                .with_context(|| format!("cannot read the watched folders in {}", db.display()))?;
            if folders.is_empty() && !json {
                println!("no watched folders");
            }
            for f in folders {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "path": f.path, "target": f.target, "paused": f.paused,
                            "last_sync": f.last_sync,
                        })
                    );
                } else {
                    let paused = if f.paused { " (paused)" } else { "" };
                    let last = f
                        .last_sync
                        .map(|t| format!(", last sync {t} (unix)"))
                        .unwrap_or_default();
                    println!(
                        "{} -> {}{paused}{last}",
                        f.path.display(),
                        target_word(&f.target)
                    );
                }
            }
            Ok(())
        }
        WatchArgs::Remove { dir, run } => {
            let engine = session::open_engine(&run, true).await?;
            let sync = FolderSync::new(&engine, WatchConfig::default())?;
            let result = sync.remove(&dir).await;
            engine.close().await;
            result?;
            println!(
                "stopped watching {} (nothing was deleted on the server)",
                dir.display()
            );
            Ok(())
        }
        WatchArgs::Follow {
            dir,
            to,
            dialect,
            settle,
            chunk_size,
            run,
        } => follow(dir, to, dialect, settle, chunk_size, run).await,
    }
}

async fn follow(
    dir: PathBuf,
    to: String,
    dialect: Dialect,
    settle: Duration,
    chunk_size: Option<u64>,
    run: RunOptions,
) -> anyhow::Result<()> {
    // Changed files become new versions on Twake Drive.
    let destination = Destination::parse(&to, dialect, CollisionPolicy::Version).await?;
    let engine = session::open_engine(&run, false).await?;
    destination.prepare(&engine, &[]).await?;
    let mut renderer = session::renderer(&run);
    let mut events = engine.subscribe();
    let config = WatchConfig {
        settle,
        settings: chunk_size.map(|cs| upload_engine::UploadSettings {
            chunk_size: cs,
            ..Default::default()
        }),
        ..WatchConfig::default()
    };
    let sync = FolderSync::new(&engine, config)?;
    let mut changes = sync.subscribe();
    sync.add(&dir, destination.spec().clone()).await?;
    if !run.json {
        renderer.note(&format!(
            "watching {} -> {} (upload-only: local deletions are not sent; Ctrl-C stops)",
            dir.display(),
            destination.shown()
        ));
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut last_line = String::new();
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(e) => renderer.event(&e),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
            ch = changes.recv() => match ch {
                Ok(WatchEvent::Folder { folder }) => {
                    if run.json {
                        println!("{}", serde_json::to_string(&WatchEvent::Folder { folder })?);
                    } else {
                        // Scanning progress is shown in steps, not for every thousand files.
                        let text = line(&folder);
                        let same_kind = matches!(folder.state, FolderState::Scanning { .. })
                            && last_line.contains(": scanning");
                        if text != last_line && !same_kind {
                            renderer.note(&text);
                        }
                        last_line = text;
                    }
                }
                Ok(WatchEvent::Removed { .. }) => break,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
            _ = &mut ctrl_c => break,
        }
    }
    sync.stop().await;
    renderer.finish();
    engine.close().await;
    renderer.note(&format!(
        "stopped watching {}; run the same command again to continue (what changed meanwhile \
         is found by the first scan)",
        dir.display()
    ));
    Ok(())
}
