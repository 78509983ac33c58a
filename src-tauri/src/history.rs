//! The History tab's commands: a page of the engine's upload history, its CSV export to a
//! file the person chose in the save dialog, and "Clear history". No Tauri types in the core
//! (`export_csv`), so the export is tested without a window.

use crate::ipc::UserError;
use crate::state::AppState;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::State;
use upload_engine::store::history::{write_csv_rows, CSV_HEADER};
use upload_engine::store::{HistoryPage, HistoryQuery};
use upload_engine::Engine;

type Shared<'a> = State<'a, Arc<AppState>>;

/// Lines read from the engine at once while exporting, so a long history is never held whole.
const EXPORT_PAGE: u32 = 1000;

#[tauri::command]
pub async fn history(state: Shared<'_>, query: HistoryQuery) -> Result<HistoryPage, UserError> {
    Ok(state.engine.history(query).await?)
}

#[tauri::command]
pub async fn clear_history(state: Shared<'_>) -> Result<usize, UserError> {
    Ok(state.engine.clear_history().await?)
}

/// "Export CSV…": the save dialog, then the lines matching `search` into the chosen file.
/// Answers how many lines were written, or `None` when the person cancelled.
#[tauri::command]
pub async fn export_history(
    window: tauri::WebviewWindow,
    state: Shared<'_>,
    search: String,
) -> Result<Option<u64>, UserError> {
    let lang = state.settings().lang();
    let Some(path) = save_dialog(&window, lang.texts().save_history).await else {
        return Ok(None);
    };
    export_csv(&state.engine, &search, &path).await.map(Some)
}

async fn save_dialog(parent: &tauri::WebviewWindow, title: &str) -> Option<PathBuf> {
    rfd::AsyncFileDialog::new()
        .set_title(title)
        .set_parent(parent)
        .set_file_name("twake-uploader-history.csv")
        .add_filter("CSV", &["csv"])
        .save_file()
        .await
        .map(|f| f.path().to_path_buf())
}

/// Writes the history lines matching `search` as CSV into `path`, page by page; answers how
/// many lines were written. The file is written beside its final name and renamed at the end,
/// so a failed export never leaves half a file where a good one was.
pub async fn export_csv(engine: &Engine, search: &str, path: &Path) -> Result<u64, UserError> {
    let cannot = |e: std::io::Error| {
        UserError::new(
            format!("Could not write the history to {}: {e}", path.display()),
            "Choose a folder you can write to, with free space.",
        )
    };
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&part).map_err(cannot)?);
    let written = async {
        out.write_all(CSV_HEADER.as_bytes()).map_err(cannot)?;
        let mut offset = 0u32;
        loop {
            let page = engine
                .history(HistoryQuery {
                    search: search.to_string(),
                    limit: EXPORT_PAGE,
                    offset,
                })
                .await?;
            write_csv_rows(&mut out, &page.entries).map_err(cannot)?;
            offset += page.entries.len() as u32;
            if page.entries.len() < EXPORT_PAGE as usize {
                break;
            }
        }
        out.flush().map_err(cannot)?;
        Ok::<u64, UserError>(u64::from(offset))
    }
    .await;
    drop(out);
    match written {
        Ok(n) => {
            std::fs::rename(&part, path).map_err(cannot)?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::AppSettings;

    #[tokio::test]
    async fn the_export_writes_every_matching_line_and_keeps_them_after_clear_finished() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::in_folder(dir.path(), AppSettings::default()).await;
        let mut files = Vec::new();
        for name in ["report.pdf", "notes.txt"] {
            let file = dir.path().join(name);
            std::fs::write(&file, name.repeat(100)).unwrap();
            files.push(file);
        }
        assert_eq!(state.add_paths(files).await.added, 2);
        state.engine.wait_idle().await.unwrap();
        state.engine.clear_finished().await.unwrap();
        let csv = dir.path().join("history.csv");
        assert_eq!(export_csv(&state.engine, "REPORT", &csv).await.unwrap(), 1);
        let text = std::fs::read_to_string(&csv).unwrap();
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[1].contains(",done,,report.pdf,report.pdf,1000,"),
            "{text}"
        );
        assert!(!dir.path().join("history.csv.part").exists());
        // A folder that cannot be written to says where and what to do.
        let err = export_csv(&state.engine, "", &dir.path().join("missing/h.csv"))
            .await
            .unwrap_err();
        assert!(err.message.contains("missing/h.csv"), "{err:?}");
    }
}
