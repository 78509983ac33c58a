//! Public links of the Twake Drive double, as the real server and its web client serve them:
//! the shared page `/shared/{company}/drive/{item}/t/{token}` is the web client's HTML (the
//! server answers every page with it), and what a signed-out browser does on it is two API
//! calls: `POST …/anonymous/token` with the item and its public token gives a session for
//! that item alone, and `GET …/item/{id}/download` with that session gives the bytes. A
//! token that does not match, or an item whose public level is "none", gets 401.

// Handlers answer `Result<Response, Response>`, as in routes.rs.
#![allow(clippy::result_large_err)]

use super::routes::{fail, member, stream_file};
use super::Shared;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

type Shr = State<Arc<Shared>>;
type Reply = Result<Response, Response>;

/// The levels `access_info.public.level` may take.
pub const LEVELS: [&str; 4] = ["none", "read", "write", "manage"];

/// What the server answers for any page of the web client, the shared page included.
pub async fn web_client_page() -> Response {
    Html(
        "<!doctype html><html><head><title>Twake Drive</title></head>\
         <body><div id=\"root\"></div><script src=\"/static/js/main.js\"></script></body></html>",
    )
    .into_response()
}

/// `POST …/anonymous/token`: a session for one item, opened with its public token.
pub async fn anonymous_token(
    State(s): Shr,
    Path(cid): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let (document, token) = (text("document_id"), text("token"));
    let mut model = s.model();
    let opens = model.items.get(document).is_some_and(|item| {
        item.company_id == cid
            && !item.is_in_trash
            && item.public.level != "none"
            && !token.is_empty()
            && item.public.token == token
    });
    if !opens {
        return Err(fail(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let session = format!("anonymous.{:032x}", rand::random::<u128>());
    model
        .public_sessions
        .insert(session.clone(), document.to_string());
    let now = s.now();
    Ok(Json(json!({"access_token": {
        "time": now, "expiration": now + 3600, "refresh_expiration": now + 3600,
        "value": session, "refresh": "", "type": "Bearer",
    }}))
    .into_response())
}

/// `GET …/item/{id}/download`: the current version's bytes, for a member of the company or
/// for a public-link session of the item (or of a folder holding it).
pub async fn download_item(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let (item, public_session) = {
        let model = s.model();
        let session = model.public_sessions.get(&bearer).cloned();
        (model.items.get(&id).cloned(), session)
    };
    match public_session {
        Some(document) if s.model().is_within(&id, &document) => {}
        Some(_) => return Err(fail(StatusCode::FORBIDDEN, "Forbidden")),
        None => {
            member(&s, &headers, &cid)?;
        }
    }
    let file_id = item
        .filter(|i| !i.is_directory && !i.is_in_trash)
        .and_then(|i| i.versions.last().cloned())
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "Item not found"))?;
    stream_file(&s, &file_id)
}

/// Applies `access_info` of an item update: only its public level changes here (the token
/// stays the item's own), and only someone who manages the item may change it.
pub fn update_access(
    s: &Shared,
    user: &str,
    id: &str,
    access_info: &Value,
) -> Result<(), Response> {
    let mut model = s.model();
    if model.access_of(user, id) != "manage" {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "You are not allowed to manage this item",
        ));
    }
    let Some(level) = access_info.pointer("/public/level") else {
        return Ok(());
    };
    let level = level
        .as_str()
        .filter(|l| LEVELS.contains(l))
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "Invalid public access level"))?
        .to_string();
    let item = model
        .items
        .get_mut(id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "Item not found"))?;
    item.public.level = level;
    Ok(())
}
