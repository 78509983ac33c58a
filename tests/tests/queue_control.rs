//! Intents for the whole queue: pause all, resume all, cancel all, and the holds a front end
//! puts on it for conditions of the machine (a metered connection, the battery).

use e2e_tests::conformance::{settings, test_engine_config};
use e2e_tests::fault_proxy::FaultProxy;
use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use std::time::Duration;
use upload_engine::{
    ChunkRule, Dialect, Engine, EngineConfig, EnqueueRequest, Event, FileState, HoldReason, Limits,
    TargetSpec, UploadId,
};

async fn states(engine: &Engine, ids: &[UploadId]) -> Vec<FileState> {
    let all = engine.snapshot().await.unwrap();
    ids.iter()
        .map(|id| all.iter().find(|u| u.id == *id).unwrap().state.clone())
        .collect()
}

/// An engine opened with `config`, sending `files` files of 40 chunks (`f0.bin`, `f1.bin`, …)
/// to the receiver behind a proxy that adds latency, so a test can act while they upload.
struct Uploading {
    server: ReceiverServer,
    _proxy: FaultProxy,
    _dir: tempfile::TempDir,
    engine: Engine,
    ids: Vec<UploadId>,
    paths: Vec<std::path::PathBuf>,
}

const CHUNK: u64 = 64 * 1024;
const CHUNKS_PER_FILE: u64 = 40;
/// Chunk requests at once in the hold tests, one file at a time.
const PARALLEL: usize = 2;
fn pinned() -> EngineConfig {
    EngineConfig {
        limits: Limits {
            parallel_chunks: PARALLEL,
            parallel_files: 1,
        },
        ..test_engine_config()
    }
}

