// Builders of engine-shaped data for the unit and browser tests.

import type { EventBatch } from '../generated/EventBatch';
import type { FileState } from '../generated/FileState';
import type { UploadSummary } from '../generated/UploadSummary';

export function summary(id: number, over: Partial<UploadSummary> = {}): UploadSummary {
  return {
    id,
    path: `/home/me/photos/file-${id}.jpg`,
    relative_path: `photos/file-${id}.jpg`,
    target: 'http://127.0.0.1:4000/upload',
    size: 10_000_000,
    chunk_size: 1_000_000,
    total_chunks: 10,
    state: { state: 'queued' },
    acked_bytes: 0,
    bytes_per_sec: 0,
    eta_secs: null,
    ...over,
  };
}

export function batch(over: Partial<EventBatch> = {}): EventBatch {
  return {
    added: [],
    replanned: [],
    files: [],
    chunks: [],
    progress: [],
    removed: [],
    totals: null,
    connectivity: null,
    notices: [],
    resync: false,
    order: null,
    in_flight: [],
    renamed: [],
    ...over,
  };
}

export const FAILED: FileState = {
  state: 'failed',
  kind: 'refused',
  reason: 'http://127.0.0.1:4000/upload refused the upload (403): forbidden',
  retryable: false,
};
