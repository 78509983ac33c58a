//! The queue without network: one offline state instead of a storm of retries, probes with
//! capped backoff, a probe at once after the machine slept, and giving up when told to.

use super::*;

/// The queue's state while the network is away.
pub(super) struct Offline {
    pub(super) since: Instant,
    pub(super) reason: String,
    /// The target whose request failed: it is the one probed.
    pub(super) target: Arc<dyn Target>,
    pub(super) failed_probes: u32,
    pub(super) next_probe: Instant,
    pub(super) probing: bool,
}

/// Connection losses of one chunk that do not use its retry budget (each a spell offline).
const FREE_NETWORK_FAILURES: u32 = 5;

/// Probes back off up to this, so the queue resumes within a few seconds of the network.
const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(2);

impl Scheduler {
    /// A request got no HTTP answer: the network (or the server's host) is away. The chunk
    /// waits without using its retry budget, and the whole queue goes offline.
    pub(super) fn lost_network(&mut self, id: UploadId, number: u32, e: ChunkError) {
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        let slot = u.slot(number);
        slot.network_failures += 1;
        if slot.network_failures > FREE_NETWORK_FAILURES {
            // The same chunk keeps losing its connection while the server answers probes:
            // something refuses this request (a proxy's body limit?), not the network.
            self.chunk_retry(id, number, e, Instant::now());
            return;
        }
        u.slot(number).last_answer = e.to_string();
        u.ready.push_front(number);
        let target = u.target.clone();
        self.set_chunk_state(id, number, ChunkState::Pending);
        if self.offline.is_none() {
            let now = Instant::now();
            self.offline = Some(Offline {
                since: now,
                reason: e.to_string(),
                target,
                failed_probes: 0,
                next_probe: now + Duration::from_millis(250),
                probing: false,
            });
            self.dirty = true;
            self.emit(Event::Connectivity {
                online: false,
                reason: Some(e.to_string()),
            });
        }
    }

    pub(super) fn next_probe_due(&self) -> Option<Instant> {
        self.offline
            .as_ref()
            .filter(|o| !o.probing)
            .map(|o| o.next_probe)
    }

    pub(super) fn probe_if_due(&mut self) {
        let give_up = self.config.offline_give_up;
        let Some(o) = self.offline.as_mut() else {
            return;
        };
        if let Some(limit) = give_up {
            if o.since.elapsed() >= limit {
                let reason = format!(
                    "offline for {} s: {}",
                    o.since.elapsed().as_secs(),
                    o.reason
                );
                self.give_up_offline(reason);
                return;
            }
        }
        if o.probing || o.next_probe > Instant::now() {
            return;
        }
        o.probing = true;
        tokio::spawn(work::reach(o.target.clone(), self.reports_tx.clone()));
    }

    pub(super) fn reachability(&mut self, result: Result<(), ChunkError>) {
        let Some(o) = self.offline.as_mut() else {
            return;
        };
        o.probing = false;
        match result {
            Ok(()) => {
                self.offline = None;
                self.dirty = true;
                self.emit(Event::Connectivity {
                    online: true,
                    reason: None,
                });
            }
            Err(e) => {
                o.failed_probes += 1;
                o.reason = e.to_string();
                let backoff = Duration::from_millis(250)
                    .saturating_mul(1 << o.failed_probes.min(8))
                    .min(MAX_PROBE_INTERVAL);
                o.next_probe = Instant::now() + backoff;
            }
        }
    }

    /// Fails what waits for the network (the configured patience ran out).
    pub(super) fn give_up_offline(&mut self, reason: String) {
        self.offline = None;
        let waiting: Vec<UploadId> = self
            .active
            .iter()
            .chain(self.queued.iter())
            .copied()
            .collect();
        for id in waiting {
            self.fail_file(id, FailureKind::Unreachable, reason.clone(), true);
        }
        self.emit(Event::Connectivity {
            online: true,
            reason: Some(reason),
        });
    }

    /// Notices a jump of the wall clock past the monotonic one (a laptop that slept): the
    /// network may have changed, so an offline queue probes at once.
    pub(super) fn check_clocks(&mut self) {
        let (wall_then, mono_then) = self.clocks;
        let wall_now = SystemTime::now();
        let mono_now = Instant::now();
        self.clocks = (wall_now, mono_now);
        if clock_jumped((wall_then, mono_then), (wall_now, mono_now)) {
            tracing::info!("the wall clock jumped ahead (the machine slept?): probing now");
            if let Some(o) = self.offline.as_mut() {
                o.next_probe = mono_now;
            }
        }
    }
}

/// True when the wall clock moved more than 2 s further than the monotonic clock between two
/// readings: the machine was asleep (Linux's monotonic clock stops during suspend).
fn clock_jumped(before: (SystemTime, Instant), after: (SystemTime, Instant)) -> bool {
    let wall = after.0.duration_since(before.0).unwrap_or_default();
    let mono = after.1.duration_since(before.1);
    wall > mono + Duration::from_secs(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_shows_as_the_wall_clock_outrunning_the_monotonic_one() {
        let t = SystemTime::now();
        let i = Instant::now();
        let second = Duration::from_secs(1);
        assert!(!clock_jumped((t, i), (t + second, i + second)));
        assert!(clock_jumped(
            (t, i),
            (t + Duration::from_secs(600), i + second)
        ));
        // A wall clock set backwards is not a sleep.
        assert!(!clock_jumped(
            (t + Duration::from_secs(60), i),
            (t, i + second)
        ));
    }
}
