//! Queue totals, the once-a-second progress tick, and answering "tell me when idle".

use super::*;

impl Scheduler {
    pub(super) fn totals(&mut self) -> QueueTotals {
        let now = Instant::now();
        let mut t = QueueTotals::default();
        for u in self.uploads.values_mut() {
            t.files += 1;
            t.bytes_total += u.file.plan.size;
            t.bytes_acked += u.acked;
            match u.state {
                FileState::Done => t.files_done += 1,
                FileState::Failed { .. } => t.files_failed += 1,
                _ => {}
            }
            if u.state.is_active() {
                t.bytes_per_sec += u.rate.bytes_per_sec(now);
            }
        }
        let remaining: u64 = self
            .uploads
            .values()
            .filter(|u| !u.state.is_finished())
            .map(|u| u.file.plan.size - u.acked)
            .sum();
        t.eta_secs = crate::queue::rate::eta_secs(remaining, t.bytes_per_sec);
        t.offline = self.offline.is_some();
        t.requests_in_flight = self.in_flight as u64;
        t.follows_link = self.config.limits.parallel_chunks == 0;
        t.requests_allowed = self.requests_allowed() as u64;
        t.held = self.holds.iter().copied().collect();
        t
    }

    pub(super) fn emit_progress_tick(&mut self) {
        self.check_clocks();
        self.probe_if_due();
        let now = Instant::now();
        for id in self.active.clone() {
            self.emit_progress(id, now);
        }
        if self.dirty || !self.active.is_empty() {
            self.dirty = false;
            let totals = self.totals();
            self.emit(Event::Totals { totals });
        }
    }

    pub(super) fn answer_idle_waiters(&mut self) {
        if self.idle_waiters.is_empty() {
            return;
        }
        if self.queued.is_empty()
            && self.active.is_empty()
            && self.in_flight == 0
            && self.retries_pending == 0
        {
            for w in self.idle_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }
}
