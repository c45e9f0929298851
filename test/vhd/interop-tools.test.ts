// Self-test of the interop tooling (qemu-img, qemu-io, libvhdi/pyvhdi) used by the interop tests.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  interopGate,
  pyvhdiDump,
  pyvhdiInfo,
  pyvhdiRead,
  qemuImgCheck,
  qemuImgInfo,
  runQemuImg,
  runQemuImgOk,
  runQemuIoOk,
} from '../helpers/interop.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

const haveQemu = interopGate('qemu-img');
const havePyvhdi = interopGate('pyvhdi');
// qemu-io ships in the same Debian package as qemu-img; only probe it when qemu-img is there.
const haveQemuIo = haveQemu && interopGate('qemu-io');

/** Deterministic, position-dependent content with a few all-zero MiB holes. */
function pattern(size: number): Buffer {
  const buf = Buffer.alloc(size);
  let x = 0x12345678;
  for (let i = 0; i < size; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    buf.writeUInt32LE((x ^ i) >>> 0, i);
  }
  buf.fill(0, 2 * MiB, 3 * MiB); // whole block of zeros
  buf.fill(0, 5 * MiB + 4096, 5 * MiB + 8192); // zero hole inside a block
  return buf;
}

let dir = '';
let data: Buffer = Buffer.alloc(0);
let rawPath = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvsim-interop-'));
  data = pattern(SIZE);
  rawPath = join(dir, 'data.raw');
  writeFileSync(rawPath, data);
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveQemu)('qemu-img', () => {
  it('creates and inspects a raw image', () => {
    const p = join(dir, 'empty.raw');
    runQemuImgOk(['create', '-f', 'raw', p, String(SIZE)]);
    const info = qemuImgInfo(p, 'raw');
    expect(info.format).toBe('raw');
    expect(info['virtual-size']).toBe(SIZE);
    expect(readFileSync(p).equals(Buffer.alloc(SIZE))).toBe(true);
  });

  it('creates a dynamic vhdx with explicit block and log size', () => {
    const p = join(dir, 'empty.vhdx');
    runQemuImgOk([
      'create', '-f', 'vhdx', '-o', 'subformat=dynamic,block_size=2M,log_size=1M', p, String(SIZE),
    ]);
    const info = qemuImgInfo(p);
    expect(info.format).toBe('vhdx');
    expect(info['virtual-size']).toBe(SIZE);
    expect(info['cluster-size']).toBe(2 * MiB);
    expect(qemuImgCheck(p, 'vhdx')).toMatchObject({ status: 0, checkErrors: 0 });
  });

  it('round-trips raw -> vhdx -> raw byte-identically', () => {
    const vhdx = join(dir, 'rt.vhdx');
    const back = join(dir, 'rt.raw');
    runQemuImgOk(['convert', '-f', 'raw', '-O', 'vhdx', '-o', 'block_size=1M', rawPath, vhdx]);
    runQemuImgOk(['convert', '-f', 'vhdx', '-O', 'raw', vhdx, back]);
    expect(readFileSync(back).equals(data)).toBe(true);
    expect(runQemuImg(['compare', '-f', 'vhdx', '-F', 'raw', vhdx, rawPath]).status).toBe(0);
  });

  it('needs -f vpc to recognise a fixed VHD', () => {
    const p = join(dir, 'fixed.vhd');
    runQemuImgOk(['create', '-f', 'vpc', '-o', 'subformat=fixed,force_size=on', p, String(SIZE)]);
    expect(qemuImgInfo(p, 'vpc')).toMatchObject({ format: 'vpc', 'virtual-size': SIZE });
    expect(qemuImgInfo(p).format).toBe('raw');
  });

  it('reports a failing command with its status instead of throwing', () => {
    const r = runQemuImg(['info', join(dir, 'does-not-exist.vhdx')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/does-not-exist/);
  });
});

describe.skipIf(!(havePyvhdi && haveQemu))('pyvhdi', () => {
  let vhdx = '';
  let vhd = '';

  beforeAll(() => {
    vhdx = join(dir, 'py.vhdx');
    vhd = join(dir, 'py.vhd');
    runQemuImgOk(['convert', '-f', 'raw', '-O', 'vhdx', '-o', 'block_size=1M', rawPath, vhdx]);
    runQemuImgOk([
      'convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', rawPath, vhd,
    ]);
  });

  it('reads a qemu-made VHDX byte-identically to the raw source', () => {
    expect(pyvhdiRead(vhdx, [], 0, SIZE).equals(data)).toBe(true);
    // unaligned read spanning several blocks and the zero holes
    const off = 1 * MiB - 12345;
    const len = 5 * MiB + 54321;
    expect(pyvhdiRead(vhdx, [], off, len).equals(data.subarray(off, off + len))).toBe(true);
    expect(pyvhdiRead(vhdx, [], SIZE - 1, 1).equals(data.subarray(SIZE - 1))).toBe(true);
    expect(pyvhdiRead(vhdx, [], 0, 0).length).toBe(0);
  });

  it('reads a qemu-made dynamic VHD byte-identically to the raw source', () => {
    expect(pyvhdiRead(vhd, [], 0, SIZE).equals(data)).toBe(true);
  });

  it('dumps the whole disk to a file', () => {
    const out = join(dir, 'dump.raw');
    pyvhdiDump(vhdx, [], out);
    expect(readFileSync(out).equals(data)).toBe(true);
  });

  it('reports image metadata', () => {
    const info = pyvhdiInfo(vhdx, []);
    expect(info).toMatchObject({
      fileType: 'vhdx',
      mediaSize: SIZE,
      bytesPerSector: 512,
      diskType: 'dynamic',
      parentIdentifier: null,
      parentFilename: null,
    });
    expect(info.identifier).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(pyvhdiInfo(vhd)).toMatchObject({ fileType: 'vhd', mediaSize: SIZE, diskType: 'dynamic' });
  });

  it('fails with one-line errors for bad requests', () => {
    expect(() => pyvhdiRead(vhdx, [], SIZE - 1, 2)).toThrow(/beyond media size/);
    expect(() => pyvhdiRead(join(dir, 'missing.vhdx'), [], 0, 1)).toThrow(/cannot open/);
    expect(() => pyvhdiRead(rawPath, [], 0, 1)).toThrow(/cannot open/);
    // a parent can only be attached to a differencing disk
    expect(() => pyvhdiRead(vhdx, [vhd], 0, 1)).toThrow(/not a differential disk type/);
  });

  it('treats paths as data (no shell interpolation)', () => {
    const odd = join(dir, "we'ird $(name) `x`;.vhdx");
    runQemuImgOk(['convert', '-f', 'raw', '-O', 'vhdx', rawPath, odd]);
    expect(pyvhdiRead(odd, [], 4096, 4096).equals(data.subarray(4096, 8192))).toBe(true);
  });

  it.skipIf(!haveQemuIo)('sees data written by qemu-io', () => {
    const p = join(dir, 'io.vhdx');
    runQemuImgOk(['create', '-f', 'vhdx', '-o', 'block_size=1M', p, String(SIZE)]);
    runQemuIoOk(['-f', 'vhdx', '-c', 'write -P 0xab 1M 64k', '-c', 'write -P 0xcd 3584k 1M', p]);
    const got = pyvhdiRead(p, [], 0, SIZE);
    const want = Buffer.alloc(SIZE);
    want.fill(0xab, MiB, MiB + 64 * 1024);
    want.fill(0xcd, 3584 * 1024, 3584 * 1024 + MiB);
    expect(got.equals(want)).toBe(true);
  });
});
