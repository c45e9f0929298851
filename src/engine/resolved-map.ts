/**
 * Which layer of a stack (bottom first) supplies each part of the virtual disk, with no parent
 * fall-through below the stack: a lazily built map from unit (the smallest block size among the
 * layers) to its owner, so a chain read costs the same at any depth and a merge copies exactly
 * what the layers hold. A unit whose topmost holder is a partially present block gets a
 * per-sector map (MS-VHDX §2.4 sector bitmap), built once.
 */
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_ZERO, type DiskImage } from '../vhd/disk.js';

/** Owner code of a run: `layer * 2` data held by that layer, `layer * 2 + 1` zeros it sets, THROUGH: none of these layers holds it. */
export const THROUGH = -1;
const MIXED = -2; // sectors come from several layers: see the sector map
const UNRESOLVED = -3;

/** The layer to read for an owner code, or -1 for zeros (a zero block, or nothing in the stack). */
function readSource(owner: number): number {
  return owner >= 0 && (owner & 1) === 0 ? owner >> 1 : -1;
}

/** Counters for analysis: how many layer probes resolution needed. */
export interface ProbeStats {
  /** Layer block-state lookups done (resolution and naive walks). */
  probes: number;
  /** Units resolved (each at most once between invalidations). */
  unitsResolved: number;
}

export class ResolvedMap {
  readonly unitSize: number;
  readonly sectorSize: number;
  private readonly virtualSize: number;
  private owner: Int16Array;
  private sectorMaps = new Map<number, SectorRuns>();
  readonly stats: ProbeStats = { probes: 0, unitsResolved: 0 };

  /** `layers[0]` is the base, the last is the leaf. */
  constructor(private layers: readonly DiskImage[]) {
    this.unitSize = Math.min(...layers.map((l) => l.blockSize));
    this.sectorSize = layers[0]!.logicalSectorSize;
    this.virtualSize = layers[0]!.virtualSize;
    const units = Math.ceil(this.virtualSize / this.unitSize);
    this.owner = new Int16Array(units).fill(UNRESOLVED);
  }

  get unitCount(): number {
    return this.owner.length;
  }

  /** Forget what is known about units overlapping a byte range (after a write or merge). */
  invalidate(offset: number, length: number): void {
    if (length <= 0) return;
    const a = Math.floor(offset / this.unitSize);
    const b = Math.min(this.owner.length, Math.ceil((offset + length) / this.unitSize));
    for (let u = a; u < b; u++) {
      this.owner[u] = UNRESOLVED;
      this.sectorMaps.delete(u);
    }
  }

  invalidateAll(): void {
    this.owner.fill(UNRESOLVED);
    this.sectorMaps.clear();
  }

  /** Replace the layer list (after a merge or a new leaf) and forget everything. */
  reset(layers: readonly DiskImage[]): void {
    this.layers = layers;
    this.invalidateAll();
  }

  /** Owner of unit u: an owner code, or MIXED. */
  private unitOwner(u: number): number {
    let o = this.owner[u]!;
    if (o === UNRESOLVED) o = this.resolveUnit(u);
    return o;
  }

