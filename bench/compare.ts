/**
 * Before/after in one run (bench/README.md, "Comparing two builds"): the engine as built in dist/
 * against the engine of a git commit, built into a temporary worktree, measured in interleaved
 * rounds on the same workload files so that outside load hits both alike. Per depth: chain open,
 * the first pass (builds the resolved map), a second sequential pass, 4 KiB random reads; then a
 * leaf merge and a whole-chain merge at depth 64 without fdatasync. Everything is timed in CPU time
 * of this process (user + system): on a shared machine wall time varies 3× between rounds.
 *
 *   npm run bench:compare -- REF [--rounds N]       (REF: a commit, tag or branch; default HEAD~1)
 *
 * Only the API both builds share is used: Chain.open/read/close, mergeDown(store, leaf, dest?),
 * NodeDiskStore and NodeFile. The workload is written once, by this build.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ChainMod from '../src/engine/chain.js';
import type * as MergeMod from '../src/engine/merge.js';
import type * as StoreMod from '../src/engine/store.js';
import type * as NodeFileMod from '../src/vhd/io/node-file.js';
import type { BlockFile } from '../src/vhd/io/block-file.js';
import { ioBuffer, MiB, NodeDiskStore, root, wl } from './engine.js';
import { log, median, round } from './timing.js';

interface Build {
  label: string;
  Chain: typeof ChainMod.Chain;
  mergeDown: typeof MergeMod.mergeDown;
  volatileStore(): StoreMod.DiskStore;
}

async function loadBuild(label: string, distDir: string): Promise<Build> {
  const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(distDir, rel)).href)) as T;
  const { Chain } = await load<typeof ChainMod>('engine/chain.js');
  const { mergeDown } = await load<typeof MergeMod>('engine/merge.js');
  const store = await load<typeof StoreMod>('engine/store.js');
  const { NodeFile } = await load<typeof NodeFileMod>('vhd/io/node-file.js');
  // Without fdatasync: the engine's own cost, apart from the disk's flush latency (as merges.ts).
  class Volatile extends store.NodeDiskStore {
    override open(p: string, mode: 'r' | 'rw'): BlockFile {
      return NodeFile.open(p, mode, { durable: false });
    }
    override create(p: string): BlockFile {
      return super.create(p, { durable: false });
    }
  }
  return { label, Chain, mergeDown, volatileStore: () => new Volatile() };
}

/** Build REF's dist in a detached worktree beside the repository's node_modules. */
function buildRef(ref: string, tmp: string): string {
  const dir = path.join(tmp, 'base');
  const sha = execFileSync('git', ['-C', root, 'rev-parse', '--verify', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
  execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', '--force', dir, sha], { stdio: 'ignore' });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  return dir;
}

const cpuMs = (fn: () => void): number => {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

type Row = { metric: string; unit: string; before: number[]; after: number[] };

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const ri = argv.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(argv[ri + 1]) : 11;
  const ref = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--rounds') ?? 'HEAD~1';
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-compare-'));
  let baseDir: string | undefined;
  try {
    log(`building ${ref} in ${tmp}/base …`);
    baseDir = buildRef(ref, tmp);
    const builds = [await loadBuild(`before (${ref})`, path.join(baseDir, 'dist')), await loadBuild('after (dist/)', path.join(root, 'dist'))];
    const depths = [1, 8, 64];
    const wlDir = path.join(tmp, 'workload');
    log('writing the depth-64 workload …');
    const files = wl.makeWorkload(new NodeDiskStore(), { dir: wlDir, depth: 64 });
    const rows = new Map<string, Row>();
    const put = (metric: string, unit: string, which: number, v: number): void => {
      const r = rows.get(metric) ?? { metric, unit, before: [], after: [] };
      rows.set(metric, r);
      (which === 0 ? r.before : r.after).push(v);
    };
    const seq = ioBuffer(MiB);
    const rnd = ioBuffer(wl.WORKLOAD.randomReadSize);
    const offsets = wl.randomReadOffsets();
    const size = wl.WORKLOAD.virtualSize;
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 ? [1, 0] : [0, 1]) {
        const b = builds[which]!;
        for (const d of depths) {
          let c!: ChainMod.Chain;
          put(`open, depth ${d}`, 'CPU ms', which, cpuMs(() => (c = b.Chain.open(files.paths[d]!))));
          const pass = (): void => {
            for (let o = 0; o < size; o += MiB) c.read(seq, o);
          };
          put(`first pass, depth ${d}`, 'CPU ms', which, cpuMs(pass));
          put(`sequential pass, depth ${d}`, 'CPU ms', which, cpuMs(pass));
          put(`random 4 KiB, depth ${d}`, 'CPU µs', which, (cpuMs(() => offsets.forEach((o) => c.read(rnd, o))) * 1000) / offsets.length);
          c.close();
        }
      }
    }
    // Merges: fewer rounds (each needs a fresh copy of the chain).
    const mergeRounds = Math.max(3, Math.ceil(rounds / 2));
    for (let r = 0; r < mergeRounds; r++) {
      for (const which of r % 2 ? [1, 0] : [0, 1]) {
        const b = builds[which]!;
        for (const toBase of [false, true]) {
          const dir = path.join(tmp, 'merge');
          fs.rmSync(dir, { recursive: true, force: true });
          fs.cpSync(wlDir, dir, { recursive: true });
          const at = (p: string): string => path.join(dir, path.basename(p));
          const leaf = at(files.leaf);
          put(toBase ? 'merge whole chain into base, depth 64' : 'merge leaf into parent, depth 64', 'CPU ms', which, cpuMs(() => void b.mergeDown(b.volatileStore(), leaf, toBase ? at(files.paths[0]!) : undefined)));
        }
      }
    }
    const lines = [`| metric | unit | ${builds[0]!.label} | ${builds[1]!.label} | after/before |`, '|---|---|---:|---:|---:|'];
    for (const r of rows.values()) {
      const a = median(r.before);
      const c = median(r.after);
      lines.push(`| ${r.metric} | ${r.unit} | ${round(a, 2)} | ${round(c, 2)} | ${round(c / a, 3)} |`);
    }
    console.log(`CPU time, medians of ${rounds} interleaved rounds (merges: ${mergeRounds}); after/before > 1 is slower\n`);
    console.log(lines.join('\n'));
  } finally {
    if (baseDir !== undefined) execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', baseDir], { stdio: 'ignore' });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
