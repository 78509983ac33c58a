//! The person's say on the order: "upload next" and moving a file in the line. Files already
//! holding a slot keep it; the order decides which waiting file gets the next free slot.

use super::*;

impl Scheduler {
    /// Puts a waiting file into `queued` at its place in the order.
    pub(super) fn wait_in_line(&mut self, id: UploadId) {
        self.queued.retain(|q| *q != id);
        let key = self.order.key(id);
        let at = self.queued.partition_point(|q| self.order.key(*q) < key);
        self.queued.insert(at, id);
    }

    pub(super) fn move_to_front(&mut self, id: UploadId) -> Result<(), EngineError> {
        if !self.order.contains(id) {
            return Err(EngineError::UnknownUpload(id.0));
        }
        match self.order.first_except(id) {
            Some(first) if self.order.key(id) > self.order.key(first) => {
                self.move_before(id, Some(first))
            }
            // Alone, or first already.
            _ => Ok(()),
        }
    }

    pub(super) fn move_before(
        &mut self,
        id: UploadId,
        before: Option<UploadId>,
    ) -> Result<(), EngineError> {
        for known in std::iter::once(id).chain(before) {
            if !self.order.contains(known) {
                return Err(EngineError::UnknownUpload(known.0));
            }
        }
        if before == Some(id) {
            return Ok(());
        }
        let changed = self.order.move_before(id, before);
        if let Some(store) = &self.store {
            store.set_positions(changed);
        }
        let mut waiting: Vec<UploadId> = self.queued.drain(..).collect();
        waiting.sort_by_key(|q| self.order.key(*q));
        self.queued = waiting.into();
        self.emit(Event::Reordered {
            order: self.order.sorted(),
        });
        Ok(())
    }
}
