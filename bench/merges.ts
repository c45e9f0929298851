/**
 * Merge throughput (bench/README.md, step 4): src/engine/merge.ts `mergeDown` on a fresh
 * workload each time, with the engine's normal fdatasync and without it; the merged disk's
 * content hash is checked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BlockFile } from '../src/vhd/io/block-file.js';
import type { DiskStore } from '../src/engine/store.js';
import { analyzeChain, Chain, distPath, MiB, NodeDiskStore, NodeFile, wl } from './engine.js';
import { MAX_DEPTH, type Options } from './options.js';
import { chainSha256 } from './reads.js';
import { log, round } from './timing.js';

export interface MergeResult {
  case: string;
  depth: number;
  durable: boolean;
  copyBytes: number;
  estimatedCopyBytes: number;
  seconds: number;
  MiBps: number;
  hashOk: boolean;
}

export interface MergeResults {
  merges: MergeResult[];
  /** Why no merge was measured, or null. */
  note: string | null;
}

type MergeDown = (store: DiskStore, child: string, dest?: string) => unknown;

/**
 * NodeDiskStore without fdatasync: the engine's own cost, apart from the disk's flush latency.
 * A merge writes into an existing file (its destination, opened 'rw'), so `open` is overridden
 * as well as `create`.
 */
class VolatileStore extends NodeDiskStore {
  override open(p: string, mode: 'r' | 'rw'): BlockFile {
    return NodeFile.open(p, mode, { durable: false });
  }
  override create(p: string): BlockFile {
    return super.create(p, { durable: false });
  }
}

const CASES: Array<{ name: string; depth: number; toBase: boolean; durable: boolean }> = [
  { name: 'leaf into its parent', depth: MAX_DEPTH, toBase: false, durable: true },
  { name: 'leaf into its parent', depth: MAX_DEPTH, toBase: false, durable: false },
  { name: 'whole chain into the base', depth: 8, toBase: true, durable: true },
  { name: 'whole chain into the base', depth: MAX_DEPTH, toBase: true, durable: true },
  { name: 'whole chain into the base', depth: MAX_DEPTH, toBase: true, durable: false },
];

function mergeCase(mergeDown: MergeDown, c: (typeof CASES)[number], tmp: string): MergeResult {
  const dir = path.join(tmp, 'merge');
  fs.rmSync(dir, { recursive: true, force: true });
  const f = wl.makeWorkload(new NodeDiskStore(), { dir, depth: c.depth });
  const ch = Chain.open(f.leaf);
  const a = analyzeChain(ch, { bins: 1 });
  ch.close();
  const est = c.toBase ? a.mergeToBase!.copyBytes : a.layers[c.depth]!.merge!.copyBytes;
  const store = c.durable ? new NodeDiskStore() : new VolatileStore();
  const t0 = performance.now();
  mergeDown(store, f.leaf, c.toBase ? f.paths[0] : undefined);
  const seconds = (performance.now() - t0) / 1000;
  // The merged disk must read what the leaf read.
  const mc = Chain.open(c.toBase ? f.paths[0]! : f.paths[c.depth - 1]!);
  const hashOk = chainSha256(mc) === wl.EXPECTED_SHA256[c.depth];
  mc.close();
  log(`  merge ${c.name}, depth ${c.depth}${c.durable ? '' : ' (no fdatasync)'}: ${(est / MiB).toFixed(1)} MiB in ${seconds.toFixed(2)} s = ${(est / MiB / seconds).toFixed(0)} MiB/s ${hashOk ? 'content ok' : 'CONTENT MISMATCH'}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { case: c.name, depth: c.depth, durable: c.durable, copyBytes: est, estimatedCopyBytes: est, seconds: round(seconds, 3), MiBps: round(est / MiB / seconds, 0), hashOk };
}

export async function measureMerges(o: Options, tmp: string): Promise<MergeResults> {
  const merges: MergeResult[] = [];
  let note: string | null = null;
  const mergeJs = distPath('engine/merge.js');
  if (!o.merge) note = 'skipped (--no-merge)';
  else if (!fs.existsSync(mergeJs)) note = 'src/engine/merge.ts not built: skipped';
  else {
    const mod = (await import(pathToFileURL(mergeJs).href)) as { mergeDown?: MergeDown };
    if (typeof mod.mergeDown !== 'function') note = 'dist/engine/merge.js has no mergeDown: skipped';
    else for (const c of CASES) merges.push(mergeCase(mod.mergeDown, c, tmp));
  }
  if (note) log(`  merge: ${note}`);
  return { merges, note };
}
