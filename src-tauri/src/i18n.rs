//! The shell's own words in English and French: the tray menu and its status, desktop
//! notifications and the native pickers' titles. The window has its own catalogue
//! (`ui/src/lib/i18n/`); both follow the same choice: the Settings' language, else the OS
//! locale (`LC_ALL`, then `LC_MESSAGES`, then `LANG`, as POSIX orders them).
//!
//! Each language is one `Texts` value, so a missing text does not compile; templates name
//! their values (`{n}`), and a test checks both languages use the same names.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use ts_rs::TS;

/// The language setting: the OS locale's, or one chosen in Settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    System,
    En,
    Fr,
}

/// A language the app speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The language of a POSIX locale name ("fr_FR.UTF-8", "fr", "en_GB", "C"): French for
    /// any French locale, English for everything else.
    pub fn of_locale(name: &str) -> Lang {
        let code = name.split(['_', '.', '@', '-']).next().unwrap_or("");
        if code.eq_ignore_ascii_case("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    /// The locale's language from its environment variables; `var` reads one (unset or
    /// empty counts as absent, as the C library does).
    pub fn of_env(var: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|k| var(k).filter(|v| !v.is_empty()))
            .map(|v| Lang::of_locale(&v))
            .next()
            .unwrap_or(Lang::En)
    }

    /// "en" or "fr", as the window's catalogue names them.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }

    /// `n` with its thousands grouped as the language writes them ("1,200", "1 200").
    pub fn number(self, n: u64) -> String {
        let sep = match self {
            Lang::En => ",",
            // A narrow no-break space, as French typography and Intl.NumberFormat use.
            Lang::Fr => "\u{202f}",
        };
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// Whether `n` takes the singular: only 1 in English, 0 and 1 in French.
    pub fn singular(self, n: u64) -> bool {
        match self {
            Lang::En => n == 1,
            Lang::Fr => n <= 1,
        }
    }

    /// `n` counted with the singular or plural template, each holding `{n}`.
    pub fn count(self, n: u64, one: &str, other: &str) -> String {
        let template = if self.singular(n) { one } else { other };
        fill(template, &[("n", self.number(n))])
    }
}

impl Language {
    /// The language this setting speaks, the OS locale's for `System`.
    pub fn lang(self) -> Lang {
        match self {
            Language::System => system(),
            Language::En => Lang::En,
            Language::Fr => Lang::Fr,
        }
    }
}

/// The OS locale's language, read once: the environment does not change while the app runs.
pub fn system() -> Lang {
    static SYSTEM: OnceLock<Lang> = OnceLock::new();
    *SYSTEM.get_or_init(|| Lang::of_env(|k| std::env::var(k).ok()))
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Every text the shell shows. `{…}` are values filled in with `fill`.
pub struct Texts {
    pub tray_idle: &'static str,
    pub tray_show: &'static str,
    pub tray_pause_all: &'static str,
    pub tray_resume_all: &'static str,
    pub tray_quit: &'static str,
    /// `{pct}` percent, `{done}` files done, `{files}` the counted files.
    pub tray_uploading: &'static str,
    pub tray_one_uploaded: &'static str,
    pub tray_all_uploaded: &'static str,
    pub tray_some_failed: &'static str,
    /// The status while a condition of the machine holds the queue: `{why}` is one of the
    /// three `held_*` texts, the other values as in `tray_uploading`.
    pub tray_held: &'static str,
    pub held_metered: &'static str,
    pub held_battery: &'static str,
    pub held_both: &'static str,
    pub file_one: &'static str,
    pub file_other: &'static str,
    pub notice_failed_title: &'static str,
    pub notice_failed_body: &'static str,
    pub notice_many_failed_title: &'static str,
    pub notice_many_failed_body: &'static str,
    pub notice_finished_title: &'static str,
    pub notice_uploaded_one: &'static str,
    pub notice_uploaded_other: &'static str,
    pub notice_also_failed: &'static str,
    pub notice_also_paused: &'static str,
    pub notice_signed_out_title: &'static str,
    pub notice_signed_out_body: &'static str,
    pub pick_files: &'static str,
    pub pick_folders: &'static str,
    pub pick_watch: &'static str,
    pub save_history: &'static str,
}

const EN: Texts = Texts {
    tray_idle: "No uploads yet",
    tray_show: "Show Twake Uploader",
    tray_pause_all: "Pause all",
    tray_resume_all: "Resume all",
    tray_quit: "Quit",
    tray_uploading: "Uploading: {pct} % · {done} of {files} done",
    tray_one_uploaded: "1 file uploaded",
    tray_all_uploaded: "All {n} files uploaded",
    tray_some_failed: "{done} uploaded, {failed} failed",
    tray_held: "{why} · {pct} % · {done} of {files} done",
    held_metered: "Paused: on a metered connection",
    held_battery: "Paused: on battery",
    held_both: "Paused: on battery and a metered connection",
    file_one: "{n} file",
    file_other: "{n} files",
    notice_failed_title: "Upload failed: {name}",
    notice_failed_body: "{reason}. Open Twake Uploader to retry.",
    notice_many_failed_title: "{n} uploads failed",
    notice_many_failed_body: "Open Twake Uploader and look at the Failed tab to see why and retry.",
    notice_finished_title: "Uploads finished",
    notice_uploaded_one: "{n} file uploaded",
    notice_uploaded_other: "{n} files uploaded",
    notice_also_failed: ", {n} failed — open the Failed tab",
    notice_also_paused: ", {n} paused",
    notice_signed_out_title: "Signed out of {account}",
    notice_signed_out_body:
        "Uploads to this account wait: sign in again in Twake Uploader and they continue.",
    pick_files: "Add files to upload",
    pick_folders: "Add folders to upload",
    pick_watch: "Choose folders to watch",
    save_history: "Export the upload history",
};

// French typography: a no-break space before "%", ":" and after a number in "45 %".
const FR: Texts = Texts {
    tray_idle: "Aucun envoi pour l’instant",
    tray_show: "Afficher Twake Uploader",
    tray_pause_all: "Tout mettre en pause",
    tray_resume_all: "Tout reprendre",
    tray_quit: "Quitter",
    tray_uploading: "Envoi\u{a0}: {pct}\u{a0}% · {done} sur {files} terminés",
    tray_one_uploaded: "1 fichier envoyé",
    tray_all_uploaded: "Les {n} fichiers sont envoyés",
    tray_some_failed: "{done} envoyés, {failed} en échec",
    tray_held: "{why} · {pct}\u{a0}% · {done} sur {files} terminés",
    held_metered: "En pause\u{a0}: connexion limitée",
    held_battery: "En pause\u{a0}: sur batterie",
    held_both: "En pause\u{a0}: sur batterie et connexion limitée",
    file_one: "{n} fichier",
    file_other: "{n} fichiers",
    notice_failed_title: "Échec de l’envoi\u{a0}: {name}",
    notice_failed_body: "{reason}. Ouvrez Twake Uploader pour réessayer.",
    notice_many_failed_title: "{n} envois en échec",
    notice_many_failed_body:
        "Ouvrez Twake Uploader et regardez l’onglet Échecs pour savoir pourquoi et réessayer.",
    notice_finished_title: "Envois terminés",
    notice_uploaded_one: "{n} fichier envoyé",
    notice_uploaded_other: "{n} fichiers envoyés",
    notice_also_failed: ", {n} en échec — ouvrez l’onglet Échecs",
    notice_also_paused: ", {n} en pause",
    notice_signed_out_title: "Déconnecté de {account}",
    notice_signed_out_body:
        "Les envois vers ce compte attendent\u{a0}: reconnectez-vous dans Twake Uploader et ils reprendront.",
    pick_files: "Ajouter des fichiers à envoyer",
    pick_folders: "Ajouter des dossiers à envoyer",
    pick_watch: "Choisir les dossiers à surveiller",
    save_history: "Exporter l’historique des envois",
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text of a language, by name, so both languages can be compared text by text.
    fn all(t: &Texts) -> Vec<(&'static str, &'static str)> {
        vec![
            ("tray_idle", t.tray_idle),
            ("tray_show", t.tray_show),
            ("tray_pause_all", t.tray_pause_all),
            ("tray_resume_all", t.tray_resume_all),
            ("tray_quit", t.tray_quit),
            ("tray_uploading", t.tray_uploading),
            ("tray_one_uploaded", t.tray_one_uploaded),
            ("tray_all_uploaded", t.tray_all_uploaded),
            ("tray_some_failed", t.tray_some_failed),
            ("tray_held", t.tray_held),
            ("held_metered", t.held_metered),
            ("held_battery", t.held_battery),
            ("held_both", t.held_both),
            ("file_one", t.file_one),
            ("file_other", t.file_other),
            ("notice_failed_title", t.notice_failed_title),
            ("notice_failed_body", t.notice_failed_body),
            ("notice_many_failed_title", t.notice_many_failed_title),
            ("notice_many_failed_body", t.notice_many_failed_body),
            ("notice_finished_title", t.notice_finished_title),
            ("notice_uploaded_one", t.notice_uploaded_one),
            ("notice_uploaded_other", t.notice_uploaded_other),
            ("notice_also_failed", t.notice_also_failed),
            ("notice_also_paused", t.notice_also_paused),
            ("notice_signed_out_title", t.notice_signed_out_title),
            ("notice_signed_out_body", t.notice_signed_out_body),
            ("pick_files", t.pick_files),
            ("pick_folders", t.pick_folders),
            ("pick_watch", t.pick_watch),
            ("save_history", t.save_history),
        ]
    }

    fn placeholders(s: &str) -> Vec<&str> {
        let mut out: Vec<&str> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn both_languages_have_every_text_with_the_same_values_and_french_differs() {
        let (en, fr) = (all(&EN), all(&FR));
        assert_eq!(en.len(), fr.len());
        for ((key, e), (_, f)) in en.iter().zip(&fr) {
            assert!(
                !e.trim().is_empty() && !f.trim().is_empty(),
                "{key} is empty"
            );
            assert_eq!(placeholders(e), placeholders(f), "{key}: {e:?} / {f:?}");
            assert_ne!(e, f, "{key} is not translated");
        }
    }

    #[test]
    fn the_locale_comes_from_lc_all_then_lc_messages_then_lang() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::of_env(env(&[("LANG", "fr_FR.UTF-8")])), Lang::Fr);
        assert_eq!(
            Lang::of_env(env(&[("LANG", "fr_FR.UTF-8"), ("LC_ALL", "en_US.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            Lang::of_env(env(&[("LANG", "en_US.UTF-8"), ("LC_MESSAGES", "fr_CA")])),
            Lang::Fr
        );
        // Empty counts as unset; "C" and other languages speak English.
        assert_eq!(
            Lang::of_env(env(&[("LC_ALL", ""), ("LANG", "fr_BE.UTF-8")])),
            Lang::Fr
        );
        assert_eq!(Lang::of_env(env(&[("LANG", "C.UTF-8")])), Lang::En);
        assert_eq!(Lang::of_env(env(&[("LANG", "de_DE.UTF-8")])), Lang::En);
        assert_eq!(Lang::of_env(env(&[])), Lang::En);
        assert_eq!(Lang::of_locale("fr"), Lang::Fr);
        assert_eq!(Language::Fr.lang(), Lang::Fr);
        assert_eq!(Language::En.lang(), Lang::En);
    }

    #[test]
    fn numbers_and_plurals_follow_each_language() {
        assert_eq!(Lang::En.number(1_234_567), "1,234,567");
        assert_eq!(Lang::Fr.number(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(Lang::En.number(999), "999");
        let t = Lang::En.texts();
        assert_eq!(Lang::En.count(0, t.file_one, t.file_other), "0 files");
        let t = Lang::Fr.texts();
        assert_eq!(Lang::Fr.count(0, t.file_one, t.file_other), "0 fichier");
        assert_eq!(Lang::Fr.count(2, t.file_one, t.file_other), "2 fichiers");
    }
}
