//! Deciding whether a chunk may be stored and storing it: limit and plan checks shared by
//! the test GET and the POST, then the commit (rename into place) and, for the request
//! that completes the set, the assembly. The HTTP details stay in `handlers.rs`.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::config::ReceiverConfig;
use crate::params::ChunkParams;
use crate::plan::{ChunkPlan, PlanError};
use crate::rejection::Rejection;
use crate::server::AppState;
use crate::storage::{self, chunk_path, DoneRecord, StagedChunk};
use crate::uploads::{Upload, UploadSpec};

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

/// Stores a fully received chunk: checks its length and checksum, renames it into place,
/// and assembles the file if this was the last missing chunk.
///
/// Everything after the checks runs as one blocking job that owns the upload's commit
/// lock: if the client disconnects meanwhile, the handler future is dropped but the job
/// still finishes, so the memory state, the disk and the counters never disagree and a
/// second assembly cannot start while the first is running.
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
fn commit_chunk(
    app: &AppState,
    upload: &Upload,
    number: u64,
    mut staged: StagedChunk,
    what: &str,
) -> Result<PostAnswer, Rejection> {
    {
        let state = upload.state();
        if state.removed {
            return Err(Rejection::busy(
                "upload_expired",
                format!("{what}: the upload expired while this chunk arrived; send it again"),
                1,
            ));
        }
        if let Some(done) = &state.done {
            // A retry after a lost answer: the file is already whole, say so again.
            app.counters.post_accepted(staged.len);
            return Ok(PostAnswer::Done(done.clone()));
        }
    }
    staged
        .file
        .persist(&chunk_path(&upload.dir, number))
        .map_err(|err| Rejection::from_io(format_args!("storing {what}"), &err))?;
    // Counted here, not in the handler: a client that hangs up after sending still had its
    // chunk stored, and the count must say so.
    app.counters.post_accepted(staged.len);
    let complete = {
        let mut state = upload.state();
        state.received.insert(number);
        state.last_activity = SystemTime::now();
        state.received.len() as u64 == upload.spec.plan.total_chunks
    };
    if !complete {
        return Ok(PostAnswer::PartlyDone);
    }
    let single_chunk_sha256 = staged.sha256.filter(|_| upload.spec.plan.total_chunks == 1);
    complete_upload(app, upload, single_chunk_sha256).map(PostAnswer::Done)
}

/// Assembles a complete upload, records it as done and frees its chunks. The caller holds
/// the upload's commit lock, which is what makes this happen once. Blocking.
fn complete_upload(
    app: &AppState,
    upload: &Upload,
    single_chunk_sha256: Option<[u8; 32]>,
) -> Result<DoneRecord, Rejection> {
    let spec = &upload.spec;
    let assembled = storage::assemble(
        &app.storage,
        &upload.dir,
        &spec.plan,
        &spec.path,
        single_chunk_sha256,
    )?;
    let record = DoneRecord {
        path: spec.path.as_str().to_owned(),
        size: assembled.size,
        sha256: hex::encode(assembled.sha256),
    };
    // The file is in place; failing to write the record only means it is forgotten
    // sooner, which costs a re-upload at worst, so it is logged, not answered.
    if let Err(err) = app
        .storage
        .finish_upload(&upload.dir, spec.plan.total_chunks, &record)
    {
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

/// Finishes uploads that had every chunk stored but were not assembled when the previous
/// run stopped, so a client that sees all chunks present is not left without its file.
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
