/** Which layer of a stack supplies each run of sectors, with no parent fall-through (for merges, src/engine/merge.ts). */
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_ZERO, type DiskImage } from '../vhd/disk.js';

/** Owner code of a run: `layer * 2` data held by that layer, `layer * 2 + 1` zeros it sets, THROUGH: none of these layers holds it. */
export const THROUGH = -1;
const UNRESOLVED = -2;

/**
 * Call `fn` for each maximal run of [offset, offset+length) with one owner among `layers`
 * (bottom first): the topmost layer that holds data or zeros there, or THROUGH when every
 * layer falls through to whatever is below them. Block states first, sector bitmaps only for
 * partially present blocks.
 */
export function forEachStackRun(layers: readonly DiskImage[], offset: number, length: number, fn: (owner: number, offset: number, length: number) => void): void {
  const size = layers[0]!.virtualSize;
  const lss = layers[0]!.logicalSectorSize;
  const unit = Math.min(...layers.map((l) => l.blockSize));
  const end = Math.min(size, offset + length);
  let runOwner = UNRESOLVED;
  let runStart = 0;
  let runEnd = 0;
  const emit = (o: number, a: number, b: number): void => {
    if (b <= a) return;
    if (o === runOwner && a === runEnd) {
      runEnd = b;
      return;
    }
    if (runOwner !== UNRESOLVED) fn(runOwner, runStart, runEnd - runStart);
    runOwner = o;
    runStart = a;
    runEnd = b;
  };
  for (let u = Math.floor(offset / unit); u * unit < end; u++) {
    const uoff = u * unit;
    const ulen = Math.min(unit, size - uoff);
    const a = Math.max(offset, uoff);
    const b = Math.min(end, uoff + ulen);
    let whole = THROUGH;
    let map: Int32Array | undefined;
    let open = 0;
    for (let i = layers.length - 1; i >= 0 && (map === undefined || open > 0); i--) {
      const l = layers[i]!;
      const k = Math.floor(uoff / l.blockSize);
      const st = l.blockState(k);
      if (st === BLOCK_PARENT) continue;
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        const o = i * 2 + (st === BLOCK_ZERO ? 1 : 0);
        if (map) for (let s = 0; s < map.length; s++) if (map[s] === UNRESOLVED) map[s] = o;
        whole = o;
        open = 0;
        break;
      }
      // BLOCK_PARTIAL: the sectors this layer holds (MS-VHDX §2.4 sector bitmap).
      if (!map) {
        map = new Int32Array(Math.ceil(ulen / lss)).fill(UNRESOLVED);
        open = map.length;
      }
      const m = map;
      const first = (uoff - k * l.blockSize) / lss;
      l.forEachSectorRun(k, first, m.length, (present, start, count) => {
        if (!present) return;
        for (let s = start - first; s < start - first + count; s++)
          if (m[s] === UNRESOLVED) {
            m[s] = i * 2;
            open--;
          }
      });
    }
    if (!map) {
      emit(whole, a, b);
      continue;
    }
    for (let s = Math.floor((a - uoff) / lss); s * lss + uoff < b; s++) {
      const v = map[s]!;
      emit(v === UNRESOLVED ? THROUGH : v, Math.max(a, uoff + s * lss), Math.min(b, uoff + (s + 1) * lss));
    }
  }
  if (runOwner !== UNRESOLVED) fn(runOwner, runStart, runEnd - runStart);
}
