//! The engine's "open the browser" pointed at headless Chromium (`tests/oidc/browser.mjs`),
//! for tests that sign in through the engine in-process: it does what the
//! `TWAKE_UPLOADER_BROWSER` hook does for the CLI and the app, and keeps the driver's exit
//! status so a test can tell "the page was approved" from "the driver gave up".

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use upload_engine::accounts::browser::{BrowserError, BrowserOpener};

#[derive(Clone, Default)]
pub struct ChromiumOpener {
    env: Vec<(String, String)>,
    children: Arc<Mutex<Vec<Child>>>,
}

impl ChromiumOpener {
    /// Signs in as `login` with `password` on whatever page asks.
    pub fn new(login: &str, password: &str) -> ChromiumOpener {
        ChromiumOpener {
            env: crate::oidc_provider::browser_env(login, password),
            children: Arc::default(),
        }
    }

    /// Waits for every driver started so far; true when each reached the callback.
    pub fn all_approved(&self) -> bool {
        let children: Vec<Child> = std::mem::take(&mut *self.children.lock().unwrap());
        !children.is_empty()
            && children
                .into_iter()
                .all(|mut c| c.wait().is_ok_and(|s| s.success()))
    }
}

impl BrowserOpener for ChromiumOpener {
    fn open(&self, url: &str) -> Result<(), BrowserError> {
        let script = crate::oidc_provider::browser_script();
        let child = Command::new("node")
            .arg(&script)
            .arg(url)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| BrowserError::Open {
                program: script.display().to_string(),
                reason: e.to_string(),
            })?;
        self.children.lock().unwrap().push(child);
        Ok(())
    }
}
