//! Strict Resumable.js / Flow.js receiver (see PROTOCOL.md §2).
