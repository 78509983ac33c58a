//! The OAuth 2 side of the cozy-stack double, after cozy-stack's docs/auth.md: dynamic client
//! registration (`POST /auth/register`, `DELETE /auth/register/:client-id` with the
//! registration token), the authorize page (an HTML form a real browser can submit: the
//! instance's passphrase, as a person not yet logged in to the stack types it, and an
//! "Accept" button; the POST answers 302 to `redirect_uri?state=…&code=…`), and
//! `POST /auth/access_token` for the `authorization_code` and `refresh_token` grants.
//!
//! Where the stack answers in its own way, the double does too: a bad or revoked refresh
//! token or code is a **400** `{"error":"invalid_grant"}` (not a 401), a wrong client secret
//! a 400 `invalid_client`; an expired or unknown access token on `/files` a 401 with a
//! JSON:API error; a code lives 10 minutes unless a test shortens it.

#![allow(clippy::result_large_err)]

use super::model::{random_hex, Client, Code, TokenKind};
use super::{jsonapi_error, Shared};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

type Shr = State<Arc<Shared>>;
type Reply = Result<Response, Response>;

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Checks the access token of a `/files` request: known, an access token, not expired,
/// of a client still registered, with the files scope.
pub fn require(s: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = |detail: &str| {
        s.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        jsonapi_error(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    };
    let Some(token) = bearer(headers) else {
        return Err(unauthorized("No token has been found in the request"));
    };
    let model = s.model();
    let Some(t) = model.tokens.get(token) else {
        return Err(unauthorized("Invalid JWT token"));
    };
    if t.kind != TokenKind::Access
        || t.expires.is_some_and(|e| Instant::now() >= e)
        || !model.clients.contains_key(&t.client_id)
    {
        return Err(unauthorized("Invalid JWT token"));
    }
    if !t.scope.split(' ').any(|s| s == "io.cozy.files") {
        return Err(jsonapi_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the token has not the permission for io.cozy.files",
        ));
    }
    Ok(())
}

/// `POST /auth/register`.
pub async fn register(State(s): Shr, Json(body): Json<Value>) -> Reply {
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if uris.is_empty() {
        return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri"));
    }
    let Some(name) = body["client_name"].as_str().filter(|n| !n.is_empty()) else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
        ));
    };
    if body["software_id"].as_str().is_none_or(str::is_empty) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
        ));
    }
    let client = Client {
        id: random_hex(16),
        secret: random_hex(24),
        registration_token: random_hex(24),
        redirect_uris: uris.clone(),
        name: name.to_string(),
        kind: body["client_kind"].as_str().unwrap_or("").to_string(),
    };
    let answer = json!({
        "client_id": client.id,
        "client_secret": client.secret,
        "client_secret_expires_at": 0,
        "registration_access_token": client.registration_token,
        "redirect_uris": uris,
        "client_name": client.name,
        "client_kind": client.kind,
        "software_id": body["software_id"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    s.model().clients.insert(client.id.clone(), client);
    s.counters.registrations.fetch_add(1, Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `DELETE /auth/register/:client-id`: the client and every token it holds are gone.
pub async fn unregister(State(s): Shr, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    let mut model = s.model();
    let Some(client) = model.clients.get(&id) else {
        return Err(oauth_error(StatusCode::NOT_FOUND, "Client not found"));
    };
    if bearer(&headers) != Some(client.registration_token.as_str()) {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid registration token",
        ));
    }
    model.clients.remove(&id);
    model.tokens.retain(|_, t| t.client_id != id);
    model.codes.retain(|_, c| c.client_id != id);
    s.counters.unregistrations.fetch_add(1, Ordering::Relaxed);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn bad_page(status: StatusCode, why: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html><body><h1>Error</h1><p>{}</p></body></html>",
            html_escape(why)
        )),
    )
        .into_response()
}

/// Checks the parameters shared by the authorize page and its form.
fn checked(
    s: &Shared,
    q: &HashMap<String, String>,
) -> Result<(Client, String, String, String), Response> {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let model = s.model();
    let client = model
        .clients
        .get(&get("client_id"))
        .cloned()
        .ok_or_else(|| bad_page(StatusCode::BAD_REQUEST, "the client must be registered"))?;
    let redirect = get("redirect_uri");
    if !client.redirect_uris.contains(&redirect) {
        return Err(bad_page(StatusCode::BAD_REQUEST, "incorrect redirect_uri"));
    }
    let state = get("state");
    if state.is_empty() {
        return Err(bad_page(
            StatusCode::BAD_REQUEST,
            "the state parameter is mandatory",
        ));
    }
    if get("response_type") != "code" {
        return Err(bad_page(StatusCode::BAD_REQUEST, "Invalid response type"));
    }
    let scope = get("scope");
    if scope.is_empty() {
        return Err(bad_page(
            StatusCode::BAD_REQUEST,
            "the scope parameter is mandatory",
        ));
    }
    Ok((client, redirect, state, scope))
}

