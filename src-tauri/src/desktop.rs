//! What the shell asks of the desktop: native file pickers (rfd, GTK backend) and opening a
//! folder in the file manager. Both are outside anything the webview may do by itself.

use crate::i18n::Lang;
use crate::ipc::UserError;
use std::path::{Path, PathBuf};

/// Files chosen in the native picker; empty when the person cancelled.
pub async fn pick_files(parent: &tauri::WebviewWindow, lang: Lang) -> Vec<PathBuf> {
    rfd::AsyncFileDialog::new()
        .set_title(lang.texts().pick_files)
        .set_parent(parent)
        .pick_files()
        .await
        .map(|files| files.into_iter().map(|f| f.path().to_path_buf()).collect())
        .unwrap_or_default()
}

/// Folders chosen in the native picker; empty when the person cancelled.
pub async fn pick_folders(parent: &tauri::WebviewWindow, lang: Lang) -> Vec<PathBuf> {
    pick_folders_titled(parent, lang.texts().pick_folders).await
}

/// The folder picker with its own title ("Choose folders to watch").
pub async fn pick_folders_titled(parent: &tauri::WebviewWindow, title: &str) -> Vec<PathBuf> {
    rfd::AsyncFileDialog::new()
        .set_title(title)
        .set_parent(parent)
        .pick_folders()
        .await
        .map(|dirs| dirs.into_iter().map(|f| f.path().to_path_buf()).collect())
        .unwrap_or_default()
}

/// Opens `dir` in the desktop's file manager.
pub fn open_folder(dir: &Path) -> Result<(), UserError> {
    if !dir.is_dir() {
        return Err(UserError::new(
            format!("The folder {} does not exist any more.", dir.display()),
            "The file may have been moved or deleted.",
        ));
    }
    #[cfg(target_os = "macos")]
    let opener = "open";
    #[cfg(target_os = "windows")]
    let opener = "explorer";
    #[cfg(not(any(target_os = "macos", target_os = "windows")))]
    let opener = "xdg-open";
    std::process::Command::new(opener)
        .arg(dir)
        .spawn()
        .map(|mut child| {
            // Reap it when it exits, so no zombie is left behind.
            std::thread::spawn(move || child.wait());
        })
        .map_err(|e| {
            UserError::new(
                format!("Could not open {}: {e}", dir.display()),
                format!("Open the folder yourself; `{opener}` did not start."),
            )
        })
}
