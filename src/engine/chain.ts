/**
 * A chain of differencing disks opened from its leaf: parents found through their locators,
 * each parent's identity checked, every layer but the leaf read-only.
 */
import { HvsimError, invalidArgument } from '../errors.js';
import { checkRange, forEachStoredExtent, readImage, readStored, writeImage, type DiskImage, type Finding } from '../vhd/disk.js';
import { openDisk, type OpenDiskOptions } from '../vhd/open.js';
import { NodeDiskStore, type DiskStore } from './store.js';
import { refuseIfMerging } from './journal.js';
import { linksTo, locatorName, searchParent } from './parent.js';
import { ResolvedMap, type ProbeStats } from './resolved-map.js';
import { ioBuffer, sharedIoBuffer } from '../vhd/common/bytes.js';
import { withRoomFor, type PieceReader } from '../vhd/io/block-file.js';

/** Deepest chain hvsim opens; deeper ones are refused as likely loops or damage (openvmm caps at 256). */
export const MAX_CHAIN_DEPTH = 256;

/**
 * A read of at least this many bytes into a SharedArrayBuffer (`sharedIoBuffer`) is split between
 * two threads where the store offers it (DiskStore.pieceReader; bench/README.md, "Reads in
 * parallel"); smaller ones, and reads into other buffers, stay on the calling thread.
 */
export const PARALLEL_READ_MIN = 2 * 1024 * 1024;

/**
 * A pass over at least this many bytes (read-vhd, convert-vhd) reads into a shared buffer, which
 * Chain.read splits between two threads. A shorter one stays on one thread: the helper thread costs
 * a process about 80 ms of CPU and 10 MiB to start, more than it saves on a disk read in well under
 * a second (bench/README.md, "Reads in parallel").
 */
export const PARALLEL_PASS_MIN = 4 * 1024 * 1024 * 1024;

/** The buffer for the chunks of a pass over `total` bytes: shared from PARALLEL_PASS_MIN on. */
export function passBuffer(n: number, total: number): Uint8Array {
  return total >= PARALLEL_PASS_MIN ? sharedIoBuffer(n) : ioBuffer(n);
}

const defaultStore: DiskStore = new NodeDiskStore();

/**
 * Open one layer through a store. A writable open of a file marked read-only (a checkpoint's
 * frozen parent; Hyper-V sets the read-only attribute), or of one an interrupted merge involves
 * (its journal says so), is refused.
 */
export function openLayer(store: DiskStore, filePath: string, writable: boolean, opts: OpenDiskOptions = {}): DiskImage {
  if (writable) refuseIfMerging(store, filePath);
  return openLayerForMerge(store, filePath, writable, opts);
}

/** openLayer for a merge's own opens: its journal names the file (src/engine/merge.ts). */
export function openLayerForMerge(store: DiskStore, filePath: string, writable: boolean, opts: OpenDiskOptions = {}): DiskImage {
  if (writable && store.isReadOnly(filePath))
    throw new HvsimError('READ_ONLY', `${filePath}: file is marked read-only (a checkpoint's parent disk); write to its newest child instead`, { file: filePath });
  return openDisk(store, filePath, writable, opts);
}

export interface ChainOpenOptions {
  /** Open the leaf for writing (parents are always read-only). */
  writable?: boolean;
  /** Where the files live (default: the real file system). */
  store?: DiskStore;
  lenient?: boolean;
  maxDepth?: number;
}

export class Chain {
  /** layers[0] is the base, the last one is the leaf. */
  readonly layers: DiskImage[];
  readonly paths: string[];
  readonly store: DiskStore;
  private map: ResolvedMap;
  /** The store's piece reader, made on the first large shared read; null: the store offers none. */
  private pieces: PieceReader | null | undefined;
  private table = new Float64Array(256 * 4);

  private constructor(layers: DiskImage[], paths: string[], store: DiskStore) {
    this.layers = layers;
    this.paths = paths;
    this.store = store;
    this.map = new ResolvedMap(layers);
  }

  static fromLayers(layers: DiskImage[], paths?: string[], store: DiskStore = defaultStore): Chain {
    checkGeometry(layers);
    return new Chain(layers, paths ?? layers.map((l) => l.path), store);
  }

