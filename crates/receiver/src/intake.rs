//! Deciding whether a chunk may be stored and storing it: limit and plan checks shared by
//! the test GET and the POST, receiving the body (straight into the upload's data file
//! when that is safe, else into a staging file), the commit (copy a staged chunk in, log
//! the chunk, advance the running hash) and, for the request that completes the set, the
//! completion (fsync and rename; no copy). The HTTP details stay in `handlers.rs`.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use sha2::Digest;

use crate::config::ReceiverConfig;
use crate::params::ChunkParams;
use crate::plan::{ChunkPlan, PlanError};
use crate::rejection::Rejection;
use crate::server::AppState;
use crate::storage::{
    self, BodyLimit, ChunkBytes, DoneRecord, RangeClaim, StagedChunk, UploadSpec,
};
use crate::uploads::Upload;

/// The answer to an accepted POST.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum PostAnswer {
    PartlyDone,
    Done(DoneRecord),
}

/// "chunk 3/7 of 'a/b.txt'": how refusals and logs name a chunk.
pub(crate) fn describe(params: &ChunkParams) -> String {
    format!(
        "chunk {}/{} of '{}'",
        params.chunk_number,
        params.total_chunks,
        params.path.as_str()
    )
}

/// Checks a chunk against the limits and the chunk plan, before any body is read, and
/// returns what its identifier must be bound to.
pub(crate) fn check(
    params: &ChunkParams,
    config: &ReceiverConfig,
) -> Result<UploadSpec, Rejection> {
    let what = describe(params);
    if params.current_chunk_size > config.max_chunk_size {
        return Err(Rejection::too_large(
            "chunk_too_large",
            format!(
                "{what} declares {} bytes, more than this receiver's max chunk size {}; \
                 use smaller chunks",
                params.current_chunk_size, config.max_chunk_size
            ),
        ));
    }
    if params.total_size > config.max_file_size {
        return Err(Rejection::too_large(
            "file_too_large",
            format!(
                "'{}' is {} bytes, more than this receiver's max file size {}",
                params.path.as_str(),
                params.total_size,
                config.max_file_size
            ),
        ));
    }
    let plan = ChunkPlan::from_declared(params.chunk_size, params.total_size, params.total_chunks)
        .map_err(|err| plan_rejection(&what, err))?;
    let expected = plan
        .chunk_len(params.chunk_number)
        .map_err(|err| plan_rejection(&what, err))?;
    if params.current_chunk_size != expected {
        return Err(Rejection::bad_request(
            "chunk_size_mismatch",
            format!(
                "{what} declares CurrentChunkSize {} but the chunk plan ({} bytes in chunks \
                 of {}) gives it {expected} bytes",
                params.current_chunk_size, params.total_size, params.chunk_size
            ),
        ));
    }
    Ok(UploadSpec {
        identifier: params.identifier.clone(),
        path: params.path.clone(),
        plan,
    })
}

fn plan_rejection(what: &str, err: PlanError) -> Rejection {
    let code = match err {
        PlanError::ChunkNumberOutOfRange { .. } => "chunk_number_out_of_range",
        PlanError::ZeroChunkSize | PlanError::TotalChunks { .. } => "bad_plan",
    };
    Rejection::bad_request(code, format!("{what}: {err}"))
}

/// Whether the body of a chunk must be hashed while it streams in: to verify a checksum
/// the client sent, or because a one-chunk file's hash is the file's hash.
pub(crate) fn wants_hash(params: &ChunkParams) -> bool {
    params.checksum.is_some() || params.total_chunks == 1
}

/// Receives a chunk body whose parameters are known: straight into its range of the
/// upload's data file when this request may claim that range (the chunk is not stored and
/// nobody else is writing it), else into a staging file in the upload's folder, which the
/// commit copies in. A body cut midway is never logged, so its chunk stays absent.
pub(crate) async fn receive_chunk<S, E>(
    upload: &Arc<Upload>,
    params: &ChunkParams,
    body: S,
) -> Result<StagedChunk, Rejection>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let what = describe(params);
    let number = params.chunk_number;
    if let Some(claim) = upload.try_claim(number) {
        let dir = upload.dir.clone();
        let data = tokio::task::spawn_blocking(move || storage::open_data(&dir))
            .await
            .map_err(std::io::Error::other)
            .and_then(|opened| opened)
            .map_err(|err| Rejection::from_io(format_args!("opening the file for {what}"), &err))?;
        // Opened before any expiry moved the folder away (then a new upload of the same
        // identifier may own that path), unless the upload is marked removed by now.
        if upload.state().removed {
            return Err(expired(&what));
        }
        // When this chunk comes right after the hashed ones, hash it as it streams in. The
        // cursor cannot move past it meanwhile: only this claim (or one revoking it) can
        // store it. Skipped if a commit is hashing right now, rather than wait for it.
        let continued = upload
            .try_hash_cursor()
            .filter(|cursor| cursor.through + 1 == number)
            .map(|cursor| cursor.hasher.clone());
        return storage::receive_at(
            body,
            Arc::new(data),
            storage::chunk_offset(&upload.spec.plan, number),
            claim,
            params.current_chunk_size,
            wants_hash(params),
            continued,
            &what,
        )
        .await;
    }
    storage::receive_body(
        body,
        storage::unique_name(&upload.dir, &number.to_string()),
        BodyLimit::Declared(params.current_chunk_size),
        wants_hash(params),
        &what,
    )
    .await
}

