// The chain engine against a simple model: fast-check commands (write, checkpoint, branch, merge
// down, remove a middle layer, flatten, reopen) over a MemoryDiskStore; after every command every
// point in time — each frozen layer's view and each leaf's view — reads exactly as a byte array
// per file, resolved reads equal naive reads, and read-only marks follow the tree. Plus chain-open
// errors, Windows-style parent locators, and probe counts that do not grow with depth.
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDiskFile } from '../../src/vhd/open.js';
import { childLocatorEntries } from '../../src/vhd/vhdx/metadata.js';
import type { VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';
import { Chain, openLayer } from '../../src/engine/chain.js';
import { flatten } from '../../src/engine/flatten.js';
import { createChild } from '../../src/engine/layers.js';
import { mergeDown, removeLayer } from '../../src/engine/merge.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { checkTree, isDiskFileName } from '../../src/engine/tree.js';
import { fill, expectError } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 4 * MiB;
const DIR = '/vms/model';

// ---- The model ----

type Format = 'VHDX' | 'VHD';

interface MFile {
  parent: string | null;
  view: Uint8Array;
  format: Format;
}

interface Model {
  files: Map<string, MFile>;
  next: number;
}

interface Real {
  store: MemoryDiskStore;
}

function childrenOf(m: Model, p: string): string[] {
  return [...m.files].filter(([, f]) => f.parent === p).map(([k]) => k).sort();
}
function leaves(m: Model): string[] {
  return [...m.files.keys()].filter((p) => childrenOf(m, p).length === 0).sort();
}
function frozen(m: Model): string[] {
  return [...m.files.keys()].filter((p) => childrenOf(m, p).length > 0).sort();
}
function ancestors(m: Model, p: string): string[] {
  const out: string[] = [];
  for (let q = m.files.get(p)!.parent; q !== null; q = m.files.get(q)!.parent) out.push(q);
  return out;
}
function newName(m: Model, format: Format, child: boolean): string {
  const ext = format === 'VHDX' ? (child ? 'avhdx' : 'vhdx') : child ? 'avhd' : 'vhd';
  return `${DIR}/d${m.next++}.${ext}`;
}

/**
 * Every point in time reads as the model: one chain per leaf (ancestors read through its lower
 * layers), resolved reads equal naive reads, the folder holds exactly the model's files, parents
 * are marked read-only and leaves are not. Reads from a fresh store holding only what is durable.
 */
function checkAll(m: Model, r: Real): void {
  r.store = MemoryDiskStore.from(r.store.snapshot(), undefined, r.store.readOnlyPaths());
  const s = r.store;
  expect(s.list(DIR).filter(isDiskFileName).map((n) => `${DIR}/${n}`).sort()).toEqual([...m.files.keys()].sort());
  const seen = new Set<string>();
  for (const leaf of leaves(m)) {
    const c = Chain.open(leaf, { store: s });
    try {
      expect(c.paths).toEqual([...ancestors(m, leaf).reverse(), leaf]);
      for (let i = c.depth - 1; i >= 0; i--) {
        const p = c.paths[i]!;
        if (seen.has(p)) continue;
        seen.add(p);
        const sub = i === c.depth - 1 ? c : Chain.fromLayers(c.layers.slice(0, i + 1), c.paths.slice(0, i + 1), s);
        const got = new Uint8Array(SIZE);
        sub.read(got, 0);
        expect(Buffer.from(got).equals(Buffer.from(m.files.get(p)!.view)), `${p} reads as the model`).toBe(true);
        const naive = new Uint8Array(SIZE);
        sub.readNaive(naive, 0);
        expect(Buffer.from(naive).equals(Buffer.from(got)), `${p}: naive read equals resolved read`).toBe(true);
        expect(s.isReadOnly(p), `${p} read-only mark`).toBe(childrenOf(m, p).length > 0);
      }
    } finally {
      c.close();
    }
  }
  expect(seen.size).toBe(m.files.size);
}

type Cmd = fc.Command<Model, Real>;

class WriteCmd implements Cmd {
  constructor(readonly pick: number, readonly offset: number, readonly len: number, readonly seed: number, readonly kind: 'data' | 'zero') {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const ls = leaves(m);
    const p = ls[this.pick % ls.length]!;
    const len = Math.min(this.len, SIZE - this.offset);
    const c = Chain.open(p, { store: r.store, writable: true });
    try {
      if (this.kind === 'data') {
        const d = fill(len, this.seed);
        c.write(d, this.offset);
        m.files.get(p)!.view.set(d, this.offset);
      } else {
        c.zero(this.offset, len);
        m.files.get(p)!.view.fill(0, this.offset, this.offset + len);
      }
      // The same chain's resolved map is kept correct across the write.
      const a = new Uint8Array(len + 1024);
      const at = Math.max(0, Math.min(SIZE - a.length, this.offset - 512));
      c.read(a, at);
      const b = new Uint8Array(a.length);
      c.readNaive(b, at);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(m.files.get(p)!.view.subarray(at, at + a.length)))).toBe(true);
    } finally {
      c.close();
    }
    checkAll(m, r);
  }
  toString(): string {
    return `write(${this.pick}, ${this.offset}+${this.len}, ${this.kind})`;
  }
}

