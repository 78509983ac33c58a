//! The scheduler's side of pacing: one `Pace` per target, fed with every chunk answer and
//! asked before every request; how many files hold a slot when the link wants more; and the
//! chunk size a new file starts with, from what its target measured and refused.

use super::*;
use crate::config::AUTO_START_FILES;
use crate::queue::pace::{Pace, PaceLimits};

/// The largest chunk the link may choose for a new file: reverse proxies in front of real
/// servers often cap request bodies near 100 MB.
const MAX_CHOSEN_CHUNK: u64 = 64 * 1024 * 1024;
/// The most files holding a slot when the link asks for more (many small files).
const MAX_AUTO_FILES: usize = 64;

impl Scheduler {
    fn pace_limits(&self) -> PaceLimits {
        let n = self.config.limits.parallel_chunks;
        PaceLimits {
            pinned: (n > 0).then_some(n),
            ..PaceLimits::default()
        }
    }

    pub(super) fn pace(&mut self, label: &str) -> &mut Pace {
        if !self.paces.contains_key(label) {
            let pace = Pace::new(self.pace_limits(), Instant::now());
            self.paces.insert(label.to_string(), pace);
        }
        self.paces.get_mut(label).expect("inserted above")
    }

    /// After the limits changed: pinned or adaptive from now on.
    pub(super) fn repin_paces(&mut self) {
        let pinned = self.pace_limits().pinned;
        let now = Instant::now();
        for pace in self.paces.values_mut() {
            pace.set_pinned(pinned, now);
        }
    }

    /// Files that hold a slot before the link is asked whether it wants more.
    pub(super) fn base_files(&self) -> usize {
        match self.config.limits.parallel_files {
            0 => AUTO_START_FILES,
            n => n,
        }
    }

    /// Whether more files may take a slot because the link has room the others leave.
    pub(super) fn files_follow_link(&self) -> bool {
        self.config.limits.parallel_files == 0 && self.active.len() < MAX_AUTO_FILES
    }

    /// Requests in flight per target among the files holding a slot.
    pub(super) fn in_flight_by_target(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for u in self.active.iter().filter_map(|id| self.uploads.get(id)) {
            *counts.entry(u.target.label()).or_insert(0) += u.in_flight;
        }
        counts
    }

    /// Whether one more request to `label` may start. A pinned count is across all files,
    /// as it always was; an adaptive one is per target.
    pub(super) fn room_for(&mut self, label: &str, counts: &HashMap<String, usize>) -> bool {
        match self.config.limits.parallel_chunks {
            0 => counts.get(label).copied().unwrap_or(0) < self.pace(label).limit(),
            n => self.in_flight < n,
        }
    }

    /// Requests the limits allow now: the pinned count, or the sum of the windows of the
    /// targets the files holding a slot go to.
    pub(super) fn requests_allowed(&mut self) -> usize {
        if self.config.limits.parallel_chunks > 0 {
            return self.config.limits.parallel_chunks;
        }
        let labels: std::collections::BTreeSet<String> = self
            .active
            .iter()
            .filter_map(|id| self.uploads.get(id))
            .map(|u| u.target.label())
            .collect();
        labels.iter().map(|l| self.pace(l).limit()).sum()
    }

    /// The target of the next file waiting in line, if any.
    pub(super) fn next_queued_target(&self) -> Option<String> {
        self.queued
            .iter()
            .filter_map(|id| self.uploads.get(id))
            .find(|u| u.state == FileState::Queued)
            .map(|u| u.target.label())
    }

    /// A chunk of upload `id` was acknowledged, `took` after its request started.
    pub(super) fn paced_ack(&mut self, id: UploadId, bytes: u64, took: Duration, now: Instant) {
        if let Some(label) = self.uploads.get(&id).map(|u| u.target.label()) {
            self.pace(&label).acknowledged(bytes, took, now);
        }
    }

    /// The server or the link pushed back on a request of upload `id`.
    pub(super) fn paced_pushback(&mut self, id: UploadId, now: Instant) {
        if let Some(label) = self.uploads.get(&id).map(|u| u.target.label()) {
            self.pace(&label).congested(now);
        }
    }

    pub(super) fn remember_refused(&mut self, id: UploadId, chunk_bytes: u64) {
        if let Some(label) = self.uploads.get(&id).map(|u| u.target.label()) {
            let known = self.refused_chunk.entry(label).or_insert(chunk_bytes);
            *known = (*known).min(chunk_bytes);
        }
    }

    /// Gives a file that gets its first slot the chunk size its target suggests (see
    /// `Fit`), re-planning it before anything of it is sent.
    pub(super) fn fit_chunk_size(&mut self, id: UploadId) {
        let Some(u) = self.uploads.get(&id) else {
            return;
        };
        let label = u.target.label();
        let caps = u.target.capabilities();
        let fit = Fit {
            // A target that takes a file in one request has no chunk size to choose.
            planned: u.planned || caps.whole_file,
            adapt: u.settings.adapt_chunk_size,
            start: u.settings.chunk_size,
            plan: u.file.plan,
            refused: self.refused_chunk.get(&label).copied(),
            server_max: caps.max_chunk_size,
            min_chunk: self.config.min_chunk_size,
        };
        let (min, max) = fit.bounds();
        let suggested = if fit.adapt && !fit.planned {
            self.pace(&label).chunk_size(min, max)
        } else {
            None
        };
        let chosen = fit.choose(suggested);
        let Some(u) = self.uploads.get_mut(&id) else {
            return;
        };
        u.planned = true;
        let Some(chosen) = chosen else {
            return;
        };
        u.settings.chunk_size = chosen;
        let mut file = (*u.file).clone();
        file.plan = ChunkPlan::new(fit.plan.size, chosen, fit.plan.rule);
        file.identifier = identifier_for(&file, u.generation);
        let total_chunks = file.plan.total_chunks;
        u.replan(file);
        self.persist_replan(id);
        let reason = if fit.refused.is_some_and(|r| r <= fit.start) {
            format!("{label} refused larger chunks (413) earlier: using {chosen}-byte chunks")
        } else {
            format!("{chosen}-byte chunks, from the speed measured on {label}")
        };
        self.emit(Event::Replanned {
            id,
            chunk_size: chosen,
            total_chunks,
            reason,
        });
    }
}

