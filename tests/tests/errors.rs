//! Bad input and bad servers: each gets a clear error and loses nothing. Servers are real
//! HTTP peers (our receiver, or a scripted server for misbehaviour the receiver never shows).

use e2e_tests::conformance::{settings, test_engine_config};
use e2e_tests::fault_proxy::{FaultConfig, FaultProxy};
use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use e2e_tests::scripted_server::{Answer, ScriptedServer};
use std::time::{Duration, Instant};
use upload_engine::{
    ChangedFilePolicy, ChunkRule, Dialect, Engine, EngineError, EnqueueRequest, Event, FileState,
    TargetSpec, UploadId, UploadSettings,
};

fn spec(url: &str) -> TargetSpec {
    TargetSpec::Resumable {
        url: url.to_string(),
        dialect: Dialect::Resumable,
    }
}

async fn upload_one(
    engine: &Engine,
    url: &str,
    path: &std::path::Path,
    settings: UploadSettings,
) -> UploadId {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: None,
            target: spec(url),
            settings,
        })
        .await
        .expect("enqueue")
}

async fn finish(engine: &Engine, id: UploadId) -> FileState {
    tokio::time::timeout(Duration::from_secs(60), engine.wait_idle())
        .await
        .expect("idle within 60 s")
        .expect("engine alive");
    engine
        .snapshot()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == id)
        .unwrap()
        .state
}

