//! A signed-in session with one cozy-stack instance: the OAuth client the uploader registered
//! there and its tokens (`Credentials`, every secret wrapped), renewed with the refresh grant
//! when the stack answers 401, one renewal at a time. A refresh the stack refuses
//! (`400 invalid_grant`, as it answers for a revoked client, or a 401) ends the session: the
//! sink records the sign-out and uploads wait for a new sign-in.
//!
//! Also the one-shot OAuth calls of a sign-in and a sign-out: registering the client,
//! trading the code for tokens, unregistering.

use super::api::{self, Reply};
use super::error::CozyError;
use crate::targets::twake::Secret;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The client registered on the instance and its tokens: all kept in the keyring (or the
/// private file), never in `accounts.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub registration_token: Secret,
    pub access: Secret,
    pub refresh: Secret,
}

/// Where a session reports renewed tokens and its end.
pub trait CredentialSink: Send + Sync {
    fn save(&self, credentials: &Credentials);
    fn signed_out(&self, reason: &str);
}

/// A sink that keeps nothing (tests, one-off tools).
pub struct NoSink;

impl CredentialSink for NoSink {
    fn save(&self, _: &Credentials) {}
    fn signed_out(&self, _: &str) {}
}

struct Current {
    credentials: Credentials,
    generation: u64,
    signed_out: Option<String>,
}

pub struct CozySession {
    client: reqwest::Client,
    server: String,
    account: String,
    current: Mutex<Current>,
    renewing: tokio::sync::Mutex<()>,
    sink: Arc<dyn CredentialSink>,
    timeout: Duration,
}

impl std::fmt::Debug for CozySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CozySession")
            .field("server", &self.server)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

async fn exchange(
    server: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Reply, CozyError> {
    let resp = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| CozyError::from_transport(server, &e))?;
    Reply::read(resp)
        .await
        .map_err(|e| CozyError::from_transport(server, &e))
}

/// A `POST` to one of the instance's `/auth` routes, asking for JSON.
fn auth_post(client: &reqwest::Client, server: &str, route: &str) -> reqwest::RequestBuilder {
    client
        .post(format!("{server}{route}"))
        .header(reqwest::header::ACCEPT, "application/json")
}

/// What the uploader tells the instance about itself when it registers.
pub struct ClientInfo<'a> {
    pub redirect_uri: &'a str,
    pub client_name: &'a str,
    pub software_id: &'a str,
    pub software_version: &'a str,
}

/// The registration answer, before any token.
pub struct Registration {
    pub client_id: String,
    pub client_secret: Secret,
    pub registration_token: Secret,
}

/// `POST /auth/register` as a desktop client with one loopback redirect.
pub async fn register(
    client: &reqwest::Client,
    server: &str,
    info: &ClientInfo<'_>,
    timeout: Duration,
) -> Result<Registration, CozyError> {
    let body = serde_json::json!({
        "redirect_uris": [info.redirect_uri],
        "client_name": info.client_name,
        "client_kind": "desktop",
        "software_id": info.software_id,
        "software_version": info.software_version,
    });
    let request = auth_post(client, server, api::REGISTER).json(&body);
    let reply = exchange(server, request, timeout).await?;
    if !reply.ok() {
        return Err(CozyError::Registration {
            server: server.to_string(),
            status: reply.status,
            detail: reply.detail(),
        });
    }
    let r: api::Registered = reply.json()?;
    Ok(Registration {
        client_id: r.client_id,
        client_secret: Secret::new(r.client_secret),
        registration_token: Secret::new(r.registration_access_token),
    })
}

/// The address of the authorize page for `registration`.
pub fn authorize_url(server: &str, client_id: &str, redirect_uri: &str, state: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("response_type", "code")
        .append_pair("scope", api::SCOPE)
        .finish();
    format!("{server}{}?{query}", api::AUTHORIZE)
}

/// Trades the one-time code for tokens.
pub async fn redeem_code(
    client: &reqwest::Client,
    server: &str,
    registration: Registration,
    code: &str,
    timeout: Duration,
) -> Result<Credentials, CozyError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", &registration.client_id),
        ("client_secret", registration.client_secret.expose()),
    ];
    let request = auth_post(client, server, api::ACCESS_TOKEN).form(&form);
    let reply = exchange(server, request, timeout).await?;
    if !reply.ok() {
        return Err(CozyError::CodeRefused {
            server: server.to_string(),
            detail: reply.detail(),
        });
    }
    let granted: api::Granted = reply.json()?;
    let refresh = granted.refresh_token.ok_or_else(|| CozyError::BadAnswer {
        url: reply.url.clone(),
        reason: "no refresh token in the answer".into(),
    })?;
    Ok(Credentials {
        client_id: registration.client_id,
        client_secret: registration.client_secret,
        registration_token: registration.registration_token,
        access: Secret::new(granted.access_token),
        refresh: Secret::new(refresh),
    })
}

