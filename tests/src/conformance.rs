//! The target conformance suite: one set of behaviour checks that every target and server
//! pair must pass (rclone's `fstests` idea). A server plugs in by implementing
//! [`ConformanceServer`]; `tests/conformance.rs` runs the suite against each.

use crate::fault_proxy::{FaultConfig, FaultProxy};
use crate::harness::{sha256_file, write_file};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use upload_engine::{
    sources, ChunkRule, Engine, EngineConfig, EnqueueRequest, Event, FileState, RetryPolicy,
    TargetSpec, UploadId, UploadSettings,
};

/// A real server the suite uploads to, able to say what it stored.
pub trait ConformanceServer: Send + Sync {
    /// Address the server listens on (a proxy may be put in front of it).
    fn addr(&self) -> SocketAddr;
    /// The target description for a server reached at `addr` (the server's own address, or
    /// a proxy's).
    fn spec_for(&self, addr: SocketAddr) -> TargetSpec;
    /// sha256 of the file stored under `relative_path`, or `None` when there is none.
    fn stored_sha256(&self, relative_path: &str) -> Option<String>;
    /// Chunk requests the server accepted so far, when it counts them.
    fn chunk_posts(&self) -> Option<u64>;
    /// Lets the engine reach the server (targets that need a session register here).
    fn prepare(&self, _engine: &Engine) {}
    /// A live target for `spec`, for an engine that reopens a queue holding uploads to it;
    /// `None` when the engine can build the target from the description alone.
    fn target_for(&self, _spec: &TargetSpec) -> Option<std::sync::Arc<dyn upload_engine::Target>> {
        None
    }
    /// The server takes each file in one request (cozy-stack): nothing is acknowledged
    /// before the whole file is in, so pausing, cancelling and restarting are tested while
    /// the bytes are on their way, and "resume" sends the file again from its start.
    fn whole_file(&self) -> bool {
        false
    }
}

/// The bandwidth a whole-file upload is slowed to, so it can be caught on its way.
const SLOW: u64 = 512 * 1024;

/// Waits (30 s at most) for the first event that `wanted` accepts; `what` names it.
async fn wait_for(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    what: &str,
    wanted: impl Fn(&Event) -> bool,
) {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .is_err()
    {
        panic!("no {what} within 30 s");
    }
}

/// Waits until bytes of `id` are on their way (at least `bytes`), not yet acknowledged.
async fn in_flight_at_least(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    id: UploadId,
    bytes: u64,
) {
    wait_for(events, "bytes on their way", |e| {
        matches!(e, Event::InFlight { id: i, sent_bytes, .. } if *i == id && *sent_bytes >= bytes)
    })
    .await
}

/// Whether a "sent again from its start" notice for `id` is among the events so far.
fn restarted_notice(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    id: UploadId,
) -> Option<String> {
    let mut found = None;
    while let Ok(event) = events.try_recv() {
        if let Event::Replanned { id: i, reason, .. } = event {
            if i == id {
                found = Some(reason);
            }
        }
    }
    found
}

/// Engine settings for tests: fast retries, short stall detection.
pub fn test_engine_config() -> EngineConfig {
    EngineConfig {
        retry: RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(2),
        },
        stall_timeout: Duration::from_secs(2),
        min_chunk_size: 1024,
        ..EngineConfig::default()
    }
}

pub fn settings(chunk_size: u64, rule: ChunkRule) -> UploadSettings {
    UploadSettings {
        chunk_size,
        chunk_rule: rule,
        test_chunks: true,
        test_threshold: 1024,
        adapt_chunk_size: false,
    }
}

async fn open(server: &dyn ConformanceServer, config: EngineConfig) -> Engine {
    let engine = Engine::open(config).await.expect("engine opens");
    server.prepare(&engine);
    engine
}

async fn enqueue(
    engine: &Engine,
    spec: &TargetSpec,
    path: &Path,
    rel: &str,
    settings: &UploadSettings,
) -> UploadId {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: Some(rel.to_string()),
            target: spec.clone(),
            settings: settings.clone(),
        })
        .await
        .expect("enqueue")
}

pub async fn state_of(engine: &Engine, id: UploadId) -> FileState {
    engine
        .snapshot()
        .await
        .expect("snapshot")
        .into_iter()
        .find(|u| u.id == id)
        .expect("upload in snapshot")
        .state
}

async fn acked_of(engine: &Engine, id: UploadId) -> u64 {
    engine
        .snapshot()
        .await
        .expect("snapshot")
        .into_iter()
        .find(|u| u.id == id)
        .expect("upload in snapshot")
        .acked_bytes
}

