/**
 * The pread floor: the same reads as a chain's, issued as one `fs.readSync` per piece of the
 * layout (file, offset and length resolved in advance, no engine at all) — the best any
 * synchronous reader can do with this data placement.
 */
import * as fs from 'node:fs';
import type { ChainT } from './engine.js';

/** Every (file, file offset, length) the layout needs, per request, resolved in advance. */
export interface Plan {
  fd: Int32Array;
  fileOff: Float64Array;
  len: Int32Array;
  bufOff: Int32Array;
  /** Index of the first piece of each request, plus the end. */
  start: Int32Array;
}

/** The pieces of `requests` (virtual offsets of `reqLen` bytes each) in `chain`; `fds[k]` is layer k's file. */
export function plan(chain: ChainT, fds: number[], requests: ArrayLike<number>, reqLen: number): Plan {
  const p = { fd: [] as number[], fileOff: [] as number[], len: [] as number[], bufOff: [] as number[], start: [] as number[] };
  for (let r = 0; r < requests.length; r++) {
    const base = requests[r]!;
    p.start.push(p.fd.length);
    for (const s of chain.sources(base, reqLen)) {
      const l = chain.layers[s.layer]!;
      for (let off = s.offset; off < s.offset + s.length; ) {
        const k = Math.floor(off / l.blockSize);
        const n = Math.min(s.offset + s.length, (k + 1) * l.blockSize) - off;
        p.fd.push(fds[s.layer]!);
        p.fileOff.push(l.blockDataOffset(k) + off - k * l.blockSize);
        p.len.push(n);
        p.bufOff.push(off - base);
        off += n;
      }
    }
  }
  p.start.push(p.fd.length);
  return { fd: Int32Array.from(p.fd), fileOff: Float64Array.from(p.fileOff), len: Int32Array.from(p.len), bufOff: Int32Array.from(p.bufOff), start: Int32Array.from(p.start) };
}

export function runPlan(pl: Plan, buf: Uint8Array): void {
  const n = pl.fd.length;
  for (let i = 0; i < n; i++) fs.readSync(pl.fd[i]!, buf, pl.bufOff[i]!, pl.len[i]!, pl.fileOff[i]!);
}

/**
 * The plan's pieces of the requests starting at `first` (and `n` - 1 after it), as one PieceReader
 * table (file index = the plan's fd's index in `fds`) with buffer offsets from that request's start:
 * the floor's reads for a reader that splits them between threads (src/vhd/io/parallel-read.ts).
 */
export function pieceTable(pl: Plan, fds: readonly number[], first: number, n: number, reqLen: number): { table: Float64Array; count: number } {
  const a = pl.start[first]!;
  const b = pl.start[first + n]!;
  const table = new Float64Array((b - a) * 4);
  for (let i = a; i < b; i++) {
    const r = (i - a) * 4;
    const req = upperIndex(pl.start, i);
    table[r] = fds.indexOf(pl.fd[i]!);
    table[r + 1] = pl.fileOff[i]!;
    table[r + 2] = pl.len[i]!;
    table[r + 3] = (req - first) * reqLen + pl.bufOff[i]!;
  }
  return { table, count: b - a };
}

/** The request holding piece i (the last request whose first piece is at or before i). */
function upperIndex(start: Int32Array, i: number): number {
  let lo = 0;
  let hi = start.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (start[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
