import { describe, expect, it } from 'vitest';
import { QueueModel } from './queue';
import { batch, FAILED, summary } from './testdata';

function progress(id: number, acked: number, total = 10_000_000) {
  return { id, acked_bytes: acked, total_bytes: total, bytes_per_sec: 1000, eta_secs: 5 };
}

describe('queue model', () => {
  it('adds files in order and ignores a repeat of one the snapshot already had', () => {
    const m = new QueueModel();
    m.load({ uploads: [summary(1)], totals: { ...m.totals, files: 1 } });
    const a = m.apply(batch({ added: [summary(1, { acked_bytes: 5 }), summary(2)] }));
    expect(a.rows).toBe(true);
    expect(m.order).toEqual([1, 2]);
    expect(m.get(1)?.acked).toBe(0);
    expect(m.get(2)?.name).toBe('file-2.jpg');
    expect(m.get(2)?.folder).toBe('photos');
  });

  it('files added to a non-empty queue give a new id list, so views that derive from it redraw', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1), summary(2)] }));
    const before = m.ids('all');
    m.apply(batch({ added: [summary(3)] }));
    const after = m.ids('all');
    expect(after).not.toBe(before);
    expect(after).toEqual([1, 2, 3]);
    expect(before).toEqual([1, 2]);
    m.load({ uploads: [summary(1), summary(2), summary(3), summary(4)], totals: m.totals });
    expect(m.ids('all')).toEqual([1, 2, 3, 4]);
  });

  it('files added while a snapshot is read are kept when the older snapshot lands', () => {
    const m = new QueueModel();
    m.load({ uploads: [summary(1)], totals: m.totals });
    m.startRead();
    // The shell took the snapshot, then queued file 3 and sent its batch before the reply.
    m.apply(batch({ added: [summary(3)], files: [{ id: 3, state: { state: 'uploading' } }] }));
    m.load({ uploads: [summary(1), summary(2)], totals: m.totals });
    expect(m.ids('all')).toEqual([1, 2, 3]);
    expect(m.counts().all).toBe(3);
    expect(m.get(3)?.state.state).toBe('uploading');
    // Only while a read is in flight: a later load is the whole truth again.
    m.load({ uploads: [summary(1)], totals: m.totals });
    expect(m.ids('all')).toEqual([1]);
  });

  it('a file renamed where it came from reads its new name and folder', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1, { relative_path: 'w/old.txt', path: '/home/me/w/old.txt' })] }));
    const a = m.apply(batch({ renamed: [{ id: 1, path: '/home/me/w/docs/new.txt', relative_path: 'w/docs/new.txt' }] }));
    expect(a.rows).toBe(true);
    const row = m.rows.get(1)!;
    expect(row.name).toBe('new.txt');
    expect(row.folder).toBe('w/docs');
    expect(row.path).toBe('/home/me/w/docs/new.txt');
  });

  it('acknowledged bytes never go backwards nor past the size', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1)] }));
    m.apply(batch({ progress: [progress(1, 6_000_000)] }));
    m.apply(batch({ progress: [progress(1, 4_000_000)] }));
    expect(m.get(1)?.acked).toBe(6_000_000);
    m.apply(batch({ chunks: [{ id: 1, chunk: 3, state: { state: 'done' }, acked_bytes: 3_000_000 }] }));
    expect(m.get(1)?.acked).toBe(6_000_000);
    m.apply(batch({ progress: [progress(1, 12_000_000)] }));
    expect(m.get(1)?.acked).toBe(10_000_000);
  });

  it('a re-plan starts the bytes and the chunk map over', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1)], progress: [progress(1, 5_000_000)] }));
    m.setChunks(1, []);
    m.apply(batch({ replanned: [{ id: 1, chunk_size: 500_000, total_chunks: 20, reason: '413' }] }));
    expect(m.get(1)?.acked).toBe(0);
    expect(m.get(1)?.totalChunks).toBe(20);
    expect(m.get(1)?.replanReason).toBe('413');
  });

  it('rows are replaced, not mutated, so views notice the change', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1)] }));
    const before = m.get(1);
    m.apply(batch({ files: [{ id: 1, state: { state: 'uploading' } }] }));
    expect(m.get(1)).not.toBe(before);
    expect(before?.state.state).toBe('queued');
  });

  it('a late batch does not bring a done file back to uploading', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1)], files: [{ id: 1, state: { state: 'done' } }] }));
    m.apply(batch({ files: [{ id: 1, state: { state: 'uploading' } }] }));
    expect(m.get(1)?.state.state).toBe('done');
  });

  it('tabs filter by state and count', () => {
    const m = new QueueModel();
    m.apply(
      batch({
        added: [summary(1), summary(2), summary(3), summary(4)],
        files: [
          { id: 2, state: { state: 'done' } },
          { id: 3, state: FAILED },
          { id: 4, state: { state: 'paused' } },
        ],
      }),
    );
    expect(m.ids('active')).toEqual([1, 4]);
    expect(m.ids('done')).toEqual([2]);
    expect(m.ids('failed')).toEqual([3]);
    expect(m.counts()).toEqual({ all: 4, active: 2, done: 1, failed: 1 });
  });

  it('chunk events update the open chunk map, keeping done chunks done', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1)] }));
    const cell = (n: number) => ({
      number: n,
      start: (n - 1) * 1_000_000,
      end: n * 1_000_000,
      state: { state: 'pending' as const },
      attempts: 0,
      last_answer: '',
    });
    m.setChunks(1, [cell(1), cell(2)]);
    const a = m.apply(
      batch({
        chunks: [
          { id: 1, chunk: 1, state: { state: 'done' }, acked_bytes: 1_000_000 },
          {
            id: 1,
            chunk: 2,
            state: { state: 'retrying', attempt: 3, retry_in_ms: 1000, reason: '503 busy' },
            acked_bytes: 1_000_000,
          },
          { id: 2, chunk: 1, state: { state: 'done' }, acked_bytes: 1 },
        ],
      }),
    );
    expect(a.chunks).toBe(true);
    expect(m.chunkMap?.chunks[0].state.state).toBe('done');
    expect(m.chunkMap?.chunks[1].attempts).toBe(2);
    expect(m.chunkMap?.chunks[1].last_answer).toBe('503 busy');
    m.apply(batch({ chunks: [{ id: 1, chunk: 1, state: { state: 'sending' }, acked_bytes: 0 }] }));
    expect(m.chunkMap?.chunks[0].state.state).toBe('done');
  });

  it('removed files leave the list and close their chunk map', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1), summary(2)] }));
    m.setChunks(1, []);
    m.apply(batch({ removed: [1] }));
    expect(m.order).toEqual([2]);
    expect(m.chunkMap).toBeNull();
  });

  it('toolbar totals agree with the rows at once, not a second later', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1), summary(2)], progress: [progress(1, 4_000_000)] }));
    m.apply(batch({ files: [{ id: 2, state: { state: 'done' } }], progress: [progress(2, 10_000_000)] }));
    const t = m.liveTotals();
    expect([t.files, t.files_done, t.bytes_total, t.bytes_acked]).toEqual([2, 1, 20_000_000, 14_000_000]);
  });

  it('applies 10,000 added files in one batch quickly', () => {
    const m = new QueueModel();
    const added = Array.from({ length: 10_000 }, (_, i) => summary(i + 1));
    const t0 = performance.now();
    m.apply(batch({ added }));
    m.apply(batch({ progress: added.map((u) => progress(u.id, 1000)) }));
    const ms = performance.now() - t0;
    expect(m.order.length).toBe(10_000);
    expect(ms).toBeLessThan(500);
  });
  it('bytes in flight fill a sending chunk, never shrink, and start over with its next state', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1)] }));
    m.setChunks(1, Array.from({ length: 3 }, (_, i) => ({
      number: i + 1, start: i * 1_000_000, end: (i + 1) * 1_000_000, state: { state: 'pending' as const }, attempts: 0, last_answer: '',
    })));
    const sending = { state: 'sending' as const };
    const fly = (chunk: number, sent: number) => ({ id: 1, chunk, sent_bytes: sent, chunk_bytes: 1_000_000 });
    // A fill for a chunk that is not being sent (yet, or any more) is ignored.
    m.apply(batch({ in_flight: [fly(1, 100)] }));
    expect(m.chunkMap?.sent.size).toBe(0);
    const a = m.apply(batch({ chunks: [{ id: 1, chunk: 1, state: sending, acked_bytes: 0 }], in_flight: [fly(1, 400_000)] }));
    expect(a.chunks).toBe(true);
    expect(m.chunkMap?.sent.get(1)).toBe(400_000);
    m.apply(batch({ in_flight: [fly(1, 300_000), { ...fly(1, 900_000), id: 2 }] }));
    expect(m.chunkMap?.sent.get(1)).toBe(400_000);
    // Acknowledged bytes do not follow the fill.
    expect(m.get(1)?.acked).toBe(0);
    m.apply(batch({ chunks: [{ id: 1, chunk: 1, state: { state: 'retrying', attempt: 2, retry_in_ms: 100, reason: 'reset' }, acked_bytes: 0 }] }));
    expect(m.chunkMap?.sent.has(1)).toBe(false);
    m.apply(batch({ chunks: [{ id: 1, chunk: 1, state: sending, acked_bytes: 0 }], in_flight: [fly(1, 50_000)] }));
    expect(m.chunkMap?.sent.get(1)).toBe(50_000);
  });
});

