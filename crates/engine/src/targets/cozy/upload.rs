//! One file to cozy-stack in one request: the MD5 first (a streaming read pass, so memory
//! stays flat), then `POST /files/:dir-id?Type=file&Name=…` for a new file or
//! `PUT /files/:file-id` with `If-Match` for a new version, the body streamed from disk
//! with `Content-Length`, `Content-Type`, `Content-MD5` and `Date` (the modification time),
//! `CreatedAt` from the file's birth time where the system has it. What to do when the name
//! is taken is decided before any byte goes (`Collision`).

use super::api::{self, One, Reply};
use super::error::CozyError;
use super::session::CozySession;
use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::targets::http::{stalled, transport_error};
use crate::targets::{ChunkReceipt, UploadFile};
use base64::Engine as _;
use md5::{Digest, Md5};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncReadExt;

/// The largest file a cozy-stack instance takes (its object storage's limit); cozy-desktop
/// refuses bigger files before sending them too.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Where the file goes once the collision policy has spoken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A new file `name` in folder `dir_id`.
    New { dir_id: String, name: String },
    /// A new version of file `id`, only if it is still at revision `rev`.
    Version { id: String, rev: String },
}

/// The name cozy-drive gives a copy when the name is taken (cozy-client's
/// `generateNewFileNameOnConflict`): `report.pdf` → `report_1.pdf` → `report_2.pdf`. The
/// extension is what follows the last dot, unless the name starts with its only dot.
pub fn next_copy_name(name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    let numbered = stem.rsplit_once('_').and_then(|(base, n)| {
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse::<u64>().ok().map(|n| (base, n)))
            .flatten()
    });
    match numbered {
        Some((base, n)) => format!("{base}_{}{ext}", n + 1),
        None => format!("{stem}_1{ext}"),
    }
}