async fn uploading(files: u64, config: EngineConfig) -> Uploading {
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::slow(server.receiver.local_addr(), Duration::from_millis(20))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(config).await.unwrap();
    let target = TargetSpec::Resumable {
        url: proxy.url_for(&server.url()),
        dialect: Dialect::Resumable,
    };
    let mut ids = Vec::new();
    let mut paths = Vec::new();
    for i in 0..files {
        let path = write_file(dir.path(), &format!("f{i}.bin"), CHUNKS_PER_FILE * CHUNK, i);
        ids.push(
            engine
                .enqueue(EnqueueRequest {
                    path: path.clone(),
                    relative_path: None,
                    target: target.clone(),
                    settings: settings(CHUNK, ChunkRule::Floor),
                })
                .await
                .unwrap(),
        );
        paths.push(path);
    }
    Uploading {
        server,
        _proxy: proxy,
        _dir: dir,
        engine,
        ids,
        paths,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_all_resume_all_and_cancel_all_act_on_every_unfinished_file() {
    let h = uploading(3, test_engine_config()).await;
    let (engine, ids) = (&h.engine, &h.ids);
    // Paused as soon as the first chunk is acknowledged: the window's startup grows fast
    // enough on this link that a fixed wait could see the first file finished.
    tokio::time::timeout(Duration::from_secs(30), async {
        while engine.totals().await.unwrap().bytes_acked == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("a first chunk is acknowledged");
    engine.pause_all().await.unwrap();
    assert!(states(engine, ids)
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
        while states(engine, ids).await[0] != FileState::Done {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first file finishes after resume all");
    engine.cancel_all().await.unwrap();
    engine.wait_idle().await.unwrap();
    let after = states(engine, ids).await;
    assert_eq!(
        after[0],
        FileState::Done,
        "cancel all leaves finished files alone"
    );
    assert!(
        after[1..].iter().all(|s| *s == FileState::Cancelled),
        "{after:?}"
    );
    h.assert_arrived(0);
    assert!(!h.server.stored("f1.bin").exists() && !h.server.stored("f2.bin").exists());
}

impl Uploading {
    /// The files' states once the queue has nothing left to send.
    async fn settled(&self) -> Vec<FileState> {
        tokio::time::timeout(Duration::from_secs(60), self.engine.wait_idle())
            .await
            .expect("the queue continues by itself")
            .unwrap();
        states(&self.engine, &self.ids).await
    }

    /// File `i` is on the server, byte for byte.
    fn assert_arrived(&self, i: usize) {
        assert_eq!(
            sha256_file(&self.server.stored(&format!("f{i}.bin"))),
            sha256_file(&self.paths[i]),
            "f{i}.bin"
        );
    }
}

/// Waits until at least `bytes` are acknowledged, the queue's first file still unfinished.
async fn until_acked(engine: &Engine, bytes: u64) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while engine.totals().await.unwrap().bytes_acked < bytes {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the upload moves");
}

/// Asserts that no byte is acknowledged for a while.
async fn assert_still(engine: &Engine, why: &str) -> u64 {
    let acked = engine.totals().await.unwrap().bytes_acked;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(engine.totals().await.unwrap().bytes_acked, acked, "{why}");
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_stops_the_queue_without_pausing_files_and_its_release_continues_it_sending_nothing_twice(
) {
    let h = uploading(2, pinned()).await;
    let mut events = h.engine.subscribe();
    until_acked(&h.engine, 5 * CHUNK).await;

    h.engine.hold(HoldReason::OnBattery).unwrap();
    let totals = h.engine.totals().await.unwrap();
    assert_eq!(totals.held, vec![HoldReason::OnBattery]);
    // Waiting, not paused by anyone: every file is queued, none is paused or uploading.
    assert_eq!(
        states(&h.engine, &h.ids).await,
        vec![FileState::Queued, FileState::Queued]
    );
    let acked = assert_still(&h.engine, "nothing is acknowledged while held").await;
    assert!(acked < 2 * CHUNKS_PER_FILE * CHUNK, "held mid-way: {acked}");
    let posts = h.server.receiver.stats().posts_accepted;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.server.receiver.stats().posts_accepted,
        posts,
        "no chunk reaches the server while held"
    );
    // The front ends heard of it in the totals, without waiting for the next tick.
    let told = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Ok(Event::Totals { totals }) if totals.held == [HoldReason::OnBattery] => {
                    return totals
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .expect("a totals event with the reason");
    assert_eq!(told.held, vec![HoldReason::OnBattery]);

    // Holding for the same reason twice is one hold: one release ends it.
    h.engine.hold(HoldReason::OnBattery).unwrap();
    h.engine.release(HoldReason::OnBattery).unwrap();
    assert!(h.engine.totals().await.unwrap().held.is_empty());
    assert_eq!(h.settled().await, vec![FileState::Done, FileState::Done]);
    h.assert_arrived(0);
    h.assert_arrived(1);
    // Chunks acknowledged before the hold are not sent again; at most those in flight when
    // it came are (the server may have stored one whose answer the hold cut off).
    let accepted = h.server.receiver.stats().posts_accepted;
    let chunks = 2 * CHUNKS_PER_FILE;
    assert!(
        accepted >= chunks && accepted <= chunks + PARALLEL as u64,
        "{accepted} chunk POSTs accepted for {chunks} chunks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_s_pause_and_a_hold_never_undo_each_other() {
    let h = uploading(3, pinned()).await;
    let (a, b) = (h.ids[0], h.ids[1]);
    until_acked(&h.engine, 3 * CHUNK).await;
    // The person pauses the file uploading, then the machine holds the queue twice over.
    h.engine.pause(a).await.unwrap();
    h.engine.hold(HoldReason::Metered).unwrap();
    h.engine.hold(HoldReason::OnBattery).unwrap();
    assert_eq!(
        h.engine.totals().await.unwrap().held,
        vec![HoldReason::Metered, HoldReason::OnBattery]
    );
    assert_eq!(
        states(&h.engine, &h.ids).await,
        vec![FileState::Paused, FileState::Queued, FileState::Queued]
    );
    // One reason ends: the other still holds.
    h.engine.release(HoldReason::Metered).unwrap();
    assert_eq!(
        h.engine.totals().await.unwrap().held,
        vec![HoldReason::OnBattery]
    );
    assert_still(&h.engine, "one reason left holds the queue").await;
    // Resuming while held makes the file wait with the others, not upload.
    h.engine.resume(a).await.unwrap();
    h.engine.pause(b).await.unwrap();
    assert_eq!(
        states(&h.engine, &h.ids).await,
        vec![FileState::Queued, FileState::Paused, FileState::Queued]
    );
    assert_still(&h.engine, "resume while held does not send").await;

    // The last reason ends: what the person paused stays paused, the rest finishes.
    h.engine.release(HoldReason::OnBattery).unwrap();
    assert_eq!(
        h.settled().await,
        vec![FileState::Done, FileState::Paused, FileState::Done]
    );
    assert!(!h.server.stored("f1.bin").exists());
    h.engine.resume(b).await.unwrap();
    assert_eq!(h.settled().await, vec![FileState::Done; 3]);
    for i in 0..3 {
        h.assert_arrived(i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_opened_held_sends_nothing_until_released() {
    // A laptop started on battery: the front end knew it before the queue opened.
    let h = uploading(
        1,
        EngineConfig {
            held: vec![HoldReason::OnBattery],
            ..pinned()
        },
    )
    .await;
    assert_eq!(
        h.engine.totals().await.unwrap().held,
        vec![HoldReason::OnBattery]
    );
    assert_eq!(
        assert_still(&h.engine, "nothing is sent while held").await,
        0
    );
    assert_eq!(h.server.receiver.stats().posts_accepted, 0);
    assert_eq!(states(&h.engine, &h.ids).await, vec![FileState::Queued]);
    h.engine.release(HoldReason::OnBattery).unwrap();
    assert_eq!(h.settled().await, vec![FileState::Done]);
    h.assert_arrived(0);
}
