/**
 * Where each part of a chain's virtual disk lives: a lazily built map from unit (the smallest
 * block size in the chain) to the layer that supplies it, so a read costs the same at any depth.
 * A unit whose topmost holder is a partially present block gets a per-sector map, built once.
 */
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_ZERO, type DiskImage } from '../vhd/disk.js';

const UNRESOLVED = -3;
const ZERO = -1; // reads as zeros (a ZERO block, or nothing anywhere)
const MIXED = -2; // sectors come from several layers: see the sector map

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
  private owner: Int16Array;
  private sectorMaps = new Map<number, Int16Array>();
  readonly stats: ProbeStats = { probes: 0, unitsResolved: 0 };

  /** `layers[0]` is the base, the last is the leaf. */
  constructor(private layers: readonly DiskImage[]) {
    this.unitSize = Math.min(...layers.map((l) => l.blockSize));
    this.sectorSize = layers[0]!.logicalSectorSize;
    const units = Math.ceil(layers[0]!.virtualSize / this.unitSize);
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

  /** Owner of unit u: a layer index, ZERO or MIXED. */
  unitOwner(u: number): number {
    let o = this.owner[u]!;
    if (o === UNRESOLVED) o = this.resolveUnit(u);
    return o;
  }

  private resolveUnit(u: number): number {
    this.stats.unitsResolved++;
    const off = u * this.unitSize;
    let result = ZERO;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      this.stats.probes++;
      const st = l.blockState(Math.floor(off / l.blockSize));
      if (st === BLOCK_PARENT) continue;
      result = st === BLOCK_DATA ? i : st === BLOCK_ZERO ? ZERO : MIXED;
      break;
    }
    this.owner[u] = result;
    return result;
  }

  /** Per-sector owners of a MIXED unit (layer index or ZERO). */
  private sectorMap(u: number): Int16Array {
    let m = this.sectorMaps.get(u);
    if (m) return m;
    const off = u * this.unitSize;
    const n = Math.ceil(Math.min(this.unitSize, this.layers[0]!.virtualSize - off) / this.sectorSize);
    m = new Int16Array(n).fill(UNRESOLVED);
    let open = n;
    for (let i = this.layers.length - 1; i >= 0 && open > 0; i--) {
      const l = this.layers[i]!;
      const k = Math.floor(off / l.blockSize);
      this.stats.probes++;
      const st = l.blockState(k);
      if (st === BLOCK_PARENT) continue;
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        const v = st === BLOCK_DATA ? i : ZERO;
        for (let s = 0; s < n; s++) if (m[s] === UNRESOLVED) m[s] = v;
        open = 0;
        break;
      }
      // BLOCK_PARTIAL: fill the sectors this layer holds.
      const first = (off - k * l.blockSize) / this.sectorSize;
      l.forEachSectorRun(k, first, n, (present, start, count) => {
        if (!present) return;
        for (let s = start - first; s < start - first + count; s++) {
          if (m![s] === UNRESOLVED) {
            m![s] = i;
            open--;
          }
        }
      });
    }
    for (let s = 0; s < n; s++) if (m[s] === UNRESOLVED) m[s] = ZERO;
    this.sectorMaps.set(u, m);
    return m;
  }

  /**
   * Call `fn` for each maximal piece of [offset, offset+length) with one source: a layer index
   * (read its file at its own mapping) or -1 for zeros.
   */
  forEachPiece(offset: number, length: number, fn: (layer: number, offset: number, length: number) => void): void {
    const us = this.unitSize;
    const ss = this.sectorSize;
    let pos = offset;
    const end = offset + length;
    // Adjacent pieces from the same layer are coalesced into one call.
    let runLayer = -9;
    let runStart = offset;
    let runEnd = offset;
    const emit = (layer: number, a: number, b: number): void => {
      if (runLayer === layer && a === runEnd) {
        runEnd = b;
        return;
      }
      if (runLayer !== -9) fn(runLayer, runStart, runEnd - runStart);
      runLayer = layer;
      runStart = a;
      runEnd = b;
    };
    while (pos < end) {
      const u = Math.floor(pos / us);
      const uEnd = Math.min(end, (u + 1) * us);
      const o = this.unitOwner(u);
      if (o !== MIXED) {
        emit(o, pos, uEnd);
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
          emit(v, p, q);
          p = q;
        }
      }
      pos = uEnd;
    }
    if (runLayer !== -9) fn(runLayer, runStart, runEnd - runStart);
  }
}
