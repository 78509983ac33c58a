//! The tray icon: overall progress drawn on the icon and told in its menu and title, pause
//! all / resume all, show the window, quit. Uploads keep running in the tray when the window is
//! closed (a setting). Its words follow the app's language (`i18n`); `relabel` switches them
//! when the setting changes.

use crate::i18n::fill;
use crate::i18n::Lang;
use crate::state::AppState;
use std::sync::Mutex;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};
use upload_engine::{HoldReason, QueueTotals};

/// What the tray updates while uploads run.
pub struct TrayHandles {
    status: MenuItem<Wry>,
    show: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    resume: MenuItem<Wry>,
    quit: MenuItem<Wry>,
    /// The language the menu speaks and the totals it last told, to tell them again in
    /// another language.
    said: Mutex<(Lang, QueueTotals)>,
    icon: TrayIcon<Wry>,
    /// The app icon without a progress bar, as RGBA, width, height.
    base: Option<(Vec<u8>, u32, u32)>,
    /// Percent last drawn on the icon, so an unchanged figure costs nothing.
    drawn: Mutex<Option<u64>>,
}

pub fn build(app: &AppHandle, lang: Lang) -> tauri::Result<TrayHandles> {
    let t = lang.texts();
    let status = MenuItem::with_id(app, "status", t.tray_idle, false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", t.tray_show, true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause_all", t.tray_pause_all, true, None::<&str>)?;
    let resume = MenuItem::with_id(app, "resume_all", t.tray_resume_all, true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", t.tray_quit, true, None::<&str>)?;
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
    let base = app
        .default_window_icon()
        .map(|i| (i.rgba().to_vec(), i.width(), i.height()));
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(TrayHandles {
        status,
        show,
        pause,
        resume,
        quit,
        said: Mutex::new((lang, QueueTotals::default())),
        icon,
        base,
        drawn: Mutex::new(None),
    })
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
    /// Speaks `lang` from now on: the menu's items and the last status are told again.
    pub fn relabel(&self, lang: Lang) {
        let totals = {
            let mut said = self.said.lock().unwrap_or_else(|p| p.into_inner());
            if said.0 == lang {
                return;
            }
            said.0 = lang;
            said.1.clone()
        };
        let t = lang.texts();
        for (item, text) in [
            (&self.show, t.tray_show),
            (&self.pause, t.tray_pause_all),
            (&self.resume, t.tray_resume_all),
            (&self.quit, t.tray_quit),
        ] {
            let _ = item.set_text(text);
        }
        self.show(&totals);
    }

    pub fn show(&self, totals: &QueueTotals) {
        let lang = {
            let mut said = self.said.lock().unwrap_or_else(|p| p.into_inner());
            said.1 = totals.clone();
            said.0
        };
        let text = status_text(totals, lang);
        // The tray may be missing (no StatusNotifier host): progress is then only in the window.
        let _ = self.status.set_text(&text);
        let _ = self.icon.set_tooltip(Some(&text));
        let _ = self.icon.set_title(Some(&short_status(totals, lang)));
        let busy = totals.files > totals.files_done + totals.files_failed;
        let pct = busy.then(|| percent(totals.bytes_acked, totals.bytes_total));
        let mut drawn = self.drawn.lock().unwrap_or_else(|p| p.into_inner());
        if *drawn == pct {
            return;
        }
        *drawn = pct;
        if let Some((rgba, w, h)) = &self.base {
            let pixels = with_progress_bar(rgba, *w, *h, pct);
            let _ = self.icon.set_icon(Some(Image::new_owned(pixels, *w, *h)));
        }
    }
}

/// The icon with a progress bar along its bottom edge (done part white on a dark track), or
/// the plain icon when `pct` is `None` (nothing uploading).
pub fn with_progress_bar(rgba: &[u8], width: u32, height: u32, pct: Option<u64>) -> Vec<u8> {
    let mut out = rgba.to_vec();
    let Some(pct) = pct else {
        return out;
    };
    let (w, h) = (width as usize, height as usize);
    let bar = (h / 6).max(2);
    let filled = w * pct.min(100) as usize / 100;
    for y in h - bar..h {
        for x in 0..w {
            let i = (y * w + x) * 4;
            let colour = if x < filled {
                [0x23, 0xa3, 0x5a, 0xff]
            } else {
                [0x1b, 0x1f, 0x27, 0xff]
            };
            if let Some(px) = out.get_mut(i..i + 4) {
                px.copy_from_slice(&colour);
            }
        }
    }
    out
}

/// "Uploading: 45 % · 3 of 10 files done", or what is left when nothing moves.
pub fn status_text(t: &QueueTotals, lang: Lang) -> String {
    let words = lang.texts();
    if t.files == 0 {
        return words.tray_idle.into();
    }
    let n = |v: u64| lang.number(v);
    let finished = t.files_done + t.files_failed;
    if finished == t.files {
        return match (t.files_failed, t.files) {
            (0, 1) => words.tray_one_uploaded.to_string(),
            (0, files) => fill(words.tray_all_uploaded, &[("n", n(files))]),
            (failed, _) => fill(
                words.tray_some_failed,
                &[("done", n(t.files_done)), ("failed", n(failed))],
            ),
        };
    }
    let mut values = vec![
        ("pct", percent(t.bytes_acked, t.bytes_total).to_string()),
        ("done", n(t.files_done)),
        (
            "files",
            lang.count(t.files, words.file_one, words.file_other),
        ),
    ];
    match held_text(&t.held, lang) {
        Some(why) => {
            values.push(("why", why.to_string()));
            fill(words.tray_held, &values)
        }
        None => fill(words.tray_uploading, &values),
    }
}

/// Why the queue waits, in a few words ("Paused: on battery"), when a condition holds it.
pub fn held_text(held: &[HoldReason], lang: Lang) -> Option<&'static str> {
    let words = lang.texts();
    let metered = held.contains(&HoldReason::Metered);
    let battery = held.contains(&HoldReason::OnBattery);
    match (metered, battery) {
        (true, true) => Some(words.held_both),
        (true, false) => Some(words.held_metered),
        (false, true) => Some(words.held_battery),
        (false, false) => None,
    }
}