/** A checkpoint (on a leaf) or a branch (a new child of a frozen layer: "apply, then checkpoint"). */
class ChildCmd implements Cmd {
  constructor(readonly pick: number, readonly branch: boolean, readonly blockSize: number | undefined) {}
  check(m: Model): boolean {
    return (this.branch ? frozen(m) : leaves(m)).length > 0;
  }
  run(m: Model, r: Real): void {
    const list = this.branch ? frozen(m) : leaves(m);
    const p = list[this.pick % list.length]!;
    const f = m.files.get(p)!;
    const name = newName(m, f.format, true);
    createChild(r.store, p, name, f.format === 'VHDX' ? this.blockSize : undefined);
    m.files.set(name, { parent: p, view: f.view.slice(), format: f.format });
    checkAll(m, r);
  }
  toString(): string {
    return `${this.branch ? 'branch' : 'checkpoint'}(${this.pick}, ${this.blockSize ?? 'default'})`;
  }
}

class MergeDownCmd implements Cmd {
  constructor(readonly pick: number, readonly up: number) {}
  check(m: Model): boolean {
    return leaves(m).some((p) => m.files.get(p)!.parent !== null);
  }
  run(m: Model, r: Real): void {
    const ls = leaves(m).filter((p) => m.files.get(p)!.parent !== null);
    const leaf = ls[this.pick % ls.length]!;
    const anc = ancestors(m, leaf);
    const dest = anc[this.up % anc.length]!;
    const between = [leaf, ...anc.slice(0, anc.indexOf(dest))];
    // Allowed only when no other file links to the destination or a layer in between.
    const allowed = [dest, ...between.slice(1)].every((p) => childrenOf(m, p).length === 1);
    if (!allowed) {
      const before = r.store.snapshot();
      expectError(() => mergeDown(r.store, leaf, dest), 'INVALID_STATE', leaf);
      const after = r.store.snapshot();
      for (const [k, v] of before) expect(Buffer.from(after.get(k)!).equals(Buffer.from(v)), k).toBe(true);
    } else {
      const res = mergeDown(r.store, leaf, this.up === 0 ? undefined : dest);
      expect(res.destination).toBe(dest);
      expect(res.removed).toEqual(between);
      m.files.get(dest)!.view = m.files.get(leaf)!.view;
      for (const p of between) m.files.delete(p);
    }
    checkAll(m, r);
  }
  toString(): string {
    return `mergeDown(${this.pick}, up ${this.up})`;
  }
}

class RemoveCmd implements Cmd {
  constructor(readonly pick: number, readonly mode: 'copy' | 'keep') {}
  check(m: Model): boolean {
    return frozen(m).length > 0;
  }
  run(m: Model, r: Real): void {
    const fs = frozen(m);
    const p = fs[this.pick % fs.length]!;
    const kids = childrenOf(m, p);
    const f = m.files.get(p)!;
    const res = removeLayer(r.store, p, kids, this.mode);
    expect(res.kept).toBe(this.mode === 'keep');
    if (this.mode === 'copy') {
      for (const k of kids) m.files.get(k)!.parent = f.parent;
      m.files.delete(p);
    }
    checkAll(m, r);
  }
  toString(): string {
    return `remove(${this.pick}, ${this.mode})`;
  }
}

