/**
 * analyze-chain: what each layer of a chain holds, how much of the virtual disk it still supplies,
 * what depth costs a reader that walks the chain top-down (the textbook walk, Chain.readNaive), and
 * what merging each layer into its parent would have to copy. Imports the format layer and the
 * chain engine only; rendering (analyze-svg.ts) and printing (cli) are separate.
 *
 * Probes are counted as Chain.readNaive counts them for a read inside one block: one block-state
 * lookup per layer visited, from the leaf down to the layer that holds the sector (data or zeros),
 * or every layer when none does. "A random read" is a uniformly random logical sector; a 4 KiB read
 * costs the same whenever its 8 sectors come from one layer (always so in the standard workload).
 */
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO, type DiskImage, type VhdFormat, type VhdType } from '../vhd/disk.js';
import { invalidArgument } from '../errors.js';
import type { Chain } from './chain.js';
import { layerAllocation } from './layers.js';

/** What merging one layer into its parent (Merge-VHD of that layer) would have to do. */
export interface MergeEstimate {
  /** The layer it would be merged into. */
  into: string;
  /** Bytes of data read from the layer and written into the parent. */
  copyBytes: number;
  /** Bytes made to read as zeros in the parent (zero blocks of the layer). */
  zeroBytes: number;
  /** Maximal runs of contiguous data to copy (each is at least one journaled write). */
  dataRuns: number;
  /** Parent blocks that hold nothing yet and would be allocated. */
  newParentBlocks: number;
  /** How much the parent file grows (new blocks × its block size). */
  parentGrowthBytes: number;
}

export interface LayerAnalysis {
  /** 0 = the base; the leaf is `depth` of the chain. */
  depth: number;
  path: string;
  format: VhdFormat;
  type: VhdType;
  fileSize: number;
  blockSize: number;
  blocks: number;
  /** Blocks with data in this file (fully or partially present). */
  allocatedBlocks: number;
  /** Of those, blocks with only some sectors present (a sector bitmap decides). */
  partialBlocks: number;
  /** Blocks that read as zeros here and hide the parent. */
  zeroBlocks: number;
  /** Bytes of the virtual disk this file holds data for (sector-exact). */
  dataBytes: number;
  /** Bytes a read from the leaf takes from this file (the chain's resolved map). */
  suppliedBytes: number;
  /** suppliedBytes / virtual size. */
  suppliedShare: number;
  /** Data held here that layers above have overwritten (dataBytes − suppliedBytes). */
  shadowedBytes: number;
  /** Share of random reads from the leaf that look this layer up under the naive walk. */
  probeShare: number;
  /** Expected layer probes of a random read from this layer's own point in time (the chain ending here). */
  expectedProbesAsLeaf: number;
  /** Merging this layer into its parent; null for the base. */
  merge: MergeEstimate | null;
}

/** Where the data lives, coarsened to `bins` equal slices of the virtual disk. */
export interface ChainMap {
  bins: number;
  /** Bytes per bin (the last one may be shorter). */
  binSize: number;
  /** Per bin: the layer supplying most of its bytes (ties: the higher layer), or -1 for zeros. */
  owner: number[];
  /** Per bin: how many different sources (layers, zeros) supply it. */
  sources: number[];
}

export interface ChainAnalysis {
  leaf: string;
  /** Depth of the leaf: the number of differencing layers above the base. */
  depth: number;
  virtualSize: number;
  logicalSectorSize: number;
  /** Bytes that read as zeros from the leaf (zero blocks, or nothing anywhere). */
  zeroBytes: number;
  /** Expected layer probes of a random read from the leaf under the naive walk (the resolved map needs none once built). */
  expectedProbes: number;
  /** Most probes any read from the leaf needs under the naive walk. */
  maxProbes: number;
  /** Merging the leaf and every layer between into the base (Merge-VHD -DestinationPath base); null for a lone base. */
  mergeToBase: MergeEstimate | null;
  layers: LayerAnalysis[];
  map: ChainMap;
}

export interface AnalyzeOptions {
  /** Slices of the virtual disk in the map (default 4096, at most one per sector). */
  bins?: number;
}

/** Per-unit bookkeeping of which layer stops a top-down walk, and with what. */
const NONE = -1; // code: no layer holds the sector
// code = layer * 2 (data) or layer * 2 + 1 (zeros); code >> 1 is the layer (NONE >> 1 = -1)