pub async fn wait_idle(engine: &Engine) {
    tokio::time::timeout(Duration::from_secs(120), engine.wait_idle())
        .await
        .expect("uploads finish within 120 s")
        .expect("engine alive");
}

fn assert_identical(server: &dyn ConformanceServer, local: &Path, rel: &str) {
    let want = sha256_file(local);
    let got = server
        .stored_sha256(rel)
        .unwrap_or_else(|| panic!("the server has no file at {rel}"));
    assert_eq!(got, want, "{rel} differs on the server");
}

/// Waits for the first acknowledged chunk of `id`.
async fn first_ack(events: &mut tokio::sync::broadcast::Receiver<Event>, id: UploadId) {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(Event::Chunk {
                    id: i, acked_bytes, ..
                }) if i == id && acked_bytes > 0 => return,
                Ok(_) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("a chunk is acknowledged within 30 s");
}

/// Waits until `id` has at least `bytes` acknowledged.
async fn acked_at_least(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    id: UploadId,
    bytes: u64,
) {
    wait_for(events, "progress", |e| {
        matches!(e, Event::Progress { id: i, acked_bytes, .. } if *i == id && *acked_bytes >= bytes)
    })
    .await
}

/// Sizes around the chunk size, under both chunking rules, arrive byte-identical.
pub async fn sizes_around_the_chunk_size(server: &dyn ConformanceServer) {
    let cs: u64 = 128 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let engine = open(server, test_engine_config()).await;
    let spec = server.spec_for(server.addr());
    let sizes = [
        0,
        1,
        cs - 1,
        cs,
        cs + 1,
        2 * cs - 1,
        2 * cs,
        7 * cs + 12_345,
    ];
    let mut expected = Vec::new();
    for (rule, tag) in [(ChunkRule::Floor, "floor"), (ChunkRule::Force, "force")] {
        for (i, size) in sizes.iter().enumerate() {
            let rel = format!("sizes-{tag}/{i}-{size}.bin");
            let path = write_file(dir.path(), &rel, *size, i as u64 + 7);
            let id = enqueue(&engine, &spec, &path, &rel, &settings(cs, rule)).await;
            expected.push((id, path, rel));
        }
    }
    wait_idle(&engine).await;
    for (id, path, rel) in &expected {
        assert_eq!(state_of(&engine, *id).await, FileState::Done, "{rel}");
        assert_identical(server, path, rel);
    }
}

/// A folder with nested paths and unicode names keeps its tree on the server.
pub async fn nested_folder_with_unicode_names(server: &dyn ConformanceServer) {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("Dossier été");
    let rels = [
        "a.txt",
        "日本語/ファイル.bin",
        "deep/er/still deeper/файл.dat",
        "emoji 🎉/x",
    ];
    for (i, rel) in rels.iter().enumerate() {
        write_file(&top, rel, 1000 + i as u64 * 70_001, i as u64);
    }
    let files = sources::collect(std::slice::from_ref(&top))
        .expect("collect folder")
        .files;
    assert_eq!(files.len(), rels.len());
    let engine = open(server, test_engine_config()).await;
    let spec = server.spec_for(server.addr());
    let ids = engine
        .enqueue_all(files.clone(), &spec, &settings(64 * 1024, ChunkRule::Floor))
        .await
        .expect("enqueue folder");
    wait_idle(&engine).await;
    for id in ids {
        assert_eq!(state_of(&engine, id).await, FileState::Done);
    }
    for f in &files {
        assert!(f.relative_path.starts_with("Dossier été/"));
        assert_identical(server, &f.path, &f.relative_path);
    }
}

