//! The scheduler on tokio's paused clock: waits of minutes (a server's `Retry-After`, probes
//! while the network is away) pass in no real time, so these behaviours are tested without
//! sleeping. The target here is a script of answers in front of a real file on disk: what is
//! tested is the scheduler's timing, not a server.

use crate::body::ChunkBody;
use crate::config::UploadSettings;
use crate::error::ChunkError;
use crate::events::FileState;
use crate::protocol::TestAnswer;
use crate::queue::{Engine, EngineConfig, EnqueueRequest};
use crate::targets::{Capabilities, ChunkReceipt, Target, TargetSpec, UploadFile};
use async_trait::async_trait;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Answers the first `busy` chunk requests 503 with `Retry-After`, then takes chunks; says
/// the network is down for the first `down` reachability probes.
struct Script {
    busy: AtomicU32,
    retry_after: Duration,
    lost: AtomicU32,
    down: AtomicU32,
    probes: AtomicU32,
    /// Bytes received, by chunk number (chunks go several at a time).
    received: Mutex<std::collections::BTreeMap<u32, Vec<u8>>>,
}

impl Script {
    fn new(busy: u32, retry_after: Duration, lost: u32, down: u32) -> Arc<Script> {
        Arc::new(Script {
            busy: AtomicU32::new(busy),
            retry_after,
            lost: AtomicU32::new(lost),
            down: AtomicU32::new(down),
            probes: AtomicU32::new(0),
            received: Mutex::new(Default::default()),
        })
    }
}

fn take_one(n: &AtomicU32) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl Target for Script {
    fn label(&self) -> String {
        "script".into()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reachability_probe: true,
            ..Capabilities::NONE
        }
    }

    async fn test_chunk(&self, _: &UploadFile, _: u32) -> Result<TestAnswer, ChunkError> {
        Ok(TestAnswer::Absent)
    }

    async fn send_chunk(
        &self,
        _: &UploadFile,
        number: u32,
        body: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError> {
        if take_one(&self.lost) {
            return Err(ChunkError::Network {
                url: "script".into(),
                reason: "connection refused".into(),
            });
        }
        if take_one(&self.busy) {
            return Err(ChunkError::Retryable {
                url: "script".into(),
                status: 503,
                message: "busy".into(),
                retry_after: Some(self.retry_after),
            });
        }
        let bytes = body.read_all().await?;
        self.received.lock().unwrap().insert(number, bytes);
        Ok(ChunkReceipt::default())
    }

    async fn reachable(&self) -> Result<(), ChunkError> {
        self.probes.fetch_add(1, Ordering::SeqCst);
        if take_one(&self.down) {
            return Err(ChunkError::Network {
                url: "script".into(),
                reason: "connection refused".into(),
            });
        }
        Ok(())
    }
}

/// Uploads a 3-chunk file through `script`: its final state, the clock time it took, and the
/// most attempts any chunk used.
async fn run(script: Arc<Script>) -> (FileState, Duration, u32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let engine = Engine::open(EngineConfig::default()).await.unwrap();
    let spec = TargetSpec::Resumable {
        url: "http://127.0.0.1:9/script".into(),
        dialect: crate::protocol::Dialect::Resumable,
    };
    engine.register_target(spec.clone(), script.clone());
    let started = Instant::now();
    let id = engine
        .enqueue(EnqueueRequest {
            path,
            relative_path: None,
            target: spec,
            settings: UploadSettings {
                chunk_size: 1024,
                test_chunks: false,
                ..UploadSettings::default()
            },
        })
        .await
        .unwrap();
    engine.wait_idle().await.unwrap();
    let all = engine.snapshot().await.unwrap();
    let state = all.iter().find(|u| u.id == id).map(|u| u.state.clone());
    let state = state.expect("the upload is in the queue");
    let waited = started.elapsed();
    let got: Vec<u8> = script
        .received
        .lock()
        .unwrap()
        .values()
        .flatten()
        .copied()
        .collect();
    assert!(got == data, "every byte arrived, in its place");
    let attempts = engine
        .chunks(id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.attempts)
        .max();
    (state, waited, attempts.unwrap_or(0))
}

#[tokio::test(start_paused = true)]
async fn a_servers_retry_after_of_minutes_is_waited_on_the_clock_then_the_file_completes() {
    let (state, waited, attempts) = run(Script::new(1, Duration::from_secs(240), 0, 0)).await;
    assert_eq!(state, FileState::Done);
    assert_eq!(attempts, 1, "the 503 counted once");
    assert!(waited >= Duration::from_secs(240), "waited {waited:?}");
    assert!(
        waited < Duration::from_secs(300),
        "no more than asked: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_outage_is_probed_with_capped_backoff_and_costs_no_retry() {
    // Down for 60 probes: at most 2 s apart once backed off, so about two minutes.
    let script = Script::new(0, Duration::ZERO, 1, 60);
    let (state, waited, attempts) = run(script.clone()).await;
    assert_eq!(state, FileState::Done);
    assert_eq!(attempts, 0, "being offline used no retry");
    let probes = script.probes.load(Ordering::SeqCst);
    assert!(probes > 60, "probed until it answered: {probes}");
    assert!(waited >= Duration::from_secs(60), "backed off: {waited:?}");
    assert!(
        waited <= Duration::from_secs(130),
        "capped at 2 s apart: {waited:?}"
    );
}
