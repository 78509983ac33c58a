//! The HTTP routes of the Twake Drive double. Errors have the shape of the real server's
//! (fastify: `{"statusCode","error","message"}`).

// Handlers answer `Result<Response, Response>`, the usual axum shape; boxing the error
// would only add noise to a test server.
#![allow(clippy::result_large_err)]

use super::model::{Item, Model, StoredFile, TokenKind, LISTING_CAP};
use super::Shared;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

type Shr = State<Arc<Shared>>;
type Reply = Result<Response, Response>;

const FILES: &str = "/internal/services/files/v1/companies/{cid}/files";
const DOCS: &str = "/internal/services/documents/v1/companies/{cid}";

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/internal/services/general/v1/server", get(server_info))
        .route("/internal/services/console/v1/login", post(login))
        .route("/internal/services/console/v1/token", post(renew))
        .route("/internal/services/users/v1/users/me", get(me))
        .route(FILES, post(first_chunk))
        .route(
            &format!("{FILES}/{{id}}"),
            post(next_chunk).get(file_meta).delete(delete_file),
        )
        .route(&format!("{FILES}/{{id}}/download"), get(download))
        .route(&format!("{DOCS}/item"), post(create_item))
        .route(
            &format!("{DOCS}/item/{{id}}"),
            get(get_item).post(update_item).delete(delete_item),
        )
        .route(&format!("{DOCS}/item/{{id}}/version"), post(add_version))
        .route(&format!("{DOCS}/item/{{id}}/restore"), post(restore))
        .route(&format!("{DOCS}/browse/{{id}}"), post(browse))
        .route(
            &format!("{DOCS}/item/{{id}}/download"),
            get(super::public::download_item),
        )
        .route(
            &format!("{DOCS}/anonymous/token"),
            post(super::public::anonymous_token),
        )
        .route("/shared/{*page}", get(super::public::web_client_page))
        .fallback(|| async { fail(StatusCode::NOT_FOUND, "Route not found") })
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

pub(super) fn fail(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or(""),
        "message": message,
    });
    (status, Json(body)).into_response()
}

fn ok(value: Value) -> Reply {
    Ok(Json(value).into_response())
}

/// The user a bearer token belongs to; `refresh_ok` lets a refresh token in too.
fn authed(s: &Shared, headers: &HeaderMap, refresh_ok: bool) -> Result<String, Response> {
    let unauthorized = |why: &str| {
        s.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        fail(StatusCode::UNAUTHORIZED, why)
    };
    if s.warming() {
        // What tdrive answers while its services start: a refusal, not a revoked session.
        s.counters.warming_refusals.fetch_add(1, Ordering::Relaxed);
        return Err(unauthorized(
            "Bad credentials: Cannot read properties of undefined",
        ));
    }
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Missing bearer token"))?;
    let token = s
        .model()
        .tokens
        .get(value)
        .cloned()
        .ok_or_else(|| unauthorized("Invalid token"))?;
    if token.expires <= s.now() {
        return Err(unauthorized("Token expired"));
    }
    if token.kind == TokenKind::Refresh && !refresh_ok {
        return Err(unauthorized("Wrong token type"));
    }
    Ok(token.user_id)
}

/// The user, checked to be a member of company `cid`.
pub(super) fn member(s: &Shared, headers: &HeaderMap, cid: &str) -> Result<String, Response> {
    let user = authed(s, headers, false)?;
    let model = s.model();
    let ok = model
        .user(&user)
        .is_some_and(|u| u.companies.iter().any(|(id, _)| id == cid));
    if ok {
        Ok(user)
    } else {
        Err(fail(
            StatusCode::FORBIDDEN,
            "You are not a member of this company",
        ))
    }
}

fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}.{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u64>()
    )
}

fn issue(s: &Shared, user_id: &str) -> Value {
    let config = s.config();
    let now = s.now();
    let access = random_token("eyJhY2Nlc3Mi");
    let refresh = random_token("eyJyZWZyZXNoIi");
    let mut model = s.model();
    let token = |kind, expires| super::model::Token {
        user_id: user_id.to_string(),
        kind,
        expires,
    };
    model.tokens.insert(
        access.clone(),
        token(TokenKind::Access, now + config.access_lifetime),
    );
    model.tokens.insert(
        refresh.clone(),
        token(TokenKind::Refresh, now + config.refresh_lifetime),
    );
    json!({"access_token": {
        "time": now,
        "expiration": now + config.access_lifetime,
        "refresh_expiration": now + config.refresh_lifetime,
        "value": access,
        "refresh": refresh,
        "type": "Bearer",
    }})
}

