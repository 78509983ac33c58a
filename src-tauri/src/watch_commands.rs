//! The "Watched folders" panel's side of the shell: starting folder sync at launch, the
//! commands (add with the folder picker, pause, resume, remove, list, ignore patterns), and
//! the choice a dropped folder brings ("Upload once" or "Watch"). Tauri glue over `watching`.

use crate::ipc::UserError;
use crate::state::AppState;
use crate::watching::{check_ignore, forward, watch_config, WatchOverview, Watching, WATCH_EVENT};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tauri::{Emitter, Manager, State};
use ts_rs::TS;
use upload_engine::TargetSpec;

/// Name of the event that asks the window what to do with dropped folders ([`DropOffer`]).
pub const DROP_EVENT: &str = "folders-dropped";

/// Dropped paths that include folders, waiting for the person's choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DropOffer {
    /// The dropped folders' names, for the question.
    pub folders: Vec<String>,
    /// Plain files dropped with them (uploaded once either way).
    pub files: u32,
}

/// The answer to a [`DropOffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DropChoice {
    UploadOnce,
    Watch,
    Cancel,
}

/// The paths of the last drop that held folders, until the window answers.
#[derive(Default)]
pub struct PendingDrop(Mutex<Option<Vec<PathBuf>>>);

type Shared<'a> = State<'a, Arc<AppState>>;
type Watch<'a> = State<'a, Arc<Watching>>;
type Reply<T> = Result<T, UserError>;

/// Creates folder sync, forwards its news to the window and starts the saved folders.
pub fn start(app: &tauri::AppHandle, state: Arc<AppState>) -> anyhow::Result<()> {
    let settings = state.settings();
    let (watching, news) = tauri::async_runtime::block_on(async {
        Watching::new(state.engine.clone(), watch_config(&settings))
    })?;
    let watching = Arc::new(watching);
    app.manage(watching.clone());
    app.manage(PendingDrop::default());
    let emitter = app.clone();
    let for_names = state.clone();
    tauri::async_runtime::spawn(forward(
        news,
        move || for_names.targets.list(&for_names.settings()),
        move |batch| {
            if let Err(e) = emitter.emit(WATCH_EVENT, &batch) {
                tracing::warn!("cannot send folder news to the window: {e}");
            }
        },
    ));
    tauri::async_runtime::spawn(async move {
        // Folders watched to the local test server need it running, at the port they saved.
        if let Ok(targets) = watching.saved_targets().await {
            if targets.iter().any(|t| is_local(t, &state)) {
                if let Err(e) = state.targets.local_url().await {
                    tracing::warn!("{} {}", e.message, e.hint);
                }
            }
        }
        match watching.start_saved().await {
            Ok(n) if n > 0 => tracing::info!("watching {n} saved folders"),
            Ok(_) => {}
            Err(e) => tracing::warn!("the watched folders could not start: {e}"),
        }
        // Installed anew, or moved: the login entry points at this binary.
        crate::autostart::refresh(&state.settings(), &watching).await;
        if let Some(nautilus) = crate::send_to::nautilus_dir() {
            let script = std::path::Path::new(crate::send_to::PACKAGED_SCRIPT);
            match crate::send_to::install(&nautilus, script) {
                Ok(true) => tracing::info!("\"Send to Twake Uploader\" added to Nautilus"),
                Ok(false) => {}
                Err(e) => tracing::warn!("cannot add the Nautilus script: {e}"),
            }
        }
    });
    Ok(())
}

/// Whether `target` is the local test server of an earlier run (same loopback port).
fn is_local(target: &TargetSpec, state: &AppState) -> bool {
    let TargetSpec::Resumable { url, .. } = target else {
        return false;
    };
    let port = state.settings().local_server_port;
    url::Url::parse(url)
        .is_ok_and(|u| port != 0 && u.port() == Some(port) && u.host_str() == Some("127.0.0.1"))
}