  /** Open a chain from its leaf, following and verifying each parent. */
  static open(leafPath: string, opts: ChainOpenOptions = {}): Chain {
    const store = opts.store ?? defaultStore;
    const maxDepth = opts.maxDepth ?? MAX_CHAIN_DEPTH;
    const o: OpenDiskOptions = opts.lenient ? { lenient: true } : {};
    const layers: DiskImage[] = [];
    const paths: string[] = [];
    try {
      let curPath = store.absolutePath(leafPath);
      let cur = openLayer(store, curPath, opts.writable ?? false, o);
      layers.push(cur);
      paths.push(curPath);
      while (cur.parentLocator) {
        if (layers.length >= maxDepth)
          throw new HvsimError('CHAIN', `${leafPath}: chain is deeper than ${maxDepth} layers (a loop, or damage)`, { file: leafPath });
        const parent = findParent(store, curPath, cur, o, paths);
        layers.push(parent.disk);
        paths.push(parent.path);
        cur = parent.disk;
        curPath = parent.path;
      }
      layers.reverse();
      paths.reverse();
      checkGeometry(layers);
      return new Chain(layers, paths, store);
    } catch (e) {
      for (const l of layers) l.close();
      throw e;
    }
  }

  get leaf(): DiskImage {
    return this.layers[this.layers.length - 1]!;
  }
  get base(): DiskImage {
    return this.layers[0]!;
  }
  get depth(): number {
    return this.layers.length;
  }
  get virtualSize(): number {
    return this.base.virtualSize;
  }
  get stats(): ProbeStats {
    return this.map.stats;
  }

  /** Read through the chain using the resolved map: cost independent of depth. */
  read(buf: Uint8Array, offset: number): void {
    checkRange({ path: this.leaf.path, virtualSize: this.virtualSize }, offset, buf.length);
    if (buf.length >= PARALLEL_READ_MIN && buf.buffer instanceof SharedArrayBuffer) {
      const reader = (this.pieces ??= this.store.pieceReader?.(this.layers.map((l) => l.file)) ?? null);
      if (reader) {
        reader.read(buf, this.table, this.plan(buf.length, offset));
        return;
      }
    }
    this.map.forEachPiece(offset, buf.length, (layer, off, len) => {
      if (layer < 0) buf.fill(0, off - offset, off - offset + len);
      else readStored(this.layers[layer]!, buf, off, off - offset, len);
    });
  }

  /** The pieces of a read as PieceReader quads (layer, file offset, length, buffer offset) in `table`; their count. */
  private plan(length: number, offset: number): number {
    let n = 0;
    const add = (layer: number, fileOffset: number, len: number, at: number): void => {
      this.table = withRoomFor(this.table, n + 1);
      const i = n++ * 4;
      this.table[i] = fileOffset < 0 ? -1 : layer;
      this.table[i + 1] = fileOffset;
      this.table[i + 2] = len;
      this.table[i + 3] = at;
    };
    this.map.forEachPiece(offset, length, (layer, off, len) => {
      if (layer < 0) add(-1, -1, len, off - offset);
      else forEachStoredExtent(this.layers[layer]!, off, len, (fo, pos, k) => add(layer, fo, k, off - offset + pos));
    });
    return n;
  }

  /** Read by walking down from the leaf for every block (the textbook walk; for comparison). */
  readNaive(buf: Uint8Array, offset: number): void {
    const stats = this.map.stats;
    const at = (i: number): ((b: Uint8Array, o: number) => void) => (b, o) => {
      const l = this.layers[i]!;
      stats.probes += Math.ceil((o + b.length) / l.blockSize) - Math.floor(o / l.blockSize);
      readImage(l, b, o, i > 0 ? at(i - 1) : undefined);
    };
    at(this.layers.length - 1)(buf, offset);
  }

  /** Which layer supplies each piece of a range (-1 = zeros). */
  sources(offset: number, length: number): Array<{ layer: number; offset: number; length: number }> {
    const out: Array<{ layer: number; offset: number; length: number }> = [];
    this.map.forEachPiece(offset, length, (layer, o, l) => out.push({ layer, offset: o, length: l }));
    return out;
  }

  /** Write any byte range to the leaf (the only writable layer). */
  write(data: Uint8Array, offset: number): void {
    const leaf = this.leaf;
    if (!leaf.writable)
      throw new HvsimError('READ_ONLY', `${leaf.path}: the chain was opened read-only`, { file: leaf.path });
    writeImage(leaf, data, offset, (b, o) => this.read(b, o));
    this.map.invalidate(offset, data.length);
  }