/// A paused file makes no progress, then finishes after resume without re-sending much.
pub async fn pause_then_resume(server: &dyn ConformanceServer) {
    let dir = tempfile::tempdir().unwrap();
    let cs = 64 * 1024;
    let path = write_file(dir.path(), "pause.bin", 64 * cs + 5, 3);
    // Latency makes the upload slow enough to pause in the middle.
    let proxy = FaultProxy::start(
        server.addr(),
        FaultConfig {
            latency: Duration::from_millis(15),
            ..FaultConfig::default()
        },
    )
    .await
    .expect("proxy");
    let engine = open(server, test_engine_config()).await;
    let mut events = engine.subscribe();
    let spec = server.spec_for(proxy.local_addr());
    if server.whole_file() {
        engine.set_bandwidth_limit(SLOW);
    }
    let id = enqueue(
        &engine,
        &spec,
        &path,
        "pause.bin",
        &settings(cs, ChunkRule::Floor),
    )
    .await;
    if server.whole_file() {
        return pause_then_resume_whole(server, engine, events, id, &path).await;
    }
    first_ack(&mut events, id).await;
    engine.pause(id).await.expect("pause");
    assert_eq!(state_of(&engine, id).await, FileState::Paused);
    let acked = acked_of(&engine, id).await;
    assert!(acked < 64 * cs, "paused before the end");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        acked_of(&engine, id).await,
        acked,
        "no progress while paused"
    );
    assert_eq!(state_of(&engine, id).await, FileState::Paused);
    let posts_paused = server.chunk_posts();
    engine.resume(id).await.expect("resume");
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_identical(server, &path, "pause.bin");
    if let (Some(before), Some(after)) = (posts_paused, server.chunk_posts()) {
        // After resume only the missing chunks go (plus at most the ones in flight at pause).
        let missing = (64 * cs - acked) / cs + 1;
        assert!(
            after - before <= missing + 3,
            "resume sent {} chunks for {missing} missing",
            after - before
        );
    }
}

