//! The durable queue: uploads survive kill -9, restarts and offline spells, with nothing lost
//! and nothing sent twice beyond what was in flight.

use e2e_tests::conformance::{open_durable, settings, stop, test_engine_config, ConformanceServer};
use e2e_tests::fault_proxy::FaultProxy;
use e2e_tests::harness::{cli_binary, sha256_file, write_file, ReceiverServer};
use rand::{Rng, SeedableRng};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use upload_engine::{
    ChangedFilePolicy, ChunkRule, Dialect, Engine, EngineConfig, EnqueueRequest, Event, FileState,
    TargetSpec, UploadId,
};

struct Receiver(ReceiverServer);

impl ConformanceServer for Receiver {
    fn addr(&self) -> SocketAddr {
        self.0.receiver.local_addr()
    }
    fn spec_for(&self, addr: SocketAddr) -> TargetSpec {
        TargetSpec::Resumable {
            url: format!("http://{addr}/upload"),
            dialect: Dialect::Resumable,
        }
    }
    fn stored_sha256(&self, rel: &str) -> Option<String> {
        let p = self.0.stored(rel);
        p.is_file().then(|| sha256_file(&p))
    }
    fn chunk_posts(&self) -> Option<u64> {
        Some(self.0.receiver.stats().posts_accepted)
    }
}

async fn enqueue(engine: &Engine, spec: &TargetSpec, path: &Path, cs: u64) -> UploadId {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: None,
            target: spec.clone(),
            settings: settings(cs, ChunkRule::Floor),
        })
        .await
        .expect("enqueue")
}

async fn state_of(engine: &Engine, id: UploadId) -> FileState {
    engine
        .snapshot()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == id)
        .map(|u| u.state)
        .expect("upload in the queue")
}

async fn idle(engine: &Engine) {
    tokio::time::timeout(Duration::from_secs(120), engine.wait_idle())
        .await
        .expect("idle within 120 s")
        .unwrap();
}

