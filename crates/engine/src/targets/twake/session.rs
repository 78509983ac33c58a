//! A signed-in session with one Twake Drive server: the access and refresh tokens, renewed
//! ahead of expiry (on the server's clock, corrected for skew with the `time` it sends), and
//! once more when a call answers 401. A renewal the server refuses is asked again with backoff
//! for the renewal patience (60 s by default): a restarting server opens its port before its
//! services are ready and refuses every token for a moment. Refused past that, the session
//! ends: every later call fails with `SignedOut`, so uploads stop and wait for a new sign-in.

use super::api::{self, AccessToken, Answer, LoginRequest, RouteKind, TokenAnswer};
use super::error::TwakeError;
use super::secret::Secret;
use crate::targets::http::parse_http_url;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Renew when less than this share of the token's life is left (capped at `MAX_MARGIN`),
/// so a one-hour token renews 10 minutes ahead like the web client and a test's 4-second
/// token one second ahead.
const MARGIN_SHARE: f64 = 0.25;
const MAX_MARGIN_SECS: f64 = 600.0;

/// How long refused renewals are asked again before the session counts as ended.
pub const RENEWAL_PATIENCE: Duration = Duration::from_secs(60);

/// Waits between refused renewals: doubling from the first, capped at the last.
const RENEWAL_FIRST_WAIT: Duration = Duration::from_millis(250);
const RENEWAL_MAX_WAIT: Duration = Duration::from_secs(5);

/// The tokens of a session and what is needed to judge their age.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tokens {
    pub access: Secret,
    pub refresh: Secret,
    /// Unix seconds, server clock.
    pub access_expires: i64,
    pub refresh_expires: i64,
    /// Server clock when the tokens were issued.
    pub issued: i64,
    /// Server clock minus ours, in seconds.
    pub skew: f64,
}

fn local_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Tokens {
    pub fn from_answer(a: AccessToken) -> Tokens {
        Tokens {
            skew: a.time as f64 - local_now(),
            issued: a.time,
            access_expires: a.expiration,
            refresh_expires: a.refresh_expiration,
            access: a.value,
            refresh: a.refresh,
        }
    }

    fn server_now(&self) -> f64 {
        local_now() + self.skew
    }

    /// True when the access token is close enough to its end to renew it now.
    pub fn needs_renewal(&self) -> bool {
        let lifetime = (self.access_expires - self.issued).max(1) as f64;
        let margin = (lifetime * MARGIN_SHARE).min(MAX_MARGIN_SECS);
        (self.access_expires as f64) - self.server_now() < margin
    }

    pub fn refresh_expired(&self) -> bool {
        (self.refresh_expires as f64) <= self.server_now()
    }
}

/// Where renewed tokens go (the secret store) and who hears of a sign-out (the account
/// list). Called from a blocking thread.
pub trait TokenSink: Send + Sync + 'static {
    fn save(&self, tokens: &Tokens);
    fn signed_out(&self, reason: &str);
}

/// A sink that keeps nothing, for sessions that live only in memory.
pub struct NoSink;

impl TokenSink for NoSink {
    fn save(&self, _tokens: &Tokens) {}
    fn signed_out(&self, _reason: &str) {}
}

struct Current {
    tokens: Tokens,
    /// Bumped at each renewal, so concurrent callers that saw a 401 renew only once.
    generation: u64,
    signed_out: Option<String>,
}

