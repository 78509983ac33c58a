//! What a kind of server can do, as data. The scheduler reads these flags and never asks which
//! kind of server it talks to, so a new target changes no scheduling code (the idea of
//! rclone's optional features).

/// The abilities of one target. Each target module declares its own as a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// It answers whether it already has one chunk (the Resumable.js GET test).
    pub test_chunk: bool,
    /// It may list every chunk it stored in one request (`Target::stored_chunks`); when it
    /// turns out not to, chunks are tested one by one.
    pub list_stored_chunks: bool,
    /// Chunk 1 creates the file: nothing else of the file is sent before it is stored.
    pub first_chunk_alone: bool,
    /// The server file is created by a request of its own (`Target::create_file`) before any
    /// chunk, and its id is committed to the queue before a byte is sent: a run killed in the
    /// middle of a chunk then leaves nothing on the server the next run cannot reuse.
    pub creates_file_first: bool,
    /// Chunks must arrive in order, one at a time (tus-like servers).
    pub in_order: bool,
    /// A file goes in one request, whatever its size: no chunking, and resuming means
    /// sending it again from its start.
    pub whole_file: bool,
    /// The chunk size used unless the person picks one.
    pub preferred_chunk_size: u64,
    /// The largest chunk the server takes; bigger choices are brought down to it.
    pub max_chunk_size: Option<u64>,
    /// It can move or rename a stored file without its bytes (`Target::move_file`).
    pub move_files: bool,
    /// A batch's new top folders can be kept out of sight until their last file is in
    /// (`Target::prepare`).
    pub hide_new_folders: bool,
    /// `Target::reachable` really asks the server; without it the queue cannot tell the
    /// network came back before trying a chunk again.
    pub reachability_probe: bool,
    /// It can make a public read link to a finished file (`Target::share_link`).
    pub share_links: bool,
}

impl Capabilities {
    /// A server that can do nothing beyond taking chunks, one file after another; kinds
    /// declare what they add to it.
    pub const NONE: Capabilities = Capabilities {
        test_chunk: false,
        list_stored_chunks: false,
        first_chunk_alone: false,
        creates_file_first: false,
        in_order: false,
        whole_file: false,
        preferred_chunk_size: 1024 * 1024,
        max_chunk_size: None,
        move_files: false,
        hide_new_folders: false,
        reachability_probe: false,
        share_links: false,
    };

    /// The chunk size for a new file: the person's choice (or the target's preference),
    /// within the server's limit; a whole-file target takes the file in one piece.
    pub fn chunk_size_for(&self, chosen: Option<u64>, file_size: u64) -> u64 {
        if self.whole_file {
            return file_size.max(1);
        }
        let size = chosen.unwrap_or(self.preferred_chunk_size).max(1);
        match self.max_chunk_size {
            Some(max) => size.min(max.max(1)),
            None => size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Capabilities = Capabilities {
        test_chunk: true,
        list_stored_chunks: false,
        first_chunk_alone: false,
        creates_file_first: false,
        in_order: false,
        whole_file: false,
        preferred_chunk_size: 1024,
        max_chunk_size: Some(4096),
        move_files: false,
        hide_new_folders: false,
        reachability_probe: true,
        share_links: false,
    };

    #[test]
    fn chunk_sizes_follow_the_choice_within_the_servers_limit() {
        assert_eq!(BASE.chunk_size_for(None, 10_000), 1024);
        assert_eq!(BASE.chunk_size_for(Some(2048), 10_000), 2048);
        assert_eq!(BASE.chunk_size_for(Some(1 << 20), 10_000), 4096);
        let whole = Capabilities {
            whole_file: true,
            ..BASE
        };
        assert_eq!(whole.chunk_size_for(Some(2048), 10_000), 10_000);
        assert_eq!(whole.chunk_size_for(None, 0), 1);
    }
}
