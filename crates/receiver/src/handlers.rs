//! The HTTP surface: routes, reading parameters from the query string and multipart form
//! fields, streaming the body to a temporary file, and turning results into JSON answers
//! and counter updates. Decisions about chunks are made in `intake.rs`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

use crate::intake::{self, PostAnswer};
use crate::params::{self, ChunkParams, ParamMap, CHECKSUM_HEADER};
use crate::rejection::Rejection;
use crate::server::AppState;
use crate::storage::{self, BodyLimit, StagedChunk, UploadSpec};
use crate::uploads::Upload;

/// Longest accepted multipart text field: parameters are short, and a huge field must not
/// be buffered in memory.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Most text fields accepted in one multipart body: the libraries send about ten.
const MAX_FIELDS: usize = 256;

/// The receiver's routes, with CORS when configured.
pub(crate) fn routes(app: Arc<AppState>) -> Router {
    let cors = app.config.cors;
    let router = Router::new()
        .route("/upload", get(test_chunk).post(post_chunk))
        .route("/upload/status", get(upload_status))
        .route("/upload/stats", get(stats))
        // Chunks may be hundreds of MiB; our own limits apply instead (max chunk size,
        // declared chunk size, text field cap).
        .layer(DefaultBodyLimit::disable())
        .with_state(app);
    if cors {
        router.layer(cors_layer())
    } else {
        router
    }
}

/// What the browser libraries need: any origin (no credentials), our methods, and any
/// request header they ask for — including `X-Chunk-Sha256` and a library's custom ones.
fn cors_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(Duration::from_secs(600))
}

/// `GET /upload`: 200 if the chunk is stored (or its file is finished), 204 otherwise.
async fn test_chunk(State(app): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let map = params::parse_query(query.as_deref());
    let present = (|| {
        let params = ChunkParams::parse(&map, None).map_err(|err| err.rejection)?;
        let spec = intake::check(&params, &app.config)?;
        let present = app.registry.find(&spec)?.is_some_and(|upload| {
            let state = upload.state();
            state.done.is_some() || state.received.contains(&params.chunk_number)
        });
        Ok::<_, Rejection>(present)
    })();
    match present {
        Ok(present) => {
            app.counters.get(present);
            if present {
                StatusCode::OK.into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        Err(rejection) => {
            app.counters.get(false);
            tracing::debug!(code = rejection.code, reason = %rejection.reason, "test refused");
            rejection.into_response()
        }
    }
}

/// `POST /upload`: stores one chunk sent as multipart (the libraries' default) or as a
/// raw body (their `octet` method), and answers `partly_done` or `done`.
async fn post_chunk(
    State(app): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let result = receive_post(&app, params::parse_query(query.as_deref()), request).await;
    match result {
        Ok(answer) => Json(answer).into_response(),
        Err(rejection) => {
            app.counters.post_rejected();
            tracing::debug!(code = rejection.code, reason = %rejection.reason, "chunk refused");
            rejection.into_response()
        }
    }
}

async fn receive_post(
    app: &Arc<AppState>,
    query: ParamMap,
    request: Request,
) -> Result<PostAnswer, Rejection> {
    let checksum = checksum_header(request.headers())?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    if is_multipart {
        receive_multipart(app, query, checksum.as_deref(), request).await
    } else {
        receive_octet(app, query, checksum.as_deref(), request).await
    }
}

fn checksum_header(headers: &HeaderMap) -> Result<Option<String>, Rejection> {
    headers
        .get(CHECKSUM_HEADER)
        .map(|value| {
            value.to_str().map(str::to_owned).map_err(|_| {
                Rejection::bad_request("bad_param", "header X-Chunk-Sha256 is not plain text")
            })
        })
        .transpose()
}

/// Finds or creates the upload a checked chunk belongs to, with its folder on disk.
async fn open_upload(app: &AppState, spec: &UploadSpec) -> Result<Arc<Upload>, Rejection> {
    let upload = app.registry.find_or_create(spec)?;
    upload.ensure_dir(&app.storage).await?;
    Ok(upload)
}

/// The octet method: raw chunk bytes as the body, parameters in the query string.
async fn receive_octet(
    app: &Arc<AppState>,
    query: ParamMap,
    checksum: Option<&str>,
    request: Request,
) -> Result<PostAnswer, Rejection> {
    let params = ChunkParams::parse(&query, checksum).map_err(|err| err.rejection)?;
    let what = intake::describe(&params);
    let spec = intake::check(&params, &app.config)?;
    // Refuse a body of the wrong size before reading it, when its length is announced.
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if let Some(announced) = announced.filter(|len| *len != params.current_chunk_size) {
        return Err(Rejection::bad_request(
            "body_size_mismatch",
            format!(
                "{what} has a body of {announced} bytes but declares CurrentChunkSize {}",
                params.current_chunk_size
            ),
        ));
    }
    let upload = open_upload(app, &spec).await?;
    let body: Body = request.into_body();
    let staged = intake::receive_chunk(&upload, &params, body.into_data_stream()).await?;
    let answer = intake::store_chunk(app, &upload, &params, staged).await?;
    Ok(answer)
}

/// A file part received before we knew where it belonged, or straight into its upload.
enum FilePart {
    Placed {
        params: ChunkParams,
        upload: Arc<Upload>,
        staged: StagedChunk,
    },
    /// Its parameters come in fields after it: parked in the staging folder meanwhile.
    Parked(StagedChunk),
}

/// The multipart method: parameters in the query string and/or form fields, the chunk in
/// the part named `file`. Both libraries send the fields first, so the chunk normally
/// streams straight into its place in the upload's data file.
async fn receive_multipart(
    app: &Arc<AppState>,
    query: ParamMap,
    checksum: Option<&str>,
    request: Request,
) -> Result<PostAnswer, Rejection> {
    let bad_multipart = |err: axum::extract::multipart::MultipartError| {
        Rejection::bad_request(
            "bad_multipart",
            format!("the multipart body cannot be read: {}", err.body_text()),
        )
    };
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| {
            Rejection::bad_request(
                "bad_multipart",
                format!(
                    "the multipart body cannot be read: {}",
                    rejection.body_text()
                ),
            )
        })?;
    let mut fields = query;
    let mut file: Option<FilePart> = None;
    let mut text_fields = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            text_fields += 1;
            if text_fields > MAX_FIELDS {
                return Err(Rejection::bad_request(
                    "too_many_fields",
                    format!("the multipart body has more than {MAX_FIELDS} form fields"),
                ));
            }
            let value = read_text_field(&mut field, &name).await?;
            params::merge_field(&mut fields, name, value)?;
            continue;
        }
        if file.is_some() {
            return Err(Rejection::bad_request(
                "extra_file",
                "the multipart body has more than one part named 'file'; send one chunk per request",
            ));
        }
        file = Some(match ChunkParams::parse(&fields, checksum) {
            Ok(params) => {
                let spec = intake::check(&params, &app.config)?;
                let upload = open_upload(app, &spec).await?;
                let staged = intake::receive_chunk(&upload, &params, field).await?;
                FilePart::Placed {
                    params,
                    upload,
                    staged,
                }
            }
            Err(err) if err.missing => FilePart::Parked(
                storage::receive_body(
                    field,
                    app.storage.staging_path(),
                    BodyLimit::MaxChunk(app.config.max_chunk_size),
                    true,
                    "the multipart part 'file'",
                )
                .await?,
            ),
            Err(err) => return Err(err.rejection),
        });
    }
    let (params, upload, staged) = match file {
        None => {
            return Err(Rejection::bad_request(
                "missing_file",
                "the multipart body has no part named 'file' holding the chunk",
            ))
        }
        Some(FilePart::Placed {
            params,
            upload,
            staged,
        }) => (params, upload, staged),
        Some(FilePart::Parked(staged)) => {
            // Copied from the staging folder into the data file at commit.
            let params = ChunkParams::parse(&fields, checksum).map_err(|err| err.rejection)?;
            let spec = intake::check(&params, &app.config)?;
            let upload = open_upload(app, &spec).await?;
            (params, upload, staged)
        }
    };
    let answer = intake::store_chunk(app, &upload, &params, staged).await?;
    Ok(answer)
}