pub struct Session {
    client: reqwest::Client,
    server: String,
    account: String,
    current: Mutex<Current>,
    /// Held while renewing: one renewal at a time, the others wait and reuse it.
    renewing: tokio::sync::Mutex<()>,
    sink: Arc<dyn TokenSink>,
    timeout: Duration,
    /// `RENEWAL_PATIENCE` unless set, in milliseconds.
    renewal_patience_ms: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// The email in an account name `email@host[:port]` (a host never holds an `@`).
pub fn account_email(name: &str) -> &str {
    name.rsplit_once('@').map_or(name, |(email, _)| email)
}

/// Checks a server address as people type or copy it and returns its origin
/// (`https://host[:port]`): no scheme means https (`drive.example.com`), and a page's address
/// copied from the browser (`…/drive/#/client/…`) means its server.
pub fn normalize_server(url: &str) -> Result<String, TwakeError> {
    let typed = url.trim();
    let full = if typed.contains("://") {
        typed.to_string()
    } else {
        format!("https://{typed}")
    };
    let parsed = parse_http_url(&full).map_err(|reason| TwakeError::BadServerUrl {
        url: crate::targets::http::redact_url(typed),
        reason,
    })?;
    Ok(parsed.origin().ascii_serialization())
}

/// Signs in with email and password. The password is used for this one request only.
pub async fn login(
    client: &reqwest::Client,
    server: &str,
    email: &str,
    password: &str,
    timeout: Duration,
) -> Result<Tokens, TwakeError> {
    let unreachable = |e: reqwest::Error| TwakeError::from_transport(server, &e);
    let resp = client
        .post(format!("{server}{}", api::LOGIN))
        .json(&LoginRequest { email, password })
        .timeout(timeout)
        .send()
        .await
        .map_err(unreachable)?;
    let answer = Answer::read(resp).await.map_err(unreachable)?;
    let tokens: TokenAnswer = answer.json(server, RouteKind::Login)?;
    Ok(Tokens::from_answer(tokens.access_token))
}

impl Session {
    pub fn new(
        client: reqwest::Client,
        server: &str,
        account: &str,
        tokens: Tokens,
        sink: Arc<dyn TokenSink>,
        timeout: Duration,
    ) -> Session {
        Session {
            client,
            server: server.to_string(),
            account: account.to_string(),
            current: Mutex::new(Current {
                tokens,
                generation: 0,
                signed_out: None,
            }),
            renewing: tokio::sync::Mutex::new(()),
            sink,
            timeout,
            renewal_patience_ms: AtomicU64::new(RENEWAL_PATIENCE.as_millis() as u64),
        }
    }

    /// How long refused renewals are asked again before the session ends (tests shorten it).
    pub fn set_renewal_patience(&self, patience: Duration) {
        self.renewal_patience_ms
            .store(patience.as_millis() as u64, Ordering::Relaxed);
    }

