//! Signing in to a Twake Drive on cozy-stack through the browser: register the uploader as
//! an OAuth client of the instance (a desktop client whose redirect is our loopback
//! listener), open the instance's authorize page, catch the code (or read the redirect URL
//! the person pasted), trade it for tokens. The client and its tokens go to the keyring;
//! `accounts.json` only says the account is a cozy one on that instance. Signing out
//! unregisters the client, so the instance's list of connected devices loses it too.

use super::browser::{self, BrowserError, BrowserOpener, Callback};
use crate::targets::cozy::session::{self, ClientInfo, Credentials};
use crate::targets::twake::TwakeError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How the uploader names itself to the instance (shown in its "connected devices").
pub const SOFTWARE_ID: &str = "twake-uploader";

/// Called with the authorize URL, for a front end to show it.
pub type ShowUrl = Box<dyn Fn(&str) + Send + Sync>;

/// A browser sign-in to a cozy-stack instance.
pub struct BrowserSignIn {
    /// The instance's address (`alice.mycozy.cloud`, `https://alice.twake.app`).
    pub server: String,
    /// Opens the authorize page: the system browser, the CLI's "print it", a test driver.
    pub opener: Arc<dyn BrowserOpener>,
    /// Redirect URLs the person pasted (a machine with no browser): the first one that
    /// belongs to this sign-in ends the wait, like the browser's own redirect.
    pub pasted: Option<mpsc::Receiver<String>>,
    /// How long to wait for the browser (`browser::DEFAULT_WAIT` unless a test shortens it).
    pub patience: Duration,
    pub cancel: CancellationToken,
    /// Called with the authorize URL before the browser opens, so a front end can show it.
    pub show_url: Option<ShowUrl>,
}

impl BrowserSignIn {
    pub fn new(server: &str, opener: Arc<dyn BrowserOpener>) -> BrowserSignIn {
        BrowserSignIn {
            server: server.to_string(),
            opener,
            pasted: None,
            patience: browser::DEFAULT_WAIT,
            cancel: CancellationToken::new(),
            show_url: None,
        }
    }
}

/// The name under which the device shows on the instance: "Twake Uploader (host)".
fn client_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    match host {
        Some(h) => format!("Twake Uploader ({h})"),
        None => "Twake Uploader".into(),
    }
}

/// Waits for the code: from the listener, or from a pasted redirect of this sign-in.
async fn wait_for_code(
    callback: Callback,
    state: &str,
    how: &mut BrowserSignIn,
) -> Result<String, BrowserError> {
    let caught = callback.wait(state, how.patience, how.cancel.clone());
    let Some(pasted) = how.pasted.as_mut() else {
        return caught.await;
    };
    let from_paste = async {
        while let Some(line) = pasted.recv().await {
            match browser::parse_pasted_redirect(&line, state) {
                Ok(code) => return Ok(code),
                Err(e) => tracing::warn!("{e}"),
            }
        }
        // No more input: only the browser can answer now.
        std::future::pending::<Result<String, BrowserError>>().await
    };
    tokio::select! {
        code = caught => code,
        code = from_paste => code,
    }
}

/// Runs the whole browser sign-in on `server` (already normalised) and returns the
/// credentials. A client registered for a sign-in that then failed is unregistered again.
pub async fn sign_in(
    client: &reqwest::Client,
    server: &str,
    mut how: BrowserSignIn,
    timeout: Duration,
) -> Result<Credentials, TwakeError> {
    let callback = Callback::bind().await?;
    let redirect_uri = callback.redirect_uri();
    let name = client_name();
    let info = ClientInfo {
        redirect_uri: &redirect_uri,
        client_name: &name,
        software_id: SOFTWARE_ID,
        software_version: env!("CARGO_PKG_VERSION"),
    };
    let registration = session::register(client, server, &info, timeout).await?;
    let state = browser::random_state();
    let url = session::authorize_url(server, &registration.client_id, &redirect_uri, &state);
    if let Some(show) = &how.show_url {
        show(&url);
    }
    if let Err(e) = how.opener.open(&url) {
        // The address was shown; the person can still open it by hand.
        tracing::warn!("{e}");
    }
    let forget = |registration: &session::Registration| Credentials {
        client_id: registration.client_id.clone(),
        client_secret: registration.client_secret.clone(),
        registration_token: registration.registration_token.clone(),
        access: Default::default(),
        refresh: Default::default(),
    };
    let code = match wait_for_code(callback, &state, &mut how).await {
        Ok(code) => code,
        Err(e) => {
            let _ = session::unregister(client, server, &forget(&registration), timeout).await;
            return Err(e.into());
        }
    };
    let leftover = forget(&registration);
    match session::redeem_code(client, server, registration, &code, timeout).await {
        Ok(credentials) => Ok(credentials),
        Err(e) => {
            let _ = session::unregister(client, server, &leftover, timeout).await;
            Err(e.into())
        }
    }
}
