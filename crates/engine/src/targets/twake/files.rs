//! Chunk upload to the Twake Drive files service (docs/protocol.md, "Upload one file"): an
//! empty `POST …/files` creates the server file first (as the web client does), so its id is
//! on record before any byte goes; then every chunk goes to `…/files/{id}?{params}`, in any
//! order. The parameters travel in the query string only, as the server reads them there.
//! There is no GET test: which chunks are done is known from our own acknowledgements.

use super::api::{self, Answer, FileAnswer, RouteKind};
use super::error::TwakeError;
use super::session::Session;
use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::events::FailureKind;
use crate::protocol::Dialect;
use crate::targets::http::{chunk_part, stalled, transport_error};
use crate::targets::{ChunkReceipt, UploadFile};
use std::time::Duration;

/// The resumable.js parameters of one chunk, with the true totals on every chunk.
fn params(file: &UploadFile, number: u32) -> Vec<(String, String)> {
    crate::targets::resumable::chunk_params(file, number).pairs(Dialect::Resumable)
}

/// A fresh body for chunk `number`, for the one resend after a renewed session.
fn body_again(file: &UploadFile, number: u32) -> ChunkBody {
    let range = file.plan.range(number);
    ChunkBody::new(
        file.path.clone(),
        range.start,
        range.end - range.start,
        file.plan.size,
        file.mtime,
    )
}

/// Creates an empty server file (no multipart body: the server then stores no metadata until
/// the first chunk brings it) and returns its id.
pub async fn create_file(
    session: &Session,
    company_id: &str,
    file: &UploadFile,
) -> Result<String, TwakeError> {
    let url = session.url(&api::files(company_id));
    let query = [
        ("filename", file.filename.clone()),
        ("type", file.mime_type.clone()),
        ("total_size", file.plan.size.to_string()),
    ];
    let created: FileAnswer = session
        .send(|| session.client().post(&url).query(&query))
        .await?
        .json(session.server(), RouteKind::Other)?;
    Ok(created.resource.id)
}

/// Sends one chunk; returns the server's file id in the receipt of chunk 1.
pub async fn send_chunk(
    session: &Session,
    company_id: &str,
    file: &UploadFile,
    number: u32,
    body: ChunkBody,
    stall: Duration,
) -> Result<ChunkReceipt, ChunkError> {
    let path = match &file.remote_id {
        Some(id) => api::file(company_id, id),
        // Without a file created first, chunk 1 creates it (the older way, still accepted).
        None if number == 1 => api::files(company_id),
        None => {
            return Err(ChunkError::Permanent {
                url: session.url(&api::files(company_id)),
                status: 400,
                message: format!(
                    "chunk {number} of {} has no server file to go to (chunk 1 was not \
                 stored): retry the file",
                    file.path.display()
                ),
                kind: FailureKind::Refused,
            })
        }
    };
    let url = session.url(&path);
    let mut body = Some(body);
    for attempt in 0..2 {
        let chunk = body.take().unwrap_or_else(|| body_again(file, number));
        let (token, generation) = session
            .bearer()
            .await
            .map_err(TwakeError::into_chunk_error)?;
        let answer = post_chunk(session, &url, token.expose(), file, number, chunk, stall).await?;
        match answer.status {
            401 if attempt == 0 => {
                session
                    .renew(generation)
                    .await
                    .map_err(TwakeError::into_chunk_error)?;
            }
            401 => {
                let e = TwakeError::SignedOut {
                    server: session.server().to_string(),
                    account: super::session::account_email(session.account()).to_string(),
                    reason: "the server refused the renewed session (401)".into(),
                };
                return Err(e.into_chunk_error());
            }
            s if (200..300).contains(&s) => return receipt(session, number, answer),
            413 => {
                return Err(ChunkError::TooLarge {
                    url: answer.url,
                    chunk_bytes: file.plan.len(number),
                })
            }
            _ => {
                return Err(answer
                    .error(session.server(), RouteKind::Other)
                    .into_chunk_error())
            }
        }
    }
    Err(ChunkError::Permanent {
        url,
        status: 401,
        message: "the session could not be renewed".into(),
        kind: FailureKind::SignedOut,
    })
}

async fn post_chunk(
    session: &Session,
    url: &str,
    token: &str,
    file: &UploadFile,
    number: u32,
    body: ChunkBody,
    stall: Duration,
) -> Result<Answer, ChunkError> {
    let network = |e: &reqwest::Error| transport_error(url, e, stall);
    let (part, progress) = chunk_part(body, &file.filename).map_err(|e| network(&e))?;
    let form = reqwest::multipart::Form::new().part("file", part);
    let request = session
        .client()
        .post(url)
        .query(&params(file, number))
        .bearer_auth(token)
        .multipart(form)
        .send();
    let exchange = async { Answer::read(request.await?).await };
    let outcome = tokio::select! {
        r = exchange => r,
        e = stalled(progress.clone(), stall) => return Err(e),
    };
    outcome.map_err(|e| progress.failure().unwrap_or_else(|| network(&e)))
}

fn receipt(session: &Session, number: u32, answer: Answer) -> Result<ChunkReceipt, ChunkError> {
    // A web page (a sign-in front) or an endless body is no acknowledgement, whatever its status.
    if answer.too_long || answer.looks_like_html() {
        return Err(answer
            .error(session.server(), RouteKind::Other)
            .into_chunk_error());
    }
    let text = format!(
        "{} {}",
        answer.status,
        answer.body.chars().take(200).collect::<String>()
    );
    if number != 1 {
        return Ok(ChunkReceipt {
            remote_id: None,
            answer: text,
        });
    }
    let created: FileAnswer = answer
        .json(session.server(), RouteKind::Other)
        .map_err(TwakeError::into_chunk_error)?;
    Ok(ChunkReceipt {
        remote_id: Some(created.resource.id),
        answer: text,
    })
}

/// Deletes the server's file (cancel, or a file restarted under a new plan).
pub async fn delete_file(
    session: &Session,
    company_id: &str,
    file_id: &str,
) -> Result<(), TwakeError> {
    let url = session.url(&api::file(company_id, file_id));
    session
        .send(|| session.client().delete(&url))
        .await?
        .ok(session.server())
}