async fn login(State(s): Shr, Json(body): Json<Value>) -> Reply {
    if s.warming() {
        s.counters.warming_refusals.fetch_add(1, Ordering::Relaxed);
        return Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        ));
    }
    if let Some(token) = body.get("oidc_id_token").and_then(Value::as_str) {
        let user = oidc_user(&s, token).await?;
        s.counters.oidc_logins.fetch_add(1, Ordering::Relaxed);
        s.counters.logins.fetch_add(1, Ordering::Relaxed);
        return ok(issue(&s, &user));
    }
    let email = body.get("email").and_then(Value::as_str).unwrap_or("");
    let password = body.get("password").and_then(Value::as_str).unwrap_or("");
    if email.is_empty() || password.is_empty() {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "remote_access_token or email+password are required",
        ));
    }
    let user = s
        .model()
        .users
        .iter()
        .find(|u| u.email == email && !u.password.is_empty() && u.password == password)
        .map(|u| u.id.clone());
    let Some(user) = user else {
        return Err(fail(StatusCode::FORBIDDEN, "Forbidden"));
    };
    s.counters.logins.fetch_add(1, Ordering::Relaxed);
    ok(issue(&s, &user))
}

/// What the server tells its web client before anyone signs in: which console, which provider.
async fn server_info(State(s): Shr) -> Reply {
    ok(super::oidc::server_info(&s.config().console))
}

/// The user an OpenID provider's token names, created on first sight as the remote console
/// does; the token is checked first (`oidc::verify`).
async fn oidc_user(s: &Shared, token: &str) -> Result<String, Response> {
    let super::oidc::ConsoleMode::Remote {
        client_id,
        jwks_uri,
        ..
    } = s.config().console
    else {
        // The internal console cannot read provider tokens: the real one throws.
        return Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Method not implemented.",
        ));
    };
    let claims = super::oidc::verify(token, &client_id, &jwks_uri, s.now())
        .await
        .map_err(|r| {
            s.counters
                .refused_oidc_tokens
                .fetch_add(1, Ordering::Relaxed);
            fail(
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &r.message,
            )
        })?;
    let email = claims["email"]
        .as_str()
        .or_else(|| claims["sub"].as_str().filter(|s| s.contains('@')))
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "Email is required"))?
        .to_string();
    let mut model = s.model();
    if let Some(u) = model.users.iter().find(|u| u.email == email) {
        return Ok(u.id.clone());
    }
    let id = format!("user-{}", model.users.len() + 1);
    let (cid, cname) = super::oidc::REMOTE_COMPANY;
    model.users.push(super::model::User {
        id: id.clone(),
        email,
        password: String::new(),
        companies: vec![(cid.to_string(), cname.to_string())],
    });
    Ok(id)
}

async fn renew(State(s): Shr, headers: HeaderMap) -> Reply {
    let user = authed(&s, &headers, true)?;
    if s.refuse_renewal.load(Ordering::Relaxed) {
        s.counters.refused_renewals.fetch_add(1, Ordering::Relaxed);
        return Err(fail(StatusCode::UNAUTHORIZED, "Refresh token revoked"));
    }
    s.counters.renewals.fetch_add(1, Ordering::Relaxed);
    ok(issue(&s, &user))
}

async fn me(State(s): Shr, headers: HeaderMap) -> Reply {
    let user = authed(&s, &headers, false)?;
    let model = s.model();
    let u = model
        .user(&user)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "User not found"))?;
    let companies: Vec<Value> = u
        .companies
        .iter()
        .map(|(id, name)| {
            json!({"role": "member", "status": "active", "company": {"id": id, "name": name}})
        })
        .collect();
    ok(json!({"resource": {
        "id": u.id, "email": u.email, "first_name": "Alice", "companies": companies,
    }}))
}

fn query_map(raw: Option<String>) -> HashMap<String, String> {
    form_pairs(raw.as_deref().unwrap_or(""))
}