/// `GET /auth/authorize`: the page a person approves.
pub async fn authorize_page(State(s): Shr, Query(q): Query<HashMap<String, String>>) -> Reply {
    let (client, redirect, state, scope) = checked(&s, &q)?;
    let hidden = |k: &str, v: &str| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            html_escape(v)
        )
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorize</title></head><body>\
         <h1>Give access to {name}</h1><p>It will be able to read and write your files ({scope}).</p>\
         <form method=\"POST\" action=\"/auth/authorize\" id=\"authorize\">{}{}{}{}{}\
         <label>Password <input type=\"password\" name=\"passphrase\" id=\"passphrase\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\" id=\"allow\">Accept</button></form></body></html>",
        hidden("client_id", &client.id),
        hidden("redirect_uri", &redirect),
        hidden("state", &state),
        hidden("scope", &scope),
        hidden("response_type", "code"),
        name = html_escape(&client.name),
        scope = html_escape(&scope),
    );
    Ok(Html(page).into_response())
}

/// `POST /auth/authorize`: with the right passphrase, a one-time code back to the app.
pub async fn authorize(State(s): Shr, Form(form): Form<HashMap<String, String>>) -> Reply {
    let (client, redirect, state, scope) = checked(&s, &form)?;
    if form.get("passphrase").map(String::as_str) != Some(s.config().passphrase.as_str()) {
        return Err(bad_page(
            StatusCode::UNAUTHORIZED,
            "wrong password: try again",
        ));
    }
    let code = random_hex(16);
    let life = s.config().code_lifetime;
    s.model().codes.insert(
        code.clone(),
        Code {
            client_id: client.id.clone(),
            scope,
            expires: Instant::now() + life,
        },
    );
    s.counters.approvals.fetch_add(1, Ordering::Relaxed);
    let mut location = url::Url::parse(&redirect)
        .map_err(|_| bad_page(StatusCode::BAD_REQUEST, "incorrect redirect_uri"))?;
    location
        .query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("code", &code);
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response())
}

/// `POST /auth/access_token`.
pub async fn access_token(State(s): Shr, Form(form): Form<HashMap<String, String>>) -> Reply {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let config = s.config();
    let mut model = s.model();
    let client = model
        .clients
        .get(&get("client_id"))
        .cloned()
        .ok_or_else(|| oauth_error(StatusCode::BAD_REQUEST, "the client must be registered"))?;
    if client.secret != get("client_secret") {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid client_secret",
        ));
    }
    let scope = match get("grant_type").as_str() {
        "authorization_code" => {
            let code = model.codes.remove(&get("code"));
            match code {
                Some(c) if c.client_id == client.id && Instant::now() < c.expires => c.scope,
                _ => return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant")),
            }
        }
        "refresh_token" => {
            if s.refuse_refresh.load(Ordering::Relaxed) {
                s.counters.refused_refreshes.fetch_add(1, Ordering::Relaxed);
                return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"));
            }
            match model.tokens.get(&get("refresh_token")) {
                Some(t) if t.kind == TokenKind::Refresh && t.client_id == client.id => {
                    s.counters.refreshes.fetch_add(1, Ordering::Relaxed);
                    t.scope.clone()
                }
                _ => {
                    s.counters.refused_refreshes.fetch_add(1, Ordering::Relaxed);
                    return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"));
                }
            }
        }
        _ => return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid grant type")),
    };
    let access = model.new_token(
        &client.id,
        TokenKind::Access,
        &scope,
        Some(config.access_lifetime),
    );
    let mut answer = json!({
        "access_token": access,
        "token_type": "bearer",
        "scope": scope,
    });
    // A refresh grant keeps the refresh token it was given, as the stack does.
    if get("grant_type") == "authorization_code" {
        answer["refresh_token"] =
            json!(model.new_token(&client.id, TokenKind::Refresh, &scope, None));
    }
    Ok(Json(answer).into_response())
}
