//! The right to write one chunk's range of a data file, as storage sees it. The claims
//! themselves (at most one live per chunk, revoked when a staged copy takes over) belong to
//! the in-memory uploads; storage only writes under one and asks whether it still holds.

use std::fs::File;
use std::io;

/// A claim on one chunk's range of the data file.
pub(crate) trait RangeClaim: std::fmt::Debug + Send + Sync {
    /// Writes `bytes` at `offset` unless the claim was revoked; says whether it wrote.
    /// Blocking.
    fn write_at(&self, file: &File, bytes: &[u8], offset: u64) -> io::Result<bool>;

    /// Where the claimed chunk starts in the data file.
    fn range_start(&self) -> u64;

    /// Gives back the disk blocks of `len` bytes at `offset` after a failed write, unless
    /// the claim was revoked. Best effort. Blocking.
    fn release_range(&self, file: &File, offset: u64, len: u64);

    /// Whether another request took the range over.
    fn is_revoked(&self) -> bool;
}
