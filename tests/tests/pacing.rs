//! Pacing end to end: an upload through an emulated far link (60 ms, 200 Mbit/s) with the
//! default, adaptive settings keeps more requests in flight than the old fixed three, and
//! the file arrives identical. No timing goal: the figures are `make bench`'s.

use e2e_tests::harness::{sha256_file, write_file, ReceiverServer};
use e2e_tests::link_emulator::{LinkEmulator, LinkProfile};
use std::path::Path;
use upload_engine::{
    Dialect, Engine, EngineConfig, EnqueueRequest, Event, FileState, TargetSpec, UploadId,
    UploadSettings,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// Uploads one file and waits until the queue is idle; the file must be done.
async fn upload(engine: &Engine, url: &str, path: &Path, settings: UploadSettings) -> UploadId {
    let id = engine
        .enqueue(EnqueueRequest {
            path: path.to_path_buf(),
            relative_path: None,
            target: TargetSpec::Resumable {
                url: url.to_string(),
                dialect: Dialect::Resumable,
            },
            settings,
        })
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(120), engine.wait_idle())
        .await
        .expect("the upload ends")
        .unwrap();
    let all = engine.snapshot().await.unwrap();
    let u = all.iter().find(|u| u.id == id).unwrap();
    assert_eq!(u.state, FileState::Done, "{u:?}");
    id
}

/// Our receiver behind an emulated link of 60 ms and 200 Mbit/s.
async fn far_receiver() -> (ReceiverServer, LinkEmulator) {
    let server = ReceiverServer::start().await;
    let profile = LinkProfile::new(60, 200);
    let link = LinkEmulator::start(server.receiver.local_addr(), profile, 0)
        .await
        .expect("emulator starts");
    (server, link)
}

/// A fresh engine with the default, adaptive settings, and its events from the start.
async fn engine_and_events() -> (Engine, tokio::sync::broadcast::Receiver<Event>) {
    let engine = Engine::open(EngineConfig::default()).await.unwrap();
    let events = engine.subscribe();
    (engine, events)
}

/// The re-plan reasons given for upload `id` among the events received so far.
fn replans(events: &mut tokio::sync::broadcast::Receiver<Event>, id: UploadId) -> Vec<String> {
    let mut reasons = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::Replanned { id: i, reason, .. } = e {
            if i == id {
                reasons.push(reason);
            }
        }
    }
    reasons
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_link_gets_more_requests_in_flight_than_the_old_fixed_three() {
    let (server, link) = far_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    // 64 KiB chunks: 1.5 MB in flight fills this link, i.e. about 23 chunks, not 3.
    let path = write_file(dir.path(), "far.bin", 6 << 20, 12);
    let engine = Engine::open(EngineConfig::default()).await.unwrap();
    let settings = UploadSettings {
        chunk_size: 64 * KIB,
        ..UploadSettings::default()
    };
    upload(&engine, &link.url_for(&server.url()), &path, settings).await;
    assert_eq!(sha256_file(&server.stored("far.bin")), sha256_file(&path));
    // One connection per request in flight (HTTP/1.1 opens one only when all are busy).
    let peak = link.peak_connections();
    assert!(peak > 3, "at most {peak} requests at once through the link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_takes_its_chunk_size_from_what_the_link_measured() {
    let (server, link) = far_receiver().await;
    let url = link.url_for(&server.url());
    let dir = tempfile::tempdir().unwrap();
    let (engine, mut events) = engine_and_events().await;
    let first = write_file(dir.path(), "first.bin", 6 * MIB, 1);
    let second = write_file(dir.path(), "second.bin", 24 * MIB, 2);
    let small = UploadSettings {
        chunk_size: 64 * KIB,
        ..UploadSettings::default()
    };
    // A chosen size stays, and measures the link meanwhile.
    let a = upload(&engine, &url, &first, small.clone()).await;
    assert!(replans(&mut events, a).is_empty());
    let b = upload(
        &engine,
        &url,
        &second,
        UploadSettings {
            adapt_chunk_size: true,
            ..small
        },
    )
    .await;
    let all = engine.snapshot().await.unwrap();
    let b_summary = all.iter().find(|u| u.id == b).unwrap();
    assert!(
        b_summary.chunk_size > 64 * KIB,
        "chunks of {} bytes after the link carried several MB/s",
        b_summary.chunk_size
    );
    let reasons = replans(&mut events, b);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].contains("from the speed measured"),
        "{reasons:?}"
    );
    assert_eq!(
        sha256_file(&server.stored("second.bin")),
        sha256_file(&second)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_413_is_remembered_so_the_next_file_starts_below_it() {
    let server = ReceiverServer::start_with(|c| c.max_chunk_size = 2 * MIB).await;
    let dir = tempfile::tempdir().unwrap();
    let (engine, mut events) = engine_and_events().await;
    let [first, second] =
        [3, 4].map(|seed| write_file(dir.path(), &format!("f{seed}.bin"), 16 * MIB, seed));
    let settings = UploadSettings {
        chunk_size: 4 * MIB,
        adapt_chunk_size: true,
        ..UploadSettings::default()
    };
    let a = upload(&engine, &server.url(), &first, settings.clone()).await;
    assert!(
        replans(&mut events, a).iter().any(|r| r.contains("(413)")),
        "the first file meets the limit"
    );
    let b = upload(&engine, &server.url(), &second, settings).await;
    let reasons = replans(&mut events, b);
    assert_eq!(
        reasons.len(),
        1,
        "planned below the limit at once: {reasons:?}"
    );
    assert!(reasons[0].contains("earlier"), "{reasons:?}");
    let all = engine.snapshot().await.unwrap();
    assert_eq!(all.iter().find(|u| u.id == b).unwrap().chunk_size, 2 * MIB);
    assert_eq!(sha256_file(&server.stored("f4.bin")), sha256_file(&second));
}
