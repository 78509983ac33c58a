//! Which kind of Twake Drive is at an address: the person types an address (or an email) and
//! the app decides from the answer which sign-in to offer. Two routes that need no sign-in
//! tell them apart:
//!
//! - the tdrive backend answers `GET /internal/services/general/v1/server` with the settings its
//!   own web client starts from: `configuration.accounts.type` is `internal` (its own email and
//!   password console) or `remote` (an OpenID provider, `accounts.remote.authority`, with the
//!   public client id `accounts.remote.client_id`);
//! - cozy-stack answers `GET /status` with its health, an object with a `couchdb` field and a
//!   `message` of `OK` or `KO`.
//!
//! An email tells where to go only when its domain serves the drive itself: the domain is tried
//! as the address, and failing that the person is asked for the address.

use crate::targets::twake::api::{Answer, RouteKind};
use crate::targets::twake::{session, TwakeError};
use serde::Deserialize;
use std::time::Duration;

/// The route of the tdrive backend's public settings.
pub const TDRIVE_SERVER_INFO: &str = "/internal/services/general/v1/server";
/// cozy-stack's health route.
pub const COZY_STATUS: &str = "/status";

/// How long each probe may take: the person waits for the answer in a dialog.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// How the server signs people in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// Twake Drive on cozy-stack: OAuth with the stack, in the browser.
    Cozy,
    /// The tdrive backend with its own console: email and password.
    TwakePassword,
    /// The tdrive backend whose console is an OpenID provider: the browser, with PKCE.
    TwakeOidc(Provider),
}

/// The OpenID provider a tdrive server sends its users to, as its web client learns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The issuer's base URL (its discovery document is under `/.well-known/`).
    pub authority: String,
    /// The public client the server accepts tokens for (their `aud`).
    pub client_id: String,
}

/// What `detect` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The server's base URL, as accounts keep it.
    pub server: String,
    pub kind: ServerKind,
    /// The email, when one was typed.
    pub email: Option<String>,
}

/// What the person typed: an address, or an email whose domain may be the address.
#[derive(Debug, PartialEq, Eq)]
pub enum Typed {
    Address(String),
    Email { email: String, domain: String },
}

/// Tells an email from an address: `alice@example.com` is an email, `https://a@b/` and
/// `drive.example.com` are addresses.
pub fn read_typed(typed: &str) -> Typed {
    let t = typed.trim();
    match t.split_once('@') {
        Some((user, domain))
            if !t.contains("://")
                && !user.is_empty()
                && !domain.is_empty()
                && !domain.contains(['@', '/', ' ']) =>
        {
            Typed::Email {
                email: super::normal_email(t),
                domain: domain.to_ascii_lowercase(),
            }
        }
        _ => Typed::Address(t.to_string()),
    }
}

#[derive(Deserialize)]
struct ServerInfo {
    configuration: Configuration,
}

#[derive(Deserialize)]
struct Configuration {
    accounts: AccountsInfo,
}

#[derive(Deserialize)]
struct AccountsInfo {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    remote: Option<RemoteInfo>,
}

#[derive(Deserialize)]
struct RemoteInfo {
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
}

/// The kind a tdrive settings document describes.
fn tdrive_kind(server: &str, body: &str) -> Option<Result<ServerKind, TwakeError>> {
    let info: ServerInfo = serde_json::from_str(body).ok()?;
    let accounts = info.configuration.accounts;
    Some(match accounts.kind.as_str() {
        "remote" => {
            let remote = accounts.remote.unwrap_or(RemoteInfo {
                authority: None,
                client_id: None,
            });
            match (remote.authority, remote.client_id) {
                (Some(authority), Some(client_id))
                    if !authority.trim().is_empty() && !client_id.trim().is_empty() =>
                {
                    Ok(ServerKind::TwakeOidc(Provider {
                        authority: authority.trim().trim_end_matches('/').to_string(),
                        client_id,
                    }))
                }
                _ => Err(TwakeError::NotTwakeDrive {
                    url: server.to_string(),
                    what: "it signs in through an identity provider but does not say which one \
                           (accounts.remote.authority and client_id are empty): ask its \
                           administrator"
                        .into(),
                }),
            }
        }
        _ => Ok(ServerKind::TwakePassword),
    })
}

/// True for cozy-stack's health answer.
fn is_cozy_status(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("couchdb").is_some() && v.get("message").is_some())
}

