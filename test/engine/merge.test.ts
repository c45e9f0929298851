// Merge semantics (docs/hyperv.md, "Disk files"; docs/formats.md, "Merging"): Merge-VHD into an ancestor,
// removing a middle layer (one child, several children, the base), Hyper-V's rule for a deleted
// checkpoint's disk, refusals that leave every file byte-identical, journals, flatten, and the
// per-layer run finder the merges copy with.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO, type DiskImage } from '../../src/vhd/disk.js';
import { createDiskFile } from '../../src/vhd/open.js';
import { PAYLOAD_PARTIALLY_PRESENT } from '../../src/vhd/vhdx/spec.js';
import { VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';
import { Chain, openLayer } from '../../src/engine/chain.js';
import { flatten, flattenFormatForPath } from '../../src/engine/flatten.js';
import { createChild, layerAllocation } from '../../src/engine/layers.js';
import {
  deleteCheckpointDisk, journalPath, mergeDown, pendingJournals, readJournal, removeLayer, resumeMerges,
} from '../../src/engine/merge.js';
import { ResolvedMap, THROUGH } from '../../src/engine/resolved-map.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { checkTree, findChildren } from '../../src/engine/tree.js';
import { expectError, fill } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 4 * MiB;
const D = '/vms/a';

function newBase(s: MemoryDiskStore, p: string, opts: { size?: number; blockSize?: number } = {}): void {
  const vhd = p.endsWith('.vhd');
  createDiskFile(s.create(p), vhd ? 'VHD' : 'VHDX', { virtualSize: opts.size ?? SIZE, blockSize: opts.blockSize ?? (vhd ? 512 * KiB : MiB) }).close();
}
function child(s: MemoryDiskStore, parent: string, p: string, blockSize?: number): void {
  createChild(s, parent, p, blockSize);
}
function write(s: MemoryDiskStore, p: string, off: number, data: Uint8Array): void {
  const c = Chain.open(p, { store: s, writable: true });
  c.write(data, off);
  c.close();
}
function zero(s: MemoryDiskStore, p: string, off: number, len: number): void {
  const c = Chain.open(p, { store: s, writable: true });
  c.zero(off, len);
  c.close();
}
function view(s: MemoryDiskStore, p: string): Buffer {
  const c = Chain.open(p, { store: s });
  try {
    const b = Buffer.alloc(c.virtualSize);
    c.read(b, 0);
    const n = Buffer.alloc(c.virtualSize);
    c.readNaive(n, 0);
    expect(b.equals(n), `${p}: resolved read equals naive read`).toBe(true);
    return b;
  } finally {
    c.close();
  }
}
function layer<T>(s: MemoryDiskStore, p: string, fn: (img: DiskImage) => T): T {
  const img = openLayer(s, p, false);
  try {
    return fn(img);
  } finally {
    img.close();
  }
}
function snapshotEqual(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || !Buffer.from(v).equals(Buffer.from(w))) return false;
  }
  return true;
}

/** base ← m ← c ← g in one folder, VHDX with mixed block sizes. */
function chain4(): MemoryDiskStore {
  const s = new MemoryDiskStore();
  newBase(s, `${D}/base.vhdx`);
  write(s, `${D}/base.vhdx`, 0, fill(SIZE, 1)); // every block
  child(s, `${D}/base.vhdx`, `${D}/m.avhdx`, MiB);
  write(s, `${D}/m.avhdx`, 2 * MiB + 512, fill(3000, 2)); // partial sectors in block 2
  zero(s, `${D}/m.avhdx`, MiB, MiB); // a zero block hiding the base's block 1
  child(s, `${D}/m.avhdx`, `${D}/c.avhdx`, 2 * MiB);
  zero(s, `${D}/c.avhdx`, 2 * MiB, 2 * MiB); // hides m's and the base's blocks 2 and 3
  write(s, `${D}/c.avhdx`, 3 * MiB, fill(MiB, 3)); // then 1 MiB of data in that zero block
  child(s, `${D}/c.avhdx`, `${D}/g.avhdx`, MiB);
  write(s, `${D}/g.avhdx`, 100, fill(1000, 4)); // unaligned: a read-modify-write of two sectors
  return s;
}

