/** Test data, reads and assertions shared by the engine, simulator and crash tests. */
import { expect } from 'vitest';
import { HvsimError } from '../../src/errors.js';
import { Chain } from '../../src/engine/chain.js';
import type { DiskStore } from '../../src/engine/store.js';

/** n bytes of seeded xorshift data (the same bytes for the same seed, every run). */
export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * Like pattern(), but never zero, so that zeros read back in a test mean "came from nowhere"
 * (a lost write cannot hide as zeros).
 */
export function fill(n: number, seed: number): Uint8Array {
  const b = pattern(n, seed);
  for (let i = 0; i < n; i++) b[i]! |= 1;
  return b;
}

/** `fn` throws an HvsimError with this code and a one-line message mentioning each of `mentions`; returns it. */
export function expectError(fn: () => unknown, code: string, ...mentions: string[]): HvsimError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(HvsimError);
  const e = err as HvsimError;
  expect(e.code, e.message).toBe(code);
  expect(e.message).not.toContain('\n');
  for (const m of mentions) expect(e.message).toContain(m);
  return e;
}

/**
 * A line for a test file's summary: CPU time of this worker since the call (wall time depends on
 * what else runs on the machine) and wall time.
 */
export function workerClock(): () => string {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  return () => {
    const c = process.cpuUsage(cpu0);
    return `${((c.user + c.system) / 1e6).toFixed(1)} s CPU in this worker, ${((performance.now() - wall0) / 1000).toFixed(1)} s wall`;
  };
}

/** The HvsimError `p` rejects with (anything else, or no rejection, fails the test). */
export async function reject(p: Promise<unknown>): Promise<HvsimError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HvsimError) return e;
    throw e;
  }
  throw new Error('expected the operation to fail');
}

/** The whole virtual disk as the chain from `p` reads it (real files, or `store`). */
export function readChain(p: string, store?: DiskStore): Buffer {
  const c = Chain.open(p, store ? { store } : {});
  try {
    const b = Buffer.alloc(c.virtualSize);
    c.read(b, 0);
    return b;
  } finally {
    c.close();
  }
}

/** The HvsimError `fn` throws (anything else thrown, or nothing, fails the test). */
export function thrownHvsimError(fn: () => unknown): HvsimError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HvsimError) return e;
    throw e;
  }
  throw new Error('nothing thrown');
}