class FlattenCmd implements Cmd {
  constructor(readonly pick: number, readonly format: 'VHDX' | 'VHD' | 'RAW') {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const all = [...m.files.keys()].sort();
    const p = all[this.pick % all.length]!;
    const c = Chain.open(p, { store: r.store });
    try {
      if (this.format === 'RAW') {
        const name = `${DIR}/flat${m.next++}.raw`;
        flatten(r.store, c, name, 'RAW');
        const raw = r.store.snapshot().get(name)!;
        expect(Buffer.from(raw).equals(Buffer.from(m.files.get(p)!.view))).toBe(true);
        r.store.remove(name);
      } else {
        const name = newName(m, this.format, false);
        flatten(r.store, c, name, this.format, this.format === 'VHD' ? { blockSize: 512 * KiB } : {});
        m.files.set(name, { parent: null, view: m.files.get(p)!.view.slice(), format: this.format });
      }
    } finally {
      c.close();
    }
    checkAll(m, r);
  }
  toString(): string {
    return `flatten(${this.pick}, ${this.format})`;
  }
}

/** A new process: only what reached the store survives (MemoryDiskStore.from its snapshot). */
class ReopenCmd implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.store = MemoryDiskStore.from(r.store.snapshot(), undefined, r.store.readOnlyPaths());
    checkAll(m, r);
  }
  toString(): string {
    return 'reopen';
  }
}

function commands(allowVhdFlatten: boolean): Array<fc.Arbitrary<Cmd>> {
  const pick = fc.nat(50);
  const write = fc
    .record({
      pick,
      // Any byte, a sector, or a block boundary; short, long, or whole blocks (zero blocks need those).
      offset: fc.oneof(fc.nat(SIZE - 1), fc.nat(SIZE / 512 - 1).map((x) => x * 512), fc.nat(3).map((x) => x * MiB)),
      len: fc.oneof(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 1, max: 1.5 * MiB }), fc.integer({ min: 1, max: 3 }).map((x) => x * MiB)),
      seed: fc.nat(),
      kind: fc.constantFrom<'data' | 'zero'>('data', 'data', 'zero'),
    })
    .map((o) => new WriteCmd(o.pick, o.offset, o.len, o.seed, o.kind));
  const checkpoint = fc.record({ pick, bs: fc.constantFrom(MiB, 2 * MiB, undefined) }).map((o) => new ChildCmd(o.pick, false, o.bs));
  const merge = fc.record({ pick, up: fc.nat(3) }).map((o) => new MergeDownCmd(o.pick, o.up));
  const remove = fc.record({ pick, mode: fc.constantFrom<'copy' | 'keep'>('copy', 'copy', 'keep') }).map((o) => new RemoveCmd(o.pick, o.mode));
  const formats = allowVhdFlatten ? (['VHDX', 'VHD', 'RAW'] as const) : (['VHDX', 'RAW'] as const);
  // Repeated entries weight the choice: trees need writes and checkpoints before merges mean much.
  return [
    write, write, write,
    checkpoint, checkpoint, checkpoint,
    fc.record({ pick, bs: fc.constantFrom(MiB, 2 * MiB, undefined) }).map((o) => new ChildCmd(o.pick, true, o.bs)),
    merge, merge,
    remove, remove,
    fc.record({ pick, fmt: fc.constantFrom<'VHDX' | 'VHD' | 'RAW'>(...formats) }).map((o) => new FlattenCmd(o.pick, o.fmt)),
    fc.constant(new ReopenCmd()),
  ];
}

function setup(format: Format): () => { model: Model; real: Real } {
  return () => {
    const store = new MemoryDiskStore();
    const base = `${DIR}/base.${format === 'VHDX' ? 'vhdx' : 'vhd'}`;
    createDiskFile(store.create(base), format, { virtualSize: SIZE, blockSize: format === 'VHDX' ? MiB : 512 * KiB }).close();
    return { model: { files: new Map([[base, { parent: null, view: new Uint8Array(SIZE), format }]]), next: 0 }, real: { store } };
  };
}

