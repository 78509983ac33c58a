//! The queue's order ("upload next", moving a file) against the real receiver, and the bytes in
//! flight of a chunk being sent through a slow link.

use e2e_tests::conformance::{settings, test_engine_config};
use e2e_tests::fault_proxy::FaultProxy;
use e2e_tests::harness::{write_file, ReceiverServer};
use std::path::Path;
use std::time::{Duration, Instant};
use upload_engine::{
    ChunkRule, Dialect, Engine, EngineConfig, EngineError, EnqueueRequest, Event, FileState,
    Limits, TargetSpec, UploadId,
};

fn one_file_at_a_time() -> EngineConfig {
    EngineConfig {
        limits: Limits {
            parallel_chunks: 2,
            parallel_files: 1,
        },
        ..test_engine_config()
    }
}

async fn enqueue(engine: &Engine, target: &TargetSpec, path: &Path, cs: u64) -> UploadId {
    engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: None,
            target: target.clone(),
            settings: settings(cs, ChunkRule::Floor),
        })
        .await
        .expect("enqueue")
}

async fn order(engine: &Engine) -> Vec<UploadId> {
    engine
        .snapshot()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect()
}

/// The order in which files left the waiting line, read from the event stream.
async fn start_order(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    n: usize,
) -> Vec<UploadId> {
    let mut started = Vec::new();
    let mut done = 0;
    tokio::time::timeout(Duration::from_secs(60), async {
        while done < n {
            match events.recv().await.expect("events") {
                Event::File { id, state } => {
                    if matches!(state, FileState::Testing | FileState::Uploading)
                        && !started.contains(&id)
                    {
                        started.push(id);
                    }
                    if state == FileState::Done {
                        done += 1;
                    }
                }
                _ => continue,
            }
        }
    })
    .await
    .expect("every file is uploaded within 60 s");
    started
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_next_and_moves_decide_which_waiting_file_starts_next() {
    let server = ReceiverServer::start().await;
    // Latency keeps the first file busy while the others are moved.
    let proxy = FaultProxy::slow(server.receiver.local_addr(), Duration::from_millis(30))
        .await
        .unwrap();
    let target = TargetSpec::Resumable {
        url: proxy.url_for(&server.url()),
        dialect: Dialect::Resumable,
    };
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(one_file_at_a_time()).await.unwrap();
    let mut events = engine.subscribe();
    let mut ids = Vec::new();
    for i in 0..4u64 {
        let path = write_file(dir.path(), &format!("f{i}.bin"), 8 * 64 * 1024, i);
        ids.push(enqueue(&engine, &target, &path, 64 * 1024).await);
    }
    // f0 holds the only slot. "Upload next" on the last file, then f2 before f1.
    engine.move_to_front(ids[3]).await.unwrap();
    engine.reorder(ids[2], Some(ids[1])).await.unwrap();
    // "Upload next" puts f3 at the top of the list, above f0 that keeps uploading.
    assert_eq!(
        order(&engine).await,
        vec![ids[3], ids[0], ids[2], ids[1]],
        "snapshot lists the queue order"
    );
    assert_eq!(
        start_order(&mut events, 4).await,
        vec![ids[0], ids[3], ids[2], ids[1]]
    );

    // Unknown files are named in a typed error, whichever side of the move they are on.
    let ghost = UploadId(999);
    assert!(matches!(
        engine.move_to_front(ghost).await,
        Err(EngineError::UnknownUpload(999))
    ));
    assert!(matches!(
        engine.reorder(ids[0], Some(ghost)).await,
        Err(EngineError::UnknownUpload(999))
    ));
    // Moving to the end works on finished files too and leaves the others in line.
    engine.reorder(ids[0], None).await.unwrap();
    assert_eq!(order(&engine).await, vec![ids[3], ids[2], ids[1], ids[0]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_survives_a_restart_and_decides_what_resumes_first() {
    let server = ReceiverServer::start().await;
    let target = TargetSpec::Resumable {
        url: server.url(),
        dialect: Dialect::Resumable,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let held = EngineConfig {
        database: Some(db.clone()),
        hold: true,
        ..one_file_at_a_time()
    };
    let engine = Engine::open(held).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..4u64 {
        let path = write_file(dir.path(), &format!("r{i}.bin"), 4 * 64 * 1024, 10 + i);
        ids.push(enqueue(&engine, &target, &path, 64 * 1024).await);
    }
    engine.move_to_front(ids[2]).await.unwrap();
    engine.reorder(ids[0], None).await.unwrap();
    let expected = vec![ids[2], ids[1], ids[3], ids[0]];
    assert_eq!(order(&engine).await, expected);
    engine.close().await;

    let engine = Engine::open(EngineConfig {
        database: Some(db),
        ..one_file_at_a_time()
    })
    .await
    .unwrap();
    let mut events = engine.subscribe();
    assert_eq!(order(&engine).await, expected, "the order was saved");
    // The first file may have started before we subscribed (not finished: it is checked
    // with the server first), so all four finish in view and the rest start in order.
    let started = start_order(&mut events, 4).await;
    let tail: Vec<UploadId> = started.into_iter().filter(|id| *id != ids[2]).collect();
    assert_eq!(tail, &expected[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_in_flight_grow_to_the_chunk_size_while_a_large_chunk_crawls() {
    let server = ReceiverServer::start().await;
    let proxy = FaultProxy::slow(server.receiver.local_addr(), Duration::from_millis(200))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    const CHUNK: u64 = 2 << 20;
    let path = write_file(dir.path(), "big.bin", CHUNK, 7);
    // The slow link: 1 MiB/s, so the one 2 MiB chunk takes about two seconds.
    let engine = Engine::open(EngineConfig {
        bandwidth_limit: 1 << 20,
        ..test_engine_config()
    })
    .await
    .unwrap();
    let mut events = engine.subscribe();
    let target = TargetSpec::Resumable {
        url: proxy.url_for(&server.url()),
        dialect: Dialect::Resumable,
    };
    let started = Instant::now();
    let id = enqueue(&engine, &target, &path, CHUNK).await;
    let mut fills = Vec::new();
    let mut acked_while_sending = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await.expect("events") {
                Event::InFlight {
                    id: of,
                    chunk,
                    sent_bytes,
                    chunk_bytes,
                } if of == id => {
                    assert_eq!((chunk, chunk_bytes), (1, CHUNK));
                    fills.push(sent_bytes);
                }
                Event::Chunk {
                    id: of,
                    acked_bytes,
                    ..
                } if of == id => acked_while_sending.push(acked_bytes),
                Event::File {
                    id: of,
                    state: FileState::Done,
                } if of == id => break,
                _ => {}
            }
        }
    })
    .await
    .expect("the file is uploaded within 30 s");
    let took = started.elapsed();
    assert!(
        fills.len() >= 5,
        "a 2 s chunk reports its fill several times: {fills:?}"
    );
    assert!(
        fills.windows(2).all(|w| w[0] < w[1]),
        "the fill only grows: {fills:?}"
    );
    assert_eq!(fills.last(), Some(&CHUNK), "it ends full: {fills:?}");
    // Throttled: about one report per 100 ms, not one per piece read from disk.
    let most = took.as_millis() as usize / 100 + 2;
    assert!(fills.len() <= most, "{} reports in {took:?}", fills.len());
    // Acknowledged bytes do not follow the fill: they jump from 0 to the chunk once it is done.
    assert!(
        acked_while_sending.iter().all(|a| *a == 0 || *a == CHUNK),
        "{acked_while_sending:?}"
    );
}