/// Stores a fully received chunk: checks its length and checksum, puts it in place (a
/// staged chunk is copied into the data file), logs it, hashes what it can, and
/// completes the file if this was the last missing chunk.
///
/// Everything after the checks runs as one blocking job that owns the upload's commit
/// lock: if the client disconnects meanwhile, the handler future is dropped but the job
/// still finishes, so the memory state, the disk and the counters never disagree and a
/// second completion cannot start while the first is running.
pub(crate) async fn store_chunk(
    app: &Arc<AppState>,
    upload: &Arc<Upload>,
    params: &ChunkParams,
    staged: StagedChunk,
) -> Result<PostAnswer, Rejection> {
    let what = describe(params);
    if staged.len != params.current_chunk_size {
        return Err(Rejection::bad_request(
            "body_size_mismatch",
            format!(
                "{what} carries {} bytes but declares CurrentChunkSize {}",
                staged.len, params.current_chunk_size
            ),
        ));
    }
    if let Some(expected) = params.checksum {
        if staged.sha256 != Some(expected) {
            return Err(Rejection::bad_request(
                "checksum_mismatch",
                format!(
                    "{what} has SHA-256 {} but the client announced {}; nothing was stored, \
                     send the chunk again",
                    staged.sha256.map(hex::encode).unwrap_or_default(),
                    hex::encode(expected)
                ),
            ));
        }
    }

    let commit = Arc::clone(&upload.commit).lock_owned().await;
    let app = Arc::clone(app);
    let upload = Arc::clone(upload);
    let number = params.chunk_number;
    let label = what.clone();
    run_blocking(&label, move || {
        let _commit = commit;
        commit_chunk(&app, &upload, number, staged, &what)
    })
    .await
}

fn expired(what: &str) -> Rejection {
    Rejection::busy(
        "upload_expired",
        format!("{what}: the upload expired while this chunk arrived; send it again"),
        1,
    )
}

/// Runs `job` on the blocking pool; a panic in it becomes a 500 naming `what`.
async fn run_blocking<T: Send + 'static>(
    what: &str,
    job: impl FnOnce() -> Result<T, Rejection> + Send + 'static,
) -> Result<T, Rejection> {
    tokio::task::spawn_blocking(job)
        .await
        .unwrap_or_else(|join| {
            Err(Rejection::from_io(
                format_args!("storing {what}"),
                &std::io::Error::other(join),
            ))
        })
}

/// The commit itself; the caller holds the upload's commit lock. Blocking.
///
/// A chunk already stored is never written again: a duplicate (a retry after a lost
/// answer) is accepted after its length and checksum were checked, and changes nothing,
/// so the bytes already hashed stay the bytes in the file.
fn commit_chunk(
    app: &AppState,
    upload: &Arc<Upload>,
    number: u64,
    staged: StagedChunk,
    what: &str,
) -> Result<PostAnswer, Rejection> {
    let stored = {
        let state = upload.state();
        if state.removed {
            return Err(expired(what));
        }
        if let Some(done) = &state.done {
            // A retry after a lost answer: the file is already whole, say so again.
            app.counters.post_accepted(staged.len);
            return Ok(PostAnswer::Done(done.clone()));
        }
        state.received.contains(&number)
    };
    let store_err = |err: std::io::Error| Rejection::from_io(format_args!("storing {what}"), &err);
    let len = staged.len;
    // A one-chunk file hashed while it streamed in needs no second read; not for a
    // duplicate, whose bytes are not the ones kept.
    let single_chunk_sha256 = staged
        .sha256
        .filter(|_| upload.spec.plan.total_chunks == 1 && !stored);
    let continued = staged.continued;
    // The claim under which the chunk's bytes were written, held until it is logged.
    let _claim: Option<Arc<dyn RangeClaim>> = match staged.bytes {
        ChunkBytes::Placed(claim) => {
            if claim.is_revoked() {
                // A staged copy of this chunk was stored meanwhile by another request.
                if !stored {
                    return Err(Rejection::busy(
                        "chunk_superseded",
                        format!(
                            "{what} was being written by another request that did not \
                             finish; send it again"
                        ),
                        1,
                    ));
                }
                app.counters.post_accepted(len);
                return Ok(PostAnswer::PartlyDone);
            }
            Some(claim)
        }
        ChunkBytes::Staged(file) => {
            let claim = if stored {
                None
            } else {
                let claim = upload.force_claim(number);
                let data = storage::open_data(&upload.dir).map_err(store_err)?;
                let offset = storage::chunk_offset(&upload.spec.plan, number);
                storage::copy_file_at(file.path(), &data, offset, Some(&*claim))
                    .map_err(store_err)?;
                Some(claim as Arc<dyn RangeClaim>)
            };
            file.remove();
            claim
        }
    };
    if !stored {
        storage::log_received(&upload.dir, number).map_err(store_err)?;
    }
    // Counted here, not in the handler: a client that hangs up after sending still had its
    // chunk stored, and the count must say so.
    app.counters.post_accepted(len);
    let complete = {
        let mut state = upload.state();
        state.received.insert(number);
        state.last_activity = SystemTime::now();
        state.received.len() as u64 == upload.spec.plan.total_chunks
    };
    if let (Some(hasher), false) = (continued, stored) {
        // Hashed while it streamed in, from the hash through the chunk before it, with
        // exactly the bytes written (the claim was not revoked).
        let mut cursor = upload.hash_cursor();
        if cursor.through + 1 == number {
            cursor.hasher = hasher;
            cursor.through = number;
        }
    }
    if !complete {
        if let Err(err) = advance_hash(upload) {
            // Not fatal: the completion hashes whatever is left, and reports a failure.
            tracing::warn!(%err, "{what}: cannot hash ahead");
        }
        return Ok(PostAnswer::PartlyDone);
    }
    complete_upload(app, upload, single_chunk_sha256).map(PostAnswer::Done)
}