/// RFC 3339 (UTC, seconds) of a time, as the stack writes and reads dates.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::iso_time::iso_utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// base64 of the file's binary MD5, read once from disk piece by piece; the file must still
/// be the one queued (size and modification time).
pub async fn content_md5(file: &UploadFile) -> Result<String, ChunkError> {
    let read_error = |e: std::io::Error| ChunkError::Read {
        path: file.path.clone(),
        reason: e.to_string(),
    };
    let mut f = tokio::fs::File::open(&file.path)
        .await
        .map_err(read_error)?;
    let meta = f.metadata().await.map_err(read_error)?;
    if meta.len() != file.plan.size || meta.modified().ok() != Some(file.mtime) {
        return Err(ChunkError::FileChanged {
            path: file.path.clone(),
            what: "its size or modification time differs from when it was queued".into(),
        });
    }
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; crate::body::PIECE];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).await.map_err(read_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    if total != file.plan.size {
        return Err(ChunkError::FileChanged {
            path: file.path.clone(),
            what: format!("{total} bytes read, {} queued", file.plan.size),
        });
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
}

/// When the file came to be, where the system knows; else its modification time.
fn created_at(file: &UploadFile) -> SystemTime {
    std::fs::metadata(&file.path)
        .and_then(|m| m.created())
        .unwrap_or(file.mtime)
}

/// Sends the file to `to` and reads the stack's answer into a receipt or an error.
pub async fn send(
    session: &CozySession,
    file: &UploadFile,
    to: &Destination,
    md5: &str,
    body: ChunkBody,
    stall: Duration,
) -> Result<ChunkReceipt, ChunkError> {
    let (url, is_new) = match to {
        Destination::New { dir_id, .. } => (session.url(&api::node(dir_id)), true),
        Destination::Version { id, .. } => (session.url(&api::node(id)), false),
    };
    let mut body = Some(body);
    for attempt in 0..2 {
        let chunk = body.take().unwrap_or_else(|| again(file));
        let (token, generation) = session.bearer().map_err(CozyError::into_chunk_error)?;
        let progress = chunk.progress();
        let mut request = if is_new {
            session.client().post(&url)
        } else {
            session.client().put(&url)
        };
        if let Destination::New { name, .. } = to {
            request = request.query(&[
                ("Type", "file"),
                ("Name", name.as_str()),
                ("CreatedAt", rfc3339(created_at(file)).as_str()),
            ]);
        }
        if let Destination::Version { rev, .. } = to {
            request = request.header(reqwest::header::IF_MATCH, rev.as_str());
        }
        let mime = if file.mime_type.is_empty() {
            "application/octet-stream"
        } else {
            &file.mime_type
        };
        let request = request
            .bearer_auth(token.expose())
            .header(reqwest::header::CONTENT_LENGTH, file.plan.size)
            .header(reqwest::header::CONTENT_TYPE, mime)
            .header("Content-MD5", md5)
            .header(reqwest::header::DATE, httpdate::fmt_http_date(file.mtime))
            .body(reqwest::Body::wrap_stream(chunk.into_stream()))
            .send();
        let exchange = async { Reply::read(request.await?).await };
        let reply = tokio::select! {
            r = exchange => r,
            e = stalled(progress.clone(), stall) => return Err(e),
        }
        .map_err(|e| {
            progress
                .failure()
                .unwrap_or_else(|| transport_error(&url, &e, stall))
        })?;
        if reply.status == 401 && attempt == 0 {
            session
                .renew(generation)
                .await
                .map_err(CozyError::into_chunk_error)?;
            continue;
        }
        return answer(session, file, to, reply);
    }
    Err(CozyError::SignedOut {
        server: session.server().into(),
        reason: "the instance refused the renewed session (401)".into(),
    }
    .into_chunk_error())
}

/// The body again from the file's start, for the one resend after a renewal.
fn again(file: &UploadFile) -> ChunkBody {
    ChunkBody::new(
        file.path.clone(),
        0,
        file.plan.size,
        file.plan.size,
        file.mtime,
    )
}

fn answer(
    session: &CozySession,
    file: &UploadFile,
    to: &Destination,
    reply: Reply,
) -> Result<ChunkReceipt, ChunkError> {
    let server = session.server().to_string();
    let name = match to {
        Destination::New { name, .. } => name.clone(),
        Destination::Version { .. } => file.filename.clone(),
    };
    let retry = |why: &str| ChunkError::Retryable {
        url: reply.url.clone(),
        status: reply.status,
        message: format!("{why}; sending {} again from its start", file.filename),
        retry_after: None,
    };
    match reply.status {
        s if (200..300).contains(&s) && !reply.is_html() => {
            let doc = reply
                .json::<One>()
                .map_err(CozyError::into_chunk_error)?
                .data;
            Ok(ChunkReceipt {
                remote_id: Some(doc.id),
                answer: format!("{} rev {}", reply.status, doc.meta.rev),
            })
        }
        // An MD5 or length mismatch (bytes changed on the way) or a stale revision (the file
        // changed on the server since it was looked up): the next attempt starts over.
        412 => Err(retry(&format!(
            "{} answered 412 ({})",
            server,
            reply.detail()
        ))),
        // The name was free when looked up and is taken now: decide again.
        409 => Err(retry(&format!(
            "{server} answered 409 (the name was just taken)"
        ))),
        413 if reply.is_html() => Err(CozyError::ProxyCap {
            url: reply.url.clone(),
            name,
            size: file.plan.size,
        }
        .into_chunk_error()),
        413 => Err(CozyError::Quota {
            server,
            name,
            detail: reply.detail(),
        }
        .into_chunk_error()),
        404 => Err(CozyError::FolderGone {
            server,
            path: super::folders::split(&file.relative_path).0,
        }
        .into_chunk_error()),
        422 => Err(CozyError::BadName {
            server,
            name,
            detail: reply.detail(),
        }
        .into_chunk_error()),
        401 => Err(CozyError::SignedOut {
            server,
            reason: "the instance refused the renewed session (401)".into(),
        }
        .into_chunk_error()),
        _ if reply.is_html() && reply.ok() => Err(CozyError::BadAnswer {
            url: reply.url.clone(),
            reason: "a web page".into(),
        }
        .into_chunk_error()),
        _ => Err(reply.error().into_chunk_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_named_as_cozy_drive_names_them() {
        assert_eq!(next_copy_name("report.pdf"), "report_1.pdf");
        assert_eq!(next_copy_name("report_1.pdf"), "report_2.pdf");
        assert_eq!(next_copy_name("report_9"), "report_10");
        assert_eq!(next_copy_name("archive.tar.gz"), "archive.tar_1.gz");
        assert_eq!(next_copy_name(".bashrc"), ".bashrc_1");
        assert_eq!(next_copy_name("a_b.txt"), "a_b_1.txt");
        assert_eq!(next_copy_name("test_"), "test__1");
    }

    #[test]
    fn dates_are_written_in_rfc_3339() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
