// Builders of engine-shaped data for the unit and browser tests.

import type { EventBatch } from '../generated/EventBatch';
import type { FileState } from '../generated/FileState';
import type { UploadSummary } from '../generated/UploadSummary';
import type { Row } from './queue';

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
    share_links: false,
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

/** A queue row as the window holds it (an empty file waiting, unless `over` says otherwise). */
export function row(over: Partial<Row> = {}): Row {
  return {
    id: 1,
    name: 'empty.txt',
    folder: '',
    path: '/home/me/empty.txt',
    target: 'http://127.0.0.1:4000/upload',
    size: 0,
    chunkSize: 1_048_576,
    totalChunks: 1,
    state: { state: 'queued' },
    acked: 0,
    inFlight: 0,
    speed: 0,
    eta: null,
    replanReason: null,
    shareLinks: false,
    ...over,
  };
}
