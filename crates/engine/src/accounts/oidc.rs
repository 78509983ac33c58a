//! Signing in to a tdrive server whose console is an OpenID provider ("remote" mode), as its
//! own web client does, but from the desktop: the provider's discovery document gives its
//! endpoints; the person signs in on the provider's page in their browser (authorization code
//! flow, a public client, PKCE S256, the redirect caught on loopback by `browser.rs`); the code
//! is exchanged for the provider's tokens; the ID token goes to the server's sign-in route
//! (`{"oidc_id_token": …}`), which checks it against the provider's keys and answers with the
//! usual tdrive session, renewed from then on like any other. The provider's own tokens are
//! dropped once the server has answered: only the tdrive session is kept.

use super::detect::Provider;
use crate::targets::twake::api::{self, Answer, RouteKind, TokenAnswer};
use crate::targets::twake::{Secret, Tokens, TwakeError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What we ask the provider for: the ID token, with the email the server makes the account
/// from, and the names it shows.
pub const SCOPES: &str = "openid email profile";

/// The provider's endpoints, from `{authority}/.well-known/openid-configuration`.
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

fn provider_error(server: &str, url: &str, reason: impl Into<String>) -> TwakeError {
    TwakeError::Provider {
        server: server.to_string(),
        url: crate::targets::http::redact_url(url),
        reason: reason.into(),
    }
}

/// Reads the provider's discovery document.
pub async fn discover(
    client: &reqwest::Client,
    server: &str,
    provider: &Provider,
    timeout: Duration,
) -> Result<Discovery, TwakeError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        provider.authority.trim_end_matches('/')
    );
    let resp = client
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            provider_error(
                server,
                &url,
                format!(
                    "cannot be reached ({}): check the network; if it lasts, tell the server's \
                     administrator",
                    crate::targets::http::describe_transport_error(&e)
                ),
            )
        })?;
    let answer = Answer::read(resp)
        .await
        .map_err(|e| provider_error(server, &url, format!("sent no answer ({e})")))?;
    if answer.status != 200 || answer.looks_like_html() {
        return Err(provider_error(
            server,
            &url,
            format!(
                "answered {} instead of its OpenID settings: the server's identity provider \
                 setting may be wrong; tell its administrator",
                answer.status
            ),
        ));
    }
    let found: Discovery = serde_json::from_str(&answer.body).map_err(|e| {
        provider_error(
            server,
            &url,
            format!("sent OpenID settings that cannot be read ({e})"),
        )
    })?;
    if !found.code_challenge_methods_supported.is_empty()
        && !found
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    {
        return Err(provider_error(
            server,
            &url,
            "does not offer PKCE with S256, which a desktop sign-in needs: tell the server's \
             administrator",
        ));
    }
    Ok(found)
}

/// The address the browser opens: the provider's sign-in page for this one sign-in.
pub fn authorize_url(
    discovery: &Discovery,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(&discovery.authorization_endpoint)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

#[derive(Deserialize)]
struct ProviderTokens {
    #[serde(default)]
    id_token: Option<Secret>,
}

#[derive(Deserialize)]
struct ProviderRefusal {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// What the redirect brought back, with what proves this process asked for it.
pub struct Grant<'a> {
    pub code: &'a str,
    /// The PKCE verifier of the challenge sent in the authorize address.
    pub verifier: &'a Secret,
    /// The redirect address sent then (the provider compares them).
    pub redirect_uri: &'a str,
}

/// Exchanges the code from the redirect for the provider's ID token (a public client: the
/// PKCE verifier proves this is the process that started the sign-in).
pub async fn exchange_code(
    client: &reqwest::Client,
    server: &str,
    discovery: &Discovery,
    client_id: &str,
    grant: Grant<'_>,
    timeout: Duration,
) -> Result<Secret, TwakeError> {
    let Grant {
        code,
        verifier,
        redirect_uri,
    } = grant;
    let url = &discovery.token_endpoint;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", verifier.expose()),
    ];
    let resp = client
        .post(url)
        .form(&form)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            provider_error(
                server,
                url,
                format!(
                    "cannot be reached to finish the sign-in ({}): sign in again",
                    crate::targets::http::describe_transport_error(&e)
                ),
            )
        })?;
    let answer = Answer::read(resp)
        .await
        .map_err(|e| provider_error(server, url, format!("sent no answer ({e})")))?;
    if answer.status != 200 {
        let why = serde_json::from_str::<ProviderRefusal>(&answer.body)
            .map(|r| match r.error_description {
                Some(d) => format!("{}: {d}", r.error),
                None => r.error,
            })
            .unwrap_or_else(|_| format!("answer {}", answer.status));
        return Err(provider_error(
            server,
            url,
            format!("refused to finish the sign-in ({why}): sign in again"),
        ));
    }
    let tokens: ProviderTokens = serde_json::from_str(&answer.body).map_err(|e| {
        provider_error(
            server,
            url,
            format!("sent tokens that cannot be read ({e})"),
        )
    })?;
    tokens.id_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        provider_error(
            server,
            url,
            "sent no ID token (the `openid` scope was not granted): tell the server's \
             administrator",
        )
    })
}

/// `POST …/console/v1/login` body of remote mode. Debug is by hand: the token is a secret.
#[derive(Serialize)]
struct TokenLogin<'a> {
    oidc_id_token: &'a str,
}

/// Opens the tdrive session with the provider's ID token.
pub async fn server_login(
    client: &reqwest::Client,
    server: &str,
    id_token: &Secret,
    timeout: Duration,
) -> Result<Tokens, TwakeError> {
    let unreachable = |e: reqwest::Error| TwakeError::from_transport(server, &e);
    let resp = client
        .post(format!("{server}{}", api::LOGIN))
        .json(&TokenLogin {
            oidc_id_token: id_token.expose(),
        })
        .timeout(timeout)
        .send()
        .await
        .map_err(unreachable)?;
    let answer = Answer::read(resp).await.map_err(unreachable)?;
    if (400..500).contains(&answer.status) || answer.status == 500 {
        // The server's verifier throws on a token it cannot check (500); it answers 400 when
        // the token lacks a claim it needs.
        if !answer.looks_like_html() {
            return Err(TwakeError::ProviderTokenRefused {
                server: server.to_string(),
                status: answer.status,
                message: crate::error::ChunkError::summarize_body(&answer.body),
            });
        }
    }
    let tokens: TokenAnswer = answer.json(server, RouteKind::Login)?;
    Ok(Tokens::from_answer(tokens.access_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery() -> Discovery {
        Discovery {
            issuer: "https://sso.example.com".into(),
            authorization_endpoint: "https://sso.example.com/oauth2/authorize?realm=x".into(),
            token_endpoint: "https://sso.example.com/oauth2/token".into(),
            code_challenge_methods_supported: vec!["S256".into()],
        }
    }

    #[test]
    fn the_authorize_address_carries_the_pkce_challenge_and_state() {
        let url = authorize_url(
            &discovery(),
            "tdrive web",
            "http://127.0.0.1:4321/callback",
            "st&te",
            "CHALLENGE",
        )
        .unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["realm"], "x", "the endpoint's own parameters stay");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "tdrive web");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:4321/callback");
        assert_eq!(q["state"], "st&te");
        assert_eq!(q["code_challenge"], "CHALLENGE");
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["scope"].split(' ').any(|s| s == "openid"));
    }
}
