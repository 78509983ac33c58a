//! Folder sync benchmarks, run by `scripts/bench_watch.sh` (ignored in `cargo test`): they
//! print one `BENCH name value unit` line each.

use e2e_tests::harness::ReceiverServer;
use std::path::Path;
use std::time::{Duration, Instant};
use upload_engine::store::records::mtime_to_nanos;
use upload_engine::store::Store;
use upload_engine::watch::index::IndexEntry;
use upload_engine::{
    ChunkState, Dialect, Engine, EngineConfig, Event, FolderState, FolderSync, TargetSpec,
    WatchConfig,
};

async fn engine(db: &Path) -> Engine {
    Engine::open(EngineConfig {
        database: Some(db.to_path_buf()),
        ..EngineConfig::default()
    })
    .await
    .unwrap()
}

fn settle_secs() -> f64 {
    std::env::var("BENCH_SETTLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench_watch.sh"]
async fn bench_stable_file_to_first_chunk_acknowledged() {
    let server = ReceiverServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap().join("w");
    std::fs::create_dir_all(&dir).unwrap();
    let engine = engine(&tmp.path().join("q.sqlite3")).await;
    let settle = settle_secs();
    let sync = FolderSync::new(
        &engine,
        WatchConfig {
            settle: Duration::from_secs_f64(settle),
            ..WatchConfig::default()
        },
    )
    .unwrap();
    let target = TargetSpec::Resumable {
        url: server.url(),
        dialect: Dialect::Resumable,
    };
    sync.add(&dir, target).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut figures = Vec::new();
    for round in 0..3 {
        // The previous file is all in first, so its chunks are not counted here.
        engine.wait_idle().await.unwrap();
        let mut events = engine.subscribe();
        let name = format!("w/f{round}.bin");
        // 16 MiB written in one go; its last write is when it became stable.
        let data = vec![round as u8; 16 << 20];
        std::fs::write(dir.join(format!("f{round}.bin")), &data).unwrap();
        let stable_at = Instant::now();
        let mut id = None;
        let acked = loop {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Ok(Event::Added { upload })) if upload.relative_path == name => {
                    id = Some(upload.id)
                }
                Ok(Ok(Event::Chunk {
                    id: chunk_of,
                    state: ChunkState::Done,
                    ..
                })) if Some(chunk_of) == id => break Instant::now(),
                Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                other => panic!("no chunk acknowledged: {other:?}"),
            }
        };
        figures.push((acked - stable_at).as_secs_f64());
    }
    let best = figures.iter().cloned().fold(f64::MAX, f64::min);
    let worst = figures.iter().cloned().fold(0.0, f64::max);
    println!("BENCH stable_to_first_chunk_best {best:.2} s");
    println!("BENCH stable_to_first_chunk_worst {worst:.2} s");
    println!("BENCH settle_time {settle:.2} s");
    sync.stop().await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench_watch.sh"]
async fn bench_initial_scan_of_files_already_in_the_index() {
    let n: usize = std::env::var("BENCH_SCAN_FILES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap().join("w");
    let db = tmp.path().join("q.sqlite3");
    let target = TargetSpec::Resumable {
        url: "http://127.0.0.1:9/upload".into(),
        dialect: Dialect::Resumable,
    };
    // The files, and an index that says each is uploaded.
    let store = Store::open(&db, Box::new(|m| eprintln!("{m}")))
        .unwrap()
        .store;
    std::fs::create_dir_all(&dir).unwrap();
    let folder = store.add_folder(&dir, &target).await.unwrap();
    for i in 0..n {
        let sub = dir.join(format!("d{:04}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        let path = sub.join(format!("f{i}.txt"));
        std::fs::write(&path, format!("{i}")).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let rel = format!("d{:04}/f{i}.txt", i / 100);
        store.put_index(
            folder,
            IndexEntry {
                remote_path: format!("w/{rel}"),
                rel_path: rel,
                size: meta.len(),
                mtime_ns: mtime_to_nanos(meta.modified().unwrap()),
                sha256: format!("{i:064x}"),
            },
        );
    }
    store.close().await;

    let engine = engine(&db).await;
    let sync = FolderSync::new(&engine, WatchConfig::default()).unwrap();
    let started = Instant::now();
    sync.start_saved().await.unwrap();
    loop {
        let s = sync.list().await.unwrap().remove(0);
        if s.state == FolderState::UpToDate && s.files as usize == n {
            break;
        }
        assert!(!matches!(s.state, FolderState::Syncing { .. }), "{s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("BENCH initial_scan_files {n} files");
    println!("BENCH initial_scan_secs {secs:.2} s");
    assert!(
        engine.snapshot().await.unwrap().is_empty(),
        "nothing queued"
    );
    sync.stop().await;
    engine.close().await;
}