describe('one speed and one time left for rows and totals', () => {
  const MiB = 1024 * 1024;

  /**
   * A 64 MiB file in 8 MiB chunks at a 1 MiB/s limit, as the engine reports it: bytes in
   * flight every 250 ms, an acknowledgement every 8 s, and once a second its own speed
   * (acknowledged bytes over 5 s, so 1.6 MiB/s or 0) and time left.
   */
  function throttled(onSecond: (m: QueueModel, t: number) => void) {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1, { size: 64 * MiB, chunk_size: 8 * MiB, total_chunks: 8 })], files: [{ id: 1, state: { state: 'uploading' } }] }), 0);
    const acks: number[] = [];
    let acked = 0;
    for (let t = 250; t <= 60_000 && acked < 64 * MiB; t += 250) {
      const sentTotal = (t / 1000) * MiB;
      const chunk = Math.floor(sentTotal / (8 * MiB)) + 1;
      const b = batch();
      if (sentTotal - acked >= 8 * MiB) {
        acked += 8 * MiB;
        acks.push(t);
        b.chunks = [{ id: 1, chunk: chunk - 1, state: { state: 'done' }, acked_bytes: acked }];
      }
      b.in_flight = [{ id: 1, chunk, sent_bytes: sentTotal - acked, chunk_bytes: 8 * MiB }];
      if (t % 1000 === 0) {
        const engineSpeed = (acks.filter((a) => a > t - 5000).length * 8 * MiB) / 5;
        b.progress = [{ id: 1, acked_bytes: acked, total_bytes: 64 * MiB, bytes_per_sec: engineSpeed, eta_secs: engineSpeed > 0 ? Math.ceil((64 * MiB - acked) / engineSpeed) : null }];
      }
      m.apply(b, t);
      if (t % 1000 === 0) onSecond(m, t);
    }
  }

  it('at a speed limit with large chunks, the time left goes down steadily', () => {
    const etas: number[] = [];
    throttled((m, t) => {
      if (t >= 3000 && t <= 56_000) etas.push(m.get(1)?.eta ?? -1);
    });
    expect(etas.every((e) => e > 0)).toBe(true);
    for (let i = 1; i < etas.length; i++) {
      const step = etas[i - 1] - etas[i];
      expect(step, `${etas[i - 1]} s then ${etas[i]} s`).toBeGreaterThanOrEqual(-1);
      expect(step, `${etas[i - 1]} s then ${etas[i]} s`).toBeLessThanOrEqual(3);
    }
  });

  it('the totals say what the one file uploading says', () => {
    throttled((m, t) => {
      if (t < 1000) return;
      const row = m.get(1);
      const totals = m.liveTotals();
      expect(totals.bytes_per_sec, `at ${t} ms`).toBe(row?.speed);
      expect(totals.eta_secs, `at ${t} ms`).toBe(row?.eta);
    });
  });

  it('the totals speed is the sum of the rows’, and their time left counts the files still waiting', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1), summary(2), summary(3)], files: [{ id: 1, state: { state: 'uploading' } }, { id: 2, state: { state: 'uploading' } }] }), 0);
    m.apply(batch({ progress: [{ ...progress(1, 2_000_000), bytes_per_sec: 1_000_000 }, { ...progress(2, 0), bytes_per_sec: 500_000 }] }), 100);
    expect(m.get(1)?.speed).toBe(1_000_000);
    expect(m.get(1)?.eta).toBe(8);
    expect(m.get(2)?.eta).toBe(20);
    const t = m.liveTotals();
    expect(t.bytes_per_sec).toBe(1_500_000);
    // 8 + 10 + 10 MB left (the third waits its turn) at 1.5 MB/s.
    expect(t.eta_secs).toBe(Math.ceil(28_000_000 / 1_500_000));
    // A paused file's speed leaves the totals at once.
    m.apply(batch({ files: [{ id: 2, state: { state: 'paused' } }] }), 200);
    expect(m.liveTotals().bytes_per_sec).toBe(1_000_000);
  });
});
