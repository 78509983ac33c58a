//! The task that carries engine events to the webview: it folds them with a `Coalescer` and
//! flushes at most once per `FLUSH_EVERY`, so the UI gets about ten small batches a second
//! however fast the engine talks. Notices and the tray are fed from the same flush; a notice
//! held back by `NoticeRules` is flushed when it falls due, with an empty batch if need be.

use crate::coalesce::Coalescer;
use crate::ipc::EventBatch;
use crate::notices::{Notice, NoticeRules};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;
use upload_engine::Event;

/// Shortest time between two batches.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Runs until the engine stops. `flush` gets each batch with the notices due at that moment.
pub async fn forward(
    mut events: broadcast::Receiver<Event>,
    mut flush: impl FnMut(EventBatch, Vec<Notice>),
) {
    let mut pending = Coalescer::default();
    let mut rules = NoticeRules::default();
    let mut last_flush = Instant::now() - FLUSH_EVERY;
    loop {
        // Idle: wait for news only. Busy: flush when the interval since the last flush ends.
        let due = (!pending.is_empty()).then(|| last_flush + FLUSH_EVERY);
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => {
                    rules.observe(&event, Instant::now());
                    pending.push(event);
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!("the window fell {missed} events behind; it will reload the queue");
                    pending.lagged();
                }
                Err(RecvError::Closed) => break,
            },
            // A notice held back (gathering a burst, or by the rate limit) is told when due,
            // events or not.
            _ = sleep_until(rules.next_due(Instant::now())), if due.is_none() => {
                flush(pending.take(), rules.take(Instant::now()));
            }
            _ = sleep_until(due) => {
                flush(pending.take(), rules.take(Instant::now()));
                // Counted from the end of this flush: folding a large batch on a busy machine
                // must not bring the next one closer than the interval.
                last_flush = Instant::now();
            }
        }
    }
    if !pending.is_empty() {
        flush(pending.take(), rules.take(Instant::now()));
    }
}

async fn sleep_until(when: Option<Instant>) {
    match when {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use upload_engine::{ChunkState, UploadId};

    #[tokio::test]
    async fn a_flood_of_events_reaches_the_ui_in_a_few_batches_with_nothing_lost() {
        let (tx, rx) = broadcast::channel(200_000);
        let batches: Arc<Mutex<Vec<(Instant, EventBatch)>>> = Arc::default();
        let sink = batches.clone();
        let task = tokio::spawn(forward(rx, move |b, _| {
            sink.lock().unwrap().push((Instant::now(), b))
        }));
        // 10,000 chunks of one file, each passing through three states, over ~300 ms.
        for round in 0..3 {
            for chunk in 1..=10_000u32 {
                let state =
                    [ChunkState::Testing, ChunkState::Sending, ChunkState::Done][round].clone();
                tx.send(Event::Chunk {
                    id: UploadId(1),
                    chunk,
                    state,
                    acked_bytes: 0,
                })
                .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(tx);
        task.await.unwrap();
        let batches = batches.lock().unwrap();
        assert!(batches.len() >= 2, "{} batches", batches.len());
        // At most ten a second: consecutive batches are at least the interval apart (the
        // last one, flushed when the engine stops, excepted).
        for pair in batches[..batches.len() - 1].windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap >= FLUSH_EVERY - Duration::from_millis(5), "{gap:?}");
        }
        // Latest state wins: every chunk's last word is Done, and each appears once per batch.
        let mut last = vec![None; 10_001];
        for (_, b) in batches.iter() {
            let mut seen = std::collections::HashSet::new();
            for c in &b.chunks {
                assert!(seen.insert(c.chunk), "chunk {} twice in one batch", c.chunk);
                last[c.chunk as usize] = Some(c.state.clone());
            }
        }
        assert!(last[1..].iter().all(|s| *s == Some(ChunkState::Done)));
    }
}