async fn read_text_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, Rejection> {
    let mut bytes = Vec::new();
    while let Some(piece) = field.chunk().await.map_err(|err| {
        Rejection::bad_request(
            "bad_multipart",
            format!("form field '{name}' cannot be read: {}", err.body_text()),
        )
    })? {
        if bytes.len() + piece.len() > MAX_FIELD_BYTES {
            return Err(Rejection::bad_request(
                "field_too_long",
                format!("form field '{name}' is longer than {MAX_FIELD_BYTES} bytes"),
            ));
        }
        bytes.extend_from_slice(&piece);
    }
    String::from_utf8(bytes).map_err(|_| {
        Rejection::bad_request(
            "bad_param",
            format!("form field '{name}' is not valid UTF-8 text"),
        )
    })
}

#[derive(Serialize)]
struct UploadStatus {
    identifier: String,
    chunks: Vec<u64>,
    total_chunks: Option<u64>,
    done: bool,
}

/// `GET /upload/status?identifier=…`: every stored chunk number in one answer, so a
/// client can resume without one test request per chunk.
async fn upload_status(State(app): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let map = params::parse_query(query.as_deref());
    let Some((name, identifier)) = ["identifier", "resumableIdentifier", "flowIdentifier"]
        .iter()
        .find_map(|name| map.get(*name).map(|value| (*name, value.clone())))
    else {
        return Rejection::bad_request("missing_param", "missing parameter identifier")
            .into_response();
    };
    if let Err(rejection) = params::validate_identifier(name, &identifier) {
        return rejection.into_response();
    }
    let status = match app.registry.by_identifier(&identifier) {
        None => UploadStatus {
            identifier,
            chunks: Vec::new(),
            total_chunks: None,
            done: false,
        },
        Some(upload) => {
            let total = upload.spec.plan.total_chunks;
            let state = upload.state();
            let chunks = if state.done.is_some() {
                (1..=total).collect()
            } else {
                state.received.iter().copied().collect()
            };
            UploadStatus {
                identifier,
                chunks,
                total_chunks: Some(total),
                done: state.done.is_some(),
            }
        }
    };
    Json(status).into_response()
}

/// `GET /upload/stats`: the counters, for tests and benchmarks.
async fn stats(State(app): State<Arc<AppState>>) -> Response {
    Json(app.counters.snapshot()).into_response()
}
