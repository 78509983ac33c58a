//! A stand-in for a target that could not be rebuilt from the store, so its uploads stay
//! visible (failed, with the reason) instead of vanishing from the queue.

use crate::body::ChunkBody;
use crate::error::ChunkError;
use crate::protocol::TestAnswer;
use crate::targets::{Capabilities, ChunkReceipt, Target, UploadFile};
use async_trait::async_trait;

pub struct Unavailable(pub String);

impl Unavailable {
    fn refuse(&self) -> ChunkError {
        ChunkError::Permanent {
            url: String::new(),
            status: 0,
            message: self.0.clone(),
            kind: crate::events::FailureKind::Refused,
        }
    }
}

#[async_trait]
impl Target for Unavailable {
    fn label(&self) -> String {
        format!("unavailable target ({})", self.0)
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
    }
    async fn test_chunk(&self, _: &UploadFile, _: u32) -> Result<TestAnswer, ChunkError> {
        Err(self.refuse())
    }
    async fn send_chunk(
        &self,
        _: &UploadFile,
        _: u32,
        _: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError> {
        Err(self.refuse())
    }
}
