//! The person's settings: how files are cut and sent, what closing the window does, the
//! language and the saved targets. Saved as JSON in the XDG config folder; the engine gets
//! the live part through `Engine::set_limits` as soon as the settings are saved.

use crate::i18n::{Lang, Language};
use crate::ipc::UserError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;
use upload_engine::{ChangedFilePolicy, Dialect, Limits, TargetSpec, UploadSettings};

/// Smallest and largest chunk sizes offered: below 64 KiB the requests cost more than the
/// bytes; the receiver's default limit is 512 MiB.
pub const MIN_CHUNK_SIZE: u64 = 64 * 1024;
pub const MAX_CHUNK_SIZE: u64 = 512 * 1024 * 1024;
pub const MAX_PARALLEL_CHUNKS: u32 = 16;
/// The layout `AppSettings::version` of this version's files.
pub const SETTINGS_VERSION: u32 = 3;
pub const MAX_PARALLEL_FILES: u32 = 8;

/// A destination the person saved. The local test server is always there and not saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedTarget {
    /// Any Resumable.js / Flow.js endpoint.
    Resumable { url: String, dialect: Dialect },
    /// A Drive folder of a signed-in Twake Drive account ("" is My Drive's root).
    Twake { account: String, folder: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AppSettings {
    /// Chunk size for files added from now on, in bytes; `None`: each target's own default
    /// (1 MiB, 8 MiB for Twake Drive), as the CLI uses.
    #[ts(type = "number | null")]
    pub chunk_size: Option<u64>,
    /// The layout of this file: 0 for files written before `chunk_size` could follow the
    /// target (their 1 MiB was the old default, not a choice), 1 before the counts could
    /// follow the link (their 3 and 2 were the old defaults), 2 since.
    #[serde(default)]
    pub version: u32,
    /// Chunk requests in flight across all files, exactly; 0 = follow the link.
    #[serde(deserialize_with = "null_is_default")]
    pub parallel_chunks: u32,
    /// Files uploading at once, exactly; 0 = as many as the link needs.
    #[serde(deserialize_with = "null_is_default")]
    pub parallel_files: u32,
    /// Upload speed cap in bytes per second, as the engine counts it; 0 for none; applied
    /// at once.
    #[serde(deserialize_with = "null_is_default")]
    pub bandwidth_limit: u64,
    /// The cap as files before version 3 kept it, in KB/s (1 KB = 1000 bytes); read once by
    /// `upgraded`, never written.
    #[serde(rename = "bandwidth_limit_kbps", skip_serializing)]
    #[ts(skip)]
    pub legacy_limit_kbps: Option<u64>,
    /// What happens to a file that changed on disk since it was queued; applied at once.
    pub changed_files: ChangedFilePolicy,
    /// Closing the window hides it to the tray and uploads go on.
    pub close_to_tray: bool,
    /// Start at login, hidden in the tray: `None` (the default) while a folder is watched,
    /// `Some(true)` always, `Some(false)` never.
    #[ts(type = "boolean | null")]
    pub autostart: Option<bool>,
    /// Desktop notifications when a batch finishes or a file fails.
    pub notifications: bool,
    /// Id of the target new files go to (see `targets`).
    pub default_target: String,
    pub saved_targets: Vec<SavedTarget>,
    /// Port the local test server listened on last time (0: none yet). The durable queue
    /// remembers its address, so it keeps the same one across restarts when it can.
    pub local_server_port: u16,
    /// Global ignore patterns of watched folders (gitignore syntax), added to the built-in
    /// defaults; changed through `save_watch_ignore`, which restarts watching with them.
    pub watch_ignore: Vec<String>,
    /// The language of the window, the tray and notifications; `system` (the default, also
    /// for files written before it existed) follows the OS locale.
    pub language: Language,
    /// A PEM file of extra certificate authorities, "" for none; proxy address ("" for the
    /// environment's) and user. Used from the next start (`network.rs`).
    pub ca_file: String,
    pub proxy_url: String,
    pub proxy_user: String,
    /// Uploads wait while NetworkManager says the connection is metered (`conditions.rs`);
    /// applied at once. Files written before it existed take the default (on).
    pub pause_on_metered: bool,
    /// Uploads wait while UPower says the computer runs on its battery; applied at once.
    pub pause_on_battery: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            chunk_size: None,
            version: SETTINGS_VERSION,
            parallel_chunks: Limits::default().parallel_chunks as u32,
            parallel_files: Limits::default().parallel_files as u32,
            bandwidth_limit: 0,
            legacy_limit_kbps: None,
            changed_files: ChangedFilePolicy::default(),
            close_to_tray: true,
            autostart: None,
            notifications: true,
            default_target: crate::targets::LOCAL_ID.into(),
            saved_targets: Vec::new(),
            local_server_port: 0,
            watch_ignore: Vec::new(),
            language: Language::System,
            ca_file: String::new(),
            proxy_url: String::new(),
            proxy_user: String::new(),
            pause_on_metered: true,
            pause_on_battery: true,
        }
    }
}

