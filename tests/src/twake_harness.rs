//! Helpers for the Twake Drive tests: a target signed in to the double, and the CLI run
//! with its own config dir and no OS keyring (a bogus D-Bus address), so tests never touch
//! the developer's real keyring.

use crate::twake_double::conformance::test_http;
use crate::twake_double::TwakeDouble;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use upload_engine::targets::twake::{session, CollisionPolicy, Session, TwakeTarget};
use upload_engine::TargetSpec;

/// A target signed in to the double reached at `base` (the double or a proxy in front).
pub async fn signed_in_target(
    double: &TwakeDouble,
    base: &str,
    folder: &str,
    collision: CollisionPolicy,
) -> (TargetSpec, Arc<TwakeTarget>, Arc<Session>) {
    let config = double.config();
    let client = reqwest::Client::new();
    let tokens = session::login(
        &client,
        base,
        &config.email,
        &config.password,
        Duration::from_secs(10),
    )
    .await
    .expect("sign in to the double");
    let account = format!("{}@{base}", config.email);
    let session = Arc::new(Session::new(
        client,
        base,
        &account,
        tokens,
        Arc::new(session::NoSink),
        Duration::from_secs(10),
    ));
    let target = Arc::new(TwakeTarget::with_session(
        session.clone(),
        &double.user_id(),
        &double.company_id(),
        folder,
        collision,
        &test_http(),
    ));
    let spec = TargetSpec::Twake {
        account,
        folder: folder.to_string(),
        collision,
    };
    (spec, target, session)
}

/// The CLI with its config and its upload queue in `config_dir`, no keyring reachable, and
/// `TWAKE_LOG` unset.
pub fn cli(config_dir: &Path) -> Command {
    let mut cmd = Command::new(crate::harness::cli_binary());
    cmd.env("TWAKE_UPLOADER_CONFIG_DIR", config_dir)
        .env("TWAKE_UPLOADER_DB", config_dir.join("queue.sqlite3"))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/twake-test-bus",
        )
        .env_remove("TWAKE_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs the CLI with `stdin` written to its standard input.
pub fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start twake-upload");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("twake-upload runs")
}

/// `twake-upload login` against `server` with the double's password on stdin.
pub fn cli_login(config_dir: &Path, server: &str, double: &TwakeDouble, extra: &[&str]) -> Output {
    let config = double.config();
    let mut cmd = cli(config_dir);
    cmd.args(["login", "--server", server, "--email", &config.email])
        .args(extra);
    run_with_stdin(cmd, &format!("{}\n", config.password))
}

/// stdout and stderr of a run, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
