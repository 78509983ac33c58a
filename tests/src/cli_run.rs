//! Runs of the `twake-upload` binary with a private queue database and settings folder (never
//! the user's), shared by every run made through the same value.

use crate::harness::cli_binary;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct Cli {
    pub dir: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("queue.sqlite3")
    }

    /// The binary with no stdin, this run's queue and settings folder.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(cli_binary());
        c.stdin(Stdio::null())
            .env("TWAKE_UPLOADER_DB", self.db())
            .env("TWAKE_UPLOADER_CONFIG_DIR", self.dir.path().join("config"));
        c
    }
}

impl Default for Cli {
    fn default() -> Self {
        Cli::new()
    }
}

/// Everything a run printed, stdout then stderr.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