/// When a drop holds folders, keeps it and asks the window; returns false when it holds only
/// files (they are queued at once, as before).
pub fn offer_drop(app: &tauri::AppHandle, paths: &[PathBuf]) -> bool {
    let folders: Vec<String> = paths
        .iter()
        .filter(|p| p.is_dir())
        .map(|p| display_name(p))
        .collect();
    if folders.is_empty() {
        return false;
    }
    let offer = DropOffer {
        files: (paths.len() - folders.len()) as u32,
        folders,
    };
    if let Ok(mut pending) = app.state::<PendingDrop>().0.lock() {
        *pending = Some(paths.to_vec());
    }
    if let Err(e) = app.emit(DROP_EVENT, &offer) {
        tracing::warn!("cannot ask the window about dropped folders ({e}); uploading them once");
        return false;
    }
    true
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The window's answer to the last [`DropOffer`]. "Watch" watches the folders to the
/// default target and uploads the plain files once.
#[tauri::command]
pub async fn answer_drop(
    app: tauri::AppHandle,
    state: Shared<'_>,
    watching: Watch<'_>,
    pending: State<'_, PendingDrop>,
    choice: DropChoice,
) -> Reply<()> {
    let paths = pending.0.lock().ok().and_then(|mut p| p.take());
    let Some(paths) = paths else {
        return Ok(());
    };
    match choice {
        DropChoice::Cancel => Ok(()),
        DropChoice::UploadOnce => {
            crate::add_and_report(&app, paths).await;
            Ok(())
        }
        DropChoice::Watch => {
            let (folders, files): (Vec<PathBuf>, Vec<PathBuf>) =
                paths.into_iter().partition(|p| p.is_dir());
            if !files.is_empty() {
                crate::add_and_report(&app, files).await;
            }
            watch_all(&state, &watching, folders).await
        }
    }
}

/// Watches each folder to the default target; the first failure is returned after the others
/// were tried.
async fn watch_all(state: &AppState, watching: &Watching, folders: Vec<PathBuf>) -> Reply<()> {
    let target = state.settings().default_target;
    let mut first_error = None;
    for folder in folders {
        if let Err(e) = watching.add(&folder, &target, state).await {
            first_error.get_or_insert(e);
        }
    }
    crate::autostart::refresh(&state.settings(), watching).await;
    first_error.map_or(Ok(()), Err)
}

/// "Watch a folder…": the native folder picker, then each chosen folder is watched to the
/// default target. Cancelling the picker does nothing.
#[tauri::command]
pub async fn watch_pick(
    window: tauri::WebviewWindow,
    state: Shared<'_>,
    watching: Watch<'_>,
) -> Reply<()> {
    let title = state.settings().lang().texts().pick_watch;
    let folders = crate::desktop::pick_folders_titled(&window, title).await;
    watch_all(&state, &watching, folders).await
}

#[tauri::command]
pub async fn watched_folders(state: Shared<'_>, watching: Watch<'_>) -> Reply<WatchOverview> {
    watching
        .overview(&state.targets.list(&state.settings()))
        .await
}

/// Pauses (`paused: true`) or resumes a watched folder.
#[tauri::command]
pub async fn pause_watch(watching: Watch<'_>, path: String, paused: bool) -> Reply<()> {
    watching.pause(Path::new(&path), paused).await
}

/// Stops watching a folder; what was uploaded stays on the server.
#[tauri::command]
pub async fn remove_watch(state: Shared<'_>, watching: Watch<'_>, path: String) -> Reply<()> {
    watching.remove(Path::new(&path)).await?;
    crate::autostart::refresh(&state.settings(), &watching).await;
    Ok(())
}

/// Saves the global ignore patterns (gitignore syntax) and restarts watching with them.
#[tauri::command]
pub async fn save_watch_ignore(
    state: Shared<'_>,
    watching: Watch<'_>,
    patterns: Vec<String>,
) -> Reply<Vec<String>> {
    let patterns: Vec<String> = patterns
        .into_iter()
        .map(|p| p.trim_end().to_string())
        .filter(|p| !p.trim().is_empty())
        .collect();
    check_ignore(&patterns)?;
    let saved = state.edit_settings(|s| s.watch_ignore = patterns)?;
    watching.apply(&saved).await?;
    Ok(saved.watch_ignore)
}