impl AppSettings {
    /// Refuses values the engine cannot use, naming the field and the allowed range.
    /// Refuses what cannot be used, in the words of the Settings form: the field's label and
    /// its range, never a restart (the form refuses the same values before sending).
    pub fn validate(&self) -> Result<(), UserError> {
        if self
            .chunk_size
            .is_some_and(|cs| !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&cs))
        {
            return Err(UserError::new(
                "Chunk size for new files must be between 64 KiB and 512 MiB.",
                "Choose one of the sizes in the list.",
            )
            .on_field("chunk_size"));
        }
        if !(0..=MAX_PARALLEL_CHUNKS).contains(&self.parallel_chunks) {
            return Err(UserError::new(
                format!(
                    "Chunks sent at once must be a whole number from 0 to {MAX_PARALLEL_CHUNKS}."
                ),
                "Type a number in that range.",
            )
            .on_field("parallel_chunks"));
        }
        if !(0..=MAX_PARALLEL_FILES).contains(&self.parallel_files) {
            return Err(UserError::new(
                format!(
                    "Files uploaded at once must be a whole number from 0 to {MAX_PARALLEL_FILES}."
                ),
                "Type a number in that range.",
            )
            .on_field("parallel_files"));
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            parallel_chunks: self.parallel_chunks as usize,
            parallel_files: self.parallel_files as usize,
        }
    }

    /// How files added now to `target` are cut: the chosen chunk size, else the target's.
    pub fn upload_settings(&self, target: &TargetSpec) -> UploadSettings {
        UploadSettings {
            chunk_size: self
                .chunk_size
                .unwrap_or_else(|| target.default_chunk_size()),
            // No size chosen: it may follow what the link measures.
            adapt_chunk_size: self.chunk_size.is_none(),
            ..UploadSettings::default()
        }
    }

    /// The chunk size a person chose, for what watched folders send (`None`: each target's).
    pub fn chosen_upload_settings(&self) -> Option<UploadSettings> {
        self.chunk_size.map(|chunk_size| UploadSettings {
            chunk_size,
            ..UploadSettings::default()
        })
    }

    /// The language the app speaks with these settings.
    pub fn lang(&self) -> Lang {
        self.language.lang()
    }

    /// Whether the app should start at login, given whether any folder is watched.
    pub fn wants_autostart(&self, watching_folders: bool) -> bool {
        self.autostart.unwrap_or(watching_folders)
    }

    /// Brings settings written by an older version to this one.
    fn upgraded(mut self) -> AppSettings {
        if self.version < 1 && self.chunk_size == Some(UploadSettings::default().chunk_size) {
            self.chunk_size = None;
        }
        let old = Limits::FIXED;
        if self.version < 2
            && self.parallel_chunks as usize == old.parallel_chunks
            && self.parallel_files as usize == old.parallel_files
        {
            // The old fixed defaults, not a choice: follow the link from now on.
            self.parallel_chunks = 0;
            self.parallel_files = 0;
        }
        if let Some(kbps) = self.legacy_limit_kbps.take() {
            if self.version < 3 && self.bandwidth_limit == 0 {
                self.bandwidth_limit = kbps.saturating_mul(1000);
            }
        }
        self.version = SETTINGS_VERSION;
        self
    }
}