fn failure(state: FileState) -> (String, bool) {
    match state {
        FileState::Failed {
            reason, retryable, ..
        } => (reason, retryable),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_answering_html_fails_the_file_with_a_hint() {
    let server = ScriptedServer::start(|_| {
        Answer::new(404, "<!DOCTYPE html><html><body>Not Found</body></html>")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.bin", 300_000, 1);
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let id = upload_one(
        &engine,
        &server.url(),
        &path,
        settings(100_000, ChunkRule::Floor),
    )
    .await;
    let (reason, _) = failure(finish(&engine, id).await);
    assert!(reason.contains("HTML page"), "{reason}");
    assert!(reason.contains(&server.url()), "names the URL: {reason}");
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_its_reason_is_shown() {
    let server = ScriptedServer::start(|seen| match seen.method.as_str() {
        "GET" => Answer::new(204, ""),
        _ => Answer::new(
            400,
            r#"{"error":"bad_name","reason":"names may not start with a dot"}"#,
        ),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "b.bin", 10, 1);
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let id = upload_one(
        &engine,
        &server.url(),
        &path,
        settings(1024, ChunkRule::Floor),
    )
    .await;
    let (reason, retryable) = failure(finish(&engine, id).await);
    assert!(
        reason.contains("names may not start with a dot"),
        "{reason}"
    );
    assert!(!retryable, "a 400 cannot be fixed by retrying");
    let posts = server.seen().iter().filter(|s| s.method == "POST").count();
    assert_eq!(posts, 1, "a permanent refusal is not retried");
}

#[tokio::test]
async fn a_full_disk_on_the_server_fails_with_its_message() {
    let server = ScriptedServer::start(|_| {
        Answer::new(
            507,
            r#"{"error":"disk_full","reason":"no space left on the server"}"#,
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "c.bin", 10, 1);
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let id = upload_one(
        &engine,
        &server.url(),
        &path,
        settings(1024, ChunkRule::Floor),
    )
    .await;
    let (reason, _) = failure(finish(&engine, id).await);
    assert!(
        reason.contains("507") && reason.contains("no space left"),
        "{reason}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = ScriptedServer::start(|seen| {
        if seen.method == "POST" && seen.index == 0 {
            Answer::new(429, "slow down").header("Retry-After", "1")
        } else {
            Answer::new(200, "ok")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "d.bin", 10, 1);
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let started = Instant::now();
    let id = upload_one(
        &engine,
        &server.url(),
        &path,
        settings(1024, ChunkRule::Floor),
    )
    .await;
    assert_eq!(finish(&engine, id).await, FileState::Done);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}, less than the server's Retry-After",
        started.elapsed()
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn an_unreachable_server_puts_the_queue_offline_then_gives_up_when_told() {
    // Bind then drop, so nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/upload");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "e.bin", 10, 1);
    let mut config = test_engine_config();
    config.offline_give_up = Some(Duration::from_secs(1));
    let engine = Engine::open(config).await.unwrap();
    let mut events = engine.subscribe();
    let id = upload_one(&engine, &url, &path, settings(1024, ChunkRule::Floor)).await;
    let (reason, retryable) = failure(finish(&engine, id).await);
    assert!(retryable);
    assert!(
        reason.contains("network error") && reason.contains(&url),
        "{reason}"
    );
    assert!(reason.contains("offline for"), "{reason}");
    let mut went_offline = false;
    while let Ok(e) = events.try_recv() {
        if let Event::Connectivity {
            online: false,
            reason,
        } = e
        {
            went_offline = true;
            assert!(reason.unwrap_or_default().contains(&url));
        }
    }
    assert!(went_offline, "the queue reported going offline");
}

#[tokio::test]
async fn a_413_replans_with_half_the_chunk_size_and_says_so() {
    let server = ReceiverServer::start_with(|c| c.max_chunk_size = 256 * 1024).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "big.bin", 3 << 20, 9);
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let mut events = engine.subscribe();
    let id = upload_one(
        &engine,
        &server.url(),
        &path,
        settings(1 << 20, ChunkRule::Floor),
    )
    .await;
    assert_eq!(finish(&engine, id).await, FileState::Done);
    let mut sizes = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::Replanned {
            chunk_size, reason, ..
        } = e
        {
            assert!(reason.contains("413"), "{reason}");
            sizes.push(chunk_size);
        }
    }
    assert_eq!(sizes, [512 * 1024, 256 * 1024]);
    assert_eq!(sha256_file(&server.stored("big.bin")), sha256_file(&path));
}

/// A 40-chunk upload, slowed by a proxy, whose file was rewritten after the first
/// acknowledged chunk.
struct ChangedMidUpload {
    server: ReceiverServer,
    _proxy: FaultProxy,
    engine: Engine,
    id: UploadId,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    events: Vec<Event>,
}

/// `policy` when the engine opens; `switch_to`, if any, set while it runs.
async fn change_mid_upload(
    policy: ChangedFilePolicy,
    switch_to: Option<ChangedFilePolicy>,
) -> ChangedMidUpload {
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::slow(server.receiver.local_addr(), Duration::from_millis(20))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cs = 64 * 1024;
    let path = write_file(dir.path(), "live.bin", 40 * cs, 2);
    let mut config = test_engine_config();
    config.changed_files = policy;
    let engine = Engine::open(config).await.unwrap();
    if let Some(live) = switch_to {
        engine.set_changed_files(live).unwrap();
    }
    let mut events = engine.subscribe();
    let url = proxy.url_for(&server.url());
    let id = upload_one(&engine, &url, &path, settings(cs, ChunkRule::Floor)).await;
    loop {
        if let Ok(Event::Chunk { acked_bytes, .. }) = events.recv().await {
            if acked_bytes > 0 {
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    write_file(dir.path(), "live.bin", 40 * cs + 7, 3);
    finish(&engine, id).await;
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    ChangedMidUpload {
        server,
        _proxy: proxy,
        engine,
        id,
        path,
        _dir: dir,
        events: seen,
    }
}

#[tokio::test]
async fn a_file_changed_while_uploading_starts_over_and_is_never_mixed() {
    let c = change_mid_upload(ChangedFilePolicy::Restart, None).await;
    assert_eq!(finish(&c.engine, c.id).await, FileState::Done);
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e, Event::Replanned { reason, .. } if reason.contains("changed"))));
    assert_eq!(
        sha256_file(&c.server.stored("live.bin")),
        sha256_file(&c.path)
    );
}

#[tokio::test]
async fn with_the_fail_policy_a_changed_file_fails_and_retry_sends_the_new_content() {
    for switched_live in [false, true] {
        // Chosen when the engine opens, or switched to while it runs (the app's settings).
        let c = match switched_live {
            false => change_mid_upload(ChangedFilePolicy::Fail, None).await,
            true => {
                change_mid_upload(ChangedFilePolicy::Restart, Some(ChangedFilePolicy::Fail)).await
            }
        };
        fails_then_retry_sends_the_new_content(c).await;
    }
}

async fn fails_then_retry_sends_the_new_content(c: ChangedMidUpload) {
    let (reason, retryable) = failure(finish(&c.engine, c.id).await);
    assert!(reason.contains("changed while uploading"), "{reason}");
    assert!(retryable);
    assert!(
        !c.server.stored("live.bin").exists(),
        "no mixed file on the server"
    );
    c.engine.retry(c.id).await.unwrap();
    assert_eq!(finish(&c.engine, c.id).await, FileState::Done);
    assert_eq!(
        sha256_file(&c.server.stored("live.bin")),
        sha256_file(&c.path)
    );
}

#[tokio::test]
async fn missing_files_and_folders_are_refused_at_enqueue_with_their_path() {
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.bin");
    let err = upload_one_err(&engine, &missing).await;
    assert!(matches!(err, EngineError::Unreadable { .. }));
    assert!(err.to_string().contains("nope.bin"), "{err}");
    let err = upload_one_err(&engine, dir.path()).await;
    assert!(matches!(err, EngineError::NotAFile { .. }), "{err}");
}

async fn upload_one_err(engine: &Engine, path: &std::path::Path) -> EngineError {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: None,
            target: spec("http://127.0.0.1:9/upload"),
            settings: UploadSettings::default(),
        })
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_malformed_url_is_refused_at_enqueue() {
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.bin", 1, 1);
    let err = engine
        .enqueue(EnqueueRequest {
            path,
            relative_path: None,
            target: spec("htp:/nowhere"),
            settings: UploadSettings::default(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::BadUrl { .. }), "{err}");
}

#[tokio::test]
async fn stalled_requests_are_abandoned_and_retried() {
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::start(
        server.receiver.local_addr(),
        FaultConfig {
            stall: 0.3,
            seed: 11,
            only_methods: Some(vec!["POST".into()]),
            ..FaultConfig::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "s.bin", 10 * 64 * 1024, 4);
    let mut config = test_engine_config();
    config.stall_timeout = Duration::from_millis(500);
    config.retry.max_attempts = 20;
    let engine = Engine::open(config).await.unwrap();
    let url = proxy.url_for(&server.url());
    let id = upload_one(&engine, &url, &path, settings(64 * 1024, ChunkRule::Floor)).await;
    assert_eq!(finish(&engine, id).await, FileState::Done);
    assert!(proxy.stats().stalls > 0, "the test did stall some requests");
    assert_eq!(sha256_file(&server.stored("s.bin")), sha256_file(&path));
}