describe('model-based: every point in time reads as the model after every command', () => {
  it('VHDX trees', () => {
    fc.assert(
      fc.property(fc.commands(commands(false), { maxCommands: 16, size: 'max' }), (cmds) => {
        fc.modelRun(setup('VHDX'), cmds);
      }),
      { numRuns: 30 },
    );
  });

  it('VHD trees (merge down, flatten, removing a layer)', () => {
    fc.assert(
      fc.property(fc.commands(commands(true), { maxCommands: 16, size: 'max' }), (cmds) => {
        fc.modelRun(setup('VHD'), cmds);
      }),
      { numRuns: 16 },
    );
  });

  it('a fixed long scenario: checkpoints, branches, merges and removals in one tree', () => {
    const cmds: Cmd[] = [
      new WriteCmd(0, 1000, 300000, 1, 'data'),
      new ChildCmd(0, false, MiB),
      new WriteCmd(0, 2 * MiB - 700, 5000, 2, 'data'),
      new ChildCmd(0, false, 2 * MiB),
      new WriteCmd(0, 0, MiB, 3, 'zero'),
      new ChildCmd(0, true, undefined), // branch on base
      new WriteCmd(1, 3 * MiB + 1, 4000, 4, 'data'),
      new RemoveCmd(0, 'copy'), // base has two children: copy into each, both become bases
      new ChildCmd(1, false, MiB),
      new MergeDownCmd(0, 1),
      new RemoveCmd(0, 'copy'),
      new FlattenCmd(0, 'VHDX'),
      new ReopenCmd(),
      new MergeDownCmd(0, 0),
    ];
    const { model, real } = setup('VHDX')();
    for (const c of cmds) if (c.check(model)) c.run(model, real);
  });
});

// ---- Opening chains ----

function vhdx(s: MemoryDiskStore, p: string, size = SIZE): void {
  createDiskFile(s.create(p), 'VHDX', { virtualSize: size, blockSize: MiB }).close();
}

/** Rewrite a differencing VHDX's parent locator (the file's own identity stays). */
function setLocator(s: MemoryDiskStore, p: string, entries: Array<[string, string]>): void {
  const ro = s.isReadOnly(p);
  s.setReadOnly(p, false);
  const img = openLayer(s, p, true, { keepIdentity: true }) as VhdxImage;
  img.setParentLocator(entries);
  img.close();
  s.setReadOnly(p, ro);
}
function identity(s: MemoryDiskStore, p: string): string {
  const img = openLayer(s, p, false);
  const id = img.identity;
  img.close();
  return id;
}