async fn wait_acked(engine: &Engine, id: UploadId, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let acked = engine
            .snapshot()
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.id == id)
            .map(|u| u.acked_bytes)
            .unwrap_or(0);
        if acked >= bytes {
            return;
        }
        assert!(Instant::now() < deadline, "no progress to {bytes} bytes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_twenty_moments_loses_nothing_and_resends_at_most_what_was_in_flight() {
    let server = ReceiverServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("queue.sqlite3");
    let cs: u64 = 1 << 20;
    let chunks: u64 = 256;
    let file = write_file(work.path(), "big.bin", chunks * cs, 42);
    let parallel = 3u64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let kills = 20;
    let mut killed = 0;
    for round in 0..kills {
        let posts = server.receiver.stats().posts_accepted;
        let mut cmd = Command::new(cli_binary());
        cmd.env("TWAKE_UPLOADER_DB", &db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if round == 0 {
            cmd.args([
                "upload",
                "--json",
                "--chunk-size",
                "1MiB",
                "--to",
                &server.url(),
            ])
            .arg(&file);
        } else {
            cmd.args(["resume", "--json"]);
        }
        let mut child = cmd.spawn().unwrap();
        let left = chunks.saturating_sub(posts);
        // Round 0 dies before its first chunk; the last round dies during the last chunk;
        // the others after a random number of acknowledged chunks.
        let after = match round {
            0 => 0,
            r if r == kills - 1 => left.saturating_sub(1),
            _ => rng.random_range(0..=(left / 4).max(1)),
        };
        let mut acked = 0;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while acked < after {
            match lines.next() {
                Some(Ok(l))
                    if l.contains(r#""type":"chunk""#) && l.contains(r#""state":"done""#) =>
                {
                    acked += 1
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        if round == 0 {
            // Before the first chunk: as soon as the file is in the queue.
            for l in lines.by_ref() {
                if l.unwrap().contains(r#""type":"added""#) {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed += 1;
    }
    let out = Command::new(cli_binary())
        .env("TWAKE_UPLOADER_DB", &db)
        .arg("resume")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // The server may still be assembling the file whose last chunk arrived just before a
    // kill: every chunk is acknowledged, the file appears once assembly ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.stored("big.bin").is_file() {
        assert!(
            Instant::now() < deadline,
            "never assembled; resume said: {said}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(sha256_file(&server.stored("big.bin")), sha256_file(&file));
    let posts = server.receiver.stats().posts_accepted;
    let resent = posts - chunks;
    assert!(
        resent <= killed * parallel,
        "{resent} chunks sent again over {killed} kills (at most {parallel} in flight each)"
    );
    eprintln!("kill -9 x{killed}: {posts} chunk POSTs for {chunks} chunks ({resent} re-sent)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_second_network_outage_puts_the_queue_offline_and_it_resumes_by_itself() {
    let server = Receiver(ReceiverServer::start().await);
    let proxy = FaultProxy::slow(server.addr(), Duration::from_millis(10))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cs = 256 * 1024;
    let path = write_file(dir.path(), "away.bin", 120 * cs, 3);
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let mut events = engine.subscribe();
    let id = enqueue(&engine, &server.spec_for(proxy.local_addr()), &path, cs).await;
    wait_acked(&engine, id, 4 * cs).await;
    proxy.set_blackhole(true);
    let offline = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(Event::Connectivity { online: false, .. }) = events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(offline.is_ok(), "the queue reported going offline");
    let totals = engine.totals().await.unwrap();
    assert!(totals.offline, "totals say offline");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        !matches!(state_of(&engine, id).await, FileState::Failed { .. }),
        "an outage never fails a file"
    );
    let acked_during = engine.totals().await.unwrap().bytes_acked;
    proxy.set_blackhole(false);
    let reopened = Instant::now();
    let back = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Ok(Event::Progress { acked_bytes, .. }) if acked_bytes > acked_during => return,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    assert!(back.is_ok(), "uploading resumed by itself");
    let delay = reopened.elapsed();
    assert!(
        delay <= Duration::from_secs(5),
        "resumed {delay:?} after the network came back"
    );
    idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(
        server.stored_sha256("away.bin").unwrap(),
        sha256_file(&path)
    );
    eprintln!("network back -> first acknowledged chunk: {delay:?}");
}

/// Uploads part of a file, stops the engine, lets `change` alter the file, and reopens.
async fn change_between_runs(
    policy: ChangedFilePolicy,
    change: impl FnOnce(&Path),
) -> (Receiver, Engine, UploadId, tempfile::TempDir) {
    let server = Receiver(ReceiverServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let cs = 64 * 1024;
    let path = write_file(dir.path(), "doc.bin", 40 * cs, 1);
    let proxy = FaultProxy::slow(server.addr(), Duration::from_millis(10))
        .await
        .unwrap();
    let mut config: EngineConfig = test_engine_config();
    config.changed_files = policy;
    let engine = open_durable(&server, config.clone(), &db, &[]).await;
    let id = enqueue(&engine, &server.spec_for(proxy.local_addr()), &path, cs).await;
    wait_acked(&engine, id, 3 * cs).await;
    stop(engine).await;
    change(&path);
    let engine = open_durable(&server, config, &db, &[]).await;
    idle(&engine).await;
    std::mem::drop(proxy);
    (server, engine, id, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_between_runs_is_uploaded_anew_never_mixed() {
    let (server, engine, id, dir) = change_between_runs(ChangedFilePolicy::Restart, |p| {
        write_file(p.parent().unwrap(), "doc.bin", 40 * 64 * 1024, 99);
    })
    .await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert_eq!(
        server.stored_sha256("doc.bin").unwrap(),
        sha256_file(&dir.path().join("doc.bin"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_truncated_between_runs_is_uploaded_anew_never_mixed() {
    let (server, engine, id, dir) = change_between_runs(ChangedFilePolicy::Restart, |p| {
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.set_len(100_000).unwrap();
    })
    .await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    let local = dir.path().join("doc.bin");
    assert_eq!(std::fs::metadata(&local).unwrap().len(), 100_000);
    assert_eq!(
        server.stored_sha256("doc.bin").unwrap(),
        sha256_file(&local)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_between_runs_fails_with_the_reason_and_nothing_is_stored() {
    let (server, engine, id, _dir) = change_between_runs(ChangedFilePolicy::Restart, |p| {
        std::fs::remove_file(p).unwrap()
    })
    .await;
    match state_of(&engine, id).await {
        FileState::Failed { reason, .. } => assert!(reason.contains("deleted"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(server.stored_sha256("doc.bin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_fail_policy_a_file_changed_between_runs_fails_and_is_not_mixed() {
    let (server, engine, id, _dir) = change_between_runs(ChangedFilePolicy::Fail, |p| {
        write_file(p.parent().unwrap(), "doc.bin", 40 * 64 * 1024, 5);
    })
    .await;
    match state_of(&engine, id).await {
        FileState::Failed {
            reason, retryable, ..
        } => {
            assert!(reason.contains("changed since it was queued"), "{reason}");
            assert!(retryable);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(server.stored_sha256("doc.bin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_uploads_stay_paused_across_a_restart_and_the_rest_continue() {
    let server = Receiver(ReceiverServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let a = write_file(dir.path(), "a.bin", 2 << 20, 1);
    let b = write_file(dir.path(), "b.bin", 2 << 20, 2);
    let mut config = test_engine_config();
    config.hold = true;
    let engine = open_durable(&server, config, &db, &[]).await;
    let spec = server.spec_for(server.addr());
    let ida = enqueue(&engine, &spec, &a, 256 * 1024).await;
    let idb = enqueue(&engine, &spec, &b, 256 * 1024).await;
    engine.pause(idb).await.unwrap();
    stop(engine).await;
    let engine = open_durable(&server, test_engine_config(), &db, &[]).await;
    idle(&engine).await;
    assert_eq!(state_of(&engine, ida).await, FileState::Done);
    assert_eq!(state_of(&engine, idb).await, FileState::Paused);
    assert!(server.stored_sha256("b.bin").is_none());
    engine.resume(idb).await.unwrap();
    idle(&engine).await;
    assert_eq!(server.stored_sha256("b.bin").unwrap(), sha256_file(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bandwidth_limit_paces_uploads_and_can_be_lifted_while_they_run() {
    let server = Receiver(ReceiverServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "slow.bin", 6 << 20, 4);
    let mut config = test_engine_config();
    config.bandwidth_limit = 1 << 20;
    let engine = Engine::open(config).await.unwrap();
    let started = Instant::now();
    let id = enqueue(&engine, &server.spec_for(server.addr()), &path, 256 * 1024).await;
    wait_acked(&engine, id, 2 << 20).await;
    let paced = started.elapsed();
    assert!(
        paced >= Duration::from_millis(1500),
        "2 MiB at 1 MiB/s went in {paced:?}"
    );
    engine.set_bandwidth_limit(0);
    assert_eq!(engine.bandwidth_limit(), 0);
    idle(&engine).await;
    assert_eq!(state_of(&engine, id).await, FileState::Done);
    assert!(
        started.elapsed() < paced * 3,
        "lifting the limit let the remaining 4 MiB go at full speed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_the_queue_refuses_a_second_owner_and_pauses_and_cancels_by_id() {
    let server = Receiver(ReceiverServer::start().await);
    let proxy = FaultProxy::slow(server.addr(), Duration::from_millis(30))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let big = write_file(dir.path(), "big.bin", 64 << 20, 1);
    let small = write_file(dir.path(), "small.bin", 1000, 2);
    let cli = || {
        let mut c = Command::new(cli_binary());
        c.env("TWAKE_UPLOADER_DB", &db).stdin(Stdio::null());
        c
    };
    let url = proxy.url_for(&server.0.url());
    let mut first = cli()
        .args(["upload", "--json", "--chunk-size", "256KiB", "--to", &url])
        .arg(&big)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    for l in lines.by_ref() {
        if l.unwrap().contains(r#""state":"done""#) {
            break;
        }
    }
    // A second owner is refused with a message that says what to do.
    let second = cli()
        .args(["upload", "--to", &url])
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("in use by another Twake Uploader process"),
        "{err}"
    );
    // status reads the queue beside the running upload.
    let status = cli().args(["status", "--json"]).output().unwrap();
    assert!(status.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["relative_path"], "big.bin");
    let id = rows[0]["id"].as_u64().unwrap();
    first.kill().unwrap();
    first.wait().unwrap();

    let paused = cli().args(["pause", &id.to_string()]).output().unwrap();
    assert!(
        paused.status.success(),
        "{}",
        String::from_utf8_lossy(&paused.stderr)
    );
    let status = cli().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("paused") && text.contains("big.bin"),
        "{text}"
    );
    let cancelled = cli().args(["cancel", &id.to_string()]).output().unwrap();
    assert!(cancelled.status.success());
    let status = cli().arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("cancelled"));
    let missing = cli().args(["pause", "999"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no upload 999"));
    let cleared = cli().arg("clear").output().unwrap();
    assert!(String::from_utf8_lossy(&cleared.stdout).contains("removed 1"));
    let status = cli().arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("is empty"));
    assert!(
        server.stored_sha256("big.bin").is_none(),
        "a cancelled upload is never completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_file_is_not_sent_again_after_a_restart_until_it_is_cleared() {
    let server = Receiver(ReceiverServer::start().await);
    let spec = server.spec_for(server.addr());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("queue.sqlite3");
    let kept = write_file(dir.path(), "scan.pdf", 150_000, 3);
    let cleared = write_file(dir.path(), "notes.txt", 90_000, 4);
    let (kept_id, cleared_id) = {
        let engine = open_durable(
            &server,
            test_engine_config(),
            &db,
            std::slice::from_ref(&spec),
        )
        .await;
        let a = enqueue(&engine, &spec, &kept, 64 * 1024).await;
        let b = enqueue(&engine, &spec, &cleared, 64 * 1024).await;
        idle(&engine).await;
        assert_eq!(state_of(&engine, a).await, FileState::Done);
        stop(engine).await;
        (a, b)
    };
    let posts = server.chunk_posts().unwrap();
    let engine = open_durable(
        &server,
        test_engine_config(),
        &db,
        std::slice::from_ref(&spec),
    )
    .await;
    // After a restart: the same file is its finished entry, brought back as done.
    let again = enqueue(&engine, &spec, &kept, 64 * 1024).await;
    idle(&engine).await;
    assert_eq!(again, kept_id);
    assert_eq!(state_of(&engine, again).await, FileState::Done);
    assert_eq!(server.chunk_posts().unwrap(), posts, "nothing sent again");
    // Cleared (the other file's entry too, though this run never showed it): forgotten, so
    // the same file queued again is a new entry whose chunks are asked about again.
    engine.clear_finished().await.unwrap();
    let fresh = enqueue(&engine, &spec, &cleared, 64 * 1024).await;
    idle(&engine).await;
    assert_ne!(fresh, cleared_id, "a cleared file is queued anew");
    assert_eq!(state_of(&engine, fresh).await, FileState::Done);
    stop(engine).await;
}