/// `DELETE /auth/register/:client-id`: the instance forgets the client and its tokens. A
/// client the instance no longer knows (404) is as good as unregistered.
pub async fn unregister(
    client: &reqwest::Client,
    server: &str,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<(), CozyError> {
    let url = format!("{server}{}/{}", api::REGISTER, credentials.client_id);
    let reply = exchange(
        server,
        client
            .delete(&url)
            .bearer_auth(credentials.registration_token.expose()),
        timeout,
    )
    .await?;
    if reply.ok() || reply.status == 404 {
        Ok(())
    } else {
        Err(reply.error())
    }
}

impl CozySession {
    pub fn new(
        client: reqwest::Client,
        server: &str,
        account: &str,
        credentials: Credentials,
        sink: Arc<dyn CredentialSink>,
        timeout: Duration,
    ) -> CozySession {
        CozySession {
            client,
            server: server.trim_end_matches('/').to_string(),
            account: account.to_string(),
            current: Mutex::new(Current {
                credentials,
                generation: 0,
                signed_out: None,
            }),
            renewing: tokio::sync::Mutex::new(()),
            sink,
            timeout,
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn credentials(&self) -> Option<Credentials> {
        self.current.lock().ok().map(|c| c.credentials.clone())
    }

    pub fn is_signed_out(&self) -> bool {
        self.current
            .lock()
            .map(|c| c.signed_out.is_some())
            .unwrap_or(true)
    }

    fn signed_out_error(&self, reason: &str) -> CozyError {
        CozyError::SignedOut {
            server: self.server.clone(),
            reason: reason.to_string(),
        }
    }

    /// The credentials and their generation, unless the session ended.
    fn live(&self) -> Result<(Credentials, u64), CozyError> {
        let c = self
            .current
            .lock()
            .map_err(|_| self.signed_out_error("the session state was lost"))?;
        match &c.signed_out {
            Some(reason) => Err(self.signed_out_error(reason)),
            None => Ok((c.credentials.clone(), c.generation)),
        }
    }

    /// The access token to send now and its generation (for `renew` after a 401).
    pub fn bearer(&self) -> Result<(Secret, u64), CozyError> {
        self.live().map(|(c, generation)| (c.access, generation))
    }

    async fn sign_out(&self, reason: &str) -> CozyError {
        if let Ok(mut c) = self.current.lock() {
            if c.signed_out.is_none() {
                c.signed_out = Some(reason.to_string());
            }
        }
        tracing::warn!(
            "signed out of {} as {}: {reason}",
            self.server,
            self.account
        );
        let sink = self.sink.clone();
        let why = reason.to_string();
        let _ = tokio::task::spawn_blocking(move || sink.signed_out(&why)).await;
        self.signed_out_error(reason)
    }

    /// Renews the access token with the refresh grant, unless another caller already did
    /// since generation `seen`.
    pub async fn renew(&self, seen: u64) -> Result<(), CozyError> {
        let _one_at_a_time = self.renewing.lock().await;
        let (credentials, generation) = self.live()?;
        if generation != seen {
            return Ok(());
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", credentials.refresh.expose()),
            ("client_id", &credentials.client_id),
            ("client_secret", credentials.client_secret.expose()),
        ];
        let request = auth_post(&self.client, &self.server, api::ACCESS_TOKEN).form(&form);
        let reply = exchange(&self.server, request, self.timeout).await?;
        match reply.status {
            s if (200..300).contains(&s) => {}
            // The stack says 400 invalid_grant (or invalid client) for a revoked client or
            // token; a 401 or 403 from a front means the same for us.
            400 | 401 | 403 => {
                let reason = format!(
                    "the instance refused to renew the session ({}: {})",
                    reply.status,
                    reply.detail()
                );
                return Err(self.sign_out(&reason).await);
            }
            _ => return Err(reply.error()),
        }
        let granted: api::Granted = reply.json()?;
        let mut renewed = credentials;
        renewed.access = Secret::new(granted.access_token);
        if let Some(refresh) = granted.refresh_token {
            renewed.refresh = Secret::new(refresh);
        }
        if let Ok(mut c) = self.current.lock() {
            c.credentials = renewed.clone();
            c.generation += 1;
        }
        tracing::debug!("renewed the session of {} on {}", self.account, self.server);
        let sink = self.sink.clone();
        let _ = tokio::task::spawn_blocking(move || sink.save(&renewed)).await;
        Ok(())
    }

    /// Sends a request built by `make` with the bearer token; on a 401 renews once and sends
    /// it again; a second 401 ends the session.
    pub async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, CozyError> {
        for attempt in 0..2 {
            let (token, generation) = self.bearer()?;
            let request = make().bearer_auth(token.expose());
            let reply = exchange(&self.server, request, self.timeout).await?;
            if reply.status != 401 {
                return Ok(reply);
            }
            if attempt == 0 {
                self.renew(generation).await?;
            }
        }
        Err(self
            .sign_out("the instance refused the renewed session (401)")
            .await)
    }
}
