/**
 * Flatten (Convert-VHD): write what a chain reads as one new standalone disk — a dynamic VHDX or
 * VHD, or a raw image. Sparse: ranges the chain reads as zeros are not written (a dynamic disk
 * leaves those blocks unallocated; a raw image leaves holes after truncating to the full size).
 */
import * as path from 'node:path';
import { isAllZero } from '../vhd/common/bytes.js';
import { invalidArgument } from '../errors.js';
import { createDiskFile } from '../vhd/open.js';
import { formatOfExtension } from '../vhd/formats.js';
import { passBuffer, type Chain } from './chain.js';
import { createWhole, type DiskStore } from './store.js';

export type FlattenFormat = 'VHDX' | 'VHD' | 'RAW';

export interface FlattenOptions {
  onProgress?: (done: number, total: number) => void;
  /** Block size of a new VHDX/VHD (default: the chain base's when the target format allows it). */
  blockSize?: number;
}

export interface FlattenResult {
  path: string;
  format: FlattenFormat;
  virtualSize: number;
  /** Bytes of virtual disk actually written (the rest reads as zeros). */
  dataBytes: number;
}

/** Target format from a file name: .vhdx/.avhdx, .vhd/.avhd, .raw/.img. */
export function flattenFormatForPath(p: string): FlattenFormat {
  const disk = formatOfExtension(p);
  if (disk) return disk;
  const ext = path.extname(p).toLowerCase();
  if (ext === '.raw' || ext === '.img') return 'RAW';
  throw invalidArgument(`cannot tell the target format from the extension "${ext}" (use .vhdx, .vhd, .raw or .img)`, p);
}

const WINDOW = 4 * 1024 * 1024;
/** Granularity of the zero scan inside data the chain holds. */
const GRAIN = 64 * 1024;

/** Write the chain's content to a new file `destPath` (refuses to replace one); removed again on failure. */
export function flatten(store: DiskStore, chain: Chain, destPath: string, format: FlattenFormat, opts: FlattenOptions = {}): FlattenResult {
  const dest = store.absolutePath(destPath);
  const size = chain.virtualSize;
  const base = chain.base;
  const lss = base.logicalSectorSize;
  if (format === 'VHD' && lss !== 512) throw invalidArgument(`a VHD has 512-byte sectors; this chain has ${lss}-byte sectors`, dest);
  let blockSize = opts.blockSize;
  if (blockSize === undefined && format === 'VHDX' && base.format === 'VHDX' && base.type !== 'Fixed') blockSize = base.blockSize;
  if (blockSize === undefined && format === 'VHD' && base.format === 'VHD' && base.type !== 'Fixed') blockSize = base.blockSize;

  let dataBytes = 0;
  // Written whole under a temporary name, then renamed: a crash never leaves a half-made dest.
  createWhole(store, dest, (file) => {
    let write: (data: Uint8Array, offset: number) => void;
    let done: { close(): void };
    if (format === 'RAW') {
      file.truncate(size);
      write = (d, o) => file.write(d, o);
      done = { close: () => (file.flush(), file.close()) };
    } else {
      const disk = createDiskFile(file, format, {
        virtualSize: size,
        ...(blockSize !== undefined ? { blockSize } : {}),
        ...(format === 'VHDX' ? { logicalSectorSize: lss, physicalSectorSize: base.physicalSectorSize } : {}),
      });
      write = (d, o) => disk.writeSectors(d, o);
      done = disk;
    }
    const buf = passBuffer(Math.min(WINDOW, size), size);
    for (let pos = 0; pos < size; pos += WINDOW) {
      const n = Math.min(WINDOW, size - pos);
      // Only read what some layer holds (the resolved map knows); all-zero grains are skipped too.
      if (chain.sources(pos, n).every((s) => s.layer < 0)) {
        opts.onProgress?.(pos + n, size);
        continue;
      }
      const part = buf.subarray(0, n);
      chain.read(part, pos);
      const emit = (a: number, b: number): void => {
        write(part.subarray(a, b), pos + a);
        dataBytes += b - a;
      };
      let runStart = -1;
      for (let g = 0; g < n; g += GRAIN) {
        const zero = isAllZero(part.subarray(g, Math.min(n, g + GRAIN)));
        if (!zero && runStart < 0) runStart = g;
        if (zero && runStart >= 0) {
          emit(runStart, g);
          runStart = -1;
        }
      }
      if (runStart >= 0) emit(runStart, n);
      opts.onProgress?.(pos + n, size);
    }
    return done;
  });
  return { path: dest, format, virtualSize: size, dataBytes };
}
