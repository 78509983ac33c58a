//! What the shell holds for its whole life: the one engine, the targets, the settings. Has no
//! Tauri types, so the paths from "files chosen" to "queued" are tested without a window.

use crate::conditions::Conditions;
use crate::ipc::{AddFailure, AddReport, UserError};
use crate::settings::{AppSettings, SettingsFile};
use crate::targets::Targets;
use std::path::PathBuf;
use std::sync::Mutex;
use upload_engine::{sources, Engine, EnqueueRequest};

pub struct AppState {
    pub engine: Engine,
    pub targets: Targets,
    settings: Mutex<AppSettings>,
    settings_file: SettingsFile,
    /// What the machine said last (metered, on battery), to apply again when the settings
    /// about it change.
    conditions: Mutex<Conditions>,
}

impl AppState {
    pub fn new(
        engine: Engine,
        targets: Targets,
        settings: AppSettings,
        settings_file: SettingsFile,
    ) -> AppState {
        AppState {
            engine,
            targets,
            settings: Mutex::new(settings),
            settings_file,
            conditions: Mutex::new(Conditions::default()),
        }
    }

    /// For tests: a durable queue in `dir`, the local test server receiving into
    /// `dir/received`, `settings` saved as `dir/settings.json`.
    #[cfg(test)]
    pub async fn in_folder(dir: &std::path::Path, settings: AppSettings) -> AppState {
        let engine = Engine::open(upload_engine::EngineConfig {
            database: Some(dir.join("queue.sqlite3")),
            ..upload_engine::EngineConfig::default()
        })
        .await
        .unwrap();
        AppState::new(
            engine,
            Targets::new(dir.join("received"), 0),
            settings,
            SettingsFile {
                path: dir.join("settings.json"),
            },
        )
    }