export function analyzeChain(chain: Chain, opts: AnalyzeOptions = {}): ChainAnalysis {
  const layers = chain.layers;
  const L = layers.length;
  const size = chain.virtualSize;
  const lss = chain.base.logicalSectorSize;
  const totalSectors = Math.ceil(size / lss);
  const unit = Math.min(...layers.map((l) => l.blockSize));

  // 1. One pass over units, bottom layer first: for every prefix of the chain (each layer as the
  //    leaf), the sum over sectors of the layer that stops the walk; for the full chain, a
  //    histogram of stop layers and the sectors that merging into the base would copy.
  // Probes of sector s from leaf j: j − stop + 1, where a sector nothing holds counts as stop 0
  // (the walk goes down to the base). Kept as Σ_s max(stop, 0) per unit.
  const stopSumAsLeaf = new Float64Array(L); // Σ_s probes
  const stopHist = new Float64Array(L + 1); // index stop + 1
  const toBase = { copySectors: 0, zeroSectors: 0, runs: 0, lastEnd: -1, newBlocks: new Set<number>() };
  const base = layers[0]!;
  for (let uoff = 0; uoff < size; uoff += unit) {
    const S = Math.ceil(Math.min(unit, size - uoff) / lss);
    let uniform = NONE;
    let per: Int32Array | undefined;
    let sumStop = 0;
    for (let j = 0; j < L; j++) {
      const l = layers[j]!;
      const k = Math.floor(uoff / l.blockSize);
      const st = l.blockState(k);
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        uniform = j * 2 + (st === BLOCK_ZERO ? 1 : 0);
        per = undefined;
        sumStop = j * S;
      } else if (st === BLOCK_PARTIAL) {
        const m = per ?? (per = new Int32Array(S).fill(uniform));
        const first = (uoff - k * l.blockSize) / lss;
        l.forEachSectorRun(k, first, S, (present, start, n) => {
          if (!present) return;
          for (let s = start - first; s < start - first + n; s++) {
            sumStop += j - Math.max(m[s]! >> 1, 0);
            m[s] = j * 2;
          }
        });
      }
      stopSumAsLeaf[j]! += S * (j + 1) - sumStop;
    }
    // The full chain: histogram, and what a merge of everything into the base copies.
    const visit = (code: number, s0: number, n: number): void => {
      stopHist[(code >> 1) + 1]! += n;
      if (code >> 1 < 1) return;
      if (code & 1) {
        toBase.zeroSectors += n;
        return;
      }
      const a = uoff + s0 * lss;
      const b = Math.min(size, a + n * lss);
      toBase.copySectors += n;
      if (a !== toBase.lastEnd) toBase.runs++;
      toBase.lastEnd = b;
      markNewBlocks(base, a, b, toBase.newBlocks);
    };
    if (!per) visit(uniform, 0, S);
    else forEachEqualRun(per, visit);
  }

  // 2. Per layer: allocation, what it supplies (the resolved map), merge estimates.
  const supplied = new Float64Array(L);
  let zeroBytes = 0;
  chain.sources(0, size).forEach((p) => {
    if (p.layer < 0) zeroBytes += p.length;
    else supplied[p.layer]! += p.length;
  });
  const total = totalSectors;
  const out: LayerAnalysis[] = layers.map((l, i) => {
    const a = layerAllocation(l);
    const info = l.info();
    return {
      depth: i,
      path: chain.paths[i]!,
      format: l.format,
      type: l.type,
      fileSize: info.FileSize,
      blockSize: l.blockSize,
      blocks: a.blocks,
      allocatedBlocks: a.fullBlocks + a.partialBlocks,
      partialBlocks: a.partialBlocks,
      zeroBlocks: a.zeroBlocks,
      dataBytes: a.dataBytes,
      suppliedBytes: supplied[i]!,
      suppliedShare: supplied[i]! / size,
      shadowedBytes: a.dataBytes - supplied[i]!,
      // A read whose walk stops at or below layer i (or nowhere) looks layer i up.
      probeShare: sumBelow(stopHist, i + 1) / total,
      expectedProbesAsLeaf: stopSumAsLeaf[i]! / total,
      merge: i === 0 ? null : layerMergeEstimate(l, layers[i - 1]!, chain.paths[i - 1]!),
    };
  });

  let lowest = 0; // the lowest layer a walk from the leaf has to reach (none: the base)
  for (let h = 0; h <= L; h++)
    if (stopHist[h]! > 0) {
      lowest = Math.max(h - 1, 0);
      break;
    }
  return {
    leaf: chain.paths[L - 1]!,
    depth: L - 1,
    virtualSize: size,
    logicalSectorSize: lss,
    zeroBytes,
    expectedProbes: stopSumAsLeaf[L - 1]! / total,
    maxProbes: L - lowest,
    mergeToBase: L === 1 ? null : {
      into: chain.paths[0]!,
      copyBytes: Math.min(size, toBase.copySectors * lss),
      zeroBytes: Math.min(size, toBase.zeroSectors * lss),
      dataRuns: toBase.runs,
      newParentBlocks: toBase.newBlocks.size,
      parentGrowthBytes: toBase.newBlocks.size * base.blockSize,
    },
    layers: out,
    map: buildMap(chain, opts.bins ?? 4096),
  };
}