  private resolveUnit(u: number): number {
    this.stats.unitsResolved++;
    const off = u * this.unitSize;
    let result = THROUGH;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      this.stats.probes++;
      const st = l.blockState((off - (off % l.blockSize)) / l.blockSize);
      if (st === BLOCK_PARENT) continue;
      result = st === BLOCK_DATA ? i * 2 : st === BLOCK_ZERO ? i * 2 + 1 : MIXED;
      break;
    }
    this.owner[u] = result;
    return result;
  }

  /**
   * The owner runs of a MIXED unit, built layer by layer from the top: each partially present
   * layer's sector runs (§2.4) claim what is still open, as intervals — no per-sector work, so the
   * first pass over a deep chain costs little more than a second one (issue 20). The unit's
   * segments form a list in order, in reused scratch (segment j covers [segAt[j], the next one's
   * start), the last to the unit's end), beside the indices of those still open: a layer reads its
   * bitmap over the open span only and visits only the open segments, not all the layers above
   * claimed (cold code pays for every step).
   */
  private sectorMap(u: number): SectorRuns {
    const known = this.sectorMaps.get(u);
    if (known) return known;
    const off = u * this.unitSize;
    const n = Math.ceil(Math.min(this.unitSize, this.virtualSize - off) / this.sectorSize);
    this.segN = 1;
    this.segAt[0] = 0;
    this.segOwner[0] = OPEN;
    this.segNext[0] = -1;
    let open = this.openA;
    open[0] = 0;
    let openN = 1;
    for (let i = this.layers.length - 1; i >= 0 && openN > 0; i--) {
      const l = this.layers[i]!;
      const k = (off - (off % l.blockSize)) / l.blockSize; // floor, with no fraction to box in baseline code
      this.stats.probes++;
      const st = l.blockState(k);
      if (st === BLOCK_PARENT) continue;
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        const v = st === BLOCK_DATA ? i * 2 : i * 2 + 1;
        for (let j = 0; j < openN; j++) this.segOwner[open[j]!] = v;
        break;
      }
      // BLOCK_PARTIAL: the sectors this layer holds over the open span, as runs relative to the unit.
      const from = this.segAt[open[0]!]!;
      this.heldN = 0;
      this.heldFirst = (off - k * l.blockSize) / this.sectorSize;
      l.forEachSectorRun(k, this.heldFirst + from, this.segEnd(open[openN - 1]!, n) - from, this.onRun);
      if (this.heldN === 0) continue;
      // A held run starts and ends inside at most one segment each: two new segments, one more open.
      this.segAt = room(this.segAt, this.segN + this.heldN);
      this.segOwner = room(this.segOwner, this.segN + this.heldN);
      this.segNext = room(this.segNext, this.segN + this.heldN);
      const out = (this.openB = room(this.openB, openN + this.heldN / 2));
      openN = this.claim(open, openN, n, i * 2, out);
      this.openB = open;
      this.openA = open = out;
    }
    // What no layer claimed falls through; neighbours of one owner become one run (in scratch:
    // the open indices are no longer needed, and a unit has no more runs than segments).
    const starts = (this.openA = room(this.openA, this.segN));
    const owners = (this.openB = room(this.openB, this.segN));
    let runN = 0;
    for (let j = 0; j >= 0; j = this.segNext[j]!) {
      const v = this.segOwner[j] === OPEN ? THROUGH : this.segOwner[j]!;
      if (runN > 0 && owners[runN - 1] === v) continue;
      starts[runN] = this.segAt[j]!;
      owners[runN++] = v;
    }
    const runs = { starts: starts.slice(0, runN), owners: new Int16Array(owners.subarray(0, runN)) };
    this.sectorMaps.set(u, runs);
    return runs;
  }

  /**
   * Give `owner` what the held runs cover of the open segments listed in `open` (openN indices, in
   * order); the indices of the segments left open go to `out`, their count is returned.
   */
  private claim(open: Int32Array, openN: number, n: number, owner: number, out: Int32Array): number {
    const held = this.held;
    const heldN = this.heldN;
    const segAt = this.segAt; // sectorMap made room for every split
    let outN = 0;
    let h = 0;
    for (let j = 0; j < openN; j++) {
      let x = open[j]!; // the open segment [p, b)
      let p = segAt[x]!;
      const b = this.segEnd(x, n);
      while (h < heldN && held[h + 1]! <= p) h += 2;
      while (h < heldN && held[h]! < b) {
        const cs = Math.max(p, held[h]!);
        const ce = Math.min(b, held[h + 1]!);
        let y = x;
        if (cs > p) {
          y = this.split(x, cs, owner); // x keeps [p, cs) open
          out[outN++] = x;
        } else this.segOwner[x] = owner;
        if (ce === b) {
          x = -1; // claimed to its end; the held run may go on into the next open segment
          break;
        }
        x = this.split(y, ce, OPEN);
        p = ce;
        h += 2;
      }
      if (x >= 0) out[outN++] = x;
    }
    return outN;
  }

  /** A new segment from `at` to the end of segment x, which now ends at `at`; its index. */
  private split(x: number, at: number, owner: number): number {
    const y = this.segN++;
    this.segAt[y] = at;
    this.segOwner[y] = owner;
    this.segNext[y] = this.segNext[x]!;
    this.segNext[x] = y;
    return y;
  }

  private segEnd(x: number, n: number): number {
    const next = this.segNext[x]!;
    return next < 0 ? n : this.segAt[next]!;
  }

  /** sectorMap's scratch: the segment list, and the open segments' indices (two buffers: read one, write the other). */
  private segAt = new Int32Array(64);
  private segOwner = new Int32Array(64);
  private segNext = new Int32Array(64);
  private segN = 0;
  private openA = new Int32Array(64);
  private openB = new Int32Array(64);
  /** The runs a layer holds, as [start, end) pairs relative to the unit; heldFirst: the unit's first sector in the block. */
  private held = new Int32Array(64);
  private heldN = 0;
  private heldFirst = 0;
  private readonly onRun = (present: boolean, start: number, count: number): void => {
    if (!present) return;
    this.held = room(this.held, this.heldN + 2);
    this.held[this.heldN++] = start - this.heldFirst;
    this.held[this.heldN++] = start - this.heldFirst + count;
  };

  /**
   * Call `fn` for each maximal run of [offset, offset+length) with one owner code: the topmost
   * layer that holds data or zeros there, or THROUGH when every layer falls through.
   */
  forEachRun(offset: number, length: number, fn: (owner: number, offset: number, length: number) => void): void {
    this.walk(offset, length, false, fn);
  }

  /**
   * Call `fn` for each maximal piece of [offset, offset+length) with one source: a layer index
   * (read its file at its own mapping) or -1 for zeros.
   */
  forEachPiece(offset: number, length: number, fn: (layer: number, offset: number, length: number) => void): void {
    this.walk(offset, length, true, fn);
  }

  /**
   * Adjacent pieces with the same key are coalesced into one call; the key is the owner code, or
   * with `bySource` the layer to read (readSource). A flag, not a function: this is every read's path.
   */
  private walk(offset: number, length: number, bySource: boolean, fn: (k: number, offset: number, length: number) => void): void {
    const us = this.unitSize;
    const ss = this.sectorSize;
    let pos = offset;
    const end = Math.min(this.virtualSize, offset + length);
    const NONE = -9;
    let runKey = NONE;
    let runStart = offset;
    let runEnd = offset;
    const emit = (k: number, a: number, b: number): void => {
      if (runKey === k && a === runEnd) {
        runEnd = b;
        return;
      }
      if (runKey !== NONE) fn(runKey, runStart, runEnd - runStart);
      runKey = k;
      runStart = a;
      runEnd = b;
    };
    while (pos < end) {
      const u = (pos - (pos % us)) / us;
      const uEnd = Math.min(end, (u + 1) * us);
      const o = this.unitOwner(u);
      if (o !== MIXED) {
        emit(bySource ? readSource(o) : o, pos, uEnd);
      } else {
        const r = this.sectorMap(u);
        const base = u * us;
        // The run holding pos, then each run up to the unit's (or the range's) end.
        let j = runAt(r, Math.floor((pos - base) / ss));
        let p = pos;
        while (p < uEnd) {
          const q = j + 1 < r.starts.length ? Math.min(uEnd, base + r.starts[j + 1]! * ss) : uEnd;
          const v = r.owners[j]!;
          emit(bySource ? readSource(v) : v, p, q);
          p = q;
          j++;
        }
      }
      pos = uEnd;
    }
    if (runKey !== NONE) fn(runKey, runStart, runEnd - runStart);
  }
}

/** Owner runs of a MIXED unit: run j covers sectors [starts[j], starts[j+1]) (the last to the unit's end). */
interface SectorRuns {
  starts: Int32Array;
  owners: Int16Array;
}

/** sectorMap's mark for a segment no layer above has claimed yet. */
const OPEN = -100;

/** `a`, or a copy grown (doubling) to hold `n` numbers. */
function room(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (n <= a.length) return a;
  let size = a.length * 2;
  while (size < n) size *= 2;
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** Index of the run holding sector s (binary search). */
function runAt(r: SectorRuns, s: number): number {
  let lo = 0;
  let hi = r.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (r.starts[mid]! <= s) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
