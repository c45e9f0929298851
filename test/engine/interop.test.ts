// Merged and flattened results read identically through qemu-img and libvhdi (pyvhdi): the
// chain's content is taken through our reader before the operation (and cross-checked with
// libvhdi reading the whole chain), then the result is read by the other tools.
//
// Tool quirks (test/helpers/interop.ts): qemu-img reads no differencing VHDX/VHD, so results
// that still have a parent are read through libvhdi with their parents; libvhdi reads a VHDX
// differencing disk's ZERO blocks from the parent and extends VHD partial-sector runs to whole
// bitmap bytes, so upper layers here write 4 KiB-aligned data and set no zero blocks.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskFile } from '../../src/vhd/open.js';
import { Chain } from '../../src/engine/chain.js';
import { flatten } from '../../src/engine/flatten.js';
import { createChild } from '../../src/engine/layers.js';
import { mergeDown, removeLayer } from '../../src/engine/merge.js';
import { NodeDiskStore } from '../../src/engine/store.js';
import { interopGate, pyvhdiRead, qemuImgCheck, runQemuImg } from '../helpers/interop.js';
import { fill, readChain } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 8 * MiB;

const haveQemu = interopGate('qemu-img');
const havePyvhdi = interopGate('pyvhdi');

let root = '';
let n = 0;
const store = new NodeDiskStore();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hvsim-engine-interop-'));
});
afterAll(() => {
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

function write(p: string, off: number, data: Uint8Array): void {
  const c = Chain.open(p, { store, writable: true });
  c.write(data, off);
  c.close();
}
function view(p: string): Buffer {
  return readChain(p, store);
}

interface Tree {
  dir: string;
  base: string;
  m: string;
  c: string;
  g: string;
}

/** base ← m ← c ← g in a new folder; every upper write 4 KiB aligned, no zero blocks. */
function build(format: 'VHDX' | 'VHD'): Tree {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir, { recursive: true });
  const x = format === 'VHDX';
  const t: Tree = {
    dir,
    base: join(dir, x ? 'base.vhdx' : 'base.vhd'),
    m: join(dir, x ? 'm.avhdx' : 'm.avhd'),
    c: join(dir, x ? 'c.avhdx' : 'c.avhd'),
    g: join(dir, x ? 'g.avhdx' : 'g.avhd'),
  };
  createDiskFile(store.create(t.base), format, { virtualSize: SIZE, blockSize: x ? MiB : 512 * KiB }).close();
  write(t.base, 0, fill(3 * MiB + 777, 1)); // unaligned end: a base may do anything
  write(t.base, 6 * MiB, fill(MiB, 2));
  createChild(store, t.base, t.m, x ? 2 * MiB : undefined);
  write(t.m, 512 * KiB, fill(64 * KiB, 3));
  write(t.m, 5 * MiB - 4096, fill(8192, 4)); // across a block edge
  createChild(store, t.m, t.c, x ? MiB : undefined);
  write(t.c, 4096, fill(4096, 5));
  write(t.c, 6 * MiB + 8192, new Uint8Array(4096)); // zeros written as data over the base
  createChild(store, t.c, t.g, x ? MiB : undefined);
  write(t.g, 2 * MiB, fill(MiB, 6)); // a whole block
  write(t.g, 7 * MiB + 12288, fill(4096 * 3, 7));
  return t;
}

/** `qemu-img compare` of a standalone image against raw bytes (0 = identical). */
function qemuSame(p: string, fmt: 'vhdx' | 'vpc', expected: Buffer): void {
  const raw = `${p}.expected.raw`;
  writeFileSync(raw, expected);
  const r = runQemuImg(['compare', '-U', '-f', fmt, '-F', 'raw', p, raw]);
  expect(r.status, `qemu-img compare ${p}: ${r.stdout}${r.stderr}`).toBe(0);
  const out = `${p}.qemu.raw`;
  const cv = runQemuImg(['convert', '-U', '-f', fmt, '-O', 'raw', p, out]);
  expect(cv.status, cv.stderr).toBe(0);
  expect(readFileSync(out).equals(expected)).toBe(true);
  if (fmt === 'vhdx') expect(qemuImgCheck(p, 'vhdx')).toMatchObject({ status: 0 });
}

describe.skipIf(!haveQemu && !havePyvhdi)('merge results through qemu-img and libvhdi', () => {
  for (const format of ['VHDX', 'VHD'] as const) {
    describe(format, () => {
      it.skipIf(!havePyvhdi)('libvhdi reads the original chain as we do', () => {
        const t = build(format);
        expect(pyvhdiRead(t.g, [t.c, t.m, t.base], 0, SIZE).equals(view(t.g))).toBe(true);
        expect(pyvhdiRead(t.m, [t.base], 0, SIZE).equals(view(t.m))).toBe(true);
      });

      it('merge-down of the whole chain into the base: a standalone disk both tools read as the leaf did', () => {
        const t = build(format);
        const expected = view(t.g);
        mergeDown(store, t.g, t.base);
        expect(view(t.base).equals(expected)).toBe(true);
        if (haveQemu) qemuSame(t.base, format === 'VHDX' ? 'vhdx' : 'vpc', expected);
        if (havePyvhdi) expect(pyvhdiRead(t.base, [], 0, SIZE).equals(expected)).toBe(true);
      });

      it.skipIf(!havePyvhdi)('merge-down into a middle layer: libvhdi reads the result through its parents', () => {
        const t = build(format);
        const expected = view(t.g);
        mergeDown(store, t.g, t.m);
        expect(pyvhdiRead(t.m, [t.base], 0, SIZE).equals(expected)).toBe(true);
      });

      it('flatten to VHDX, VHD and raw', () => {
        const t = build(format);
        const expected = view(t.g);
        const c = Chain.open(t.g, { store });
        try {
          for (const [name, fmt] of [['flat.vhdx', 'VHDX'], ['flat.vhd', 'VHD'], ['flat.raw', 'RAW']] as const) {
            const p = join(t.dir, name);
            flatten(store, c, p, fmt);
            if (fmt === 'RAW') {
              expect(readFileSync(p).equals(expected)).toBe(true);
              continue;
            }
            if (haveQemu) qemuSame(p, fmt === 'VHDX' ? 'vhdx' : 'vpc', expected);
            if (havePyvhdi) expect(pyvhdiRead(p, [], 0, SIZE).equals(expected)).toBe(true);
          }
        } finally {
          c.close();
        }
      });
    });
  }

  it.skipIf(!havePyvhdi)('VHDX remove a middle layer: the child, re-pointed at the base, reads the same through libvhdi', () => {
    const t = build('VHDX');
    const gView = view(t.g);
    const cView = view(t.c);
    removeLayer(store, t.m, [t.c], 'copy');
    expect(pyvhdiRead(t.c, [t.base], 0, SIZE).equals(cView)).toBe(true);
    expect(pyvhdiRead(t.g, [t.c, t.base], 0, SIZE).equals(gView)).toBe(true);
  });

  it('VHDX remove the base: its child becomes a standalone disk both tools read', () => {
    const t = build('VHDX');
    const mView = view(t.m);
    const gView = view(t.g);
    removeLayer(store, t.base, [t.m], 'copy');
    if (haveQemu) qemuSame(t.m, 'vhdx', mView);
    if (havePyvhdi) {
      expect(pyvhdiRead(t.m, [], 0, SIZE).equals(mView)).toBe(true);
      expect(pyvhdiRead(t.g, [t.c, t.m], 0, SIZE).equals(gView)).toBe(true);
    }
  });
});