/// `pause_then_resume` for a whole-file server: paused on its way, nothing of it is kept;
/// resumed, it goes again from byte 0 in one more request, and the queue says so.
async fn pause_then_resume_whole(
    server: &dyn ConformanceServer,
    engine: Engine,
    mut events: tokio::sync::broadcast::Receiver<Event>,
    id: UploadId,
    path: &Path,
) {
    in_flight_at_least(&mut events, id, 1).await;
    engine.pause(id).await.expect("pause");
    assert_eq!(state_of(&engine, id).await, FileState::Paused);
    assert_eq!(
        acked_of(&engine, id).await,
        0,
        "nothing is acknowledged mid-file"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(state_of(&engine, id).await, FileState::Paused);
    assert!(
        server.stored_sha256("pause.bin").is_none(),
        "an interrupted file is not kept by the server"
    );
    let posts_paused = server.chunk_posts();
    engine.set_bandwidth_limit(0);
    engine.resume(id).await.expect("resume");
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_identical(server, path, "pause.bin");
    if let (Some(before), Some(after)) = (posts_paused, server.chunk_posts()) {
        assert_eq!(after - before, 1, "the file went again in one request");
    }
    let notice = restarted_notice(&mut events, id).expect("the restart from 0 is announced");
    assert!(notice.contains("from its start"), "{notice}");
}

/// A cancelled file stops, is never finished on the server, and stays cancelled.
pub async fn cancel_stops_the_upload(server: &dyn ConformanceServer) {
    let dir = tempfile::tempdir().unwrap();
    let cs = 64 * 1024;
    let path = write_file(dir.path(), "cancel.bin", 64 * cs, 4);
    let proxy = FaultProxy::start(
        server.addr(),
        FaultConfig {
            latency: Duration::from_millis(15),
            ..FaultConfig::default()
        },
    )
    .await
    .expect("proxy");
    let engine = open(server, test_engine_config()).await;
    let mut events = engine.subscribe();
    let spec = server.spec_for(proxy.local_addr());
    if server.whole_file() {
        engine.set_bandwidth_limit(SLOW);
    }
    let id = enqueue(
        &engine,
        &spec,
        &path,
        "cancel.bin",
        &settings(cs, ChunkRule::Floor),
    )
    .await;
    if server.whole_file() {
        in_flight_at_least(&mut events, id, 1).await;
    } else {
        first_ack(&mut events, id).await;
    }
    engine.cancel(id).await.expect("cancel");
    wait_idle(&engine).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(state_of(&engine, id).await, FileState::Cancelled);
    assert!(
        server.stored_sha256("cancel.bin").is_none(),
        "a cancelled file must not be completed on the server"
    );
}

/// A file that failed (server refusing with 503 until the retry budget ran out) uploads
/// fine when retried after the server recovers.
pub async fn retry_after_failure(server: &dyn ConformanceServer) {
    let dir = tempfile::tempdir().unwrap();
    let cs = 64 * 1024;
    let path = write_file(dir.path(), "retry.bin", 5 * cs + 1, 5);
    let proxy = FaultProxy::start(
        server.addr(),
        FaultConfig {
            status_503: 1.0,
            retry_after_secs: 0,
            ..FaultConfig::default()
        },
    )
    .await
    .expect("proxy");
    let mut config = test_engine_config();
    config.retry.max_attempts = 3;
    let engine = open(server, config).await;
    let spec = server.spec_for(proxy.local_addr());
    let id = enqueue(
        &engine,
        &spec,
        &path,
        "retry.bin",
        &settings(cs, ChunkRule::Floor),
    )
    .await;
    wait_idle(&engine).await;
    match state_of(&engine, id).await {
        FileState::Failed {
            reason,
            retryable,
            kind,
        } => {
            assert!(retryable, "a 503 give-up can be retried");
            assert_eq!(kind, upload_engine::FailureKind::ServerError);
            assert!(reason.contains("503"), "reason names the answer: {reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    proxy.set_config(FaultConfig::default());
    engine.retry(id).await.expect("retry");
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_identical(server, &path, "retry.bin");
}

/// Opens an engine on a durable queue, waiting for an earlier owner of the same database to
/// let go (its store thread ends just after its last handle is dropped).
pub async fn open_durable(
    server: &dyn ConformanceServer,
    mut config: EngineConfig,
    db: &Path,
    specs: &[TargetSpec],
) -> Engine {
    config.database = Some(db.to_path_buf());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let known = specs
            .iter()
            .filter_map(|s| server.target_for(s).map(|t| (s.clone(), t)))
            .collect();
        match Engine::open_with(config.clone(), known).await {
            Ok(engine) => {
                server.prepare(&engine);
                return engine;
            }
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot reopen the queue: {e}"),
        }
    }
}

/// Stops an engine as quitting the app does: nothing is paused or cleaned up, what it
/// recorded is on disk, and the queue is free for the next engine.
pub async fn stop(engine: Engine) {
    engine.close().await;
    drop(engine);
}

/// An upload stopped in the middle continues in a new engine on the same queue, sends only
/// what the server is missing, and arrives identical.
pub async fn restart_in_the_middle(server: &dyn ConformanceServer) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("queue.sqlite3");
    let cs = 64 * 1024;
    let chunks = 48;
    let path = write_file(dir.path(), "restart.bin", chunks * cs + 11, 6);
    let proxy = FaultProxy::start(
        server.addr(),
        FaultConfig {
            latency: Duration::from_millis(15),
            ..FaultConfig::default()
        },
    )
    .await
    .expect("proxy");
    let engine = open_durable(server, test_engine_config(), &db, &[]).await;
    let spec = server.spec_for(proxy.local_addr());
    let mut events = engine.subscribe();
    if server.whole_file() {
        engine.set_bandwidth_limit(SLOW);
    }
    let id = enqueue(
        &engine,
        &spec,
        &path,
        "restart.bin",
        &settings(cs, ChunkRule::Floor),
    )
    .await;
    if server.whole_file() {
        in_flight_at_least(&mut events, id, cs).await;
        let posts_at_stop = server.chunk_posts();
        stop(engine).await;
        // (The "from its start" notice is checked where the test subscribes before the
        // restart can happen: pause_then_resume.)
        let engine = open_durable(server, test_engine_config(), &db, &[spec]).await;
        let restored = engine.snapshot().await.expect("snapshot");
        assert_eq!(restored.len(), 1, "the queue kept the upload");
        assert_eq!(
            restored[0].acked_bytes, 0,
            "nothing of a whole file was acknowledged"
        );
        wait_idle(&engine).await;
        assert_eq!(state_of(&engine, id).await, FileState::Done);
        assert_identical(server, &path, "restart.bin");
        if let (Some(before), Some(after)) = (posts_at_stop, server.chunk_posts()) {
            assert_eq!(after - before, 1, "the file went again in one request");
        }
        return;
    }
    acked_at_least(&mut events, id, 5 * cs).await;
    // Requests out when the engine stops may still reach the server, and their chunks are
    // sent again if their answers were lost: as many as the window held, no more.
    let totals = engine.totals().await.expect("totals");
    let out_at_stop = totals.requests_in_flight.max(totals.requests_allowed);
    let posts_at_stop = server.chunk_posts();
    stop(engine).await;

    let engine = open_durable(server, test_engine_config(), &db, &[spec]).await;
    let restored = engine.snapshot().await.expect("snapshot");
    assert_eq!(restored.len(), 1, "the queue kept the upload");
    assert!(
        restored[0].acked_bytes >= 5 * cs,
        "acknowledged chunks were kept"
    );
    wait_idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_identical(server, &path, "restart.bin");
    if let (Some(before), Some(after)) = (posts_at_stop, server.chunk_posts()) {
        let missing = chunks - (restored[0].acked_bytes / cs);
        assert!(
            after - before <= missing + out_at_stop,
            "after the restart {} chunks were sent for {missing} missing ({out_at_stop} out \
             at the stop)",
            after - before
        );
    }
}