/// A count or limit sent as `null` (an emptied form field) takes its default instead of
/// being refused by the IPC layer with a serde message nobody should read; the form and
/// `validate` word any real problem.
fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The settings file and its current content.
pub struct SettingsFile {
    pub path: PathBuf,
}

impl SettingsFile {
    /// Reads the settings; a missing file gives the defaults, an unreadable or broken one the
    /// defaults too (with a warning), so a bad edit never keeps the app from starting.
    pub fn load(&self) -> AppSettings {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return AppSettings::default(),
            Err(e) => {
                tracing::warn!("cannot read {}: {e}; using defaults", self.path.display());
                return AppSettings::default();
            }
        };
        match serde_json::from_str::<AppSettings>(&text).map(AppSettings::upgraded) {
            Ok(s) if s.validate().is_ok() => s,
            Ok(_) | Err(_) => {
                tracing::warn!(
                    "{} holds settings this version cannot use; using defaults",
                    self.path.display()
                );
                AppSettings::default()
            }
        }
    }

    /// Writes through a temporary file and a rename, so a crash never leaves half a file.
    pub fn save(&self, settings: &AppSettings) -> Result<(), UserError> {
        let fail = |e: std::io::Error| {
            UserError::new(
                format!("Cannot save the settings to {}: {e}", self.path.display()),
                "Check that your configuration folder is writable and has free space.",
            )
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let json = serde_json::to_string_pretty(settings).map_err(|e| fail(e.into()))?;
        let tmp = tmp_path(&self.path);
        std::fs::write(&tmp, json).map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_settings_read_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile {
            path: dir.path().join("deep/settings.json"),
        };
        assert_eq!(
            file.load(),
            AppSettings::default(),
            "missing file: defaults"
        );
        let s = AppSettings {
            chunk_size: Some(4 << 20),
            parallel_files: 4,
            close_to_tray: false,
            saved_targets: vec![SavedTarget::Resumable {
                url: "http://127.0.0.1:9/upload".into(),
                dialect: Dialect::Flow,
            }],
            ..AppSettings::default()
        };
        file.save(&s).unwrap();
        assert_eq!(file.load(), s);
    }

    #[test]
    fn an_old_speed_limit_in_kb_per_second_becomes_bytes_per_second_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile {
            path: dir.path().join("settings.json"),
        };
        std::fs::write(&file.path, r#"{"version": 2, "bandwidth_limit_kbps": 512}"#).unwrap();
        let s = file.load();
        assert_eq!(s.bandwidth_limit, 512_000);
        file.save(&s).unwrap();
        let written = std::fs::read_to_string(&file.path).unwrap();
        assert!(
            written.contains(r#""bandwidth_limit": 512000"#),
            "{written}"
        );
        assert!(
            !written.contains("kbps"),
            "the old name is not written again: {written}"
        );
        assert_eq!(file.load().bandwidth_limit, 512_000, "read back unchanged");
    }

    #[test]
    fn an_emptied_number_sent_as_null_takes_its_default_instead_of_a_serde_error() {
        let s: AppSettings = serde_json::from_str(
            r#"{"bandwidth_limit": null, "parallel_chunks": null, "parallel_files": 4}"#,
        )
        .unwrap();
        assert_eq!(s.bandwidth_limit, 0);
        assert_eq!(s.parallel_chunks, 0);
        assert_eq!(s.parallel_files, 4);
    }

    #[test]
    fn a_broken_file_falls_back_to_defaults_and_missing_fields_take_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile {
            path: dir.path().join("settings.json"),
        };
        std::fs::write(&file.path, "{ not json").unwrap();
        assert_eq!(file.load(), AppSettings::default());
        std::fs::write(&file.path, r#"{"parallel_files": 5}"#).unwrap();
        let s = file.load();
        assert_eq!(s.parallel_files, 5);
        assert_eq!(s.chunk_size, AppSettings::default().chunk_size);
        assert_eq!(s.language, Language::System, "older files follow the OS");
        assert!(
            s.pause_on_metered && s.pause_on_battery,
            "older files pause on a metered connection and on battery"
        );
        std::fs::write(&file.path, r#"{"version": 1, "language": "fr"}"#).unwrap();
        assert_eq!(file.load().lang(), Lang::Fr);
    }

    #[test]
    fn new_files_take_each_target_s_own_chunk_size_unless_one_was_chosen() {
        let twake = TargetSpec::Twake {
            account: "a@b.c@h".into(),
            folder: String::new(),
            collision: Default::default(),
        };
        let local = TargetSpec::Resumable {
            url: "http://127.0.0.1:9/upload".into(),
            dialect: Dialect::Resumable,
        };
        let default = AppSettings::default();
        assert_eq!(default.upload_settings(&twake).chunk_size, 8 << 20);
        assert_eq!(default.upload_settings(&local).chunk_size, 1 << 20);
        assert_eq!(default.chosen_upload_settings(), None);
        let chosen = AppSettings {
            chunk_size: Some(2 << 20),
            ..AppSettings::default()
        };
        assert_eq!(chosen.upload_settings(&twake).chunk_size, 2 << 20);
    }

    #[test]
    fn an_old_file_s_1_mib_was_the_old_default_and_follows_the_target_now() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile {
            path: dir.path().join("settings.json"),
        };
        std::fs::write(
            &file.path,
            r#"{"chunk_size": 1048576, "parallel_files": 3}"#,
        )
        .unwrap();
        let s = file.load();
        assert_eq!(s.chunk_size, None);
        assert_eq!(s.version, SETTINGS_VERSION);
        // A choice made since is kept, 1 MiB included.
        let chosen = AppSettings {
            chunk_size: Some(1 << 20),
            ..AppSettings::default()
        };
        file.save(&chosen).unwrap();
        assert_eq!(file.load().chunk_size, Some(1 << 20));
        std::fs::write(&file.path, r#"{"chunk_size": 4194304}"#).unwrap();
        assert_eq!(file.load().chunk_size, Some(4 << 20));
    }

    #[test]
    fn an_old_file_s_3_and_2_were_the_old_defaults_and_follow_the_link_now() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile {
            path: dir.path().join("settings.json"),
        };
        let counts = |text: &str| {
            std::fs::write(&file.path, text).unwrap();
            let s = file.load();
            (s.parallel_chunks, s.parallel_files)
        };
        let old = r#"{"version": 1, "parallel_chunks": 3, "parallel_files": 2}"#;
        assert_eq!(counts(old), (0, 0));
        let chosen = r#"{"version": 1, "parallel_chunks": 4, "parallel_files": 2}"#;
        assert_eq!(counts(chosen), (4, 2), "a choice is kept");
        let since = r#"{"version": 2, "parallel_chunks": 3, "parallel_files": 2}"#;
        assert_eq!(counts(since), (3, 2), "chosen since: kept");
    }

    #[test]
    fn starting_at_login_follows_watched_folders_unless_chosen() {
        let default = AppSettings::default();
        assert!(default.wants_autostart(true));
        assert!(!default.wants_autostart(false));
        let never = AppSettings {
            autostart: Some(false),
            ..AppSettings::default()
        };
        assert!(!never.wants_autostart(true));
        let always = AppSettings {
            autostart: Some(true),
            ..AppSettings::default()
        };
        assert!(always.wants_autostart(false));
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_allowed_range() {
        let s = AppSettings {
            chunk_size: Some(10),
            ..AppSettings::default()
        };
        let e = s.validate().unwrap_err();
        assert!(e.message.contains("Chunk size for new files"), "{e:?}");
        assert!(e.message.contains("64 KiB"), "{e:?}");
        let s = AppSettings {
            parallel_chunks: 17,
            ..AppSettings::default()
        };
        let e = s.validate().unwrap_err();
        assert_eq!(
            e.message,
            "Chunks sent at once must be a whole number from 0 to 16."
        );
        assert_eq!(e.field.as_deref(), Some("parallel_chunks"));
        assert!(!e.hint.contains("estart"), "never a restart: {e:?}");
        // 0 is "follow the link", the default.
        assert_eq!(AppSettings::default().validate(), Ok(()));
    }
}