    pub fn settings(&self) -> AppSettings {
        self.settings
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    pub fn settings_path(&self) -> &std::path::Path {
        &self.settings_file.path
    }

    /// Validates, saves and applies new settings; the engine's limits change at once.
    pub fn replace_settings(&self, new: AppSettings) -> Result<AppSettings, UserError> {
        new.validate()?;
        self.settings_file.save(&new)?;
        self.engine.set_limits(new.limits())?;
        self.engine.set_bandwidth_limit(new.bandwidth_limit);
        self.engine.set_changed_files(new.changed_files)?;
        {
            let mut guard = self
                .settings
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *guard = new.clone();
        }
        self.apply_conditions(&new)?;
        Ok(new)
    }

    /// The machine says `now` (`conditions.rs`): the queue waits for each condition whose
    /// setting is on, and continues by itself when none holds it any more.
    pub fn set_conditions(&self, now: Conditions) -> Result<(), UserError> {
        *self
            .conditions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = now;
        self.apply_conditions(&self.settings())
    }

    fn apply_conditions(&self, settings: &AppSettings) -> Result<(), UserError> {
        let now = *self
            .conditions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (reason, held) in now.holds(settings.pause_on_metered, settings.pause_on_battery) {
            if held {
                self.engine.hold(reason)?;
            } else {
                self.engine.release(reason)?;
            }
        }
        Ok(())
    }

    /// Changes the settings with `edit`, then saves and applies them.
    pub fn edit_settings(
        &self,
        edit: impl FnOnce(&mut AppSettings),
    ) -> Result<AppSettings, UserError> {
        let mut s = self.settings();
        edit(&mut s);
        self.replace_settings(s)
    }

    /// The one path from "these paths were chosen" (picker, drop, command line, a second
    /// launch) to the queue: folders are expanded, every file goes to the default target,
    /// and each path that cannot be queued is reported with its reason, the rest still going.
    pub async fn add_paths(&self, paths: Vec<PathBuf>) -> AddReport {
        let settings = self.settings();
        let (target, target_name) = match self
            .targets
            .resolve(&settings.default_target, &settings)
            .await
        {
            Ok(t) => t,
            Err(error) => {
                return AddReport {
                    error: Some(error),
                    ..AddReport::default()
                }
            }
        };
        let mut report = AddReport {
            target: target_name,
            ..AddReport::default()
        };
        let upload = settings.upload_settings(&target);
        for path in paths {
            let shown = path.display().to_string();
            let found = tokio::task::spawn_blocking(move || sources::collect(&[path])).await;
            let files = match found {
                Ok(Ok(found)) => {
                    report.failures.extend(found.failures().map(|s| AddFailure {
                        path: s.shown.clone(),
                        reason: s.reason.clone(),
                    }));
                    found.files
                }
                Ok(Err(e)) => {
                    report.failures.push(AddFailure {
                        path: shown,
                        reason: e.to_string(),
                    });
                    continue;
                }
                Err(e) => {
                    report.failures.push(AddFailure {
                        path: shown,
                        reason: format!("could not be read: {e}"),
                    });
                    continue;
                }
            };
            // Each path handed over is a batch: a new folder stays hidden on a server that
            // can, until its last file is in; a destination that refuses stops it here.
            let rels: Vec<String> = files.iter().map(|f| f.relative_path.clone()).collect();
            if let Err(e) = self.engine.prepare(&target, &rels).await {
                report.failures.push(AddFailure {
                    path: shown,
                    reason: e.to_string(),
                });
                continue;
            }
            for f in files {
                let shown = f.path.display().to_string();
                let request = EnqueueRequest {
                    path: f.path,
                    relative_path: Some(f.relative_path),
                    target: target.clone(),
                    settings: upload.clone(),
                };
                match self.engine.enqueue(request).await {
                    Ok(_) => report.added += 1,
                    Err(e) => report.failures.push(AddFailure {
                        path: shown,
                        reason: e.to_string(),
                    }),
                }
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upload_engine::{EngineConfig, FileState, HoldReason};

    async fn state_in(dir: &std::path::Path) -> AppState {
        let engine = Engine::open(EngineConfig::default()).await.unwrap();
        AppState::new(
            engine,
            Targets::new(dir.join("received"), 0),
            AppSettings {
                chunk_size: Some(64 * 1024),
                ..AppSettings::default()
            },
            SettingsFile {
                path: dir.join("settings.json"),
            },
        )
    }

    #[tokio::test]
    async fn a_dropped_folder_arrives_whole_on_the_local_test_server() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("photos");
        std::fs::create_dir_all(src.join("2024")).unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(src.join("2024/big.bin"), &big).unwrap();
        std::fs::write(src.join("note.txt"), b"hello").unwrap();
        let state = state_in(dir.path()).await;

        let report = state.add_paths(vec![src.clone()]).await;
        assert_eq!(report.added, 2, "{report:?}");
        assert_eq!(report.target, "Local test server");
        state.engine.wait_idle().await.unwrap();

        let all = state.engine.snapshot().await.unwrap();
        assert!(all.iter().all(|u| u.state == FileState::Done), "{all:?}");
        let got = std::fs::read(dir.path().join("received/photos/2024/big.bin")).unwrap();
        assert_eq!(got, big);
        let note = std::fs::read(dir.path().join("received/photos/note.txt")).unwrap();
        assert_eq!(note, b"hello");
    }

    #[tokio::test]
    async fn an_unreadable_path_is_reported_and_the_others_still_go() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.txt");
        std::fs::write(&ok, b"fine").unwrap();
        let state = state_in(dir.path()).await;
        let report = state
            .add_paths(vec![dir.path().join("missing.bin"), ok])
            .await;
        assert_eq!(report.added, 1);
        assert_eq!(report.failures.len(), 1);
        assert!(report.failures[0].reason.contains("missing.bin"));
    }

    #[tokio::test]
    async fn the_queue_waits_for_each_condition_whose_setting_is_on() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path()).await;
        let held = || async { state.engine.totals().await.unwrap().held };
        assert_eq!(held().await, []);
        let on_battery = Conditions {
            metered: false,
            on_battery: true,
        };
        state.set_conditions(on_battery).unwrap();
        assert_eq!(held().await, [HoldReason::OnBattery]);
        state
            .set_conditions(Conditions {
                metered: true,
                on_battery: true,
            })
            .unwrap();
        assert_eq!(held().await, [HoldReason::Metered, HoldReason::OnBattery]);
        // Turning a setting off lets the queue go at once, the other still holds it.
        state.edit_settings(|s| s.pause_on_metered = false).unwrap();
        assert_eq!(held().await, [HoldReason::OnBattery]);
        // The condition ends: the queue continues by itself.
        state.set_conditions(Conditions::default()).unwrap();
        assert_eq!(held().await, []);
        state.edit_settings(|s| s.pause_on_metered = true).unwrap();
        assert_eq!(held().await, [], "no condition, no wait");
        // A file queued while on battery waits, and goes when the battery is left.
        state.set_conditions(on_battery).unwrap();
        let file = dir.path().join("a.bin");
        std::fs::write(&file, vec![7u8; 200_000]).unwrap();
        assert_eq!(state.add_paths(vec![file]).await.added, 1);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let all = state.engine.snapshot().await.unwrap();
        assert_eq!(all[0].state, FileState::Queued, "waits on battery");
        assert_eq!(all[0].acked_bytes, 0);
        state.set_conditions(Conditions::default()).unwrap();
        state.engine.wait_idle().await.unwrap();
        let all = state.engine.snapshot().await.unwrap();
        assert_eq!(all[0].state, FileState::Done);
        assert_eq!(
            std::fs::read(dir.path().join("received/a.bin")).unwrap(),
            vec![7u8; 200_000]
        );
    }

    #[tokio::test]
    async fn saved_settings_change_the_engine_limits_and_refuse_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(dir.path()).await;
        let saved = state.edit_settings(|s| s.parallel_files = 3).unwrap();
        assert_eq!(saved.parallel_files, 3);
        let on_disk = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
        assert!(on_disk.contains("\"parallel_files\": 3"), "{on_disk}");
        let err = state.edit_settings(|s| s.parallel_chunks = 99).unwrap_err();
        assert!(err.message.contains("from 0 to 16"), "{err:?}");
        assert_eq!(state.settings().parallel_chunks, 0, "refused: unchanged");
    }
}