  /** Make a range read as zeros in the leaf. */
  zero(offset: number, length: number): void {
    const lss = this.leaf.logicalSectorSize;
    if (offset % lss !== 0 || length % lss !== 0) {
      this.write(new Uint8Array(length), offset);
      return;
    }
    this.leaf.zeroSectors(offset, length);
    this.map.invalidate(offset, length);
  }

  /** Forget the resolved map (after layers changed underneath). */
  invalidate(offset?: number, length?: number): void {
    if (offset === undefined || length === undefined) this.map.reset(this.layers);
    else this.map.invalidate(offset, length);
  }

  /** Replace the layer list (after a merge) keeping the same object. */
  replaceLayers(layers: DiskImage[], paths: string[]): void {
    checkGeometry(layers);
    this.layers.splice(0, this.layers.length, ...layers);
    this.paths.splice(0, this.paths.length, ...paths);
    this.map.reset(this.layers);
    this.closeReader();
  }

  private closeReader(): void {
    this.pieces?.close();
    this.pieces = undefined;
  }

  /** Linkage and geometry of every layer, plus each file's own findings. */
  check(): Array<Finding & { path: string }> {
    const out: Array<Finding & { path: string }> = [];
    this.layers.forEach((l, i) => {
      for (const f of l.check()) out.push({ ...f, path: this.paths[i]! });
      if (i > 0 && !this.store.isReadOnly(this.paths[i - 1]!))
        out.push({ severity: 'warning', code: 'PARENT_WRITABLE', message: `parent ${this.paths[i - 1]} is not marked read-only`, path: this.paths[i]! });
    });
    return out;
  }

  flush(): void {
    this.leaf.flush();
  }

  /** Close every layer (the piece reader's helper thread first: it reads their files). */
  close(): void {
    this.closeReader();
    for (const l of this.layers) l.close();
  }
}

function findParent(
  store: DiskStore,
  childPath: string,
  child: DiskImage,
  o: OpenDiskOptions,
  seen: string[],
): { disk: DiskImage; path: string } {
  const loc = child.parentLocator!;
  let mismatch: string | undefined;
  const r = searchParent(childPath, loc, (cand) => store.exists(cand), (cand) => {
    if (seen.includes(cand))
      throw new HvsimError('CHAIN', `${childPath}: parent ${cand} is already in the chain (a loop)`, { file: childPath });
    let disk: DiskImage;
    try {
      disk = openLayer(store, cand, false, o);
    } catch (e) {
      if (e instanceof HvsimError && e.code !== 'NOT_FOUND') {
        mismatch ??= `${cand} is not a usable parent (${e.message})`;
        return undefined;
      }
      throw e;
    }
    if (linksTo(loc, disk.identity)) return { disk, path: cand };
    mismatch ??= `${cand} has identity {${disk.identity}} but the child expects {${loc.linkage}} (the parent was modified or replaced)`;
    disk.close();
    return undefined;
  });
  if (r.found) return r.found;
  if (mismatch) throw new HvsimError('PARENT_MISMATCH', `${childPath}: ${mismatch}`, { file: childPath });
  throw new HvsimError('PARENT_MISSING', `${childPath}: parent ${locatorName(loc)} not found (looked at ${r.tried.join(', ') || 'no usable path'})`, { file: childPath });
}

function checkGeometry(layers: DiskImage[]): void {
  const base = layers[0];
  if (!base) throw invalidArgument('a chain needs at least one layer');
  for (const l of layers.slice(1)) {
    if (l.virtualSize !== base.virtualSize)
      throw new HvsimError('CHAIN', `${l.path}: virtual size ${l.virtualSize} differs from its base ${base.path} (${base.virtualSize})`, { file: l.path });
    if (l.logicalSectorSize !== base.logicalSectorSize)
      throw new HvsimError('CHAIN', `${l.path}: logical sector size ${l.logicalSectorSize} differs from its base ${base.path} (${base.logicalSectorSize})`, { file: l.path });
  }
  for (const l of layers.slice(0, -1))
    if (l.parentLocator === undefined && l !== base)
      throw new HvsimError('CHAIN', `${l.path}: a middle layer has no parent`, { file: l.path });
}