async fn probe(client: &reqwest::Client, url: &str, server: &str) -> Result<Answer, TwakeError> {
    let resp = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .map_err(|e| TwakeError::from_transport(server, &e))?;
    Answer::read(resp)
        .await
        .map_err(|e| TwakeError::from_transport(server, &e))
}

/// The kind of server at the base URL `server` (already normalised).
pub async fn detect_server(
    client: &reqwest::Client,
    server: &str,
) -> Result<ServerKind, TwakeError> {
    let info = probe(client, &format!("{server}{TDRIVE_SERVER_INFO}"), server).await?;
    if (300..400).contains(&info.status) {
        // A redirect to another origin (a sign-in portal in front of it, a moved server).
        return Err(info.error(server, RouteKind::Other));
    }
    if info.status == 200 && !info.looks_like_html() {
        if let Some(kind) = tdrive_kind(server, &info.body) {
            return kind;
        }
    }
    let status = probe(client, &format!("{server}{COZY_STATUS}"), server).await?;
    if status.status == 200 && !status.looks_like_html() && is_cozy_status(&status.body) {
        return Ok(ServerKind::Cozy);
    }
    Err(TwakeError::NotTwakeDrive {
        url: server.to_string(),
        what: format!(
            "neither {TDRIVE_SERVER_INFO} nor {COZY_STATUS} answered as Twake Drive does \
             ({} and {})",
            info.status, status.status
        ),
    })
}

/// The server and kind for what the person typed (an address, or an email).
pub async fn detect(client: &reqwest::Client, typed: &str) -> Result<Detected, TwakeError> {
    let (address, email) = match read_typed(typed) {
        Typed::Address(a) => (a, None),
        Typed::Email { email, domain } => (domain, Some(email)),
    };
    let server = session::normalize_server(&address)?;
    match detect_server(client, &server).await {
        Ok(kind) => Ok(Detected {
            server,
            kind,
            email,
        }),
        Err(e) if email.is_some() => Err(TwakeError::NoServerForEmail {
            email: email.unwrap_or_default(),
            tried: server,
            reason: e.to_string(),
        }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_told_from_an_address() {
        assert_eq!(
            read_typed(" Alice@Example.com "),
            Typed::Email {
                email: "alice@example.com".into(),
                domain: "example.com".into()
            }
        );
        assert_eq!(
            read_typed("drive.example.com"),
            Typed::Address("drive.example.com".into())
        );
        assert_eq!(
            read_typed("https://user@drive.example.com/"),
            Typed::Address("https://user@drive.example.com/".into())
        );
        assert_eq!(
            read_typed("@example.com"),
            Typed::Address("@example.com".into())
        );
    }

    #[test]
    fn the_tdrive_settings_say_which_console() {
        let internal = r#"{"status":"ready","configuration":{"accounts":{"type":"internal",
            "remote":{"authority":"http://auth.example.com/","client_id":"tdriveweb"}}}}"#;
        assert_eq!(
            tdrive_kind("https://d", internal).map(Result::ok),
            Some(Some(ServerKind::TwakePassword))
        );
        let remote = r#"{"configuration":{"accounts":{"type":"remote",
            "remote":{"authority":"https://sso.example.com/","client_id":"drive"}}}}"#;
        assert_eq!(
            tdrive_kind("https://d", remote).map(Result::ok),
            Some(Some(ServerKind::TwakeOidc(Provider {
                authority: "https://sso.example.com".into(),
                client_id: "drive".into()
            })))
        );
        let unnamed = r#"{"configuration":{"accounts":{"type":"remote","remote":{}}}}"#;
        assert!(matches!(
            tdrive_kind("https://d", unnamed),
            Some(Err(TwakeError::NotTwakeDrive { .. }))
        ));
        assert!(tdrive_kind("https://d", r#"{"message":"Not Found"}"#).is_none());
    }

    #[test]
    fn cozy_stack_health_is_recognised_in_its_old_and_new_shapes() {
        assert!(is_cozy_status(r#"{"couchdb":"healthy","message":"OK"}"#));
        assert!(is_cozy_status(
            r#"{"cache":"healthy","couchdb":"healthy","fs":"healthy","status":"OK","message":"OK"}"#
        ));
        assert!(!is_cozy_status(r#"{"status":"ok"}"#));
        assert!(!is_cozy_status("<html></html>"));
    }
}
