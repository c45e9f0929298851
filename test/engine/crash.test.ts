// Crash consistency of merges: cut the power at every operation index of small merge and
// remove-layer scenarios (one FaultBudget shared by every file of a MemoryDiskStore), in each crash
// mode, then check that every point in time that survives the operation reads exactly as before,
// and that resuming (or running the same operation again) completes it.
import { describe, expect, it } from 'vitest';
import { HvsimError } from '../../src/errors.js';
import { createDiskFile } from '../../src/vhd/open.js';
import { faultBudget, type CrashMode } from '../../src/vhd/io/fault-file.js';
import { Chain } from '../../src/engine/chain.js';
import { createChild } from '../../src/engine/layers.js';
import { mergeDown, openChainResuming, pendingJournals, removeLayer, resumeMerges } from '../../src/engine/merge.js';
import { MemoryDiskStore, type DiskStore } from '../../src/engine/store.js';
import { checkTree } from '../../src/engine/tree.js';
import { SnapStore } from '../helpers/snap-store.js';
import { pattern } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 4 * MiB;
const DIR = '/vm';
const MODES: CrashMode[] = ['keep-all', 'lose-unflushed', 'torn'];

function write(store: MemoryDiskStore, p: string, offset: number, data: Uint8Array): void {
  const c = Chain.open(p, { store, writable: true });
  c.write(data, offset);
  c.close();
}

function zero(store: MemoryDiskStore, p: string, offset: number, length: number): void {
  const c = Chain.open(p, { store, writable: true });
  c.zero(offset, length);
  c.close();
}

function view(store: DiskStore, p: string): Buffer {
  return views(store, [p]).get(p)!;
}

/**
 * The views of several files, opening as few chains as possible: one chain per leaf, and each
 * ancestor's view read through the lower part of the same open layers (Chain.fromLayers).
 */
function views(store: DiskStore, paths: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const want = new Set(paths);
  for (const p of paths) {
    if (out.has(p)) continue;
    const c = Chain.open(p, { store });
    try {
      for (let i = c.depth - 1; i >= 0; i--) {
        const q = c.paths[i]!;
        if (!want.has(q) || out.has(q)) continue;
        const sub = i === c.depth - 1 ? c : Chain.fromLayers(c.layers.slice(0, i + 1), c.paths.slice(0, i + 1), store);
        const b = Buffer.alloc(c.virtualSize);
        sub.read(b, 0);
        out.set(q, b);
      }
    } finally {
      c.close();
    }
  }
  return out;
}

interface Files {
  [name: string]: string;
}

/**
 * base ← m ← c ← g, plus a sibling branch s on base. Writes of every kind in each layer: whole
 * blocks, partial sectors (unaligned), data hidden by zero blocks, data across block edges.
 */
function buildTree(ext: 'vhdx' | 'vhd', sibling: boolean, deep = true): { store: MemoryDiskStore; f: Files } {
  const store = new MemoryDiskStore();
  const x = ext === 'vhdx';
  const f: Files = {
    base: `${DIR}/base.${ext}`,
    m: `${DIR}/m.a${ext}`,
    c: `${DIR}/c.a${ext}`,
    g: `${DIR}/g.a${ext}`,
    s: `${DIR}/s.a${ext}`,
  };
  createDiskFile(store.create(f.base!), x ? 'VHDX' : 'VHD', { virtualSize: SIZE, blockSize: x ? MiB : 512 * KiB }).close();
  write(store, f.base!, 0, pattern(2 * MiB + 512, 1));
  write(store, f.base!, 3 * MiB + 100, pattern(5000, 2));
  createChild(store, f.base!, f.m!, x ? MiB : undefined);
  write(store, f.m!, 600, pattern(5000, 3));
  write(store, f.m!, MiB - 1024, pattern(8192, 4)); // across a block edge
  if (x) zero(store, f.m!, 2 * MiB, MiB); // a zero block over the base's data? (base has none there; still a ZERO state)
  else write(store, f.m!, 2 * MiB, new Uint8Array(64 * KiB));
  if (!deep) {
    delete f.c;
    delete f.g;
  } else {
  createChild(store, f.m!, f.c!, x ? 2 * MiB : undefined);
  write(store, f.c!, MiB + 3, pattern(70000, 5));
  if (x) zero(store, f.c!, 0, MiB); // hides base and m data in block 0
  createChild(store, f.c!, f.g!, x ? MiB : undefined);
  write(store, f.g!, 4096, pattern(4096, 6));
  write(store, f.g!, 3 * MiB, pattern(MiB, 7)); // a whole block
  }
  if (sibling) {
    createChild(store, f.base!, f.s!);
    write(store, f.s!, 512, pattern(1024, 8));
  } else delete f.s;
  return { store, f };
}

