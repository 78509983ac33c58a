//! The `/files` routes of the cozy-stack double, after cozy-stack's docs/files.md: JSON:API
//! documents, one request per file (`POST /files/:dir-id?Type=file&Name=…`, a new version by
//! `PUT /files/:file-id` with `If-Match`), `Content-MD5` and `Content-Length` checked against
//! what arrived (412, nothing kept), the quota checked from `Content-Length` before a byte is
//! read (413), 409 on a taken name, 404 when the parent is gone, 422 on an illegal name.
//! Sizes are strings in the documents, as the stack writes them.

#![allow(clippy::result_large_err)]

use super::model::{now_rfc3339, random_hex, Node, ROOT_ID, TRASH_ID};
use super::{auth, jsonapi_error, Shared};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use futures::StreamExt;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

type Shr = State<Arc<Shared>>;
type Reply = Result<Response, Response>;

/// Listings give this many children per page unless `page[limit]` says otherwise.
pub const PAGE: usize = 30;

pub fn document(model: &super::model::Model, node: &Node) -> Value {
    let mut attributes = json!({
        "type": if node.is_dir { "directory" } else { "file" },
        "name": node.name,
        "dir_id": node.dir_id,
        "created_at": node.created_at,
        "updated_at": node.updated_at,
        "tags": [],
    });
    if node.is_dir {
        attributes["path"] = json!(model.path_of(&node.id));
    } else {
        attributes["size"] = json!(node.size.to_string());
        attributes["md5sum"] = json!(node.md5);
        attributes["mime"] = json!(node.mime);
        attributes["class"] = json!(node.mime.split('/').next().unwrap_or("files"));
        attributes["executable"] = json!(false);
        attributes["trashed"] = json!(false);
    }
    json!({
        "type": "io.cozy.files",
        "id": node.id,
        "attributes": attributes,
        "meta": { "rev": node.rev },
        "links": { "self": format!("/files/{}", node.id) },
    })
}

fn created(doc: Value) -> Response {
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/vnd.api+json")],
        Json(json!({ "data": doc })),
    )
        .into_response()
}