    fn renewal_patience(&self) -> Duration {
        Duration::from_millis(self.renewal_patience_ms.load(Ordering::Relaxed))
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

    /// Timeout of the small JSON requests.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn signed_out_error(&self, reason: &str) -> TwakeError {
        TwakeError::SignedOut {
            server: self.server.clone(),
            account: account_email(&self.account).to_string(),
            reason: reason.to_string(),
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> TwakeError {
        TwakeError::from_transport(&self.server, e)
    }

    fn snapshot(&self) -> Result<(Tokens, u64), TwakeError> {
        let current = self
            .current
            .lock()
            .map_err(|_| self.signed_out_error("the session state was lost"))?;
        if let Some(reason) = &current.signed_out {
            return Err(self.signed_out_error(reason));
        }
        Ok((current.tokens.clone(), current.generation))
    }

    /// True once a renewal was refused.
    pub fn is_signed_out(&self) -> bool {
        self.current
            .lock()
            .map(|c| c.signed_out.is_some())
            .unwrap_or(true)
    }

    async fn sign_out(&self, reason: &str) -> TwakeError {
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

    /// The access token to send now, renewed first when it is about to expire, and the
    /// generation it belongs to (for `renew` after a 401).
    pub async fn bearer(&self) -> Result<(Secret, u64), TwakeError> {
        let (tokens, generation) = self.snapshot()?;
        if !tokens.needs_renewal() {
            return Ok((tokens.access, generation));
        }
        match self.renew(generation).await {
            Ok(()) => {}
            // Offline for a moment: the old token may still be good; the call will tell.
            Err(TwakeError::Unreachable { .. }) if !tokens.refresh_expired() => {}
            Err(e) => return Err(e),
        }
        let (tokens, generation) = self.snapshot()?;
        Ok((tokens.access, generation))
    }

    /// Renews the tokens unless someone already did since generation `seen`.
    pub async fn renew(&self, seen: u64) -> Result<(), TwakeError> {
        let _one_at_a_time = self.renewing.lock().await;
        let (tokens, generation) = self.snapshot()?;
        if generation != seen {
            return Ok(());
        }
        if tokens.refresh_expired() {
            return Err(self
                .sign_out("the session is older than its refresh token")
                .await);
        }
        let answer = self.patient_renewal(&tokens).await?;
        let renewed: TokenAnswer = answer.json(&self.server, RouteKind::Other)?;
        let new = Tokens::from_answer(renewed.access_token);
        tracing::debug!(
            "renewed the session of {} on {} (valid until {})",
            self.account,
            self.server,
            new.access_expires
        );
        if let Ok(mut c) = self.current.lock() {
            c.tokens = new.clone();
            c.generation += 1;
        }
        let sink = self.sink.clone();
        let _ = tokio::task::spawn_blocking(move || sink.save(&new)).await;
        Ok(())
    }

    /// Asks for new tokens until the server gives them, asking again with backoff while it
    /// refuses (401, 403) for at most the renewal patience; then the session ends. A server
    /// that stops answering ends the wait with `Unreachable` (the queue goes offline).
    async fn patient_renewal(&self, tokens: &Tokens) -> Result<Answer, TwakeError> {
        let patience = self.renewal_patience();
        let started = tokio::time::Instant::now();
        let mut wait = RENEWAL_FIRST_WAIT;
        loop {
            let resp = self
                .client
                .post(self.url(api::TOKEN))
                .bearer_auth(tokens.refresh.expose())
                .timeout(self.timeout)
                .send()
                .await
                .map_err(|e| self.unreachable(&e))?;
            let answer = Answer::read(resp).await.map_err(|e| self.unreachable(&e))?;
            if !matches!(answer.status, 401 | 403) {
                return Ok(answer);
            }
            let waited = started.elapsed();
            if waited >= patience {
                let reason = format!(
                    "the server refused to renew the session ({}) for {} s",
                    answer.status,
                    waited.as_secs()
                );
                return Err(self.sign_out(&reason).await);
            }
            if wait == RENEWAL_FIRST_WAIT {
                tracing::warn!(
                    "{} refused to renew the session of {} ({}); asking again for up to {} s \
                     (a server that is restarting refuses every session for a moment)",
                    self.server,
                    self.account,
                    answer.status,
                    patience.as_secs()
                );
            }
            tokio::time::sleep(wait.min(patience - waited)).await;
            wait = (wait * 2).min(RENEWAL_MAX_WAIT);
        }
    }

    /// Sends a request built by `make` with the bearer token; on a 401 renews once and sends
    /// it again; a second 401 ends the session.
    pub async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, TwakeError> {
        let (token, generation) = self.bearer().await?;
        let answer = self.exchange(make().bearer_auth(token.expose())).await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        self.renew(generation).await?;
        let (token, _) = self.bearer().await?;
        let answer = self.exchange(make().bearer_auth(token.expose())).await?;
        if answer.status == 401 {
            return Err(self
                .sign_out("the server refused the renewed session (401)")
                .await);
        }
        Ok(answer)
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Answer, TwakeError> {
        let resp = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        Answer::read(resp).await.map_err(|e| self.unreachable(&e))
    }

    /// `GET url` as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, TwakeError> {
        let url = self.url(path);
        self.send(|| self.client.get(&url))
            .await?
            .json(&self.server, RouteKind::Other)
    }

    /// `POST url` with a JSON body, answer as JSON.
    pub async fn post_json<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, TwakeError> {
        let url = self.url(path);
        self.send(|| self.client.post(&url).json(body))
            .await?
            .json(&self.server, RouteKind::Other)
    }

    /// Who is signed in.
    pub async fn me(&self) -> Result<api::User, TwakeError> {
        Ok(self
            .get_json::<api::UserAnswer>(api::USERS_ME)
            .await?
            .resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(issued_ago: f64, lifetime: i64, skew: f64) -> Tokens {
        let server_now = local_now() + skew;
        let issued = (server_now - issued_ago) as i64;
        Tokens {
            access: Secret::new("a"),
            refresh: Secret::new("r"),
            access_expires: issued + lifetime,
            refresh_expires: issued + 30 * 86_400,
            issued,
            skew,
        }
    }

    #[test]
    fn an_hour_token_renews_in_its_last_ten_minutes() {
        assert!(!tokens(0.0, 3600, 0.0).needs_renewal());
        assert!(!tokens(2900.0, 3600, 0.0).needs_renewal());
        assert!(tokens(3100.0, 3600, 0.0).needs_renewal());
    }

    #[test]
    fn a_client_clock_that_is_behind_still_renews_on_time() {
        // The server is 40 minutes ahead of us: judged on our clock, the token looks fresh.
        let t = tokens(3100.0, 3600, 2400.0);
        assert!(t.needs_renewal());
    }

    #[test]
    fn server_urls_are_checked_and_normalized() {
        assert_eq!(
            normalize_server("https://drive.example.com/").unwrap(),
            "https://drive.example.com"
        );
        assert!(normalize_server("ftp://x").is_err());
        assert!(normalize_server("not a url").is_err());
        assert_eq!(
            normalize_server(" drive.example.com ").unwrap(),
            "https://drive.example.com"
        );
        assert_eq!(
            normalize_server("https://drive.example.com/drive/#/client/folder/1").unwrap(),
            "https://drive.example.com"
        );
        assert_eq!(
            normalize_server("http://127.0.0.1:4000/x?y=1").unwrap(),
            "http://127.0.0.1:4000"
        );
        let e = normalize_server("drive example com")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("relative URL"), "{e}");
        assert!(e.contains("host name"), "{e}");
    }
}
