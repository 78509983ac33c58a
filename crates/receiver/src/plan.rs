//! The chunk plan: how a file of S bytes is cut into chunks of cs bytes, under either of
//! the two rules the browser libraries use. The receiver checks every chunk against it,
//! so a client that cuts a file differently than it claims is refused, not half-stored.

use serde::{Deserialize, Serialize};

/// Which cutting rule the client follows; decided once from the `totalChunks` it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PlanRule {
    /// The libraries' default: `max(floor(S/cs), 1)` chunks, the last holds the remainder
    /// on top of cs (so between cs and 2·cs bytes), or the whole file when S < cs.
    Floor,
    /// `forceChunkSize`: `ceil(S/cs)` chunks (1 for an empty file), the last ≤ cs.
    Ceil,
}

/// A validated plan: `total_chunks` matches one rule for `total_size` and `chunk_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChunkPlan {
    pub chunk_size: u64,
    pub total_size: u64,
    pub total_chunks: u64,
    pub rule: PlanRule,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    #[error("chunk size must be at least 1 byte, got 0")]
    ZeroChunkSize,
    #[error(
        "total chunks {sent} fits no chunk plan for {total_size} bytes in chunks of \
         {chunk_size}: expected {floor} (default rule) or {ceil} (forceChunkSize rule)"
    )]
    TotalChunks {
        sent: u64,
        total_size: u64,
        chunk_size: u64,
        floor: u64,
        ceil: u64,
    },
    #[error("chunk number {number} is out of range 1..={total_chunks}")]
    ChunkNumberOutOfRange { number: u64, total_chunks: u64 },
}

impl ChunkPlan {
    /// Accepts whichever rule yields the `total_chunks` the client sent. When both do (S a
    /// multiple of cs, or S < cs) the two rules cut the file identically, so either is fine.
    pub fn from_declared(
        chunk_size: u64,
        total_size: u64,
        total_chunks: u64,
    ) -> Result<Self, PlanError> {
        if chunk_size == 0 {
            return Err(PlanError::ZeroChunkSize);
        }
        let floor = (total_size / chunk_size).max(1);
        let ceil = total_size.div_ceil(chunk_size).max(1);
        let rule = if total_chunks == floor {
            PlanRule::Floor
        } else if total_chunks == ceil {
            PlanRule::Ceil
        } else {
            return Err(PlanError::TotalChunks {
                sent: total_chunks,
                total_size,
                chunk_size,
                floor,
                ceil,
            });
        };
        Ok(ChunkPlan {
            chunk_size,
            total_size,
            total_chunks,
            rule,
        })
    }

    /// Bytes that chunk `number` (1-based) must hold under this plan.
    pub fn chunk_len(&self, number: u64) -> Result<u64, PlanError> {
        if number == 0 || number > self.total_chunks {
            return Err(PlanError::ChunkNumberOutOfRange {
                number,
                total_chunks: self.total_chunks,
            });
        }
        if number < self.total_chunks {
            Ok(self.chunk_size)
        } else {
            // Never underflows: total_chunks - 1 full chunks fit in total_size by construction.
            Ok(self.total_size - (self.total_chunks - 1) * self.chunk_size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn default_rule_puts_the_remainder_in_the_last_chunk() {
        let plan = ChunkPlan::from_declared(MIB, 2 * MIB + 10, 2).unwrap();
        assert_eq!(plan.rule, PlanRule::Floor);
        assert_eq!(plan.chunk_len(1).unwrap(), MIB);
        assert_eq!(plan.chunk_len(2).unwrap(), MIB + 10);
    }

    #[test]
    fn force_rule_makes_a_short_last_chunk() {
        let plan = ChunkPlan::from_declared(MIB, 2 * MIB + 10, 3).unwrap();
        assert_eq!(plan.rule, PlanRule::Ceil);
        assert_eq!(plan.chunk_len(2).unwrap(), MIB);
        assert_eq!(plan.chunk_len(3).unwrap(), 10);
    }

    #[test]
    fn a_file_smaller_than_a_chunk_is_one_chunk_under_both_rules() {
        let plan = ChunkPlan::from_declared(MIB, 100, 1).unwrap();
        assert_eq!(plan.chunk_len(1).unwrap(), 100);
    }

    #[test]
    fn an_empty_file_is_one_empty_chunk() {
        let plan = ChunkPlan::from_declared(MIB, 0, 1).unwrap();
        assert_eq!(plan.chunk_len(1).unwrap(), 0);
    }

    #[test]
    fn a_total_that_fits_neither_rule_is_refused() {
        let err = ChunkPlan::from_declared(MIB, 2 * MIB + 10, 4).unwrap_err();
        assert!(matches!(
            err,
            PlanError::TotalChunks {
                floor: 2,
                ceil: 3,
                ..
            }
        ));
    }

    #[test]
    fn chunk_numbers_outside_the_plan_are_refused() {
        let plan = ChunkPlan::from_declared(MIB, 3 * MIB, 3).unwrap();
        assert!(plan.chunk_len(0).is_err());
        assert!(plan.chunk_len(4).is_err());
    }

    #[test]
    fn a_zero_chunk_size_is_refused() {
        assert_eq!(
            ChunkPlan::from_declared(0, 10, 1),
            Err(PlanError::ZeroChunkSize)
        );
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let plan = ChunkPlan::from_declared(u64::MAX / 2, u64::MAX, 2).unwrap();
        assert_eq!(plan.chunk_len(2).unwrap(), u64::MAX - u64::MAX / 2);
        let plan = ChunkPlan::from_declared(u64::MAX / 2, u64::MAX, 3).unwrap();
        assert_eq!(plan.chunk_len(3).unwrap(), 1);
    }
}
