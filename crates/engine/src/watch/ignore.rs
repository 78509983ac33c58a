//! Which files a watched folder leaves alone: gitignore syntax (the `ignore` crate's
//! matcher, as ripgrep uses), from built-in defaults for temporary files, a global list, and
//! the folder's own `.twakeignore`. Separate so the scan and the event filter agree.

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::Path;

/// Name of the per-folder ignore file, read at the folder's top.
pub const IGNORE_FILE: &str = ".twakeignore";

/// Temporary and system files that are never worth uploading (partial downloads, office
/// lock files, Finder and Explorer metadata, git internals).
pub const DEFAULT_PATTERNS: &[&str] = &[
    "*.part",
    "*.crdownload",
    "*.tmp",
    "~$*",
    ".~lock.*#",
    ".DS_Store",
    "Thumbs.db",
    ".git/",
];

/// The compiled rules of one watched folder.
pub struct IgnoreRules {
    matcher: Gitignore,
    /// Problems in the patterns (a bad line in `.twakeignore`), to show the user.
    pub warnings: Vec<String>,
}

impl IgnoreRules {
    /// Rules for `root`: the defaults, then `global` lines, then `root/.twakeignore` if
    /// present (later lines win, and `!pattern` re-includes, as in gitignore).
    pub fn load(root: &Path, global: &[String]) -> IgnoreRules {
        let mut builder = GitignoreBuilder::new(root);
        let mut warnings = Vec::new();
        for line in DEFAULT_PATTERNS
            .iter()
            .copied()
            .chain(global.iter().map(String::as_str))
        {
            if let Err(e) = builder.add_line(None, line) {
                warnings.push(format!("ignore pattern '{line}' is not valid: {e}"));
            }
        }
        let own = root.join(IGNORE_FILE);
        if own.is_file() {
            if let Some(e) = builder.add(&own) {
                warnings.push(format!("{}: {e}", own.display()));
            }
        }
        let matcher = builder.build().unwrap_or_else(|e| {
            warnings.push(format!("ignore patterns of {}: {e}", root.display()));
            Gitignore::empty()
        });
        IgnoreRules { matcher, warnings }
    }

    /// Whether `path` (absolute, under the root) or one of its parent folders is ignored.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        if path.file_name().is_some_and(|n| n == IGNORE_FILE) {
            return true;
        }
        if !path.starts_with(self.matcher.path()) {
            return true;
        }
        self.matcher
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_are_ignored_by_default() {
        let root = Path::new("/w");
        let rules = IgnoreRules::load(root, &[]);
        for p in [
            "a.part",
            "x/b.crdownload",
            "c.tmp",
            "~$report.docx",
            ".~lock.notes.odt#",
            "sub/.DS_Store",
            "Thumbs.db",
            ".git/config",
            "deep/.git/objects/ab",
            ".twakeignore",
        ] {
            assert!(
                rules.is_ignored(&root.join(p), false),
                "{p} should be ignored"
            );
        }
        for p in ["a.txt", "part", "report.docx", "git/config", "été/ü.bin"] {
            assert!(
                !rules.is_ignored(&root.join(p), false),
                "{p} should be kept"
            );
        }
    }

    #[test]
    fn global_patterns_and_the_folder_file_add_to_the_defaults() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(IGNORE_FILE), "*.log\nbuild/\n!keep.tmp\n").unwrap();
        let rules = IgnoreRules::load(d.path(), &["*.bak".to_string()]);
        assert!(rules.warnings.is_empty(), "{:?}", rules.warnings);
        let r = |p: &str| rules.is_ignored(&d.path().join(p), false);
        assert!(r("x.log") && r("a/b.log") && r("build/out.bin") && r("old.bak"));
        assert!(!r("keep.tmp"), "a negated pattern re-includes");
        assert!(!r("x.txt") && !r("builder.txt"));
    }
}
