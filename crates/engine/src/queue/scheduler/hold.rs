//! The queue held by conditions of the machine (a metered connection, the battery): while any
//! reason holds, nothing is sent; the files that held a slot step back into the line as they
//! would for a pause, but stay queued, so a person's pause and a hold never undo each other.

use super::*;

impl Scheduler {
    /// `reason` began (`on`) or ended. The first reason stops what is in flight; releasing
    /// the last one lets `dispatch` start again. Front ends hear it in the totals at once.
    pub(super) fn set_hold(&mut self, reason: HoldReason, on: bool) {
        let changed = if on {
            self.holds.insert(reason)
        } else {
            self.holds.remove(&reason)
        };
        if !changed {
            return;
        }
        if on && self.holds.len() == 1 {
            self.step_back_active();
        }
        tracing::info!(
            "uploads {} ({reason:?}); waiting for: {:?}",
            if on { "held" } else { "released" },
            self.holds
        );
        self.dirty = false;
        let totals = self.totals();
        self.emit(Event::Totals { totals });
    }

    /// Every file holding a slot goes back to its place in line, its requests in flight
    /// stopped and its unfinished chunks pending, as for a pause; acknowledged chunks stay
    /// done, so nothing acknowledged is sent again when the queue continues.
    fn step_back_active(&mut self) {
        for id in std::mem::take(&mut self.active) {
            if !self.uploads.contains_key(&id) {
                continue;
            }
            self.stop_in_flight(id);
            self.wait_in_line(id);
            self.set_file_state(id, FileState::Queued);
        }
    }
}