interface Scenario {
  name: string;
  ext: 'vhdx' | 'vhd';
  sibling: boolean;
  /** base ← m ← c ← g (default) or just base ← m. */
  deep?: boolean;
  /** Crash at every operation in every mode (the others: straight run and a few crash points). */
  sweep: boolean;
  run(store: MemoryDiskStore, f: Files): unknown;
  /** Files whose own view must never change (before, during, after). */
  keep(f: Files): string[];
  /** Files whose view must read the same while they exist (they are removed at the end). */
  untilRemoved(f: Files): string[];
  /** merge-down: the leaf whose view moves into the destination. */
  merge?(f: Files): { leaf: string; dest: string };
  gone(f: Files): string[];
  /** File → its parent afterwards (null: a base). */
  parents(f: Files): Record<string, string | null>;
}

const scenarios: Scenario[] = [
  {
    name: 'VHDX merge-down of a leaf into its parent',
    ext: 'vhdx',
    sibling: true,
    sweep: false,
    run: (s, f) => mergeDown(s, f.g!),
    keep: (f) => [f.base!, f.m!, f.s!],
    untilRemoved: () => [],
    merge: (f) => ({ leaf: f.g!, dest: f.c! }),
    gone: (f) => [f.g!],
    parents: (f) => ({ [f.c!]: f.m!, [f.m!]: f.base!, [f.s!]: f.base! }),
  },
  {
    name: 'VHDX merge-down through a middle layer into an ancestor',
    ext: 'vhdx',
    sibling: true,
    sweep: true,
    run: (s, f) => mergeDown(s, f.g!, f.m!),
    keep: (f) => [f.base!, f.s!],
    untilRemoved: () => [],
    merge: (f) => ({ leaf: f.g!, dest: f.m! }),
    gone: (f) => [f.g!, f.c!],
    parents: (f) => ({ [f.m!]: f.base!, [f.s!]: f.base! }),
  },
  {
    name: 'VHDX remove a middle layer with one child (that has a child)',
    ext: 'vhdx',
    sibling: true,
    sweep: true,
    run: (s, f) => removeLayer(s, f.m!, [f.c!], 'copy'),
    keep: (f) => [f.base!, f.c!, f.g!, f.s!],
    untilRemoved: (f) => [f.m!],
    gone: (f) => [f.m!],
    parents: (f) => ({ [f.c!]: f.base!, [f.g!]: f.c!, [f.s!]: f.base! }),
  },
  {
    name: 'VHDX remove the base with several children (each becomes a base)',
    ext: 'vhdx',
    sibling: true,
    deep: false,
    sweep: true,
    run: (s, f) => removeLayer(s, f.base!, [f.m!, f.s!], 'copy'),
    keep: (f) => [f.m!, f.s!],
    untilRemoved: (f) => [f.base!],
    gone: (f) => [f.base!],
    parents: (f) => ({ [f.m!]: null, [f.s!]: null }),
  },
  {
    name: 'VHD merge-down through a middle layer',
    ext: 'vhd',
    sibling: false,
    sweep: true,
    run: (s, f) => mergeDown(s, f.g!, f.m!),
    keep: (f) => [f.base!],
    untilRemoved: () => [],
    merge: (f) => ({ leaf: f.g!, dest: f.m! }),
    gone: (f) => [f.g!, f.c!],
    parents: (f) => ({ [f.m!]: f.base! }),
  },
];

function isFault(e: unknown): boolean {
  return e instanceof HvsimError && e.code === 'FAULT_INJECTED';
}

