//! Keeps `ui/src/generated/` in step with the Rust types that cross the IPC boundary: the
//! test writes the declarations into a temporary folder and fails on any difference. Run it
//! with `UPDATE_TS_TYPES=1` (or `make ui-types`) to rewrite the UI's copy instead.

use crate::ipc::{AddReport, AppInfo, ChunkView, EventBatch, QueueSnapshot, UserError};
use crate::settings::AppSettings;
use crate::targets::TargetList;
use crate::twake::{TwakeAccountInfo, TwakeFolders, TwakeServer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use ts_rs::{Config, TS};
use upload_engine::Dialect;

fn export_into(dir: &Path) {
    // serde_json writes u64 as a plain JSON number, which JavaScript reads as `number`.
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    EventBatch::export_all(&cfg).unwrap();
    QueueSnapshot::export_all(&cfg).unwrap();
    ChunkView::export_all(&cfg).unwrap();
    AddReport::export_all(&cfg).unwrap();
    UserError::export_all(&cfg).unwrap();
    AppInfo::export_all(&cfg).unwrap();
    AppSettings::export_all(&cfg).unwrap();
    TargetList::export_all(&cfg).unwrap();
    Dialect::export_all(&cfg).unwrap();
    TwakeAccountInfo::export_all(&cfg).unwrap();
    TwakeFolders::export_all(&cfg).unwrap();
    TwakeServer::export_all(&cfg).unwrap();
    crate::watching::WatchBatch::export_all(&cfg).unwrap();
    crate::watching::WatchOverview::export_all(&cfg).unwrap();
    crate::watch_commands::DropOffer::export_all(&cfg).unwrap();
    crate::watch_commands::DropChoice::export_all(&cfg).unwrap();
    upload_engine::store::HistoryPage::export_all(&cfg).unwrap();
    upload_engine::store::HistoryQuery::export_all(&cfg).unwrap();
}

fn read_ts_files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".ts") {
            out.insert(name, std::fs::read_to_string(e.path()).unwrap());
        }
    }
    out
}

fn ui_generated_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated")
}

#[test]
fn generated_typescript_matches_the_rust_types() {
    let fresh_dir = tempfile::tempdir().unwrap();
    export_into(fresh_dir.path());
    let fresh = read_ts_files(fresh_dir.path());
    assert!(fresh.contains_key("EventBatch.ts"), "{:?}", fresh.keys());
    let ui_dir = ui_generated_dir();
    if std::env::var_os("UPDATE_TS_TYPES").is_some() {
        let _ = std::fs::remove_dir_all(&ui_dir);
        std::fs::create_dir_all(&ui_dir).unwrap();
        for (name, text) in &fresh {
            std::fs::write(ui_dir.join(name), text).unwrap();
        }
        return;
    }
    let committed = read_ts_files(&ui_dir);
    assert!(
        committed == fresh,
        "ui/src/generated/ is stale: run `make ui-types` (UPDATE_TS_TYPES=1 cargo test -p \
         twake-uploader-app ts_export) and commit the result. Differing files: {:?}",
        fresh
            .keys()
            .chain(committed.keys())
            .filter(|k| fresh.get(*k) != committed.get(*k))
            .collect::<std::collections::BTreeSet<_>>()
    );
}
