//! The commands the web UI may call. Each maps to one engine call (or one settings or target
//! change) and returns errors as `UserError`, written for the person, with what to do next.

use crate::ipc::{AddReport, AppInfo, ChunkView, QueueSnapshot, UserError};
use crate::settings::{AppSettings, SavedTarget};
use crate::state::AppState;
use crate::targets::{check_upload_url, saved_id, TargetInfo, TargetList};
use std::sync::Arc;
use tauri::State;
use upload_engine::{Dialect, UploadId};

type Shared<'a> = State<'a, Arc<AppState>>;
type Reply<T> = Result<T, UserError>;

#[tauri::command]
pub async fn snapshot(state: Shared<'_>) -> Reply<QueueSnapshot> {
    Ok(QueueSnapshot {
        uploads: state.engine.snapshot().await?,
        totals: state.engine.totals().await?,
    })
}

#[tauri::command]
pub async fn chunks(state: Shared<'_>, id: UploadId) -> Reply<Vec<ChunkView>> {
    let chunks = state.engine.chunks(id).await?;
    Ok(chunks.into_iter().map(ChunkView::from).collect())
}

/// "Copy link": a public read link to a finished file (Twake Drive targets); the window puts
/// it on the clipboard.
#[tauri::command]
pub async fn share_link(state: Shared<'_>, id: UploadId) -> Reply<String> {
    Ok(state.engine.share_link(id).await?)
}

#[tauri::command]
pub async fn pause(state: Shared<'_>, id: UploadId) -> Reply<()> {
    Ok(state.engine.pause(id).await?)
}

#[tauri::command]
pub async fn resume(state: Shared<'_>, id: UploadId) -> Reply<()> {
    Ok(state.engine.resume(id).await?)
}

#[tauri::command]
pub async fn cancel(state: Shared<'_>, id: UploadId) -> Reply<()> {
    Ok(state.engine.cancel(id).await?)
}

#[tauri::command]
pub async fn retry(state: Shared<'_>, id: UploadId) -> Reply<()> {
    Ok(state.engine.retry(id).await?)
}

/// "Upload next": the file gets the next free slot.
#[tauri::command]
pub async fn move_to_front(state: Shared<'_>, id: UploadId) -> Reply<()> {
    Ok(state.engine.move_to_front(id).await?)
}

/// Moves file `id` just before file `before`, or to the end of the line.
#[tauri::command]
pub async fn reorder(state: Shared<'_>, id: UploadId, before: Option<UploadId>) -> Reply<()> {
    Ok(state.engine.reorder(id, before).await?)
}

#[tauri::command]
pub async fn pause_all(state: Shared<'_>) -> Reply<()> {
    Ok(state.engine.pause_all().await?)
}

#[tauri::command]
pub async fn resume_all(state: Shared<'_>) -> Reply<()> {
    Ok(state.engine.resume_all().await?)
}

#[tauri::command]
pub async fn retry_all_failed(state: Shared<'_>) -> Reply<()> {
    Ok(state.engine.retry_all_failed().await?)
}

#[tauri::command]
pub async fn clear_finished(state: Shared<'_>) -> Reply<usize> {
    Ok(state.engine.clear_finished().await?)
}

/// "Add files…": the native picker, then the same path as a drop.
#[tauri::command]
pub async fn pick_files(window: tauri::WebviewWindow, state: Shared<'_>) -> Reply<AddReport> {
    let paths = crate::desktop::pick_files(&window, state.settings().lang()).await;
    Ok(state.add_paths(paths).await)
}

/// "Add folder…": the native picker, then the same path as a drop.
#[tauri::command]
pub async fn pick_folders(window: tauri::WebviewWindow, state: Shared<'_>) -> Reply<AddReport> {
    let paths = crate::desktop::pick_folders(&window, state.settings().lang()).await;
    Ok(state.add_paths(paths).await)
}

/// Opens the folder that holds upload `id`'s file.
#[tauri::command]
pub async fn show_in_folder(state: Shared<'_>, id: UploadId) -> Reply<()> {
    let all = state.engine.snapshot().await?;
    let upload = all
        .iter()
        .find(|u| u.id == id)
        .ok_or(upload_engine::EngineError::UnknownUpload(id.0))?;
    let path = std::path::Path::new(&upload.path);
    let dir = path.parent().unwrap_or(path);
    crate::desktop::open_folder(dir)
}

