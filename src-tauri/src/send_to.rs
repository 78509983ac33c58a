//! "Send to Twake Uploader" in Nautilus. Thunar and Dolphin read the package's system-wide
//! entries (`/usr/share/Thunar/sendto`, `/usr/share/kio/servicemenus`), but Nautilus only runs
//! scripts from the user's own folder: the app links the packaged script there at start, once
//! Nautilus has made that folder's parent (so nothing is created for people without Nautilus).

use std::io;
use std::path::{Path, PathBuf};

/// Where the package installs the script.
pub const PACKAGED_SCRIPT: &str = "/usr/share/twake-uploader/nautilus/send-to-twake-uploader";
/// The menu entry's name: Nautilus shows a script by its file name.
pub const SCRIPT_NAME: &str = "Send to Twake Uploader";

/// `~/.local/share/nautilus`, from `$XDG_DATA_HOME` or `$HOME`.
pub fn nautilus_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("nautilus"))
}

/// Links `script` as `nautilus/scripts/Send to Twake Uploader`; answers whether a link was
/// made now. Nothing happens without Nautilus's folder or without the packaged script, and a
/// file of that name the person made is left alone.
pub fn install(nautilus: &Path, script: &Path) -> io::Result<bool> {
    if !nautilus.is_dir() || !script.is_file() {
        return Ok(false);
    }
    let scripts = nautilus.join("scripts");
    let link = scripts.join(SCRIPT_NAME);
    if std::fs::symlink_metadata(&link).is_ok() {
        return Ok(false);
    }
    std::fs::create_dir_all(&scripts)?;
    std::os::unix::fs::symlink(script, &link)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_linked_once_where_nautilus_looks_and_only_with_nautilus() {
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("send");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let nautilus = d.path().join("nautilus");
        assert!(
            !install(&nautilus, &script).unwrap(),
            "no Nautilus: nothing made"
        );
        assert!(!nautilus.exists());
        std::fs::create_dir_all(&nautilus).unwrap();
        assert!(install(&nautilus, &script).unwrap());
        let link = nautilus.join("scripts").join(SCRIPT_NAME);
        assert_eq!(std::fs::read_link(&link).unwrap(), script);
        assert!(!install(&nautilus, &script).unwrap(), "already there");
        assert!(!install(&nautilus, &d.path().join("missing")).unwrap());
    }

    #[test]
    fn the_packaged_entries_take_files_and_folders() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
        for name in [
            "com.linagora.twake-uploader.desktop",
            "thunar-sendto.desktop",
            "dolphin-servicemenu.desktop",
        ] {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            assert!(
                text.contains(" %F"),
                "{name} passes the selected files: {text}"
            );
            assert!(
                text.contains("inode/directory"),
                "{name} offers folders too"
            );
            assert!(text.contains("[fr]="), "{name} has its words in French too");
        }
        let script = std::fs::read_to_string(dir.join("nautilus-send-to-twake-uploader")).unwrap();
        assert!(script.starts_with("#!/bin/sh\n") && script.contains("\"$@\""));
        let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
        assert!(
            manifest.contains(&format!("\t{PACKAGED_SCRIPT}\t")),
            "the package installs the script"
        );
    }
}