/// The tray icon's title, which desktops also read out as its name: always the app's name,
/// with the percent while uploading.
fn short_status(t: &QueueTotals, lang: Lang) -> String {
    if t.files == 0 || t.files_done + t.files_failed == t.files {
        return "Twake Uploader".to_string();
    }
    let pct = percent(t.bytes_acked, t.bytes_total);
    match lang {
        Lang::En => format!("Twake Uploader · {pct} %"),
        Lang::Fr => format!("Twake Uploader · {pct}\u{a0}%"),
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
        assert_eq!(
            status_text(&t, Lang::En),
            "Uploading: 99 % · 3 of 10 files done"
        );
        t.files_done = 9;
        t.files_failed = 1;
        assert_eq!(status_text(&t, Lang::En), "9 uploaded, 1 failed");
        t.files_failed = 0;
        t.files_done = 10;
        assert_eq!(status_text(&t, Lang::En), "All 10 files uploaded");
        assert_eq!(
            status_text(&QueueTotals::default(), Lang::En),
            "No uploads yet"
        );
    }

    #[test]
    fn one_file_is_said_in_the_singular_and_the_title_is_the_app_name() {
        let mut t = QueueTotals {
            files: 1,
            bytes_total: 100,
            bytes_acked: 45,
            ..QueueTotals::default()
        };
        assert_eq!(
            status_text(&t, Lang::En),
            "Uploading: 45 % · 0 of 1 file done"
        );
        assert_eq!(short_status(&t, Lang::En), "Twake Uploader · 45 %");
        t.files_done = 1;
        assert_eq!(status_text(&t, Lang::En), "1 file uploaded");
        assert_eq!(short_status(&t, Lang::En), "Twake Uploader");
        assert_eq!(
            short_status(&QueueTotals::default(), Lang::En),
            "Twake Uploader"
        );
    }

    #[test]
    fn the_tray_speaks_french_with_french_numbers_and_spaces() {
        let mut t = QueueTotals {
            files: 1200,
            files_done: 3,
            bytes_total: 1000,
            bytes_acked: 450,
            ..QueueTotals::default()
        };
        assert_eq!(
            status_text(&t, Lang::Fr),
            "Envoi\u{a0}: 45\u{a0}% · 3 sur 1\u{202f}200 fichiers terminés"
        );
        assert_eq!(short_status(&t, Lang::Fr), "Twake Uploader · 45\u{a0}%");
        t.files_done = 1199;
        t.files_failed = 1;
        assert_eq!(
            status_text(&t, Lang::Fr),
            "1\u{202f}199 envoyés, 1 en échec"
        );
        assert_eq!(
            status_text(&QueueTotals::default(), Lang::Fr),
            "Aucun envoi pour l’instant"
        );
    }

    #[test]
    fn the_tray_says_why_the_queue_waits_and_stops_saying_it_when_it_continues() {
        let mut t = QueueTotals {
            files: 4,
            files_done: 1,
            bytes_total: 1000,
            bytes_acked: 450,
            held: vec![HoldReason::OnBattery],
            ..QueueTotals::default()
        };
        assert_eq!(
            status_text(&t, Lang::En),
            "Paused: on battery · 45 % · 1 of 4 files done"
        );
        assert_eq!(
            status_text(&t, Lang::Fr),
            "En pause\u{a0}: sur batterie · 45\u{a0}% · 1 sur 4 fichiers terminés"
        );
        t.held = vec![HoldReason::Metered];
        assert_eq!(
            status_text(&t, Lang::En),
            "Paused: on a metered connection · 45 % · 1 of 4 files done"
        );
        t.held = vec![HoldReason::Metered, HoldReason::OnBattery];
        assert!(
            status_text(&t, Lang::En).starts_with("Paused: on battery and a metered connection · ")
        );
        t.held.clear();
        assert_eq!(
            status_text(&t, Lang::En),
            "Uploading: 45 % · 1 of 4 files done"
        );
        // Nothing left to send: the outcome, whatever holds the queue.
        t.held = vec![HoldReason::OnBattery];
        t.files_done = 4;
        assert_eq!(status_text(&t, Lang::En), "All 4 files uploaded");
    }

    #[test]
    fn the_icon_bar_fills_with_progress_and_disappears_when_idle() {
        let (w, h) = (32u32, 32u32);
        let base = vec![0x80u8; (w * h * 4) as usize];
        let px = |img: &[u8], x: u32, y: u32| {
            let i = ((y * w + x) * 4) as usize;
            img[i..i + 4].to_vec()
        };
        let half = with_progress_bar(&base, w, h, Some(50));
        assert_eq!(px(&half, 3, h - 1), [0x23, 0xa3, 0x5a, 0xff], "done part");
        assert_eq!(px(&half, 28, h - 1), [0x1b, 0x1f, 0x27, 0xff], "track");
        assert_eq!(
            px(&half, 3, 0),
            [0x80; 4],
            "the icon above the bar is untouched"
        );
        assert_eq!(with_progress_bar(&base, w, h, None), base);
    }

    #[test]
    fn percent_never_passes_100() {
        assert_eq!(percent(2000, 1000), 100);
        assert_eq!(percent(0, 0), 100);
    }
}
