//! The chunk plan: how a file of a given size is cut into numbered chunks.
//! Both rules of the peers are here (docs/protocol.md, "Cutting a file"): the default
//! "floor" rule, where the last chunk absorbs the remainder, and `forceChunkSize`, where
//! every chunk is at most cs.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Which of the two chunking rules of resumable.js / flow.js a plan follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkRule {
    /// `max(floor(size / cs), 1)` chunks; the last one holds `cs + size % cs` bytes.
    #[default]
    Floor,
    /// `ceil(size / cs)` chunks (one for an empty file); every chunk holds at most cs bytes.
    Force,
}

/// A fixed cutting of one file. Chunk numbers are 1-based, as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPlan {
    /// File size in bytes.
    pub size: u64,
    /// The configured chunk size (sent as `resumableChunkSize`), not any one chunk's length.
    pub chunk_size: u64,
    pub rule: ChunkRule,
    pub total_chunks: u32,
}

impl ChunkPlan {
    /// Plans a file. `chunk_size` must be at least 1; a zero is treated as 1 so a bad
    /// setting can never divide by zero.
    pub fn new(size: u64, chunk_size: u64, rule: ChunkRule) -> ChunkPlan {
        let cs = chunk_size.max(1);
        let count = match rule {
            ChunkRule::Floor => (size / cs).max(1),
            ChunkRule::Force => size.div_ceil(cs).max(1),
        };
        ChunkPlan {
            size,
            chunk_size: cs,
            rule,
            total_chunks: u32::try_from(count).unwrap_or(u32::MAX),
        }
    }

    /// Byte range of chunk `number` (1-based). Panics on a number outside `1..=total_chunks`,
    /// which would be a bug in the caller, never a consequence of input.
    pub fn range(&self, number: u32) -> Range<u64> {
        assert!(
            number >= 1 && number <= self.total_chunks,
            "chunk {number} outside 1..={}",
            self.total_chunks
        );
        let start = (u64::from(number) - 1) * self.chunk_size;
        let end = if number == self.total_chunks {
            self.size
        } else {
            (start + self.chunk_size).min(self.size)
        };
        start..end
    }

    /// Length of chunk `number` in bytes.
    pub fn len(&self, number: u32) -> u64 {
        let r = self.range(number);
        r.end - r.start
    }

    /// True for a plan of an empty file (one chunk of zero bytes).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// All chunk numbers in order.
    pub fn numbers(&self) -> impl Iterator<Item = u32> {
        1..=self.total_chunks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_tiles(plan: &ChunkPlan) {
        let mut next = 0;
        for n in plan.numbers() {
            let r = plan.range(n);
            assert_eq!(
                r.start, next,
                "chunk {n} does not start where the previous ended"
            );
            assert!(r.end >= r.start);
            next = r.end;
        }
        assert_eq!(next, plan.size, "chunks do not end at the file's end");
    }

    #[test]
    fn empty_file_is_one_chunk_of_zero_bytes() {
        for rule in [ChunkRule::Floor, ChunkRule::Force] {
            let p = ChunkPlan::new(0, 1024, rule);
            assert_eq!(p.total_chunks, 1);
            assert_eq!(p.range(1), 0..0);
            assert!(p.is_empty());
        }
    }

    #[test]
    fn floor_rule_puts_the_remainder_in_the_last_chunk() {
        let cs = 1000;
        for (size, chunks, last) in [
            (1, 1, 1),
            (cs - 1, 1, cs - 1),
            (cs, 1, cs),
            (cs + 1, 1, cs + 1),
            (2 * cs - 1, 1, 2 * cs - 1),
            (2 * cs, 2, cs),
            (2 * cs + 1, 2, cs + 1),
        ] {
            let p = ChunkPlan::new(size, cs, ChunkRule::Floor);
            assert_eq!(p.total_chunks, chunks, "size {size}");
            assert_eq!(p.len(chunks), last, "size {size}");
            assert_tiles(&p);
        }
    }

    #[test]
    fn force_rule_never_exceeds_the_chunk_size() {
        let cs = 1000;
        for (size, chunks, last) in [
            (1, 1, 1),
            (cs - 1, 1, cs - 1),
            (cs, 1, cs),
            (cs + 1, 2, 1),
            (2 * cs - 1, 2, cs - 1),
            (2 * cs, 2, cs),
        ] {
            let p = ChunkPlan::new(size, cs, ChunkRule::Force);
            assert_eq!(p.total_chunks, chunks, "size {size}");
            assert_eq!(p.len(chunks), last, "size {size}");
            assert_tiles(&p);
        }
    }

    #[test]
    fn a_zero_chunk_size_is_treated_as_one() {
        let p = ChunkPlan::new(3, 0, ChunkRule::Floor);
        assert_eq!(p.total_chunks, 3);
        assert_tiles(&p);
    }

    proptest! {
        #[test]
        fn chunks_tile_the_file_exactly(size in 0u64..50_000_000, cs in 1u64..5_000_000, force in any::<bool>()) {
            let rule = if force { ChunkRule::Force } else { ChunkRule::Floor };
            let p = ChunkPlan::new(size, cs, rule);
            assert_tiles(&p);
            for n in p.numbers() {
                let len = p.len(n);
                match rule {
                    ChunkRule::Force => prop_assert!(len <= cs),
                    ChunkRule::Floor if n < p.total_chunks => prop_assert_eq!(len, cs),
                    ChunkRule::Floor => prop_assert!(size < cs || (len >= cs && len < 2 * cs)),
                }
            }
        }

        #[test]
        fn sizes_near_chunk_boundaries_tile(k in 0u64..4, delta in -1i64..=1, cs in 1u64..100_000, force in any::<bool>()) {
            let size = (k * cs).saturating_add_signed(delta);
            let rule = if force { ChunkRule::Force } else { ChunkRule::Floor };
            assert_tiles(&ChunkPlan::new(size, cs, rule));
        }

        #[test]
        fn large_files_tile(size in 1u64<<32..1u64<<40, cs in 1u64<<24..1u64<<30) {
            assert_tiles(&ChunkPlan::new(size, cs, ChunkRule::Floor));
            assert_tiles(&ChunkPlan::new(size, cs, ChunkRule::Force));
        }
    }
}