fn form_pairs(q: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

/// The upload options the real controller reads: the resumable.js names first, then the
/// plain ones its web client sends on an empty create.
struct UploadOptions {
    name: String,
    mime: String,
    total_size: u64,
    total_chunks: u32,
    number: u32,
}

impl UploadOptions {
    fn from_query(raw: Option<String>) -> UploadOptions {
        let q = query_map(raw);
        let text = |a: &str, b: &str| q.get(a).or_else(|| q.get(b)).cloned().unwrap_or_default();
        let num = |a: &str, b: &str, default: u64| {
            q.get(a)
                .or_else(|| q.get(b))
                .and_then(|v| v.parse().ok())
                .filter(|n| *n != 0)
                .unwrap_or(default)
        };
        UploadOptions {
            name: text("resumableFilename", "filename"),
            mime: text("resumableType", "type"),
            total_size: num("resumableTotalSize", "total_size", 0),
            total_chunks: num("resumableTotalChunks", "total_chunks", 1) as u32,
            number: num("resumableChunkNumber", "chunk_number", 1) as u32,
        }
    }
}

/// `POST …/files`: like the real server, the file resource is saved before its body is read,
/// so a request cut short leaves it behind; without a multipart body the file is created
/// empty, its metadata coming with its first chunk.
async fn first_chunk(
    State(s): Shr,
    Path(cid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Reply {
    let user = member(&s, &headers, &cid)?;
    let options = UploadOptions::from_query(q);
    let id = {
        let mut model = s.model();
        let id = model.new_id("file");
        model.files.insert(
            id.clone(),
            StoredFile {
                id: id.clone(),
                company_id: cid.clone(),
                user_id: user,
                name: String::new(),
                mime: String::new(),
                total_size: 0,
                total_chunks: 1,
                chunks: Default::default(),
            },
        );
        id
    };
    match multipart {
        Ok(multipart) => receive(&s, &id, options, multipart).await,
        Err(_) => {
            s.counters.empty_creates.fetch_add(1, Ordering::Relaxed);
            let model = s.model();
            ok(model.file_json(&model.files[&id]))
        }
    }
}

async fn next_chunk(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    multipart: Multipart,
) -> Reply {
    member(&s, &headers, &cid)?;
    let known = s
        .model()
        .files
        .get(&id)
        .is_some_and(|f| f.company_id == cid);
    if !known {
        return Err(fail(StatusCode::NOT_FOUND, "File not found"));
    }
    receive(&s, &id, UploadOptions::from_query(q), multipart).await
}

/// A chunk for file `id`. A user may only describe a file that has no size yet (the real
/// server's rule): the first chunk to arrive, whichever it is, sets name, type and totals.
async fn receive(s: &Arc<Shared>, id: &str, options: UploadOptions, multipart: Multipart) -> Reply {
    if let Some(file) = s.model().files.get_mut(id) {
        if file.total_size == 0 {
            file.name = options.name;
            file.mime = options.mime;
            file.total_size = options.total_size;
            file.total_chunks = options.total_chunks;
        }
    }
    store_chunk(s, id, options.number, multipart).await
}

/// Stores the first file part of the body as chunk `number` of file `id`.
async fn store_chunk(s: &Arc<Shared>, id: &str, number: u32, mut multipart: Multipart) -> Reply {
    let total = s.model().files.get(id).map(|f| f.total_chunks).unwrap_or(0);
    if number == 0 || number > total {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            &format!("chunk {number} outside 1..={total}"),
        ));
    }
    let bad = |e: &dyn std::fmt::Display| fail(StatusCode::BAD_REQUEST, &e.to_string());
    let mut field = loop {
        match multipart.next_field().await.map_err(|e| bad(&e))? {
            Some(f) if f.file_name().is_some() => break f,
            Some(_) => continue,
            None => return Err(fail(StatusCode::BAD_REQUEST, "No file part")),
        }
    };
    let quota = s.config().quota;
    let used = s.model().used_bytes();
    let final_path = s.chunk_path(id, number);
    let tmp = final_path.with_extension(format!("{number}.part{}", rand::random::<u32>()));
    let io = |e: std::io::Error| fail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    let mut out = tokio::fs::File::create(&tmp).await.map_err(io)?;
    let mut written = 0u64;
    while let Some(piece) = field.chunk().await.map_err(|e| bad(&e))? {
        written += piece.len() as u64;
        if quota.is_some_and(|q| used + written > q) {
            drop(out);
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(fail(
                StatusCode::FORBIDDEN,
                "Quota exceeded: not enough space left for this user",
            ));
        }
        out.write_all(&piece).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    drop(out);
    tokio::fs::rename(&tmp, &final_path).await.map_err(io)?;
    let mut model = s.model();
    let Some(file) = model.files.get_mut(id) else {
        return Err(fail(StatusCode::NOT_FOUND, "File not found"));
    };
    file.chunks.insert(number, written);
    let file = file.clone();
    s.counters.chunk_posts.fetch_add(1, Ordering::Relaxed);
    ok(model.file_json(&file))
}

async fn file_meta(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    member(&s, &headers, &cid)?;
    let model = s.model();
    let f = model
        .files
        .get(&id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "File not found"))?;
    ok(model.file_json(f))
}

async fn delete_file(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    member(&s, &headers, &cid)?;
    let removed = s.model().files.remove(&id);
    let Some(file) = removed else {
        return Err(fail(StatusCode::NOT_FOUND, "File not found"));
    };
    for n in file.chunks.keys() {
        let _ = tokio::fs::remove_file(s.chunk_path(&id, *n)).await;
    }
    s.counters.file_deletes.fetch_add(1, Ordering::Relaxed);
    ok(json!({"status": "success"}))
}

async fn download(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    member(&s, &headers, &cid)?;
    stream_file(&s, &id)
}

/// The bytes of uploaded file `id`, its chunks one after the other.
pub(super) fn stream_file(s: &Shared, id: &str) -> Reply {
    let file = s
        .model()
        .files
        .get(id)
        .cloned()
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "File not found"))?;
    if (1..=file.total_chunks).any(|n| !file.chunks.contains_key(&n)) {
        return Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "File is incomplete",
        ));
    }
    let paths: Vec<_> = (1..=file.total_chunks)
        .map(|n| s.chunk_path(id, n))
        .collect();
    let stream = futures::stream::iter(paths)
        .then(|p| async move {
            tokio::fs::File::open(p)
                .await
                .map(tokio_util::io::ReaderStream::new)
        })
        .try_flatten();
    Ok(Body::from_stream(stream).into_response())
}