/// Hashes the stored chunks that follow the hash cursor, in order, reading them back
/// from the data file. The caller holds the commit lock. Blocking.
fn advance_hash(upload: &Upload) -> std::io::Result<()> {
    let plan = &upload.spec.plan;
    let mut cursor = upload.hash_cursor();
    let mut data = None;
    let mut buffer = Vec::new();
    while cursor.through < plan.total_chunks
        && upload.state().received.contains(&(cursor.through + 1))
    {
        let number = cursor.through + 1;
        let data = match &data {
            Some(data) => data,
            None => data.insert(storage::open_data(&upload.dir)?),
        };
        let len = plan.chunk_len(number).map_err(std::io::Error::other)?;
        storage::hash_range(
            data,
            storage::chunk_offset(plan, number),
            len,
            &mut cursor.hasher,
            &mut buffer,
        )?;
        cursor.through = number;
    }
    Ok(())
}

/// Completes an upload whose chunks are all stored: finishes the hash, moves the data
/// file into place, records the upload as done. The caller holds the upload's commit
/// lock, which is what makes this happen once. Blocking.
fn complete_upload(
    app: &AppState,
    upload: &Upload,
    single_chunk_sha256: Option<[u8; 32]>,
) -> Result<DoneRecord, Rejection> {
    let spec = &upload.spec;
    let what = format!("hashing '{}'", spec.path.as_str());
    let sha256: [u8; 32] = match single_chunk_sha256 {
        Some(sha256) => sha256,
        None => {
            advance_hash(upload).map_err(|err| Rejection::from_io(&what, &err))?;
            let cursor = upload.hash_cursor();
            if cursor.through != spec.plan.total_chunks {
                return Err(Rejection::from_io(
                    &what,
                    &std::io::Error::other(format!(
                        "only chunks 1..={} of {} could be hashed",
                        cursor.through, spec.plan.total_chunks
                    )),
                ));
            }
            // Cloned, not consumed: if the move fails, a later retry completes again.
            cursor.hasher.clone().finalize().into()
        }
    };
    let size = storage::complete(&app.storage, &upload.dir, &spec.plan, &spec.path)?;
    let record = DoneRecord {
        path: spec.path.as_str().to_owned(),
        size,
        sha256: hex::encode(sha256),
    };
    // The file is in place; failing to write the record only means it is forgotten
    // sooner, which costs a re-upload at worst, so it is logged, not answered.
    if let Err(err) = app.storage.finish_upload(&upload.dir, &record) {
        tracing::warn!(path = %record.path, %err, "file stored but its done record was not");
    }
    {
        let mut state = upload.state();
        state.done = Some(record.clone());
        state.received.clear();
        state.last_activity = SystemTime::now();
    }
    app.counters.upload_done();
    tracing::info!(path = %record.path, size = record.size, "upload done");
    Ok(record)
}

/// Finishes uploads that had every chunk stored but were not completed when the previous
/// run stopped, so a client that sees all chunks present is not left without its file.
/// Their hash starts again from chunk 1.
pub(crate) async fn recover_complete_uploads(app: &Arc<AppState>) {
    for upload in app.registry.all() {
        let commit = Arc::clone(&upload.commit).lock_owned().await;
        let complete = {
            let state = upload.state();
            state.done.is_none() && state.received.len() as u64 == upload.spec.plan.total_chunks
        };
        if !complete {
            continue;
        }
        let what = format!("'{}'", upload.spec.path.as_str());
        let app = Arc::clone(app);
        let result = run_blocking(&what, move || {
            let _commit = commit;
            complete_upload(&app, &upload, None)
        })
        .await;
        if let Err(rejection) = result {
            tracing::warn!(reason = %rejection.reason, "cannot finish an upload left complete");
        }
    }
}
