//! The tray icon: overall progress in its menu and title, pause all / resume all, show the
//! window, quit. Uploads keep running in the tray when the window is closed (a setting).

use crate::state::AppState;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};
use upload_engine::QueueTotals;

/// What the tray updates while uploads run.
pub struct TrayHandles {
    status: MenuItem<Wry>,
    icon: TrayIcon<Wry>,
}

pub fn build(app: &AppHandle) -> tauri::Result<TrayHandles> {
    let status = MenuItem::with_id(app, "status", "No uploads yet", false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show Twake Uploader", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause_all", "Pause all", true, None::<&str>)?;
    let resume = MenuItem::with_id(app, "resume_all", "Resume all", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &show,
            &pause,
            &resume,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id("main")
        .tooltip("Twake Uploader")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => crate::show_main_window(app),
            "pause_all" => run_on_engine(app, |s| async move { s.engine.pause_all().await }),
            "resume_all" => run_on_engine(app, |s| async move { s.engine.resume_all().await }),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(TrayHandles { status, icon })
}

fn run_on_engine<F, Fut>(app: &AppHandle, action: F)
where
    F: FnOnce(std::sync::Arc<AppState>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), upload_engine::EngineError>> + Send,
{
    let state = app.state::<std::sync::Arc<AppState>>().inner().clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = action(state).await {
            tracing::warn!("tray action failed: {e}");
        }
    });
}

impl TrayHandles {
    pub fn show(&self, totals: &QueueTotals) {
        let text = status_text(totals);
        // The tray may be missing (no StatusNotifier host): progress is then only in the window.
        let _ = self.status.set_text(&text);
        let _ = self.icon.set_tooltip(Some(&text));
        let _ = self.icon.set_title(Some(&short_status(totals)));
    }
}

/// "Uploading: 45 % · 3 of 10 files done", or what is left when nothing moves.
pub fn status_text(t: &QueueTotals) -> String {
    if t.files == 0 {
        return "No uploads yet".into();
    }
    let finished = t.files_done + t.files_failed;
    if finished == t.files {
        return if t.files_failed == 0 {
            format!("All {} files uploaded", t.files)
        } else {
            format!("{} uploaded, {} failed", t.files_done, t.files_failed)
        };
    }
    format!(
        "Uploading: {} % · {} of {} files done",
        percent(t.bytes_acked, t.bytes_total),
        t.files_done,
        t.files
    )
}

fn short_status(t: &QueueTotals) -> String {
    if t.files == 0 || t.files_done + t.files_failed == t.files {
        String::new()
    } else {
        format!("{} %", percent(t.bytes_acked, t.bytes_total))
    }
}

/// Whole percent, rounded down so 100 % means really done, and never above 100.
fn percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        return 100;
    }
    (u128::from(done.min(total)) * 100 / u128::from(total)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tray_text_tells_progress_then_the_outcome() {
        let mut t = QueueTotals {
            files: 10,
            files_done: 3,
            bytes_total: 1000,
            bytes_acked: 999,
            ..QueueTotals::default()
        };
        assert_eq!(status_text(&t), "Uploading: 99 % · 3 of 10 files done");
        t.files_done = 9;
        t.files_failed = 1;
        assert_eq!(status_text(&t), "9 uploaded, 1 failed");
        t.files_failed = 0;
        t.files_done = 10;
        assert_eq!(status_text(&t), "All 10 files uploaded");
        assert_eq!(status_text(&QueueTotals::default()), "No uploads yet");
    }

    #[test]
    fn percent_never_passes_100() {
        assert_eq!(percent(2000, 1000), 100);
        assert_eq!(percent(0, 0), 100);
    }
}
