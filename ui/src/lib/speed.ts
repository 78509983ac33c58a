// One file's speed, from the bytes the window sees move: acknowledged bytes plus the bytes of
// chunks in flight, sampled at each batch over a few seconds. The engine's own figure counts
// acknowledged chunks only, so at a speed limit with large chunks it swings between bursts
// (and the time left with it: 4 s, 40 s, 11 s); bytes handed to the connection flow evenly.
// Rows and the totals both read these meters, so they cannot disagree.

/** How far back the figure looks. */
const WINDOW_MS = 6000;
/** Below this much history the engine's figure is shown (it has seen the file longer). */
const MIN_SPAN_MS = 1500;

export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  private engineFigure = 0;

  /** The engine's bytes per second, for the first moments of a file. */
  engine(bytesPerSec: number): void {
    this.engineFigure = bytesPerSec;
  }

  /** `bytes` moved so far (acknowledged + in flight) at time `t` (ms). */
  moved(t: number, bytes: number): void {
    const last = this.samples.at(-1);
    // Bytes taken back (a retry, a connection lost mid-chunk): history no longer applies.
    if (last && bytes < last.bytes) this.samples = [];
    if (last && t <= last.t && bytes >= last.bytes) {
      last.bytes = bytes;
    } else {
      this.samples.push({ t, bytes });
    }
    // Keep one sample at or before the window's start, so the span covers the whole window.
    while (this.samples.length > 2 && this.samples[1].t <= t - WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second at time `now` (ms). */
  speed(now: number): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || now - first.t < MIN_SPAN_MS) return this.engineFigure;
    return ((last.bytes - first.bytes) * 1000) / (now - first.t);
  }
}

/** Whole seconds to send `remaining` bytes at `bytesPerSec`, or null while nothing moves. */
export function secondsLeft(remaining: number, bytesPerSec: number): number | null {
  if (remaining <= 0) return 0;
  return bytesPerSec > 0 ? Math.ceil(remaining / bytesPerSec) : null;
}
