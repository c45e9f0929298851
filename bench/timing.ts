/**
 * Timing: medians, forced collections around samples, rates. Timing is direct (performance.now
 * around whole passes) rather than a benchmark library: one sequential pass is 20–100 ms, and a
 * median of a few whole passes is what the reference figures use.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { MiB } from './engine.js';

export const log = (s: string): void => void process.stderr.write(s + '\n');

export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const mibps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);
export const round = (v: number, d = 2): number => Number(v.toFixed(d));

let collect: (() => void) | undefined;
/**
 * Milliseconds `fn` takes, after a full collection outside the timing: chain opens leave ~1 MiB of
 * garbage per layer (the metadata region buffer), which would otherwise be collected inside the
 * next pass.
 */
export function timed(fn: () => void): number {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** Samples in milliseconds by key; medians and best rounds of them. */
export class Samples {
  private readonly byKey = new Map<string, number[]>();
  put(key: string, ms: number): void {
    const v = this.byKey.get(key);
    if (v) v.push(ms);
    else this.byKey.set(key, [ms]);
  }
  median(key: string): number | null {
    const v = this.byKey.get(key);
    return v && v.length ? median(v) : null;
  }
  /** Best (smallest) sample: the least disturbed by other work on a shared machine. */
  best(key: string): number | null {
    const v = this.byKey.get(key);
    return v && v.length ? Math.min(...v) : null;
  }
  /** MiB/s of the median, whole. */
  rate(key: string, bytes: number): number | null {
    const m = this.median(key);
    return m === null ? null : round(mibps(bytes, m), 0);
  }
  /** µs per operation of the median, to 3 decimals. */
  perOp(key: string, count: number): number | null {
    const m = this.median(key);
    return m === null ? null : round((m * 1000) / count, 3);
  }
}