describe('mergeDown (Merge-VHD)', () => {
  it('merges a leaf into its parent: the parent reads what the leaf read, the leaf is gone, the parent is a writable leaf with a new identity', () => {
    const s = chain4();
    const expected = view(s, `${D}/g.avhdx`);
    const idBefore = layer(s, `${D}/c.avhdx`, (l) => l.identity);
    const r = mergeDown(s, `${D}/g.avhdx`);
    expect(r).toEqual({ op: 'merge-down', destination: `${D}/c.avhdx`, removed: [`${D}/g.avhdx`], resumed: false });
    expect(s.exists(`${D}/g.avhdx`)).toBe(false);
    expect(view(s, `${D}/c.avhdx`).equals(expected)).toBe(true);
    expect(s.isReadOnly(`${D}/c.avhdx`)).toBe(false);
    expect(layer(s, `${D}/c.avhdx`, (l) => l.identity)).not.toBe(idBefore);
    // Still a differencing disk on m, whose content did not change.
    const c = Chain.open(`${D}/c.avhdx`, { store: s, writable: true });
    expect(c.paths).toEqual([`${D}/base.vhdx`, `${D}/m.avhdx`, `${D}/c.avhdx`]);
    c.close();
    expect(pendingJournals(s, D)).toEqual([]);
  });

  it('merges through the layers between into an ancestor, copying only what the upper layers hold', () => {
    const s = chain4();
    const expected = view(s, `${D}/g.avhdx`);
    const baseView = view(s, `${D}/base.vhdx`);
    const before = layer(s, `${D}/m.avhdx`, (l) => [0, 1, 2, 3].map((k) => l.blockState(k)));
    expect(before).toEqual([BLOCK_PARENT, BLOCK_ZERO, BLOCK_PARTIAL, BLOCK_PARENT]);
    mergeDown(s, `${D}/g.avhdx`, `${D}/m.avhdx`);
    expect(s.list(D)).toEqual(['base.vhdx', 'm.avhdx']);
    expect(view(s, `${D}/m.avhdx`).equals(expected)).toBe(true);
    expect(view(s, `${D}/base.vhdx`).equals(baseView)).toBe(true);
    layer(s, `${D}/m.avhdx`, (l) => {
      // Block 0: only g's sectors (the base's data is not copied up); block 1: m's own zeros,
      // untouched; blocks 2-3: c's 2 MiB block (zeros, then data, all data since c wrote into it).
      expect([0, 1, 2, 3].map((k) => l.blockState(k))).toEqual([BLOCK_PARTIAL, BLOCK_ZERO, BLOCK_DATA, BLOCK_DATA]);
    });
  });

  it('merges into the base: no parent fall-through is copied and whole zero blocks stay unallocated', () => {
    const s = new MemoryDiskStore();
    newBase(s, `${D}/b.vhdx`);
    write(s, `${D}/b.vhdx`, 0, fill(4 * MiB, 1));
    child(s, `${D}/b.vhdx`, `${D}/l.avhdx`);
    zero(s, `${D}/l.avhdx`, MiB, MiB);
    write(s, `${D}/l.avhdx`, 3 * MiB, new Uint8Array(MiB)); // zeros written as data
    write(s, `${D}/l.avhdx`, 5, fill(7, 2));
    const expected = view(s, `${D}/l.avhdx`);
    const allocBefore = layer(s, `${D}/b.vhdx`, (l) => l.file.size());
    mergeDown(s, `${D}/l.avhdx`);
    expect(view(s, `${D}/b.vhdx`).equals(expected)).toBe(true);
    layer(s, `${D}/b.vhdx`, (l) => {
      expect([0, 1, 2, 3].map((k) => l.blockState(k))).toEqual([BLOCK_DATA, BLOCK_ZERO, BLOCK_DATA, BLOCK_ZERO]);
      expect(l.file.size()).toBe(allocBefore); // nothing new allocated
      expect(l.check().filter((f) => f.severity === 'error')).toEqual([]);
    });
  });

  it('works for VHD chains', () => {
    const s = new MemoryDiskStore();
    newBase(s, `${D}/b.vhd`);
    write(s, `${D}/b.vhd`, 0, fill(MiB, 1));
    child(s, `${D}/b.vhd`, `${D}/m.avhd`);
    write(s, `${D}/m.avhd`, 700 * KiB, fill(100 * KiB, 2));
    child(s, `${D}/m.avhd`, `${D}/l.avhd`);
    write(s, `${D}/l.avhd`, 4096, fill(8192, 3));
    const expected = view(s, `${D}/l.avhd`);
    mergeDown(s, `${D}/l.avhd`, `${D}/b.vhd`);
    expect(s.list(D)).toEqual(['b.vhd']);
    expect(view(s, `${D}/b.vhd`).equals(expected)).toBe(true);
  });

  it('works with 4096-byte logical sectors (merge down and removing a middle layer)', () => {
    const s = new MemoryDiskStore();
    createDiskFile(s.create(`${D}/b.vhdx`), 'VHDX', { virtualSize: SIZE, blockSize: MiB, logicalSectorSize: 4096 }).close();
    write(s, `${D}/b.vhdx`, 0, fill(MiB + 4096, 1));
    child(s, `${D}/b.vhdx`, `${D}/m.avhdx`, MiB);
    write(s, `${D}/m.avhdx`, 8192 + 5, fill(10000, 2));
    zero(s, `${D}/m.avhdx`, 2 * MiB, MiB);
    child(s, `${D}/m.avhdx`, `${D}/c.avhdx`, 2 * MiB);
    write(s, `${D}/c.avhdx`, MiB - 4096, fill(8192, 3));
    child(s, `${D}/c.avhdx`, `${D}/l.avhdx`, MiB);
    write(s, `${D}/l.avhdx`, 3, fill(3, 4));
    const lView = view(s, `${D}/l.avhdx`);
    const cView = view(s, `${D}/c.avhdx`);
    removeLayer(s, `${D}/m.avhdx`, [`${D}/c.avhdx`], 'copy');
    expect(view(s, `${D}/c.avhdx`).equals(cView)).toBe(true);
    expect(view(s, `${D}/l.avhdx`).equals(lView)).toBe(true);
    mergeDown(s, `${D}/l.avhdx`, `${D}/b.vhdx`);
    expect(view(s, `${D}/b.vhdx`).equals(lView)).toBe(true);
  });

  it('reports progress up to the total', () => {
    const s = chain4();
    const calls: Array<[number, number]> = [];
    mergeDown(s, `${D}/g.avhdx`, `${D}/m.avhdx`, { onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.length).toBeGreaterThan(0);
    for (const [d, t] of calls) expect(d).toBeLessThanOrEqual(t);
    const last = calls[calls.length - 1]!;
    expect(last[0]).toBe(last[1]);
  });

  it('refuses, changing nothing, when it would break another child, when the leaf has children, or the destination is not an ancestor', () => {
    const s = chain4();
    child(s, `${D}/c.avhdx`, `${D}/branch.avhdx`); // c now has two children
    write(s, `${D}/branch.avhdx`, 0, fill(512, 9));
    const snap = s.snapshot();
    expectError(() => mergeDown(s, `${D}/g.avhdx`), 'INVALID_STATE', `${D}/branch.avhdx`, `${D}/c.avhdx`);
    expectError(() => mergeDown(s, `${D}/g.avhdx`, `${D}/m.avhdx`), 'INVALID_STATE', `${D}/branch.avhdx`);
    expectError(() => mergeDown(s, `${D}/c.avhdx`), 'INVALID_STATE', `${D}/g.avhdx`);
    expectError(() => mergeDown(s, `${D}/g.avhdx`, `${D}/branch.avhdx`), 'INVALID_ARGUMENT', 'not an ancestor');
    expectError(() => mergeDown(s, `${D}/base.vhdx`), 'INVALID_ARGUMENT', 'base disk');
    expectError(() => mergeDown(s, `${D}/nope.avhdx`), 'NOT_FOUND', `${D}/nope.avhdx`);
    expect(snapshotEqual(s.snapshot(), snap)).toBe(true);
  });

  it("with otherChildren 'ignore' merges anyway; the other child then fails to open as its parent changed", () => {
    const s = chain4();
    child(s, `${D}/c.avhdx`, `${D}/branch.avhdx`);
    const expected = view(s, `${D}/g.avhdx`);
    mergeDown(s, `${D}/g.avhdx`, undefined, { otherChildren: 'ignore' });
    expect(view(s, `${D}/c.avhdx`).equals(expected)).toBe(true);
    expectError(() => Chain.open(`${D}/branch.avhdx`, { store: s }), 'PARENT_MISMATCH', `${D}/branch.avhdx`, `${D}/c.avhdx`);
    expect(s.isReadOnly(`${D}/c.avhdx`)).toBe(true); // not a leaf: it still has a (broken) child
  });
});

describe('removeLayer (deleting a checkpoint)', () => {
  it('copies a middle layer into its one child where the child holds nothing, re-points the child, keeps its identity', () => {
    const s = chain4();
    const views = new Map([`${D}/base.vhdx`, `${D}/c.avhdx`, `${D}/g.avhdx`].map((p) => [p, view(s, p)]));
    const cId = layer(s, `${D}/c.avhdx`, (l) => l.identity);
    const r = removeLayer(s, `${D}/m.avhdx`, [`${D}/c.avhdx`], 'copy');
    expect(r).toMatchObject({ kept: false, removed: [`${D}/m.avhdx`], children: [`${D}/c.avhdx`], parent: `${D}/base.vhdx` });
    expect(s.exists(`${D}/m.avhdx`)).toBe(false);
    for (const [p, v] of views) expect(view(s, p).equals(v), p).toBe(true);
    layer(s, `${D}/c.avhdx`, (l) => {
      expect(l.identity).toBe(cId); // g still links to it
      expect(l.parentLocator?.relativePath).toBe('.\\base.vhdx');
      expect(l.parentLocator?.absolutePath).toBe(`${D}/base.vhdx`);
      expect(l.blockState(0)).toBe(BLOCK_PARTIAL); // m's zeros over the base's block 1, written into c
    });
    expect(s.isReadOnly(`${D}/c.avhdx`)).toBe(true); // still g's parent
    expect(checkTree(s, D).Findings).toEqual([]);
  });

  it('removing the base makes its child a base disk (no sector bitmaps in use, no parent)', () => {
    const s = chain4();
    const views = new Map([`${D}/m.avhdx`, `${D}/c.avhdx`, `${D}/g.avhdx`].map((p) => [p, view(s, p)]));
    removeLayer(s, `${D}/base.vhdx`, [`${D}/m.avhdx`], 'copy');
    for (const [p, v] of views) expect(view(s, p).equals(v), p).toBe(true);
    const img = openLayer(s, `${D}/m.avhdx`, false) as VhdxImage;
    expect(img.type).toBe('Dynamic');
    expect(img.parentLocator).toBeUndefined();
    for (let k = 0; k < img.blockCount; k++) expect(img.payloadState(k)).not.toBe(PAYLOAD_PARTIALLY_PRESENT);
    img.close();
    const c = Chain.open(`${D}/g.avhdx`, { store: s });
    expect(c.paths).toEqual([`${D}/m.avhdx`, `${D}/c.avhdx`, `${D}/g.avhdx`]);
    c.close();
    // A sparse base under a partly written child: sectors from either, whole blocks, zeros unallocated.
    const t = new MemoryDiskStore();
    newBase(t, `${D}/b.vhdx`);
    write(t, `${D}/b.vhdx`, 3 * MiB + 4096, fill(100 * KiB, 7));
    write(t, `${D}/b.vhdx`, MiB, fill(512, 8));
    child(t, `${D}/b.vhdx`, `${D}/k.avhdx`, MiB);
    write(t, `${D}/k.avhdx`, MiB + 4096, fill(512, 9));
    const kView = view(t, `${D}/k.avhdx`);
    removeLayer(t, `${D}/b.vhdx`, [`${D}/k.avhdx`], 'copy');
    expect(view(t, `${D}/k.avhdx`).equals(kView)).toBe(true);
    const k = openLayer(t, `${D}/k.avhdx`, false) as VhdxImage;
    expect([0, 1, 2, 3].map((b) => k.blockState(b))).toEqual([BLOCK_PARENT, BLOCK_DATA, BLOCK_PARENT, BLOCK_DATA]);
    for (let b = 0; b < k.blockCount; b++) expect(k.payloadState(b)).not.toBe(PAYLOAD_PARTIALLY_PRESENT);
    k.close();
  });

  it("several children: 'keep' leaves every file as it was; 'copy' merges into each", () => {
    const s = chain4();
    child(s, `${D}/m.avhdx`, `${D}/c2.avhdx`);
    write(s, `${D}/c2.avhdx`, 2 * MiB, fill(600, 5));
    const snap = s.snapshot();
    const k = removeLayer(s, `${D}/m.avhdx`, [`${D}/c.avhdx`, `${D}/c2.avhdx`], 'keep');
    expect(k).toMatchObject({ kept: true, removed: [] });
    expect(snapshotEqual(s.snapshot(), snap)).toBe(true);
    const views = new Map([`${D}/c.avhdx`, `${D}/c2.avhdx`, `${D}/g.avhdx`].map((p) => [p, view(s, p)]));
    removeLayer(s, `${D}/m.avhdx`, [`${D}/c2.avhdx`, `${D}/c.avhdx`], 'copy');
    for (const [p, v] of views) expect(view(s, p).equals(v), p).toBe(true);
    expect(findChildren(s, `${D}/base.vhdx`)).toEqual([`${D}/c.avhdx`, `${D}/c2.avhdx`]);
  });

  it("deleteCheckpointDisk follows Hyper-V's rule: no child → deleted, one → merged into it, several → kept", () => {
    const s = chain4();
    child(s, `${D}/c.avhdx`, `${D}/c3.avhdx`); // c has two children now
    const snap = s.snapshot();
    expect(deleteCheckpointDisk(s, `${D}/c.avhdx`)).toMatchObject({ kept: true });
    expect(snapshotEqual(s.snapshot(), snap)).toBe(true);
    const gView = view(s, `${D}/g.avhdx`);
    expect(deleteCheckpointDisk(s, `${D}/m.avhdx`)).toMatchObject({ kept: false, children: [`${D}/c.avhdx`] });
    expect(view(s, `${D}/g.avhdx`).equals(gView)).toBe(true);
    expect(deleteCheckpointDisk(s, `${D}/c3.avhdx`)).toMatchObject({ kept: false, children: [] });
    expect(s.list(D)).toEqual(['base.vhdx', 'c.avhdx', 'g.avhdx']);
  });

  it('refuses, changing nothing, when a child is missing from the list or is not a child; a VHD middle layer is merged like a VHDX one', () => {
    const s = chain4();
    child(s, `${D}/m.avhdx`, `${D}/c2.avhdx`);
    const snap = s.snapshot();
    expectError(() => removeLayer(s, `${D}/m.avhdx`, [`${D}/c.avhdx`], 'copy'), 'INVALID_STATE', `${D}/c2.avhdx`);
    expectError(() => removeLayer(s, `${D}/m.avhdx`, [`${D}/g.avhdx`], 'copy'), 'INVALID_ARGUMENT', `${D}/g.avhdx`, 'not a child');
    expect(snapshotEqual(s.snapshot(), snap)).toBe(true);
    const v = new MemoryDiskStore();
    newBase(v, `${D}/b.vhd`);
    child(v, `${D}/b.vhd`, `${D}/m.avhd`);
    child(v, `${D}/m.avhd`, `${D}/c.avhd`);
    const before = view(v, `${D}/c.avhd`);
    expect(removeLayer(v, `${D}/m.avhd`, [`${D}/c.avhd`], 'copy')).toMatchObject({ kept: false });
    expect(v.exists(`${D}/m.avhd`)).toBe(false);
    expect(view(v, `${D}/c.avhd`).equals(before)).toBe(true);
  });
});

describe('journals', () => {
  it('a journal records the operation next to the file it changes; a second operation on the same files is refused until it is resumed', () => {
    const s = chain4();
    // Simulate an interrupted removal: write its journal by hand (phase copy: nothing done yet).
    const jp = journalPath(`${D}/m.avhdx`);
    s.writeTextAtomic(jp, JSON.stringify({
      hvsim: 'merge-journal', version: 1, op: 'remove-layer', phase: 'copy', target: `${D}/m.avhdx`, parent: `${D}/base.vhdx`,
      children: [`${D}/c.avhdx`], childrenReadOnly: [true],
    }));
    expect(readJournal(s, jp)).toMatchObject({ op: 'remove-layer', phase: 'copy' });
    expectError(() => mergeDown(s, `${D}/g.avhdx`, `${D}/m.avhdx`), 'INVALID_STATE', jp);
    expect(checkTree(s, D).Findings.map((f) => f.code)).toContain('MERGE_PENDING');
    const gView = view(s, `${D}/g.avhdx`);
    expect(resumeMerges(s, `${D}/c.avhdx`)).toMatchObject([{ op: 'remove-layer', resumed: true }]);
    expect(s.exists(jp)).toBe(false);
    expect(s.exists(`${D}/m.avhdx`)).toBe(false);
    expect(view(s, `${D}/g.avhdx`).equals(gView)).toBe(true);
    expect(resumeMerges(s, D)).toEqual([]);
  });

  it('a damaged journal is reported, not guessed at', () => {
    const s = chain4();
    s.writeTextAtomic(journalPath(`${D}/m.avhdx`), '{"hvsim": "merge-journal", "version": 1, "op": "explode"}');
    expectError(() => resumeMerges(s, D), 'CORRUPT', 'm.avhdx.hvsim-merge.json');
    s.writeTextAtomic(journalPath(`${D}/m.avhdx`), 'not json');
    expectError(() => resumeMerges(s, D), 'CORRUPT', 'not valid JSON');
  });
});

describe('flatten', () => {
  it('writes VHDX, VHD and raw images that read exactly as the chain, sparse where it reads zeros', () => {
    const s = chain4();
    const expected = view(s, `${D}/g.avhdx`);
    const c = Chain.open(`${D}/g.avhdx`, { store: s });
    const progress: number[] = [];
    for (const [p, fmt] of [[`${D}/f.vhdx`, 'VHDX'], [`${D}/f.vhd`, 'VHD'], [`${D}/f.raw`, 'RAW']] as const) {
      expect(flattenFormatForPath(p)).toBe(fmt);
      const r = flatten(s, c, p, fmt, { onProgress: (d) => progress.push(d), ...(fmt === 'VHD' ? { blockSize: 512 * KiB } : {}) });
      expect(r.dataBytes).toBeLessThanOrEqual(2 * MiB); // 1-2 MiB and 2-3 MiB read as zeros
      if (fmt === 'RAW') {
        const raw = s.snapshot().get(p)!;
        expect(raw.length).toBe(SIZE);
        expect(Buffer.from(raw).equals(expected)).toBe(true);
      } else {
        expect(view(s, p).equals(expected)).toBe(true);
        layer(s, p, (l) => {
          expect(l.type).toBe('Dynamic');
          expect(l.parentLocator).toBeUndefined();
          expect(layerAllocation(l).dataBytes).toBeLessThan(SIZE);
        });
      }
    }
    c.close();
    expect(progress[progress.length - 1]).toBe(SIZE);
    expectError(() => flattenFormatForPath('x.qcow2'), 'INVALID_ARGUMENT', '.qcow2');
  });

  it('refuses to replace a file, and a 4096-byte-sector chain as VHD', () => {
    const s = new MemoryDiskStore();
    createDiskFile(s.create(`${D}/b.vhdx`), 'VHDX', { virtualSize: SIZE, blockSize: MiB, logicalSectorSize: 4096 }).close();
    const c = Chain.open(`${D}/b.vhdx`, { store: s });
    expectError(() => flatten(s, c, `${D}/b.vhdx`, 'VHDX'), 'INVALID_ARGUMENT', 'exists');
    expectError(() => flatten(s, c, `${D}/x.vhd`, 'VHD'), 'INVALID_ARGUMENT', '512-byte');
    expect(s.exists(`${D}/x.vhd`)).toBe(false);
    c.close();
  });
});

describe('ResolvedMap.forEachRun (which layer supplies each run)', () => {
  // Reference: per sector, the topmost layer holding data or zeros, else THROUGH.
  function naiveOwner(layers: DiskImage[], sector: number): number {
    const lss = layers[0]!.logicalSectorSize;
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i]!;
      const off = sector * lss;
      const k = Math.floor(off / l.blockSize);
      const st = l.blockState(k);
      if (st === BLOCK_DATA) return i * 2;
      if (st === BLOCK_ZERO) return i * 2 + 1;
      if (st === BLOCK_PARTIAL) {
        let present = false;
        l.forEachSectorRun(k, (off - k * l.blockSize) / lss, 1, (p) => (present = p));
        if (present) return i * 2;
      }
    }
    return THROUGH;
  }

  it('matches a per-sector walk for random layer stacks', () => {
    const SZ = 3 * MiB;
    const op = fc.record({
      layer: fc.nat(2),
      kind: fc.constantFrom('data', 'zero'),
      sector: fc.nat(SZ / 512 - 1),
      sectors: fc.integer({ min: 1, max: 2600 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), fc.array(fc.constantFrom(MiB, 2 * MiB), { minLength: 3, maxLength: 3 }), (ops, bss) => {
        const s = new MemoryDiskStore();
        const paths = ['/t/l0.vhdx', '/t/l1.avhdx', '/t/l2.avhdx'];
        newBase(s, paths[0]!, { size: SZ, blockSize: bss[0]! });
        child(s, paths[0]!, paths[1]!, bss[1]);
        child(s, paths[1]!, paths[2]!, bss[2]);
        for (const o of ops) {
          s.setReadOnly(paths[o.layer]!, false);
          const img = openLayer(s, paths[o.layer]!, true);
          const off = o.sector * 512;
          const len = Math.min(o.sectors * 512, SZ - off);
          if (o.kind === 'data') img.writeSectors(fill(len, o.sector), off);
          else img.zeroSectors(off, len);
          img.close();
        }
        const layers = paths.map((p) => openLayer(s, p, false));
        try {
          const got = new Int32Array(SZ / 512).fill(-99);
          let covered = 0;
          new ResolvedMap(layers).forEachRun(0, SZ, (owner, off, len) => {
            expect(off).toBe(covered);
            covered += len;
            for (let x = off / 512; x < (off + len) / 512; x++) got[x] = owner;
          });
          expect(covered).toBe(SZ);
          for (let x = 0; x < SZ / 512; x += 7) expect(got[x], `sector ${x}`).toBe(naiveOwner(layers, x));
          // A sub-range gives the same owners.
          new ResolvedMap(layers).forEachRun(1536, MiB + 512, (owner, off, len) => {
            for (let x = off / 512; x < (off + len) / 512; x++) expect(owner).toBe(got[x]);
          });
        } finally {
          for (const l of layers) l.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
