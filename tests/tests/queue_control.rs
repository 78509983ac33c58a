//! Intents for the whole queue: pause all, resume all, cancel all.

use e2e_tests::conformance::{settings, test_engine_config};
use e2e_tests::fault_proxy::{FaultConfig, FaultProxy};
use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use std::time::Duration;
use upload_engine::{ChunkRule, Dialect, Engine, EnqueueRequest, FileState, TargetSpec, UploadId};

async fn states(engine: &Engine, ids: &[UploadId]) -> Vec<FileState> {
    let all = engine.snapshot().await.unwrap();
    ids.iter()
        .map(|id| all.iter().find(|u| u.id == *id).unwrap().state.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_all_resume_all_and_cancel_all_act_on_every_unfinished_file() {
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::start(
        server.receiver.local_addr(),
        FaultConfig {
            latency: Duration::from_millis(20),
            ..FaultConfig::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(test_engine_config()).await.unwrap();
    let target = TargetSpec::Resumable {
        url: proxy.url_for(&server.url()),
        dialect: Dialect::Resumable,
    };
    let mut ids = Vec::new();
    let mut paths = Vec::new();
    for i in 0..3u64 {
        let path = write_file(dir.path(), &format!("f{i}.bin"), 40 * 64 * 1024, i);
        ids.push(
            engine
                .enqueue(EnqueueRequest {
                    path: path.clone(),
                    relative_path: None,
                    target: target.clone(),
                    settings: settings(64 * 1024, ChunkRule::Floor),
                })
                .await
                .unwrap(),
        );
        paths.push(path);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    engine.pause_all().await.unwrap();
    assert!(states(&engine, &ids)
        .await
        .iter()
        .all(|s| *s == FileState::Paused));
    let acked = engine.totals().await.unwrap().bytes_acked;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        engine.totals().await.unwrap().bytes_acked,
        acked,
        "nothing moves while paused"
    );

    engine.resume_all().await.unwrap();
    // Let the first file finish, then cancel the rest.
    tokio::time::timeout(Duration::from_secs(30), async {
        while states(&engine, &ids).await[0] != FileState::Done {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first file finishes after resume all");
    engine.cancel_all().await.unwrap();
    engine.wait_idle().await.unwrap();
    let after = states(&engine, &ids).await;
    assert_eq!(
        after[0],
        FileState::Done,
        "cancel all leaves finished files alone"
    );
    assert!(
        after[1..].iter().all(|s| *s == FileState::Cancelled),
        "{after:?}"
    );
    assert_eq!(
        sha256_file(&server.stored("f0.bin")),
        sha256_file(&paths[0])
    );
    assert!(!server.stored("f1.bin").exists() && !server.stored("f2.bin").exists());
}
