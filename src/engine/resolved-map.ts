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
   * first pass over a deep chain costs little more than a second one (issue 20). The unit is kept
   * as sorted (start, owner) segments in reused scratch, so a layer costs no new arrays.
   */
  private sectorMap(u: number): SectorRuns {
    const known = this.sectorMaps.get(u);
    if (known) return known;
    const off = u * this.unitSize;
    const n = Math.ceil(Math.min(this.unitSize, this.virtualSize - off) / this.sectorSize);
    let seg = this.segA;
    seg[0] = 0;
    seg[1] = OPEN;
    let segN = 1;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      const k = (off - (off % l.blockSize)) / l.blockSize; // floor, with no fraction to box in baseline code
      this.stats.probes++;
      const st = l.blockState(k);
      if (st === BLOCK_PARENT) continue;
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        const v = st === BLOCK_DATA ? i * 2 : i * 2 + 1;
        for (let j = 1; j < segN * 2; j += 2) if (seg[j] === OPEN) seg[j] = v;
        break;
      }
      // BLOCK_PARTIAL: the sectors this layer holds, as runs relative to the unit.
      this.heldN = 0;
      this.heldFirst = (off - k * l.blockSize) / this.sectorSize;
      l.forEachSectorRun(k, this.heldFirst, n, this.onRun);
      if (this.heldN === 0) continue;
      const out = (this.segB = room(this.segB, 2 * (segN + this.heldN + 1)));
      const outN = claim(seg, segN, n, this.held, this.heldN, i * 2, out);
      this.segB = seg;
      this.segA = seg = out;
      segN = outN;
      if (!hasOpen(seg, segN)) break;
    }
    // What no layer claimed falls through; neighbours of one owner become one run.
    const starts: number[] = [];
    const owners: number[] = [];
    for (let j = 0; j < segN; j++) {
      const v = seg[2 * j + 1] === OPEN ? THROUGH : seg[2 * j + 1]!;
      if (owners.length > 0 && owners[owners.length - 1] === v) continue;
      starts.push(seg[2 * j]!);
      owners.push(v);
    }
    const runs = { starts: Int32Array.from(starts), owners: Int16Array.from(owners) };
    this.sectorMaps.set(u, runs);
    return runs;
  }
  /** sectorMap's scratch: the unit's segments (two buffers: read one, write the other). */
  private segA = new Int32Array(64);
  private segB = new Int32Array(64);
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

/**
 * Give `owner` the parts of the OPEN segments that `held` covers. `seg` holds segN sorted
 * (start, owner) pairs tiling [0, n); `held` holds heldN / 2 sorted [start, end) pairs. The new
 * segments go to `out`, which has room for segN + heldN pairs (a held run adds at most two: the
 * part it claims and the open rest), neighbours of one owner merged; returns their count.
 */
function claim(seg: Int32Array, segN: number, n: number, held: Int32Array, heldN: number, owner: number, out: Int32Array): number {
  let outN = 0;
  let h = 0;
  for (let j = 0; j < segN; j++) {
    const a = seg[2 * j]!;
    const b = j + 1 < segN ? seg[2 * j + 2]! : n;
    const o = seg[2 * j + 1]!;
    if (o !== OPEN) {
      outN = put(out, outN, a, o);
      continue;
    }
    while (h < heldN && held[h + 1]! <= a) h += 2;
    let p = a;
    let t = h;
    while (p < b && t < heldN && held[t]! < b) {
      const cs = Math.max(p, held[t]!);
      const ce = Math.min(b, held[t + 1]!);
      if (cs > p) outN = put(out, outN, p, OPEN);
      outN = put(out, outN, cs, owner);
      p = ce;
      if (held[t + 1]! <= b) t += 2;
      else break;
    }
    if (p < b) outN = put(out, outN, p, OPEN);
    h = t;
  }
  return outN;
}

/** Append segment (start, o) to the outN segments in `out` unless the last has owner o; the new count. */
function put(out: Int32Array, outN: number, start: number, o: number): number {
  if (outN > 0 && out[2 * outN - 1] === o) return outN;
  out[2 * outN] = start;
  out[2 * outN + 1] = o;
  return outN + 1;
}

function hasOpen(seg: Int32Array, segN: number): boolean {
  for (let j = 1; j < segN * 2; j += 2) if (seg[j] === OPEN) return true;
  return false;
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
