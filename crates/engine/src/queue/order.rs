//! The queue's order: where each upload stands in line. Positions are sparse (`GAP` apart),
//! so moving a file usually changes one position (one row to save) rather than renumbering
//! the whole queue; only when two neighbours leave no room is everything spread out again.

use crate::ids::UploadId;
use std::collections::HashMap;

/// Distance between neighbours after a renumbering, and after the last file for a new one
/// (the store saves new uploads this far apart).
pub const GAP: i64 = crate::store::ORDER_GAP;

#[derive(Debug, Default)]
pub struct QueueOrder {
    positions: HashMap<UploadId, i64>,
}

impl QueueOrder {
    /// Sorting key: ties (possible only in a hand-edited database) fall back to the id.
    pub fn key(&self, id: UploadId) -> (i64, UploadId) {
        (self.positions.get(&id).copied().unwrap_or(i64::MAX), id)
    }

    pub fn contains(&self, id: UploadId) -> bool {
        self.positions.contains_key(&id)
    }

    /// Places `id` at a known position (an upload loaded from the store).
    pub fn place(&mut self, id: UploadId, position: i64) {
        self.positions.insert(id, position);
    }

    /// Puts `id` at the end of the line; answers its position.
    pub fn push_back(&mut self, id: UploadId) -> i64 {
        let last = self
            .positions
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(_, p)| *p)
            .max();
        let position = last.map_or(GAP, |p| p.saturating_add(GAP));
        self.positions.insert(id, position);
        position
    }

    pub fn remove(&mut self, id: UploadId) {
        self.positions.remove(&id);
    }

    /// Every upload, first in line first.
    pub fn sorted(&self) -> Vec<UploadId> {
        let mut all: Vec<(i64, UploadId)> =
            self.positions.iter().map(|(id, p)| (*p, *id)).collect();
        all.sort_unstable();
        all.into_iter().map(|(_, id)| id).collect()
    }

    /// The first upload in line other than `id`.
    pub fn first_except(&self, id: UploadId) -> Option<UploadId> {
        self.positions
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(other, p)| (*p, *other))
            .min()
            .map(|(_, other)| other)
    }

    /// Moves `id` just before `before`, or to the end for `None`. Both must be in the order.
    /// Answers the positions that changed (to be saved).
    pub fn move_before(&mut self, id: UploadId, before: Option<UploadId>) -> Vec<(UploadId, i64)> {
        let mut others: Vec<(i64, UploadId)> = self
            .positions
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(other, p)| (*p, *other))
            .collect();
        others.sort_unstable();
        let at = match before {
            None => others.len(),
            Some(b) => others
                .iter()
                .position(|(_, other)| *other == b)
                .unwrap_or(others.len()),
        };
        let next = others.get(at).map(|(p, _)| *p);
        let prev = at.checked_sub(1).map(|i| others[i].0);
        let free = match (prev, next) {
            (None, None) => Some(GAP),
            (Some(p), None) => p.checked_add(GAP),
            (None, Some(n)) => n.checked_sub(GAP),
            (Some(p), Some(n)) if n - p >= 2 => Some(p + (n - p) / 2),
            _ => None,
        };
        if let Some(position) = free {
            self.positions.insert(id, position);
            return vec![(id, position)];
        }
        // No room between the neighbours: spread everyone out again.
        let mut line: Vec<UploadId> = others.into_iter().map(|(_, other)| other).collect();
        line.insert(at, id);
        let mut changed = Vec::new();
        for (i, other) in line.into_iter().enumerate() {
            let position = (i as i64 + 1) * GAP;
            if self.positions.insert(other, position) != Some(position) {
                changed.push((other, position));
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(order: &QueueOrder) -> Vec<u64> {
        order.sorted().into_iter().map(|id| id.0).collect()
    }

    fn three() -> QueueOrder {
        let mut o = QueueOrder::default();
        for i in 1..=3 {
            o.push_back(UploadId(i));
        }
        o
    }

    #[test]
    fn new_files_join_the_end_of_the_line() {
        assert_eq!(ids(&three()), [1, 2, 3]);
    }

    #[test]
    fn moving_a_file_usually_changes_only_its_own_position() {
        let mut o = three();
        assert_eq!(o.move_before(UploadId(3), Some(UploadId(1))).len(), 1);
        assert_eq!(ids(&o), [3, 1, 2]);
        assert_eq!(o.move_before(UploadId(3), Some(UploadId(2))).len(), 1);
        assert_eq!(ids(&o), [1, 3, 2]);
        assert_eq!(o.move_before(UploadId(1), None).len(), 1);
        assert_eq!(ids(&o), [3, 2, 1]);
    }

    #[test]
    fn a_crowded_spot_spreads_the_line_out_again() {
        let mut o = three();
        // Halving the gap before file 2 again and again leaves no room after about ten moves.
        for round in 0..40 {
            let who = if round % 2 == 0 { 3 } else { 1 };
            o.move_before(UploadId(who), Some(UploadId(2)));
            let expect_last = 2;
            assert_eq!(*ids(&o).last().unwrap(), expect_last, "round {round}");
        }
        assert_eq!(ids(&o), [3, 1, 2]);
    }

    #[test]
    fn the_first_other_file_is_found() {
        let o = three();
        assert_eq!(o.first_except(UploadId(1)), Some(UploadId(2)));
        assert_eq!(o.first_except(UploadId(2)), Some(UploadId(1)));
    }
}
