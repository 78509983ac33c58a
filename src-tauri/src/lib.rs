//! Twake Uploader's desktop shell (ARCHITECTURE.md, "The desktop shell"): owns one upload
//! engine, maps Tauri commands to engine calls and engine events to coalesced UI batches, and
//! adds what only a desktop app has: native pickers, drag-and-drop paths, command-line files,
//! a single instance, the tray and notifications.

mod autostart;
mod bridge;
mod coalesce;
mod commands;
mod conditions;
mod desktop;
mod history;
pub mod i18n;
pub mod ipc;
mod network;
mod notices;
mod send_to;
pub mod settings;
mod state;
pub mod targets;
mod tray;
#[cfg(test)]
mod ts_export;
pub mod twake;
mod twake_commands;
mod watch_commands;
pub mod watching;

use ipc::{ADDED_EVENT, BATCH_EVENT};
use settings::SettingsFile;
use state::AppState;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{DragDropEvent, Emitter, Manager, WindowEvent};
use tauri_plugin_notification::NotificationExt;
use upload_engine::{Engine, EngineConfig};

/// Files given on the command line wait for the window to listen (`ui_ready`), so the person
/// sees what could not be queued; after this long they are queued anyway.
const CLI_FILES_WAIT: Duration = Duration::from_secs(5);

/// Command-line paths not yet queued.
struct PendingPaths(Mutex<Option<Vec<PathBuf>>>);

/// Starts the app; returns when it quits.
pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    init_logging();
    let cwd = std::env::current_dir().unwrap_or_default();
    let cli_paths = paths_from_args(std::env::args_os().skip(1), &cwd);
    let result = tauri::Builder::default()
        // First plugin, as its docs ask: a second launch must be caught before anything else.
        .plugin(tauri_plugin_single_instance::init(|app, argv, cwd| {
            show_main_window(app);
            let args = argv.into_iter().skip(1).map(OsString::from);
            add_in_background(app.clone(), paths_from_args(args, Path::new(&cwd)));
        }))
        .plugin(tauri_plugin_notification::init())
        .manage(PendingPaths(Mutex::new(Some(cli_paths))))
        .invoke_handler(tauri::generate_handler![
            ui_ready,
            commands::snapshot,
            commands::chunks,
            commands::pause,
            commands::resume,
            commands::cancel,
            commands::retry,
            commands::pause_all,
            commands::resume_all,
            commands::retry_all_failed,
            commands::clear_finished,
            commands::pick_files,
            commands::pick_folders,
            commands::show_in_folder,
            commands::show_test_server_folder,
            commands::targets,
            commands::set_default_target,
            commands::add_resumable_target,
            commands::remove_target,
            commands::settings,
            commands::save_settings,
            network::save_proxy_password,
            commands::app_info,
            commands::move_to_front,
            commands::share_link,
            commands::reorder,
            twake_commands::twake_sign_in,
            twake_commands::twake_detect,
            twake_commands::twake_sign_in_browser,
            twake_commands::twake_cancel_sign_in,
            twake_commands::twake_choose_company,
            twake_commands::twake_accounts,
            twake_commands::twake_folders,
            twake_commands::twake_create_folder,
            twake_commands::twake_choose_folder,
            twake_commands::twake_sign_out,
            watch_commands::watched_folders,
            watch_commands::watch_pick,
            watch_commands::pause_watch,
            watch_commands::remove_watch,
            watch_commands::save_watch_ignore,
            watch_commands::answer_drop,
            history::history,
            history::export_history,
            history::clear_history,
        ])
        .setup(|app| {
            launch_step("plugins ready, window made");
            let done = setup(app);
            launch_step("setup done: the window's page loads from now on");
            done.map_err(Into::into)
        })
        .on_window_event(on_window_event)
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Twake Uploader could not start: {e}");
        std::process::exit(1);
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // stderr: stdout stays free for anything a script may want to read.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// When the process started, for the launch figures of `RUST_LOG=twake_uploader_app=debug`.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Logs (at debug) how long after the start a step of the launch ended.
fn launch_step(what: &str) {
    let at = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
    tracing::debug!(at_ms = at as u64, "launch: {what}");
}