/// Opens the folder where the local test server keeps what it received.
#[tauri::command]
pub async fn show_test_server_folder(state: Shared<'_>) -> Reply<()> {
    let dir = state.targets.local_dir().to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| {
        UserError::new(
            format!("Cannot create {}: {e}", dir.display()),
            "Check that your data folder is writable.",
        )
    })?;
    crate::desktop::open_folder(&dir)
}

#[tauri::command]
pub async fn targets(state: Shared<'_>) -> Reply<TargetList> {
    let settings = state.settings();
    if settings.default_target == crate::targets::LOCAL_ID {
        // Started at launch already; waiting here makes its address part of the answer, so
        // the queue can name it. A failure shows when files are added, with its remedy.
        let _ = state.targets.local_url().await;
    }
    Ok(state.targets.list(&settings))
}

/// New files go to target `id` from now on.
#[tauri::command]
pub async fn set_default_target(state: Shared<'_>, id: String) -> Reply<TargetList> {
    let known = state.targets.list(&state.settings());
    if !known.targets.iter().any(|t| t.id == id) {
        return Err(UserError::new(
            "That target no longer exists.",
            "Choose another target.",
        ));
    }
    if id == crate::targets::LOCAL_ID {
        // Start it now so its address is known to the queue's "target" column at once.
        state.targets.local_url().await?;
        crate::remember_local_port(&state);
    }
    let s = state.edit_settings(|s| s.default_target = id)?;
    Ok(state.targets.list(&s))
}

/// Saves a Resumable.js / Flow.js endpoint and makes it the default target.
#[tauri::command]
pub async fn add_resumable_target(
    state: Shared<'_>,
    url: String,
    dialect: Dialect,
) -> Reply<TargetInfo> {
    let url = check_upload_url(&url)?;
    save_as_default(&state, SavedTarget::Resumable { url, dialect })?
        .ok_or_else(|| UserError::new("The target could not be saved.", "Try again."))
}

/// Saves `saved` (once) and makes it the target for new files; its entry in the target
/// list, if the list shows it.
pub(crate) fn save_as_default(state: &AppState, saved: SavedTarget) -> Reply<Option<TargetInfo>> {
    let id = saved_id(&saved);
    let s = state.edit_settings(|s| {
        if !s.saved_targets.contains(&saved) {
            s.saved_targets.push(saved);
        }
        s.default_target = id.clone();
    })?;
    Ok(state
        .targets
        .list(&s)
        .targets
        .into_iter()
        .find(|t| t.id == id))
}

/// Forgets a saved target; files already queued to it keep going.
#[tauri::command]
pub async fn remove_target(state: Shared<'_>, id: String) -> Reply<TargetList> {
    let s = state.edit_settings(|s| {
        s.saved_targets.retain(|t| saved_id(t) != id);
        if s.default_target == id {
            s.default_target = crate::targets::LOCAL_ID.into();
        }
    })?;
    Ok(state.targets.list(&s))
}

#[tauri::command]
pub async fn settings(state: Shared<'_>) -> Reply<AppSettings> {
    Ok(state.settings())
}

/// Saves the settings and applies the limits to running uploads at once.
#[tauri::command]
pub async fn save_settings(
    state: Shared<'_>,
    watching: State<'_, Arc<crate::watching::Watching>>,
    tray: State<'_, crate::Tray>,
    settings: AppSettings,
) -> Reply<AppSettings> {
    crate::network::check(&settings)?;
    let current = state.settings();
    // Targets and ignore patterns are changed through their own commands; a stale copy must
    // not undo them.
    let saved = state.replace_settings(AppSettings {
        default_target: current.default_target,
        saved_targets: current.saved_targets,
        local_server_port: current.local_server_port,
        watch_ignore: current.watch_ignore,
        ..settings
    })?;
    // Watched folders take a new chunk size at once (their loops restart; nothing is sent
    // twice, each folder is compared with its index).
    watching.apply(&saved).await?;
    crate::autostart::refresh(&saved, &watching).await;
    if let Some(tray) = &tray.0 {
        tray.relabel(saved.lang());
    }
    Ok(saved)
}

#[tauri::command]
pub async fn app_info(state: Shared<'_>) -> Reply<AppInfo> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        settings_file: state.settings_path().display().to_string(),
        test_server_folder: state.targets.local_dir().display().to_string(),
        engine_notices: state.engine.notices().to_vec(),
        system_language: crate::i18n::system().code().into(),
    })
}
