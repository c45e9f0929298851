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
  private sectorMaps = new Map<number, Int16Array>();
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
      const st = l.blockState(Math.floor(off / l.blockSize));
      if (st === BLOCK_PARENT) continue;
      result = st === BLOCK_DATA ? i * 2 : st === BLOCK_ZERO ? i * 2 + 1 : MIXED;
      break;
    }
    this.owner[u] = result;
    return result;
  }

  /** Per-sector owner codes of a MIXED unit. */
  private sectorMap(u: number): Int16Array {
    const known = this.sectorMaps.get(u);
    if (known) return known;
    const off = u * this.unitSize;
    const n = Math.ceil(Math.min(this.unitSize, this.virtualSize - off) / this.sectorSize);
    // `m` and the count of open sectors are constants of this call, not variables the callback
    // reassigns (a captured variable that changes is kept in a context object: slower on every access).
    const m = new Int16Array(n).fill(UNRESOLVED);
    const open = [n];
    for (let i = this.layers.length - 1; i >= 0 && open[0]! > 0; i--) {
      const l = this.layers[i]!;
      const k = Math.floor(off / l.blockSize);
      this.stats.probes++;
      const st = l.blockState(k);
      if (st === BLOCK_PARENT) continue;
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        const v = st === BLOCK_DATA ? i * 2 : i * 2 + 1;
        for (let s = 0; s < n; s++) if (m[s] === UNRESOLVED) m[s] = v;
        open[0] = 0;
        break;
      }
      // BLOCK_PARTIAL: fill the sectors this layer holds.
      const first = (off - k * l.blockSize) / this.sectorSize;
      const v = i * 2;
      l.forEachSectorRun(k, first, n, (present, start, count) => {
        if (!present) return;
        let filled = 0;
        for (let s = start - first, e = start - first + count; s < e; s++) {
          if (m[s] === UNRESOLVED) {
            m[s] = v;
            filled++;
          }
        }
        open[0] = open[0]! - filled;
      });
    }
    if (open[0]! > 0) for (let s = 0; s < n; s++) if (m[s] === UNRESOLVED) m[s] = THROUGH;
    this.sectorMaps.set(u, m);
    return m;
  }

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
      const u = Math.floor(pos / us);
      const uEnd = Math.min(end, (u + 1) * us);
      const o = this.unitOwner(u);
      if (o !== MIXED) {
        emit(bySource ? readSource(o) : o, pos, uEnd);
      } else {
        const m = this.sectorMap(u);
        const base = u * us;
        let p = pos;
        while (p < uEnd) {
          const s = Math.floor((p - base) / ss);
          const v = m[s]!;
          let q = Math.min(uEnd, base + (s + 1) * ss);
          let t = s + 1;
          while (q < uEnd && m[t] === v) {
            t++;
            q = Math.min(uEnd, base + t * ss);
          }
          emit(bySource ? readSource(v) : v, p, q);
          p = q;
        }
      }
      pos = uEnd;
    }
    if (runKey !== NONE) fn(runKey, runStart, runEnd - runStart);
  }
}