/// Adds an item under `parent` with the name the server would give it.
pub(crate) fn insert_item(
    model: &mut Model,
    parent: &str,
    name: &str,
    is_directory: bool,
    in_trash: bool,
    file_id: Option<String>,
    size: u64,
) -> Item {
    let id = model.new_id(if is_directory { "folder" } else { "doc" });
    let item = Item {
        id: id.clone(),
        company_id: super::COMPANY_A.into(),
        parent_id: parent.to_string(),
        name: model.free_name(parent, name),
        is_directory,
        is_in_trash: in_trash,
        versions: file_id.into_iter().collect(),
        size,
        public: Default::default(),
    };
    model.order.push(id.clone());
    model.items.insert(id, item.clone());
    item
}

fn folder_json(user: &str, id: &str) -> Value {
    json!({"id": id, "name": if id == "root" { "Shared drive" } else { "My Drive" },
           "parent_id": "", "is_directory": true, "is_in_trash": false, "size": 0,
           "owner": user})
}

fn details(model: &Model, user: &str, id: &str, children: Vec<Value>) -> Result<Value, Response> {
    let item = match model.items.get(id) {
        Some(i) => i.to_json(),
        None if model.folder_exists(user, id) => folder_json(user, id),
        None => return Err(fail(StatusCode::NOT_FOUND, "Item not found")),
    };
    Ok(json!({
        "item": item, "path": [], "children": children, "versions": [],
        "access": model.access_of(user, id),
    }))
}

async fn get_item(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    let user = member(&s, &headers, &cid)?;
    let model = s.model();
    let children: Vec<Value> = model
        .visible_children(&id)
        .into_iter()
        .take(LISTING_CAP)
        .map(Item::to_child_json)
        .collect();
    ok(details(&model, &user, &id, children)?)
}

async fn browse(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    let user = member(&s, &headers, &cid)?;
    s.counters.browse_calls.fetch_add(1, Ordering::Relaxed);
    let number = |v: Option<&Value>| {
        v.and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let paginate = body.get("paginate");
    let page = number(paginate.and_then(|p| p.get("page"))).unwrap_or(0) as usize;
    let limit = number(paginate.and_then(|p| p.get("limit")))
        .unwrap_or(100)
        .clamp(1, 1000) as usize;
    let model = s.model();
    let children: Vec<Value> = model
        .visible_children(&id)
        .into_iter()
        .skip(page * limit)
        .take(limit)
        .map(Item::to_child_json)
        .collect();
    ok(details(&model, &user, &id, children)?)
}

/// The uploaded file a version body points at (by the JSON `pointer`) and its size.
fn version_file(model: &Model, body: &Value, pointer: &str) -> Result<(String, u64), Response> {
    let fid = body
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let size = model
        .files
        .get(&fid)
        .map(|f| f.total_size)
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "Unknown file"))?;
    Ok((fid, size))
}