describe('Chain.open', () => {
  it('a missing parent: one line naming the child and where it looked', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/v/base.vhdx');
    createChild(s, '/v/base.vhdx', '/v/child.avhdx');
    s.remove('/v/base.vhdx');
    expectError(() => Chain.open('/v/child.avhdx', { store: s }), 'PARENT_MISSING', '/v/child.avhdx', '/v/base.vhdx');
  });

  it('a changed parent (its identity no longer matches): one line naming both files', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/v/base.vhdx');
    createChild(s, '/v/base.vhdx', '/v/child.avhdx');
    s.setReadOnly('/v/base.vhdx', false);
    const c = Chain.open('/v/base.vhdx', { store: s, writable: true });
    c.write(new Uint8Array(512).fill(1), 0); // a write gives the parent a new DataWriteGuid
    c.close();
    expectError(() => Chain.open('/v/child.avhdx', { store: s }), 'PARENT_MISMATCH', '/v/child.avhdx', '/v/base.vhdx', 'modified');
  });

  it('a cycle of parent links', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/v/a.vhdx');
    createChild(s, '/v/a.vhdx', '/v/b.avhdx');
    createChild(s, '/v/b.avhdx', '/v/c.avhdx');
    setLocator(s, '/v/b.avhdx', childLocatorEntries(identity(s, '/v/c.avhdx'), '.\\c.avhdx', 'C:\\VMs\\c.avhdx'));
    expectError(() => Chain.open('/v/c.avhdx', { store: s }), 'CHAIN', '/v/b.avhdx', '/v/c.avhdx', 'loop');
  });

  it('a parent of another size, or another sector size', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/v/a.vhdx');
    vhdx(s, '/v/big.vhdx', 2 * SIZE);
    createDiskFile(s.create('/v/4k.vhdx'), 'VHDX', { virtualSize: SIZE, blockSize: MiB, logicalSectorSize: 4096 }).close();
    createChild(s, '/v/a.vhdx', '/v/child.avhdx');
    setLocator(s, '/v/child.avhdx', childLocatorEntries(identity(s, '/v/big.vhdx'), '.\\big.vhdx', '/v/big.vhdx'));
    expectError(() => Chain.open('/v/child.avhdx', { store: s }), 'CHAIN', '/v/child.avhdx', '/v/big.vhdx', 'virtual size');
    setLocator(s, '/v/child.avhdx', childLocatorEntries(identity(s, '/v/4k.vhdx'), '.\\4k.vhdx', '/v/4k.vhdx'));
    expectError(() => Chain.open('/v/child.avhdx', { store: s }), 'CHAIN', '/v/child.avhdx', '/v/4k.vhdx', 'sector size');
  });

  it('a chain deeper than the cap', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/v/d0.vhdx');
    for (let i = 1; i <= 4; i++) createChild(s, `/v/d${i - 1}.${i === 1 ? 'vhdx' : 'avhdx'}`, `/v/d${i}.avhdx`);
    expect(Chain.open('/v/d4.avhdx', { store: s, maxDepth: 5 }).close()).toBeUndefined();
    expectError(() => Chain.open('/v/d4.avhdx', { store: s, maxDepth: 3 }), 'CHAIN', '/v/d4.avhdx', 'deeper than 3');
  });

  it('a write aimed at a parent is refused', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/v/a.vhdx');
    createChild(s, '/v/a.vhdx', '/v/b.avhdx');
    expectError(() => Chain.open('/v/a.vhdx', { store: s, writable: true }), 'READ_ONLY', '/v/a.vhdx');
    const c = Chain.open('/v/b.avhdx', { store: s });
    expectError(() => c.write(new Uint8Array(10), 0), 'READ_ONLY', '/v/b.avhdx');
    c.close();
  });

  it('Windows-style locators resolve next to the child (relative ".\\x", "..\\dir\\x", absolute "C:\\...")', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/host/disks/base.vhdx');
    createChild(s, '/host/disks/base.vhdx', '/host/disks/child.avhdx');
    const id = identity(s, '/host/disks/base.vhdx');
    const parentOf = (p: string): string => {
      const c = Chain.open(p, { store: s });
      const q = c.paths[0]!;
      c.close();
      return q;
    };
    // As Hyper-V writes them.
    setLocator(s, '/host/disks/child.avhdx', childLocatorEntries(id, '.\\base.vhdx', 'C:\\ProgramData\\Hyper-V\\Disks\\base.vhdx'));
    expect(parentOf('/host/disks/child.avhdx')).toBe('/host/disks/base.vhdx');
    // A stale relative path: the absolute Windows path is tried by its name next to the child.
    setLocator(s, '/host/disks/child.avhdx', childLocatorEntries(id, '.\\moved.vhdx', 'C:\\VMs\\base.vhdx'));
    expect(parentOf('/host/disks/child.avhdx')).toBe('/host/disks/base.vhdx');
    // Only an absolute path.
    setLocator(s, '/host/disks/child.avhdx', [['parent_linkage', `{${id}}`], ['absolute_win32_path', 'D:\\x\\y\\base.vhdx']]);
    expect(parentOf('/host/disks/child.avhdx')).toBe('/host/disks/base.vhdx');
    // A relative path into a sibling folder.
    createChild(s, '/host/disks/base.vhdx', '/host/snaps/c2.avhdx');
    setLocator(s, '/host/snaps/c2.avhdx', childLocatorEntries(id, '..\\disks\\base.vhdx', 'C:\\elsewhere\\nothere.vhdx'));
    expect(parentOf('/host/snaps/c2.avhdx')).toBe('/host/disks/base.vhdx');
    // Nothing matches: every path tried is named.
    setLocator(s, '/host/snaps/c2.avhdx', childLocatorEntries(id, '.\\gone.vhdx', 'C:\\VMs\\gone.vhdx'));
    expectError(() => Chain.open('/host/snaps/c2.avhdx', { store: s }), 'PARENT_MISSING', '/host/snaps/gone.vhdx', 'C:\\VMs\\gone.vhdx');
    expect(path.posix.basename('/host/snaps/c2.avhdx')).toBe('c2.avhdx');
  });
});

