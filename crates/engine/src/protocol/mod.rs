//! The Resumable.js / Flow.js wire protocol, free of any I/O: how files are cut, what the
//! parameters are called, and what each answer means. Targets build requests from it.

pub mod answer;
pub mod identifier;
pub mod params;
pub mod plan;

pub use answer::{
    classify_post, classify_test, looks_like_html, parse_retry_after, PostAnswer, TestAnswer,
};
pub use identifier::{default_identifier, strong_identifier};
pub use params::{ChunkParams, Dialect};
pub use plan::{ChunkPlan, ChunkRule};
