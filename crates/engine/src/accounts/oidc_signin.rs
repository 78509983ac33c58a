//! The browser half of a tdrive OpenID sign-in: the loopback listener is bound first, the
//! provider's page opened with a fresh `state` and PKCE pair, and the code taken from the
//! first of the loopback redirect or a redirect URL the person pasted (a machine without a
//! browser); then `oidc.rs` turns the code into the tdrive session. Cancelling stops the
//! listener at once.

use super::browser::{
    parse_pasted_redirect, random_state, BrowserError, BrowserOpener, Callback, Pkce,
};
use super::detect::Provider;
use super::oidc;
use crate::targets::twake::{Tokens, TwakeError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// How a browser sign-in reaches the person; the front end fills it in.
pub struct BrowserSteps {
    /// Opens the sign-in page (the system browser, or a test's driver).
    pub opener: Arc<dyn BrowserOpener>,
    /// Told the page's address before it opens: the CLI prints it, the app can show it.
    pub on_url: Box<dyn Fn(&str) + Send + Sync>,
    /// A redirect URL the person pasted back, raced against the loopback listener.
    pub pasted: Option<oneshot::Receiver<String>>,
    /// Stops the wait (the app's Cancel): the listener closes, nothing is signed in.
    pub cancel: CancellationToken,
    /// How long to wait for the browser.
    pub patience: Duration,
}

impl BrowserSteps {
    /// The system browser, nothing pasted, the default patience, a cancel of its own.
    pub fn system() -> BrowserSteps {
        BrowserSteps {
            opener: Arc::new(super::browser::SystemBrowser),
            on_url: Box::new(|_| {}),
            pasted: None,
            cancel: CancellationToken::new(),
            patience: super::browser::DEFAULT_WAIT,
        }
    }
}

fn browser_error(server: &str, e: BrowserError) -> TwakeError {
    match e {
        BrowserError::Cancelled => TwakeError::SignInCancelled {
            server: server.to_string(),
        },
        other => TwakeError::BrowserFlow {
            server: server.to_string(),
            reason: other.to_string(),
        },
    }
}

/// Waits for the code: from the loopback redirect, or from a pasted redirect URL.
async fn wait_for_code(
    callback: Callback,
    state: &str,
    steps: &mut BrowserSteps,
) -> Result<String, BrowserError> {
    let caught = callback.wait(state, steps.patience, steps.cancel.clone());
    match steps.pasted.take() {
        None => caught.await,
        Some(pasted) => {
            tokio::select! {
                result = caught => result,
                Ok(text) = pasted => parse_pasted_redirect(&text, state),
            }
        }
    }
}

/// Signs in to `server` through `provider` in the browser; the tdrive session's tokens.
pub async fn sign_in(
    client: &reqwest::Client,
    server: &str,
    provider: &Provider,
    mut steps: BrowserSteps,
    timeout: Duration,
) -> Result<Tokens, TwakeError> {
    let discovery = oidc::discover(client, server, provider, timeout).await?;
    let callback = Callback::bind()
        .await
        .map_err(|e| browser_error(server, e))?;
    let redirect_uri = callback.redirect_uri();
    let state = random_state();
    let pkce = Pkce::new();
    let url = oidc::authorize_url(
        &discovery,
        &provider.client_id,
        &redirect_uri,
        &state,
        &pkce.challenge,
    )
    .map_err(|e| TwakeError::Provider {
        server: server.to_string(),
        url: discovery.authorization_endpoint.clone(),
        reason: format!("gave a sign-in page address that cannot be used ({e})"),
    })?;
    (steps.on_url)(&url);
    if let Err(e) = steps.opener.open(&url) {
        // The address was shown: the person can still open it themselves.
        tracing::warn!("{e}");
    }
    let code = wait_for_code(callback, &state, &mut steps)
        .await
        .map_err(|e| browser_error(server, e))?;
    let id_token = oidc::exchange_code(
        client,
        server,
        &discovery,
        &provider.client_id,
        oidc::Grant {
            code: &code,
            verifier: &pkce.verifier,
            redirect_uri: &redirect_uri,
        },
        timeout,
    )
    .await?;
    oidc::server_login(client, server, &id_token, timeout).await
}