describe('read cost', () => {
  /** A VHD chain of `depth` layers, each writing its own 64 KiB somewhere; the base writes everything. */
  function deepChain(depth: number): { s: MemoryDiskStore; leaf: string } {
    let s = new MemoryDiskStore();
    createDiskFile(s.create('/r/l0.vhd'), 'VHD', { virtualSize: SIZE, blockSize: 512 * KiB }).close();
    const c0 = Chain.open('/r/l0.vhd', { store: s, writable: true });
    c0.write(fill(SIZE, 1), 0);
    c0.close();
    let prev = '/r/l0.vhd';
    for (let i = 1; i < depth; i++) {
      const p = `/r/l${i}.avhd`;
      createChild(s, prev, p);
      const c = Chain.open(p, { store: s, writable: true });
      c.write(fill(64 * KiB, i + 1), ((i * 37) % 60) * 64 * KiB);
      c.close();
      prev = p;
      // A fresh store now and then: the memory store re-reads every file opened for writing on each open.
      if (i % 6 === 0) s = MemoryDiskStore.from(s.snapshot(), undefined, s.readOnlyPaths());
    }
    return { s: MemoryDiskStore.from(s.snapshot(), undefined, s.readOnlyPaths()), leaf: prev };
  }

  it('probes per Chain.read do not grow with depth; the naive walk grows linearly', () => {
    const offsets = Array.from({ length: 300 }, (_, i) => ((i * 7919) % (SIZE / 4096)) * 4096);
    const measure = (depth: number): { warm: number; perRead: number; naivePerRead: number } => {
      const { s, leaf } = deepChain(depth);
      const c = Chain.open(leaf, { store: s });
      try {
        expect(c.depth).toBe(depth);
        const buf = new Uint8Array(4096);
        const whole = new Uint8Array(SIZE);
        c.read(whole, 0); // resolves every unit once
        const warm = c.stats.probes;
        expect(warm).toBeLessThanOrEqual((SIZE / (512 * KiB)) * depth * 2);
        for (const o of offsets) c.read(buf, o);
        const perRead = (c.stats.probes - warm) / offsets.length;
        const n0 = c.stats.probes;
        const ref = new Uint8Array(4096);
        for (const o of offsets) {
          c.readNaive(ref, o);
          c.read(buf, o);
          expect(Buffer.from(buf).equals(Buffer.from(ref))).toBe(true);
        }
        return { warm, perRead, naivePerRead: (c.stats.probes - n0) / offsets.length };
      } finally {
        c.close();
      }
    };
    const shallow = measure(2);
    const deep = measure(48);
    expect(shallow.perRead).toBe(0);
    expect(deep.perRead).toBe(0);
    // Most 4 KiB reads fall through to the base: the walk probes most layers.
    expect(deep.naivePerRead).toBeGreaterThan(20);
    expect(shallow.naivePerRead).toBeLessThanOrEqual(2);
  });

  it('after a write, only the written units are resolved again', () => {
    const { s, leaf } = deepChain(20);
    const c = Chain.open(leaf, { store: s, writable: true });
    s.setReadOnly(leaf, false);
    const whole = new Uint8Array(SIZE);
    c.read(whole, 0);
    const before = c.stats.unitsResolved;
    c.write(fill(100, 9), 5 * 512 * KiB + 10);
    c.read(whole, 0);
    expect(c.stats.unitsResolved - before).toBe(1);
    const ref = new Uint8Array(SIZE);
    c.readNaive(ref, 0);
    expect(Buffer.from(whole).equals(Buffer.from(ref))).toBe(true);
    c.close();
  });
});