/** Σ hist[0 .. upto] (hist is indexed by stop layer + 1). */
function sumBelow(hist: Float64Array, upto: number): number {
  let s = 0;
  for (let h = 0; h <= upto && h < hist.length; h++) s += hist[h]!;
  return s;
}

function forEachEqualRun(a: Int32Array, fn: (v: number, start: number, n: number) => void): void {
  for (let s = 0; s < a.length; ) {
    const v = a[s]!;
    let e = s + 1;
    while (e < a.length && a[e] === v) e++;
    fn(v, s, e - s);
    s = e;
  }
}

/** Blocks of `dst` overlapping [a, b) that hold nothing yet (they would be allocated by a merge). */
function markNewBlocks(dst: DiskImage, a: number, b: number, into: Set<number>): void {
  const bs = dst.blockSize;
  for (let k = Math.floor(a / bs); k * bs < b; k++) {
    const st = dst.blockState(k);
    if (st === BLOCK_PARENT || st === BLOCK_ZERO) into.add(k);
  }
}

/** Merging `layer` into `parent`: its data and zero blocks are copied over (merge.ts copyStack). */
export function layerMergeEstimate(layer: DiskImage, parent: DiskImage, parentPath: string): MergeEstimate {
  const bs = layer.blockSize;
  const lss = layer.logicalSectorSize;
  const newBlocks = new Set<number>();
  let copyBytes = 0;
  let zeroBytes = 0;
  let runs = 0;
  let lastEnd = -1;
  const data = (a: number, b: number): void => {
    copyBytes += b - a;
    if (a !== lastEnd) runs++;
    lastEnd = b;
    markNewBlocks(parent, a, b, newBlocks);
  };
  for (let k = 0; k < layer.blockCount; k++) {
    const off = k * bs;
    const len = Math.min(bs, layer.virtualSize - off);
    const st = layer.blockState(k);
    if (st === BLOCK_DATA) data(off, off + len);
    else if (st === BLOCK_ZERO) zeroBytes += len;
    else if (st === BLOCK_PARTIAL)
      layer.forEachSectorRun(k, 0, Math.ceil(len / lss), (present, start, n) => {
        if (present) data(off + start * lss, Math.min(off + len, off + (start + n) * lss));
      });
  }
  return { into: parentPath, copyBytes, zeroBytes, dataRuns: runs, newParentBlocks: newBlocks.size, parentGrowthBytes: newBlocks.size * parent.blockSize };
}

/** Majority source per bin, from the chain's resolved map. */
function buildMap(chain: Chain, requested: number): ChainMap {
  const size = chain.virtualSize;
  const lss = chain.base.logicalSectorSize;
  if (!Number.isSafeInteger(requested) || requested < 1) throw invalidArgument(`map bins must be a positive integer, not ${requested}`);
  const sectors = Math.ceil(size / lss);
  const bins = Math.min(requested, sectors);
  // Whole sectors per bin, so every bin but possibly the last has the same size.
  const binSize = Math.ceil(sectors / bins) * lss;
  const count = Math.ceil(size / binSize);
  const owner = new Array<number>(count).fill(-1);
  const sources = new Array<number>(count).fill(0);
  let bin = 0;
  let acc = new Map<number, number>();
  const close = (): void => {
    let best = -1;
    let bestBytes = -1;
    for (const [l, n] of acc) if (n > bestBytes || (n === bestBytes && l > best)) [best, bestBytes] = [l, n];
    owner[bin] = best;
    sources[bin] = acc.size;
    acc = new Map();
  };
  for (const p of chain.sources(0, size)) {
    let off = p.offset;
    const end = p.offset + p.length;
    while (off < end) {
      const b = Math.floor(off / binSize);
      if (b !== bin) {
        close();
        bin = b;
      }
      const n = Math.min(end, (b + 1) * binSize) - off;
      acc.set(p.layer, (acc.get(p.layer) ?? 0) + n);
      off += n;
    }
  }
  close();
  return { bins: count, binSize, owner, sources };
}
