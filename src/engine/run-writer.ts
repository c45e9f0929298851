/** Copying the runs a stack of layers holds into a destination disk (merges' copy step, src/engine/merge.ts). */
import { ioBuffer, isAllZero } from '../vhd/common/bytes.js';
import { readStored, type DiskImage } from '../vhd/disk.js';
import { ResolvedMap, THROUGH } from './resolved-map.js';

export const CHUNK = 4 * 1024 * 1024;
const WINDOW = 64 * 1024 * 1024;

/**
 * Batches contiguous data into large writes. With `sparse` (a destination without a parent),
 * whole destination blocks that are all zeros are written as zeros (no data block).
 */
class RunWriter {
  private buf = ioBuffer(CHUNK);
  private start = 0;
  private len = 0;
  constructor(private dst: DiskImage, private sparse: boolean) {}

  data(src: DiskImage, offset: number, length: number): void {
    this.append(offset, length, (buf, off) => readStored(src, buf, off));
  }

  /** Zeros: whole destination blocks as zero blocks, the edges as data (fewer, larger commits). */
  zero(offset: number, length: number): void {
    if (this.dst.type === 'Fixed') {
      this.append(offset, length, (buf) => buf.fill(0)); // a fixed disk keeps every block allocated
      return;
    }
    const bs = this.dst.blockSize;
    const end = offset + length;
    const a = Math.ceil(offset / bs) * bs;
    const b = end === this.dst.virtualSize ? end : Math.floor(end / bs) * bs;
    if (b <= a) {
      this.append(offset, length, (buf) => buf.fill(0));
      return;
    }
    if (a > offset) this.append(offset, a - offset, (buf) => buf.fill(0));
    this.flush();
    this.dst.zeroSectors(a, b - a);
    if (end > b) this.append(b, end - b, (buf) => buf.fill(0));
  }

  private append(offset: number, length: number, fill: (buf: Uint8Array, offset: number) => void): void {
    if (this.len > 0 && offset !== this.start + this.len) this.flush();
    while (length > 0) {
      if (this.len === 0) this.start = offset;
      const n = Math.min(length, CHUNK - this.len);
      fill(this.buf.subarray(this.len, this.len + n), offset);
      this.len += n;
      offset += n;
      length -= n;
      if (this.len === CHUNK) this.flush();
    }
  }

  flush(): void {
    if (this.len === 0) return;
    const data = this.buf.subarray(0, this.len);
    const start = this.start;
    this.len = 0;
    if (!this.sparse) {
      this.dst.writeSectors(data, start);
      return;
    }
    const bs = this.dst.blockSize;
    let pending = 0; // start of not yet written data, relative to `start`
    for (let k = Math.ceil(start / bs); (k + 1) * bs <= start + data.length; k++) {
      const a = k * bs - start;
      if (!isAllZero(data.subarray(a, a + bs))) continue;
      if (a > pending) this.dst.writeSectors(data.subarray(pending, a), start + pending);
      this.dst.zeroSectors(k * bs, bs);
      pending = a + bs;
    }
    if (pending < data.length) this.dst.writeSectors(data.subarray(pending), start + pending);
  }
}

/**
 * Copy into `dst` what `layers` (bottom first) hold over whatever lies below them: data runs as
 * data, zero blocks as zeros; runs no layer holds are left alone. With `skipOwner`, runs owned by
 * that layer index are skipped too (the destination's own data when it is one of the layers).
 */
export function copyStack(layers: readonly DiskImage[], dst: DiskImage, opts: { skipLayer?: number; progress?: (done: number) => void }): void {
  const w = new RunWriter(dst, dst.parentLocator === undefined && dst.type !== 'Fixed');
  const size = dst.virtualSize;
  const map = new ResolvedMap(layers);
  for (let pos = 0; pos < size; pos += WINDOW) {
    // Collect first: `dst` may be one of the layers, and writing changes its block states
    // (so the window is resolved again afterwards).
    const runs: Array<[number, number, number]> = [];
    map.forEachRun(pos, Math.min(WINDOW, size - pos), (o, off, len) => {
      if (o !== THROUGH && o >> 1 !== opts.skipLayer) runs.push([o, off, len]);
    });
    for (const [o, off, len] of runs) {
      if (o & 1) w.zero(off, len);
      else w.data(layers[o >> 1]!, off, len);
    }
    w.flush();
    map.invalidate(pos, WINDOW);
    opts.progress?.(Math.min(size, pos + WINDOW));
  }
  w.flush();
}
