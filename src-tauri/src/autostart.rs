//! Starting at login, the freedesktop way: a desktop entry in the user's autostart folder
//! (`$XDG_CONFIG_HOME/autostart`), which every Linux desktop reads at login. Watched folders
//! only sync while the app runs, so it starts itself as soon as a folder is watched, unless
//! the person said otherwise (the setting, or `Hidden=true` written by their desktop's own
//! "startup applications" panel, which is respected and never overwritten).

use std::io;
use std::path::{Path, PathBuf};

/// The entry's file name in the autostart folder.
pub const ENTRY_NAME: &str = "twake-uploader.desktop";
/// A key of ours, so only an entry this app wrote is ever removed.
const MARK: &str = "X-Twake-Uploader-Autostart=true";
/// The option that starts the app with its window hidden (in the tray).
pub const HIDDEN_ARG: &str = "--hidden";

/// What `apply` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The entry was written (or rewritten for another binary).
    Written,
    /// Our entry was already there, as it should be.
    Kept,
    /// The person turned it off in their desktop (`Hidden=true`): left as it is.
    TurnedOffByUser,
    /// Our entry was removed (autostart off).
    Removed,
    /// Off, and no entry of ours: nothing to do.
    Absent,
    /// The running binary is a build or a temporary copy, not an installed program: an entry
    /// pointing at it would break when it goes, so none is written.
    NotInstalled,
}

/// The autostart folder: `$XDG_CONFIG_HOME/autostart`, else `~/.config/autostart`.
pub fn autostart_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|c| c.join("autostart"))
}

/// Whether `exec` looks like an installed program rather than a build tree or a temp copy.
pub fn is_installed(exec: &Path) -> bool {
    let temp = std::env::temp_dir();
    let in_build_tree = exec
        .components()
        .any(|c| c.as_os_str() == "target" || c.as_os_str() == "deps");
    exec.is_absolute() && !exec.starts_with(&temp) && !in_build_tree
}

/// The desktop entry that starts `exec` hidden in the tray.
pub fn entry(exec: &Path) -> String {
    // Exec arguments with spaces are quoted, as the Desktop Entry spec asks.
    let shown = exec.display().to_string();
    let exec_field = if shown.contains(' ') {
        format!("\"{shown}\"")
    } else {
        shown
    };
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Twake Uploader\n\
         Comment=Keeps watched folders uploaded to Twake Drive\n\
         Comment[fr]=Garde les dossiers surveillés envoyés vers Twake Drive\n\
         Exec={exec_field} {HIDDEN_ARG}\n\
         Icon=twake-uploader\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n\
         {MARK}\n"
    )
}

/// Brings the autostart entry in line with the settings and the watched folders (after a
/// start, a folder watched or removed, settings saved). Problems are logged: starting at
/// login is a convenience, never a reason to refuse what the person asked.
pub async fn refresh(
    settings: &crate::settings::AppSettings,
    watching: &crate::watching::Watching,
) {
    let watched = watching.saved_targets().await.is_ok_and(|t| !t.is_empty());
    let want = settings.wants_autostart(watched);
    let (Some(dir), Ok(exec)) = (autostart_dir(), std::env::current_exe()) else {
        return;
    };
    match tokio::task::spawn_blocking(move || apply(&dir, want, &exec)).await {
        Ok(Ok(outcome)) => tracing::info!(?outcome, want, "autostart entry"),
        Ok(Err(e)) => tracing::warn!("cannot update the autostart entry: {e}"),
        Err(e) => tracing::warn!("cannot update the autostart entry: {e}"),
    }
}

