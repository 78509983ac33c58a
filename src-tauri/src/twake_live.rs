//! A Twake Drive target whose session can be replaced while uploads hold it. Each queued
//! upload keeps the target it was queued with; when that target's session ends (a refused
//! renewal) and the person signs in again, the new session must reach those uploads too, or
//! "retry" would fail again with the old one. The shell registers this wrapper with the
//! engine and swaps what is inside on each new sign-in.

use async_trait::async_trait;
use std::sync::{Arc, RwLock};
use upload_engine::body::ChunkBody;
use upload_engine::protocol::TestAnswer;
use upload_engine::targets::twake::TwakeTarget;
use upload_engine::targets::{ChunkReceipt, Target, UploadFile};
use upload_engine::ChunkError;

pub struct LiveTwakeTarget {
    inner: RwLock<Arc<TwakeTarget>>,
}

impl LiveTwakeTarget {
    pub fn new(target: TwakeTarget) -> LiveTwakeTarget {
        LiveTwakeTarget {
            inner: RwLock::new(Arc::new(target)),
        }
    }

    /// Uploads use `target` (a fresh session) from their next request on.
    pub fn replace(&self, target: TwakeTarget) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        *inner = Arc::new(target);
    }

    fn current(&self) -> Arc<TwakeTarget> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Target for LiveTwakeTarget {
    fn label(&self) -> String {
        self.current().label()
    }

    fn can_test(&self) -> bool {
        self.current().can_test()
    }

    fn first_chunk_alone(&self) -> bool {
        self.current().first_chunk_alone()
    }

    async fn stored_chunks(&self, file: &UploadFile) -> Result<Option<Vec<u32>>, ChunkError> {
        self.current().stored_chunks(file).await
    }

    async fn test_chunk(&self, file: &UploadFile, number: u32) -> Result<TestAnswer, ChunkError> {
        self.current().test_chunk(file, number).await
    }

    async fn send_chunk(
        &self,
        file: &UploadFile,
        number: u32,
        body: ChunkBody,
    ) -> Result<ChunkReceipt, ChunkError> {
        self.current().send_chunk(file, number, body).await
    }

    async fn finish(&self, file: &UploadFile) -> Result<(), ChunkError> {
        self.current().finish(file).await
    }

    async fn reachable(&self) -> Result<(), ChunkError> {
        self.current().reachable().await
    }

    async fn move_file(&self, from: &str, to: &str) -> Result<bool, ChunkError> {
        self.current().move_file(from, to).await
    }

    async fn cancel(&self, file: &UploadFile) -> Result<(), ChunkError> {
        self.current().cancel(file).await
    }
}