/// The stack refuses these names (vfs `checkFileName`).
fn illegal_name(name: &str) -> bool {
    name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0')
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /files/` (the root) or `POST /files/:dir-id`.
pub async fn create_in_root(
    s: Shr,
    q: Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    create(s, Path(ROOT_ID.to_string()), q, headers, body).await
}

pub async fn create(
    State(s): Shr,
    Path(dir_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    auth::require(&s, &headers)?;
    let kind = q.get("Type").map(String::as_str).unwrap_or("");
    let name = q.get("Name").cloned().unwrap_or_default();
    if kind != "file" && kind != "directory" {
        return Err(jsonapi_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid parameter",
            "Type must be file or directory",
        ));
    }
    if illegal_name(&name) {
        return Err(jsonapi_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable Entity",
            "Invalid filename",
        ));
    }
    {
        let model = s.model();
        match model.nodes.get(&dir_id) {
            Some(parent) if parent.is_dir && dir_id != TRASH_ID => {}
            Some(_) => {
                return Err(jsonapi_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unprocessable Entity",
                    "The parent is not a directory that can hold files",
                ))
            }
            None => {
                return Err(jsonapi_error(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    "Parent directory does not exist",
                ))
            }
        }
        if model.child(&dir_id, &name).is_some() {
            return Err(jsonapi_error(
                StatusCode::CONFLICT,
                "Conflict",
                "Conflict: name already taken",
            ));
        }
    }
    let now = now_rfc3339();
    let created_at = q.get("CreatedAt").cloned().unwrap_or_else(|| now.clone());
    if kind == "directory" {
        let mut model = s.model();
        // Two racing creations: the second one meets the first.
        if model.child(&dir_id, &name).is_some() {
            return Err(jsonapi_error(
                StatusCode::CONFLICT,
                "Conflict",
                "Conflict: name already taken",
            ));
        }
        let node = Node {
            id: random_hex(16),
            rev: format!("1-{}", random_hex(16)),
            name,
            dir_id,
            is_dir: true,
            size: 0,
            md5: String::new(),
            mime: String::new(),
            created_at: created_at.clone(),
            updated_at: created_at,
            versions: 1,
        };
        model.nodes.insert(node.id.clone(), node.clone());
        s.counters.folders_created.fetch_add(1, Ordering::Relaxed);
        return Ok(created(document(&model, &node)));
    }
    let id = random_hex(16);
    let received = receive(&s, &headers, &id, body).await?;
    let mut model = s.model();
    if model.child(&dir_id, &name).is_some() {
        let _ = std::fs::remove_file(s.blob(&id));
        return Err(jsonapi_error(
            StatusCode::CONFLICT,
            "Conflict",
            "Conflict: name already taken",
        ));
    }
    let node = Node {
        id: id.clone(),
        rev: format!("1-{}", random_hex(16)),
        name,
        dir_id,
        is_dir: false,
        size: received.size,
        md5: received.md5,
        mime: received.mime,
        created_at,
        updated_at: received.updated_at.unwrap_or(now),
        versions: 1,
    };
    model.nodes.insert(id, node.clone());
    s.counters.files_stored.fetch_add(1, Ordering::Relaxed);
    Ok(created(document(&model, &node)))
}

/// `PUT /files/:file-id`: a new version of the content, only against the current revision.
pub async fn replace(
    State(s): Shr,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    auth::require(&s, &headers)?;
    let race = s
        .race_next_put
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if race {
        if let Some(node) = s.model().nodes.get_mut(&id) {
            node.bump();
            node.versions += 1;
        }
    }
    {
        let model = s.model();
        let node = model.nodes.get(&id).filter(|n| !n.is_dir).ok_or_else(|| {
            jsonapi_error(StatusCode::NOT_FOUND, "Not Found", "File does not exist")
        })?;
        if let Some(rev) = header_str(&headers, "if-match") {
            if rev.trim_matches('"') != node.rev {
                s.counters.stale_revisions.fetch_add(1, Ordering::Relaxed);
                return Err(jsonapi_error(
                    StatusCode::PRECONDITION_FAILED,
                    "Precondition Failed",
                    "Invalid revision",
                ));
            }
        }
    }
    let staging = format!("{id}.{}", random_hex(4));
    let received = receive(&s, &headers, &staging, body).await?;
    let mut model = s.model();
    let Some(node) = model.nodes.get_mut(&id) else {
        let _ = std::fs::remove_file(s.blob(&staging));
        return Err(jsonapi_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "File does not exist",
        ));
    };
    if let Some(rev) = header_str(&headers, "if-match") {
        if rev.trim_matches('"') != node.rev {
            let _ = std::fs::remove_file(s.blob(&staging));
            return Err(jsonapi_error(
                StatusCode::PRECONDITION_FAILED,
                "Precondition Failed",
                "Invalid revision",
            ));
        }
    }
    std::fs::rename(s.blob(&staging), s.blob(&id)).map_err(|e| {
        jsonapi_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            &e.to_string(),
        )
    })?;
    node.size = received.size;
    node.md5 = received.md5;
    node.mime = received.mime;
    node.updated_at = received.updated_at.unwrap_or_else(now_rfc3339);
    node.versions += 1;
    node.bump();
    let node = node.clone();
    s.counters.files_stored.fetch_add(1, Ordering::Relaxed);
    let mut answer = Json(json!({ "data": document(&model, &node) })).into_response();
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/vnd.api+json".parse().expect("a header value"),
    );
    Ok(answer)
}

struct Received {
    size: u64,
    md5: String,
    mime: String,
    updated_at: Option<String>,
}

/// Streams a body to its blob, checking the quota first and the length and MD5 after; a
/// refused body leaves nothing behind.
async fn receive(
    s: &Shared,
    headers: &HeaderMap,
    blob: &str,
    body: Body,
) -> Result<Received, Response> {
    let config = s.config();
    let declared: Option<u64> = header_str(headers, "content-length").and_then(|v| v.parse().ok());
    if let (Some(limit), Some(len)) = (config.proxy_body_limit, declared) {
        if len > limit {
            s.counters.proxy_refusals.fetch_add(1, Ordering::Relaxed);
            return Err(proxy_413());
        }
    }
    if let Some(len) = declared {
        if len > config.max_file_size {
            return Err(jsonapi_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request Entity Too Large",
                "The file is too big and exceeds the filesystem maximum file size",
            ));
        }
        if let Some(quota) = config.quota {
            if s.model().used_bytes() + len > quota {
                s.counters.quota_refusals.fetch_add(1, Ordering::Relaxed);
                return Err(jsonapi_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request Entity Too Large",
                    "The file is too big and exceeds the disk quota",
                ));
            }
        }
    }
    let path = s.blob(blob);
    let io = |e: std::io::Error| {
        jsonapi_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            &e.to_string(),
        )
    };
    let mut out = tokio::fs::File::create(&path).await.map_err(io)?;
    let mut hasher = Md5::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let Ok(piece) = piece else {
            // The client went away mid-body: nothing is kept.
            drop(out);
            let _ = tokio::fs::remove_file(&path).await;
            return Err(jsonapi_error(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "Body interrupted",
            ));
        };
        hasher.update(&piece);
        size += piece.len() as u64;
        out.write_all(&piece).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    drop(out);
    let refuse = |detail: &str| {
        let _ = std::fs::remove_file(&path);
        jsonapi_error(
            StatusCode::PRECONDITION_FAILED,
            "Precondition Failed",
            detail,
        )
    };
    if declared.is_some_and(|d| d != size) {
        return Err(refuse("Content length does not match"));
    }
    let mut digest = hasher.finalize();
    let damaged = s
        .damage_next
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if damaged {
        digest[0] ^= 0xff;
    }
    let md5 = base64::engine::general_purpose::STANDARD.encode(digest);
    if let Some(sent) = header_str(headers, "content-md5") {
        if sent != md5 {
            s.counters.md5_mismatches.fetch_add(1, Ordering::Relaxed);
            return Err(refuse("Invalid hash"));
        }
    }
    let mime = header_str(headers, "content-type")
        .unwrap_or("application/octet-stream")
        .to_string();
    let updated_at = header_str(headers, "date")
        .and_then(|d| httpdate::parse_http_date(d).ok().map(super::model::rfc3339));
    Ok(Received {
        size,
        md5,
        mime,
        updated_at,
    })
}

/// What nginx in front of a stack answers to a body over `client_max_body_size`: an HTML
/// page, not the stack's JSON.
fn proxy_413() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONTENT_TYPE, "text/html")],
        "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n\
         <center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n\
         </body>\r\n</html>\r\n",
    )
        .into_response()
}

/// `GET /files/:id`: a file's document, or a directory's with one page of its children in
/// `included` and `links.next` when there are more.
pub async fn get_node(
    State(s): Shr,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    auth::require(&s, &headers)?;
    let model = s.model();
    let node = model.nodes.get(&id).ok_or_else(|| {
        jsonapi_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "File or directory does not exist",
        )
    })?;
    let mut doc = document(&model, node);
    if !node.is_dir {
        return Ok(Json(json!({ "data": doc })).into_response());
    }
    s.counters.listings.fetch_add(1, Ordering::Relaxed);
    let limit = q
        .get("page[limit]")
        .and_then(|l| l.parse().ok())
        .unwrap_or(PAGE)
        .clamp(1, 100);
    let children = model.children(&id);
    let start = q
        .get("page[cursor]")
        .and_then(|c| children.iter().position(|n| &n.id == c))
        .unwrap_or(0);
    let page: Vec<&&Node> = children.iter().skip(start).take(limit).collect();
    let next = children.get(start + limit);
    doc["relationships"] = json!({
        "contents": { "data": page.iter().map(|n| json!({"type": "io.cozy.files", "id": n.id})).collect::<Vec<_>>() }
    });
    let included: Vec<Value> = page.iter().map(|n| document(&model, n)).collect();
    let mut answer =
        json!({ "data": doc, "included": included, "meta": { "count": children.len() } });
    if let Some(next) = next {
        answer["links"] = json!({
            "next": format!("/files/{id}?page[cursor]={}&page[limit]={limit}", next.id)
        });
    }
    Ok(Json(answer).into_response())
}

/// `GET /files/metadata?Path=/a/b`.
pub async fn metadata(
    State(s): Shr,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    auth::require(&s, &headers)?;
    let path = q.get("Path").cloned().unwrap_or_default();
    let model = s.model();
    let node = model.by_path(&path).ok_or_else(|| {
        jsonapi_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "File or directory does not exist",
        )
    })?;
    Ok(Json(json!({ "data": document(&model, node) })).into_response())
}

/// `GET /files/download/:file-id`: the bytes.
pub async fn download(State(s): Shr, Path(id): Path<String>, headers: HeaderMap) -> Reply {
    auth::require(&s, &headers)?;
    let (mime, exists) = {
        let model = s.model();
        match model.nodes.get(&id).filter(|n| !n.is_dir) {
            Some(n) => (n.mime.clone(), true),
            None => (String::new(), false),
        }
    };
    if !exists {
        return Err(jsonapi_error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "File does not exist",
        ));
    }
    let file = tokio::fs::File::open(s.blob(&id)).await.map_err(|e| {
        jsonapi_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            &e.to_string(),
        )
    })?;
    let stream = tokio_util::io::ReaderStream::new(file);
    Ok(([(header::CONTENT_TYPE, mime)], Body::from_stream(stream)).into_response())
}