fn setup(app: &mut tauri::App) -> anyhow::Result<()> {
    let handle = app.handle().clone();
    let settings_file = SettingsFile {
        path: app.path().app_config_dir()?.join("settings.json"),
    };
    let settings = settings_file.load();
    let data_dir = app.path().app_data_dir()?;
    let local_port = settings.local_server_port;
    let network = network::engine_settings(&settings);
    // What the machine says (metered, on battery) before the queue opens, so uploads restored
    // from it wait from the start when they should.
    let mut conditions = tauri::async_runtime::block_on(conditions::follow());
    let now = *conditions.borrow_and_update();
    launch_step("metered and battery read");
    let held = now
        .holds(settings.pause_on_metered, settings.pause_on_battery)
        .into_iter()
        .filter_map(|(reason, on)| on.then_some(reason))
        .collect();
    let targets = targets::Targets::new(data_dir.join("test-server"), local_port)
        .with_twake_network(network.clone());
    let engine = tauri::async_runtime::block_on(Engine::open(EngineConfig {
        // One accounts service for the engine and the sign-in dialogs.
        accounts: targets.twake.service(),
        limits: settings.limits(),
        bandwidth_limit: settings.bandwidth_limit,
        changed_files: settings.changed_files,
        // The queue survives a restart: unfinished uploads continue where they stopped.
        database: Some(data_dir.join("queue.sqlite3")),
        network,
        held,
        ..EngineConfig::default()
    }))?;
    launch_step("queue open");
    let events = engine.subscribe();
    let state = Arc::new(AppState::new(engine, targets, settings, settings_file));
    app.manage(state.clone());
    watch_commands::start(&handle, state.clone())?;
    launch_step("watched folders started");

    let tray = match tray::build(&handle, state.settings().lang()) {
        Ok(t) => Some(Arc::new(t)),
        Err(e) => {
            tracing::warn!("no tray icon ({e}); progress shows in the window only");
            None
        }
    };
    app.manage(Tray(tray.clone()));
    launch_step("tray built");
    // Started at login: straight to the tray, where uploads and watched folders go on.
    if tray.is_some() && std::env::args().any(|a| a == autostart::HIDDEN_ARG) {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.hide();
        }
    }
    let emitter = handle.clone();
    let for_notices = state.clone();
    tauri::async_runtime::spawn(bridge::forward(events, move |batch, notices| {
        if let (Some(tray), Some(totals)) = (&tray, &batch.totals) {
            tray.show(totals);
        }
        if let Err(e) = emitter.emit(BATCH_EVENT, &batch) {
            tracing::warn!("cannot send queue changes to the window: {e}");
        }
        let settings = for_notices.settings();
        if settings.notifications {
            let lang = settings.lang();
            for n in notices {
                let title = n.title(lang);
                let shown = emitter
                    .notification()
                    .builder()
                    .title(&title)
                    .body(n.body(lang))
                    .show();
                if let Err(e) = shown {
                    tracing::info!("notification not shown ({e}): {title}");
                }
            }
        }
    }));

    // Uploads wait on a metered connection and on battery, as the settings say, and go on
    // by themselves when it ends.
    let follower = state.clone();
    tauri::async_runtime::spawn(async move {
        let mut now = now;
        loop {
            if let Err(e) = follower.set_conditions(now) {
                tracing::warn!("{} {}", e.message, e.hint);
            }
            if conditions.changed().await.is_err() {
                break;
            }
            now = *conditions.borrow_and_update();
        }
    });

    // A newcomer's first upload should start without waiting for the server to boot.
    let warm = state.clone();
    let later = handle.clone();
    tauri::async_runtime::spawn(async move {
        if warm.settings().default_target == targets::LOCAL_ID {
            if let Err(e) = warm.targets.local_url().await {
                tracing::warn!("{}", e.message);
            }
        }
        remember_local_port(&warm);
        tokio::time::sleep(CLI_FILES_WAIT).await;
        add_cli_paths(&later).await;
    });
    Ok(())
}

/// Saves the local test server's port, so the next run listens on the same address.
pub(crate) fn remember_local_port(state: &AppState) {
    let Some(port) = state.targets.local_port() else {
        return;
    };
    if state.settings().local_server_port != port {
        if let Err(e) = state.edit_settings(|s| s.local_server_port = port) {
            tracing::warn!("{} {}", e.message, e.hint);
        }
    }
}

/// The tray, when there is one: closing the window may then hide it instead of quitting, and
/// a new language relabels it.
pub(crate) struct Tray(pub Option<Arc<tray::TrayHandles>>);

/// The window listens now: queue the command-line files and tell it how that went.
#[tauri::command]
async fn ui_ready(app: tauri::AppHandle) {
    // The launch benchmark (make app-bench) waits for this line.
    launch_step("the window has read the queue, the targets and the settings");
    tracing::info!("window ready");
    add_cli_paths(&app).await;
}

async fn add_cli_paths(app: &tauri::AppHandle) {
    let paths = app
        .state::<PendingPaths>()
        .0
        .lock()
        .ok()
        .and_then(|mut p| p.take());
    if let Some(paths) = paths.filter(|p| !p.is_empty()) {
        add_and_report(app, paths).await;
    }
}

pub(crate) async fn add_and_report(app: &tauri::AppHandle, paths: Vec<PathBuf>) {
    let state = app.state::<Arc<AppState>>().inner().clone();
    let report = state.add_paths(paths).await;
    if let Err(e) = app.emit(ADDED_EVENT, &report) {
        tracing::warn!("cannot tell the window about added files: {e}");
    }
}

fn add_in_background(app: tauri::AppHandle, paths: Vec<PathBuf>) {
    if paths.is_empty() {
        return;
    }
    tauri::async_runtime::spawn(async move { add_and_report(&app, paths).await });
}

fn on_window_event(window: &tauri::Window, event: &WindowEvent) {
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            let app = window.app_handle();
            let to_tray = app.state::<Arc<AppState>>().settings().close_to_tray
                && app.state::<Tray>().0.is_some();
            if to_tray {
                api.prevent_close();
                let _ = window.hide();
            }
        }
        // Folders: the window asks "Upload once" or "Watch" first; plain files go at once.
        WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. })
            if !watch_commands::offer_drop(window.app_handle(), paths) =>
        {
            add_in_background(window.app_handle().clone(), paths.clone());
        }
        _ => {}
    }
}

/// Brings the main window back (tray "Show", a second launch).
pub fn show_main_window(app: &tauri::AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Paths among command-line arguments: options (starting with `-`) are skipped and relative
/// paths are taken from `cwd`, the folder the launch happened in.
fn paths_from_args(args: impl Iterator<Item = OsString>, cwd: &Path) -> Vec<PathBuf> {
    args.filter(|a| !a.to_string_lossy().starts_with('-'))
        .map(|a| cwd.join(PathBuf::from(a)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_paths_are_made_absolute_and_options_skipped() {
        let args = ["a.txt", "--verbose", "/abs/b.bin", "sub/c"]
            .into_iter()
            .map(OsString::from);
        let got = paths_from_args(args, Path::new("/home/me"));
        assert_eq!(
            got,
            [
                PathBuf::from("/home/me/a.txt"),
                PathBuf::from("/abs/b.bin"),
                PathBuf::from("/home/me/sub/c"),
            ]
        );
    }
}