/// Makes the autostart folder `dir` agree with `want` for the binary `exec`.
pub fn apply(dir: &Path, want: bool, exec: &Path) -> io::Result<Outcome> {
    let path = dir.join(ENTRY_NAME);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let ours = existing.as_deref().is_some_and(|t| t.contains(MARK));
    let hidden = existing
        .as_deref()
        .is_some_and(|t| t.lines().any(|l| l.trim() == "Hidden=true"));
    if !want {
        if ours && !hidden {
            std::fs::remove_file(&path)?;
            return Ok(Outcome::Removed);
        }
        return Ok(Outcome::Absent);
    }
    if hidden {
        return Ok(Outcome::TurnedOffByUser);
    }
    if !is_installed(exec) {
        return Ok(Outcome::NotInstalled);
    }
    let wanted = entry(exec);
    if existing.as_deref() == Some(wanted.as_str()) {
        return Ok(Outcome::Kept);
    }
    if existing.is_some() && !ours {
        // Someone else's entry under our name (a package's, or the person's own): theirs.
        return Ok(Outcome::Kept);
    }
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{ENTRY_NAME}.tmp"));
    std::fs::write(&tmp, wanted)?;
    std::fs::rename(&tmp, &path)?;
    Ok(Outcome::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC: &str = "/usr/bin/twake-uploader";

    #[test]
    fn on_writes_an_entry_that_starts_the_installed_binary_hidden() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("autostart");
        assert_eq!(
            apply(&dir, true, Path::new(EXEC)).unwrap(),
            Outcome::Written
        );
        let text = std::fs::read_to_string(dir.join(ENTRY_NAME)).unwrap();
        assert!(text.starts_with("[Desktop Entry]\n"), "{text}");
        assert!(
            text.contains("\nExec=/usr/bin/twake-uploader --hidden\n"),
            "{text}"
        );
        assert!(text.contains("\nType=Application\n"), "{text}");
        assert!(
            text.contains("\nComment[fr]="),
            "said in French too: {text}"
        );
        assert_eq!(apply(&dir, true, Path::new(EXEC)).unwrap(), Outcome::Kept);
        // Installed elsewhere since: the entry follows.
        assert_eq!(
            apply(&dir, true, Path::new("/opt/twake/twake-uploader")).unwrap(),
            Outcome::Written
        );
    }

    #[test]
    fn off_removes_only_our_entry() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        assert_eq!(apply(dir, false, Path::new(EXEC)).unwrap(), Outcome::Absent);
        apply(dir, true, Path::new(EXEC)).unwrap();
        assert_eq!(
            apply(dir, false, Path::new(EXEC)).unwrap(),
            Outcome::Removed
        );
        assert!(!dir.join(ENTRY_NAME).exists());
        std::fs::write(dir.join(ENTRY_NAME), "[Desktop Entry]\nExec=mine\n").unwrap();
        assert_eq!(apply(dir, false, Path::new(EXEC)).unwrap(), Outcome::Absent);
        assert!(
            dir.join(ENTRY_NAME).exists(),
            "the person's own entry stays"
        );
    }

    #[test]
    fn hidden_true_from_the_desktop_is_respected() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let off = format!("{}Hidden=true\n", entry(Path::new(EXEC)));
        std::fs::write(dir.join(ENTRY_NAME), &off).unwrap();
        assert_eq!(
            apply(dir, true, Path::new(EXEC)).unwrap(),
            Outcome::TurnedOffByUser
        );
        assert_eq!(std::fs::read_to_string(dir.join(ENTRY_NAME)).unwrap(), off);
    }

    #[test]
    fn a_build_or_a_temporary_copy_gets_no_entry() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        for exec in [
            "/work/main/target/debug/twake-uploader",
            &std::env::temp_dir()
                .join("x/twake-uploader")
                .display()
                .to_string(),
            "relative/twake-uploader",
        ] {
            assert_eq!(
                apply(dir, true, Path::new(exec)).unwrap(),
                Outcome::NotInstalled,
                "{exec}"
            );
        }
        assert!(!dir.join(ENTRY_NAME).exists());
    }

    #[test]
    fn a_path_with_a_space_is_quoted() {
        assert!(entry(Path::new("/opt/Twake Uploader/app"))
            .contains("Exec=\"/opt/Twake Uploader/app\" --hidden"));
    }
}