describe.each(scenarios)('$name', (sc) => {
  const { store: built, f } = buildTree(sc.ext, sc.sibling, sc.deep ?? true);
  const files = built.snapshot();
  const ro = built.readOnlyPaths();
  const before = new Map<string, Buffer>();
  for (const p of Object.values(f)) before.set(p, view(built, p));
  const fresh = (budget?: ReturnType<typeof faultBudget>): MemoryDiskStore => MemoryDiskStore.from(files, budget, ro);

  /** The finished state: the same whether the operation ran straight or was resumed. */
  function checkFinal(s: DiskStore, tree = true): void {
    for (const p of sc.gone(f)) expect(s.exists(p), `${p} removed`).toBe(false);
    const mg = sc.merge?.(f);
    const v = views(s, [...(mg ? [mg.dest] : []), ...sc.keep(f)]);
    for (const p of sc.keep(f)) expect(v.get(p)!.equals(before.get(p)!), `${p} reads as before`).toBe(true);
    if (mg) {
      expect(v.get(mg.dest)!.equals(before.get(mg.leaf)!), 'destination reads what the leaf read').toBe(true);
      expect(s.isReadOnly(mg.dest), 'destination is a writable leaf again').toBe(false);
    }
    for (const [child, parent] of Object.entries(sc.parents(f))) {
      const c = Chain.open(child, { store: s });
      expect(c.paths.length >= 2 ? c.paths[c.paths.length - 2] : null).toBe(parent);
      expect(s.isReadOnly(child), `${child} read-only mark`).toBe(Object.values(sc.parents(f)).includes(child));
      c.close();
    }
    expect(pendingJournals(s, DIR)).toEqual([]);
    if (!tree) return;
    const report = checkTree(s, DIR);
    expect(report.Findings.filter((x) => x.severity === 'error' || x.code === 'PARENT_WRITABLE' || x.code === 'LEAF_READ_ONLY')).toEqual([]);
  }

  it('runs straight through, and counts its operations', () => {
    const s = fresh();
    sc.run(s, f);
    checkFinal(s);
  });

  // Count the operations once; then crash at each of them.
  const budget = faultBudget();
  sc.run(fresh(budget), f);
  const total = budget.ops;

  // (Not every scenario sweeps: each sweep reruns the operation ~3×N times on multi-MiB files.)
  if (sc.sweep) it.each(MODES)(`survives a crash at every one of its operations (%s)`, (mode) => {
    expect(total).toBeGreaterThan(5);
    for (let k = 0; k <= total; k++) {
      const b = faultBudget(k, mode);
      const s = fresh(b);
      let finished = false;
      try {
        sc.run(s, f);
        finished = true;
      } catch (e) {
        if (!isFault(e)) throw new Error(`crash at ${k} (${mode}): unexpected ${String(e)}`);
      }
      expect(finished, `operation ${k} of ${total}`).toBe(k >= total);
      // Power back on: what reached the disk, read without changing anything.
      const survived = s.snapshot();
      const ro = s.readOnlyPaths();
      const after = new SnapStore(survived, ro);
      const where = `crash at ${k}/${total} (${mode})`;
      const mg = sc.merge?.(f);
      // The leaf's point in time: through the leaf while it exists, then in the destination.
      const relevant = mg ? (after.exists(mg.leaf) ? mg.leaf : mg.dest) : undefined;
      const live = [...sc.untilRemoved(f).filter((p) => after.exists(p)), ...sc.keep(f)];
      const v = views(after, [...(relevant ? [relevant] : []), ...live]);
      for (const p of live) expect(v.get(p)!.equals(before.get(p)!), `${where}: ${p}`).toBe(true);
      if (mg && relevant) expect(v.get(relevant)!.equals(before.get(mg.leaf)!), `${where}: ${relevant} reads the leaf's view`).toBe(true);
      // Complete it in a fresh process: alternately resume the journals, or run the same operation again.
      const again = MemoryDiskStore.from(survived, undefined, ro);
      if (k % 2 === 0 || pendingJournals(again, DIR).length === 0) {
        if (pendingJournals(again, DIR).length > 0) expect(resumeMerges(again, DIR).length).toBe(1);
        else if (!finished) sc.run(again, f);
      } else sc.run(again, f);
      checkFinal(SnapStore.ofStore(again), k % 8 === 0);
    }
  });

  if (sc.merge) {
    it('openChainResuming completes an interrupted merge and opens what the leaf became', () => {
      const mg = sc.merge!(f);
      for (const k of [Math.floor(total / 3), Math.floor((2 * total) / 3), total - 1]) {
        const s = fresh(faultBudget(k, 'lose-unflushed'));
        expect(() => sc.run(s, f)).toThrow(HvsimError);
        const after = MemoryDiskStore.from(s.snapshot(), undefined, s.readOnlyPaths());
        const c = openChainResuming(mg.leaf, { store: after });
        const b = Buffer.alloc(c.virtualSize);
        c.read(b, 0);
        expect(c.paths[c.paths.length - 1]).toBe(mg.dest);
        c.close();
        expect(b.equals(before.get(mg.leaf)!)).toBe(true);
        checkFinal(after);
      }
    });
  }
});