/// What decides the chunk size of a file about to get its first slot.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fit {
    /// A request of the file was started, or it continues an earlier run: its plan stays.
    pub planned: bool,
    /// Its size may follow the link (the person did not choose one).
    pub adapt: bool,
    /// The size it was planned with (the asked one, or the target's default).
    pub start: u64,
    pub plan: ChunkPlan,
    /// The smallest chunk its target refused as too large (413).
    pub refused: Option<u64>,
    /// The largest chunk its target declares it takes (`Capabilities::max_chunk_size`).
    pub server_max: Option<u64>,
    /// The smallest chunk size the engine plans.
    pub min_chunk: u64,
}

impl Fit {
    /// The sizes the link may choose between: from the planned size up to 64 MiB and the
    /// target's declared maximum, both kept below half of a refused size.
    pub fn bounds(&self) -> (u64, u64) {
        let max = self
            .refused
            .map_or(MAX_CHOSEN_CHUNK, |r| (r / 2).max(1))
            .min(MAX_CHOSEN_CHUNK)
            .min(self.server_max.unwrap_or(u64::MAX));
        (self.start.min(max), max)
    }

    /// The new chunk size, given the link's suggestion within `bounds`; `None` keeps the plan.
    pub fn choose(&self, suggested: Option<u64>) -> Option<u64> {
        if self.planned {
            return None;
        }
        let (min, max) = self.bounds();
        let chosen = match suggested {
            Some(s) if self.adapt => s.clamp(min, max),
            _ => min,
        };
        if chosen < self.min_chunk || chosen == self.plan.chunk_size {
            return None;
        }
        let plan = ChunkPlan::new(self.plan.size, chosen, self.plan.rule);
        // A file that is one chunk either way is sent the same: nothing to change.
        if plan.total_chunks == 1 && self.plan.total_chunks == 1 {
            return None;
        }
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChunkRule;

    const MIB: u64 = 1024 * 1024;

    fn fit(size: u64, start: u64) -> Fit {
        Fit {
            planned: false,
            adapt: true,
            start,
            plan: ChunkPlan::new(size, start, ChunkRule::Floor),
            refused: None,
            server_max: None,
            min_chunk: 64 * 1024,
        }
    }

    #[test]
    fn a_new_file_takes_the_size_the_link_suggests_within_bounds() {
        let f = fit(256 * MIB, MIB);
        assert_eq!(f.choose(Some(16 * MIB)), Some(16 * MIB));
        assert_eq!(f.choose(Some(1024 * MIB)), Some(64 * MIB), "at most 64 MiB");
        assert_eq!(
            f.choose(Some(MIB / 2)),
            None,
            "never below the planned size"
        );
        assert_eq!(f.choose(None), None, "nothing measured: the plan stays");
        let capped = Fit {
            server_max: Some(8 * MIB),
            ..f
        };
        assert_eq!(
            capped.choose(Some(32 * MIB)),
            Some(8 * MIB),
            "the target's maximum"
        );
    }

    #[test]
    fn a_file_with_a_fixed_plan_is_never_planned_again() {
        let f = Fit {
            planned: true,
            refused: Some(MIB),
            ..fit(256 * MIB, 8 * MIB)
        };
        // Neither the link nor a 413 seen on another file changes a plan the server may know.
        assert_eq!(f.choose(Some(32 * MIB)), None);
        assert_eq!(f.choose(None), None);
    }

    #[test]
    fn a_chosen_size_is_kept_and_a_small_file_is_left_alone() {
        let pinned = Fit {
            adapt: false,
            ..fit(256 * MIB, 4 * MIB)
        };
        assert_eq!(pinned.choose(Some(32 * MIB)), None, "--chunk-size pins it");
        assert_eq!(
            fit(64 * 1024, MIB).choose(Some(16 * MIB)),
            None,
            "one chunk either way"
        );
    }

    #[test]
    fn a_refused_size_is_remembered_for_the_next_file() {
        let f = Fit {
            refused: Some(8 * MIB),
            ..fit(256 * MIB, 8 * MIB)
        };
        assert_eq!(f.bounds(), (4 * MIB, 4 * MIB));
        assert_eq!(
            f.choose(None),
            Some(4 * MIB),
            "starts below the refused size"
        );
        assert_eq!(f.choose(Some(32 * MIB)), Some(4 * MIB));
        let pinned = Fit { adapt: false, ..f };
        assert_eq!(
            pinned.choose(None),
            Some(4 * MIB),
            "a 413 re-plans a chosen size too"
        );
    }
}