describe('checkTree: a whole folder as one tree', () => {
  it('reports links, sizes, read-only marks, loops, pending merges and files nothing in use refers to', () => {
    const s = new MemoryDiskStore();
    const T = '/t';
    vhdx(s, `${T}/base.vhdx`);
    createChild(s, `${T}/base.vhdx`, `${T}/a.avhdx`);
    createChild(s, `${T}/a.avhdx`, `${T}/b.avhdx`);
    createChild(s, `${T}/base.vhdx`, `${T}/branch.avhdx`);
    let r = checkTree(s, T);
    expect(r.Valid).toBe(true);
    expect(r.Findings).toEqual([]);
    expect(r.Nodes.find((x) => x.Path === `${T}/base.vhdx`)).toMatchObject({ Link: 'base', Children: [`${T}/a.avhdx`, `${T}/branch.avhdx`], ReadOnly: true });
    expect(r.Nodes.find((x) => x.Path === `${T}/b.avhdx`)).toMatchObject({ Link: 'ok', ParentPath: `${T}/a.avhdx`, Children: [] });
    // Files in use: the branch is then unreferenced.
    r = checkTree(s, T, { inUse: [`${T}/b.avhdx`] });
    expect(r.Findings.map((f) => [f.code, f.path])).toEqual([['UNREFERENCED', `${T}/branch.avhdx`]]);
    // Damage of every kind.
    vhdx(s, `${T}/other.vhdx`, 2 * SIZE);
    createChild(s, `${T}/other.vhdx`, `${T}/orphan.avhdx`);
    s.remove(`${T}/other.vhdx`);
    vhdx(s, `${T}/p2.vhdx`);
    createChild(s, `${T}/p2.vhdx`, `${T}/stale.avhdx`);
    s.setReadOnly(`${T}/p2.vhdx`, false);
    const c = Chain.open(`${T}/p2.vhdx`, { store: s, writable: true });
    c.write(new Uint8Array(512), 0); // p2 changes: stale no longer matches
    c.close();
    vhdx(s, `${T}/big.vhdx`, 2 * SIZE);
    setLocator(s, `${T}/branch.avhdx`, childLocatorEntries(identity(s, `${T}/big.vhdx`), '.\\big.vhdx', `${T}/big.vhdx`));
    s.setReadOnly(`${T}/a.avhdx`, false); // a parent left writable
    s.setReadOnly(`${T}/b.avhdx`, true); // a leaf marked read-only
    s.writeTextAtomic(`${T}/a.avhdx.hvsim-merge.json`, '{}');
    r = checkTree(s, T);
    expect(r.Valid).toBe(false);
    const got = r.Findings.map((f) => `${f.code} ${path.posix.basename(f.path)}`).sort();
    expect(got).toEqual([
      'CHAIN branch.avhdx',
      'LEAF_READ_ONLY b.avhdx',
      'MERGE_PENDING a.avhdx.hvsim-merge.json',
      'PARENT_MISMATCH stale.avhdx',
      'PARENT_MISSING orphan.avhdx',
      'PARENT_WRITABLE a.avhdx',
      'PARENT_WRITABLE big.vhdx', // branch now links to it (with the wrong size)
    ]);
    for (const f of r.Findings) expect(f.message).not.toContain('\n');
  });

  it('a loop of parent links is reported once per file in it', () => {
    const s = new MemoryDiskStore();
    vhdx(s, '/l/a.vhdx');
    createChild(s, '/l/a.vhdx', '/l/b.avhdx');
    createChild(s, '/l/b.avhdx', '/l/c.avhdx');
    setLocator(s, '/l/b.avhdx', childLocatorEntries(identity(s, '/l/c.avhdx'), '.\\c.avhdx', '/l/c.avhdx'));
    const r = checkTree(s, '/l');
    expect(r.Findings.filter((f) => f.code === 'CHAIN').map((f) => f.path).sort()).toEqual(['/l/b.avhdx', '/l/c.avhdx']);
  });
});