fn writable(model: &Model, user: &str, folder: &str) -> Result<(), Response> {
    match model.access_of(user, folder) {
        "write" | "manage" => Ok(()),
        _ => Err(fail(StatusCode::FORBIDDEN, "Not enough permissions")),
    }
}

async fn create_item(
    State(s): Shr,
    Path(cid): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    let user = member(&s, &headers, &cid)?;
    let item = body.get("item").cloned().unwrap_or_default();
    let text = |k: &str| {
        item.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (parent, name) = (text("parent_id"), text("name"));
    let is_directory = item
        .get("is_directory")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let in_trash = item
        .get("is_in_trash")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut model = s.model();
    if name.is_empty() || !model.folder_exists(&user, &parent) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "Missing name or unknown parent",
        ));
    }
    writable(&model, &user, &parent)?;
    let (file_id, size) = if is_directory {
        (None, 0)
    } else {
        let (fid, size) = version_file(&model, &body, "/version/file_metadata/external_id")?;
        (Some(fid), size)
    };
    let created = insert_item(
        &mut model,
        &parent,
        &name,
        is_directory,
        in_trash,
        file_id,
        size,
    );
    let counter = if is_directory {
        &s.counters.folders_created
    } else {
        &s.counters.files_placed
    };
    counter.fetch_add(1, Ordering::Relaxed);
    ok(created.to_json())
}

async fn add_version(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    let user = member(&s, &headers, &cid)?;
    let mut model = s.model();
    let (fid, size) = version_file(&model, &body, "/file_metadata/external_id")?;
    let parent = match model.items.get(&id) {
        Some(i) if !i.is_directory => i.parent_id.clone(),
        _ => return Err(fail(StatusCode::NOT_FOUND, "Item not found")),
    };
    writable(&model, &user, &parent)?;
    if let Some(item) = model.items.get_mut(&id) {
        item.versions.push(fid.clone());
        item.size = size;
    }
    s.counters.versions_added.fetch_add(1, Ordering::Relaxed);
    ok(json!({"id": model.new_id("version"), "drive_item_id": id,
              "file_metadata": {"external_id": fid, "size": size}}))
}

async fn restore(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    member(&s, &headers, &cid)?;
    let mut model = s.model();
    let item = model
        .items
        .get_mut(&id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "Item not found"))?;
    item.is_in_trash = false;
    s.counters.restores.fetch_add(1, Ordering::Relaxed);
    Ok(StatusCode::OK.into_response())
}

/// Renames and/or moves an item (`{"name", "parent_id"}`, both optional) and sets its public
/// link's level (`access_info`, see `public.rs`), like tdrive's
/// `POST …/item/{id}` update.
async fn update_item(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    let user = member(&s, &headers, &cid)?;
    if let Some(access_info) = body.get("access_info") {
        super::public::update_access(&s, &user, &id, access_info)?;
    }
    let mut model = s.model();
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let current = model
        .items
        .get(&id)
        .cloned()
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "Item not found"))?;
    let parent = text("parent_id").unwrap_or(current.parent_id.clone());
    let name = text("name").unwrap_or(current.name.clone());
    if name.is_empty() || !model.folder_exists(&user, &parent) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "Missing name or unknown parent",
        ));
    }
    writable(&model, &user, &parent)?;
    let taken = model
        .all_children(&parent)
        .iter()
        .any(|c| c.name == name && c.id != id);
    let name = if taken {
        model.free_name(&parent, &name)
    } else {
        name
    };
    let item = model
        .items
        .get_mut(&id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "Item not found"))?;
    item.parent_id = parent;
    item.name = name;
    let answer = item.to_json();
    s.counters.items_updated.fetch_add(1, Ordering::Relaxed);
    ok(answer)
}

async fn delete_item(
    State(s): Shr,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    member(&s, &headers, &cid)?;
    let mut model = s.model();
    let trashed = match model.items.get_mut(&id) {
        Some(item) if !item.is_in_trash => {
            item.is_in_trash = true;
            true
        }
        Some(_) => false,
        None => return Err(fail(StatusCode::NOT_FOUND, "Item not found")),
    };
    if !trashed {
        model.items.remove(&id);
        model.order.retain(|i| *i != id);
    }
    Ok(StatusCode::OK.into_response())
}
