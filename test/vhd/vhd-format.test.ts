import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { NodeFile } from '../../src/vhd/io/node-file.js';
import { FaultFile, type CrashMode } from '../../src/vhd/io/fault-file.js';
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, readImage, type DiskImage } from '../../src/vhd/disk.js';
import { HvsimError } from '../../src/errors.js';
import { setU32be, setU64be, u32be } from '../../src/vhd/common/bytes.js';
import { createVhd, createVhdDifferencing, isVhd, openVhd, VhdImage } from '../../src/vhd/vhd/vhd-file.js';
import {
  FOOTER_FIELDS,
  FOOTER_SIZE,
  chsGeometry,
  decodeFooter,
  encodeFooter,
  geometryBytes,
  vhdChecksum,
  vhdTimeStamp,
  type VhdFooter,
} from '../../src/vhd/vhd/footer.js';
import { HEADER_FIELDS, HEADER_SIZE, LOCATOR_FIELDS, decodeDynamicHeader, encodeDynamicHeader, headerChecksum } from '../../src/vhd/vhd/dynamic-header.js';
import { pattern } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const FIXTURE = new URL('../../fixtures/fat-differential.vhd', import.meta.url);
const FIXTURE_SHA256 = '17032553d22ecc1fbde8dbac6f21b320c73d09eb2b118e7cf8d3624ce7b7eed4';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bytesOf = (img: DiskImage): Uint8Array => (img.file as MemoryFile).bytes();

function reopen(img: DiskImage, readOnly = false): VhdImage {
  const bytes = bytesOf(img);
  img.close();
  return openVhd(new MemoryFile(img.path, bytes, readOnly));
}

function readAll(img: DiskImage, parent?: DiskImage): Uint8Array {
  const out = new Uint8Array(img.virtualSize);
  readImage(img, out, 0, parent ? (b, o) => readImage(parent, b, o) : undefined);
  return out;
}

/** Rewrite both footer copies (offset 0 and EOF) with a changed field and valid checksums. */
function patchFooters(bytes: Uint8Array, patch: (f: Uint8Array) => void): void {
  for (const at of [0, bytes.length - FOOTER_SIZE]) {
    const f = bytes.subarray(at, at + FOOTER_SIZE);
    patch(f);
    setU32be(f, FOOTER_FIELDS.checksum[0], vhdChecksum(f, FOOTER_FIELDS.checksum[0]));
  }
}

function patchHeader(bytes: Uint8Array, patch: (h: Uint8Array) => void): void {
  const h = bytes.subarray(0x200, 0x200 + HEADER_SIZE);
  patch(h);
  setU32be(h, HEADER_FIELDS.checksum[0], headerChecksum(h));
}

/** Byte-array equality without vitest's slow deep diff of MiB-sized arrays. */
function expectSame(got: Uint8Array, want: Uint8Array, what = ''): void {
  if (got.length === want.length && Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))) return;
  let i = 0;
  while (i < Math.min(got.length, want.length) && got[i] === want[i]) i++;
  throw new Error(`${what}bytes differ: lengths ${got.length}/${want.length}, first difference at ${i}`);
}

function expectHvsimError(fn: () => unknown, code?: string): HvsimError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof HvsimError)) throw e;
    if (code !== undefined) expect(e.code).toBe(code);
    return e;
  }
  throw new Error('expected an HvsimError');
}

// ---------------------------------------------------------------------------------------------

describe('VHD structures', () => {
  it('footer and header field tables cover 512 and 1024 bytes without gaps', () => {
    for (const [table, size] of [
      [FOOTER_FIELDS, FOOTER_SIZE],
      [HEADER_FIELDS, HEADER_SIZE],
      [LOCATOR_FIELDS, 24],
    ] as const) {
      let next = 0;
      for (const [off, width] of Object.values(table)) {
        expect(off).toBe(next);
        next = off + width;
      }
      expect(next).toBe(size);
    }
  });

  it('the checksum is the one’s complement of the byte sum (verified on the Windows fixture)', () => {
    const b = new Uint8Array(readFileSync(FIXTURE));
    const footer = b.subarray(0, 512);
    expect(vhdChecksum(footer, 64)).toBe(u32be(footer, 64));
    expect(u32be(footer, 64)).toBe(0xfffff02c);
    const header = b.subarray(0x200, 0x600);
    expect(headerChecksum(header)).toBe(u32be(header, 36));
    expect(u32be(header, 36)).toBe(0xffffd951);
    // By hand: all-zero 512 bytes sum to 0, so the checksum is 0xFFFFFFFF; one 0x01 byte → 0xFFFFFFFE.
    const z = new Uint8Array(512);
    expect(vhdChecksum(z, 64)).toBe(0xffffffff);
    z[100] = 1;
    z[65] = 0xff; // inside the checksum field: not counted
    expect(vhdChecksum(z, 64)).toBe(0xfffffffe);
  });

  it('footer encode/decode round-trips any field values', () => {
    const arbFooter: fc.Arbitrary<VhdFooter> = fc.record({
      cookie: fc.constant('conectix'),
      features: fc.nat({ max: 0xffffffff }),
      fileFormatVersion: fc.nat({ max: 0xffffffff }),
      dataOffset: fc.oneof(fc.constant(Infinity), fc.nat({ max: 2 ** 52 })),
      timeStamp: fc.nat({ max: 0xffffffff }),
      creatorApplication: fc.constantFrom('win ', 'qemu', 'vpc ', 'd2v\0'),
      creatorVersion: fc.nat({ max: 0xffffffff }),
      creatorHostOs: fc.constantFrom('Wi2k', 'Mac '),
      originalSize: fc.nat({ max: 2 ** 52 }),
      currentSize: fc.nat({ max: 2 ** 52 }),
      diskGeometry: fc.record({ cylinders: fc.nat({ max: 65535 }), heads: fc.nat({ max: 255 }), sectorsPerTrack: fc.nat({ max: 255 }) }),
      diskType: fc.constantFrom(2, 3, 4),
      checksum: fc.constant(0),
      uniqueId: fc.uuid(),
      savedState: fc.nat({ max: 1 }),
    });
    fc.assert(
      fc.property(arbFooter, (f) => {
        const b = encodeFooter(f);
        const d = decodeFooter(b);
        expect(d).toEqual({ ...f, checksum: vhdChecksum(b, 64) });
        expect(encodeFooter(d)).toEqual(b);
      }),
    );
  });

  it('header encode/decode round-trips, and decodes the fixture', () => {
    const b = new Uint8Array(readFileSync(FIXTURE)).subarray(0x200, 0x600);
    const h = decodeDynamicHeader(b);
    expect(h.tableOffset).toBe(0x2000);
    expect(h.maxTableEntries).toBe(2);
    expect(h.blockSize).toBe(2 * MiB);
    expect(h.parentUniqueId).toBe('5fa21a55-f394-aa4d-9958-1951a67d5540');
    expect(h.parentTimeStamp).toBe(0);
    expect(h.parentUnicodeName).toBe('C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd');
    expect(h.parentLocatorEntries.slice(0, 3)).toEqual([
      { platformCode: 'W2ku', platformDataSpace: 4096, platformDataLength: 84, platformDataOffset: 0x1000 },
      { platformCode: 'W2ru', platformDataSpace: 65536, platformDataLength: 32, platformDataOffset: 0x3000 },
      { platformCode: '', platformDataSpace: 0, platformDataLength: 0, platformDataOffset: 0 },
    ]);
    // Windows' header re-encodes byte for byte (its reserved areas are zero).
    expect(encodeDynamicHeader(h)).toEqual(new Uint8Array(b));
  });

  it('CHS geometry follows the VHD spec appendix', () => {
    expect(chsGeometry(4 * MiB)).toEqual({ cylinders: 120, heads: 4, sectorsPerTrack: 17 }); // the fixture's 0x00780411
    expect(chsGeometry(5013504)).toEqual({ cylinders: 144, heads: 4, sectorsPerTrack: 17 }); // qemu-img's 5000000 → 5013504
    expect(chsGeometry(10 * 1024 * MiB)).toEqual({ cylinders: 20805, heads: 16, sectorsPerTrack: 63 });
    expect(chsGeometry(127 * 1024 * MiB)).toEqual({ cylinders: 65278, heads: 16, sectorsPerTrack: 255 });
    expect(chsGeometry(2040 * 1024 * MiB)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    expect(chsGeometry(300 * MiB)).toEqual({ cylinders: 609, heads: 16, sectorsPerTrack: 63 }); // 17 → 31 → 63 sectors per track
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 * 16 * 255 }), (sectors) => {
        const g = chsGeometry(sectors * 512);
        expect(g.heads).toBeLessThanOrEqual(16);
        expect(geometryBytes(g)).toBeLessThanOrEqual(sectors * 512); // geometry never exceeds the size
      }),
    );
  });

  it('timestamps count seconds from 2000-01-01 UTC', () => {
    expect(vhdTimeStamp(new Date(Date.UTC(2000, 0, 1)))).toBe(0);
    expect(vhdTimeStamp(new Date(Date.UTC(2000, 0, 2)))).toBe(86400);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the Windows-made fixture fat-differential.vhd', () => {
  const bytes = new Uint8Array(readFileSync(FIXTURE));

  it('is the documented file', () => {
    expect(sha256(bytes)).toBe(FIXTURE_SHA256);
    expect(isVhd(new MemoryFile('f', bytes, true))).toBe(true);
  });

  it('reports what Get-VHD would', () => {
    const img = openVhd(new MemoryFile('fat-differential.vhd', bytes, true));
    expect(img.format).toBe('VHD');
    expect(img.writable).toBe(false);
    const info = img.info();
    expect(info).toMatchObject({
      VhdFormat: 'VHD',
      VhdType: 'Differencing',
      FileSize: 2183168,
      Size: 4194304,
      MinimumSize: null,
      LogicalSectorSize: 512,
      PhysicalSectorSize: 512,
      BlockSize: 2097152,
      ParentPath: 'C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd',
      DiskIdentifier: 'F84F1636-CD9E-9041-A69E-DCC2380E416A',
      Alignment: 1,
    });
    // VHD stores GUIDs in RFC 4122 byte order: bytes f8 4f 16 36 … read as f84f1636-….
    expect(img.identity).toBe('f84f1636-cd9e-9041-a69e-dcc2380e416a');
    expect(img.parentLocator).toEqual({
      linkage: '5fa21a55-f394-aa4d-9958-1951a67d5540',
      linkage2: undefined,
      relativePath: '.\\fat-parent.vhd',
      absolutePath: 'C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd',
      volumePath: undefined,
      entries: [
        ['W2ku', 'C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd'],
        ['W2ru', '.\\fat-parent.vhd'],
      ],
    });
    expect(img.footer.creatorApplication).toBe('win ');
    expect(img.footer.creatorVersion).toBe(0x000a0000);
    expect(img.footer.creatorHostOs).toBe('Wi2k');
    expect(img.check()).toEqual([]);
  });

  it('block 0 holds 18 sectors (MSB-first bitmap), block 1 is in the parent', () => {
    const img = openVhd(new MemoryFile('f', bytes, true));
    expect(img.blockCount).toBe(2);
    expect(img.blockState(0)).toBe(BLOCK_PARTIAL);
    expect(img.blockState(1)).toBe(BLOCK_PARENT);
    expect(img.blockDataOffset(0)).toBe(0x14000);
    const present: number[] = [];
    img.forEachSectorRun(0, 0, 4096, (p, s, n) => {
      if (p) for (let i = 0; i < n; i++) present.push(s + i);
    });
    expect(present.length).toBe(18);
    expect(present).toContain(134); // bitmap byte 16 = 0x02 → sector 8*16+6
    // Runs restricted to a window start and end inside it.
    const runs: Array<[boolean, number, number]> = [];
    img.forEachSectorRun(0, 133, 3, (p, s, n) => runs.push([p, s, n]));
    expect(runs).toEqual([
      [false, 133, 1],
      [true, 134, 1],
      [false, 135, 1],
    ]);
    // Reading through a parent: present sectors come from the file, the rest from the parent.
    const parentByte = 0x5a;
    const viaParent = new Uint8Array(4 * MiB);
    readImage(img, viaParent, 0, (b) => b.fill(parentByte));
    for (let s = 0; s < 8192; s++) {
      const sector = viaParent.subarray(s * 512, s * 512 + 512);
      const own = bytes.subarray(0x14000 + s * 512, 0x14000 + s * 512 + 512);
      if (present.includes(s)) expect(Buffer.from(sector).equals(Buffer.from(own))).toBe(true);
      else expect(sector.every((v) => v === parentByte)).toBe(true);
    }
  });

  it('opening it (read-only or writable) does not modify it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvsim-vhd-'));
    try {
      const p = join(dir, 'fat-differential.vhd');
      copyFileSync(FIXTURE, p);
      const ro = openVhd(NodeFile.open(p, 'r'));
      readAll(ro, undefined);
      ro.check();
      ro.close();
      const rw = openVhd(NodeFile.open(p, 'rw'));
      expect(rw.writable).toBe(true);
      rw.info();
      rw.check();
      rw.close();
      expect(sha256(readFileSync(p))).toBe(FIXTURE_SHA256);
      const mem = new MemoryFile('m', bytes);
      openVhd(mem).close();
      expect(sha256(mem.bytes())).toBe(FIXTURE_SHA256);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a child hvsim creates over a 4 MiB parent has the fixture’s layout', () => {
    const parent = createVhd(new MemoryFile('/vm/fat-parent.vhd'), { virtualSize: 4 * MiB });
    const child = createVhdDifferencing(new MemoryFile('/vm/fat-differential.vhd'), {
      parent,
      parentPath: '/vm/fat-parent.vhd',
      childPath: '/vm/fat-differential.vhd',
    });
    expect(child.file.size()).toBe(0x14000);
    const h = child.header!;
    expect(h.tableOffset).toBe(0x2000);
    expect(h.maxTableEntries).toBe(2);
    expect(h.parentLocatorEntries.slice(0, 2).map((e) => [e.platformCode, e.platformDataOffset, e.platformDataSpace])).toEqual([
      ['W2ku', 0x1000, 4096],
      ['W2ru', 0x3000, 65536],
    ]);
    expect(child.footer.diskGeometry).toEqual({ cylinders: 120, heads: 4, sectorsPerTrack: 17 });
    child.writeSectors(new Uint8Array(512).fill(1), 134 * 512);
    expect(child.allocatedBlocks()).toEqual([[0, 0x13e00]]);
    expect(child.blockDataOffset(0)).toBe(0x14000);
    expect(child.file.size()).toBe(bytes.length);
    // The footer copies agree and the footer sits where the next block's bitmap will go.
    const b = bytesOf(child);
    expect(b.subarray(b.length - 512)).toEqual(b.subarray(0, 512));
  });
});

// ---------------------------------------------------------------------------------------------

describe('create, write, reopen', () => {
  it('creates a dynamic disk the Windows way and reads zeros', () => {
    const img = createVhd(new MemoryFile('d.vhd'), { virtualSize: 10 * MiB, uniqueId: '0123456789abcdef0123456789abcdef'.replace(/(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-') });
    expect(img.type).toBe('Dynamic');
    expect(img.identity).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(bytesOf(img).subarray(68, 72)).toEqual(new Uint8Array([0x01, 0x23, 0x45, 0x67])); // RFC byte order
    expect(img.footer).toMatchObject({ creatorApplication: 'win ', creatorVersion: 0x000a0000, creatorHostOs: 'Wi2k', currentSize: 10 * MiB, originalSize: 10 * MiB, features: 2 });
    expect(img.header!.tableOffset).toBe(0x600);
    expect(img.info()).toMatchObject({ VhdType: 'Dynamic', Size: 10 * MiB, BlockSize: 2 * MiB, ParentPath: null, Alignment: 1 });
    expect(readAll(img).every((v) => v === 0)).toBe(true);
    for (let b = 0; b < img.blockCount; b++) expect(img.blockState(b)).toBe(BLOCK_PARENT);
    expect(img.check()).toEqual([]);
    expect(isVhd(img.file)).toBe(true);
  });

  it('dynamic writes allocate 4 KiB-aligned blocks with every bitmap bit set and survive reopen', () => {
    let img = createVhd(new MemoryFile('d.vhd'), { virtualSize: 7 * MiB });
    const data = pattern(3 * MiB, 1);
    img.writeSectors(data, MiB + 512);
    expect(img.allocatedBlocks().map(([b]) => b)).toEqual([0, 1, 2]);
    for (const [, off] of img.allocatedBlocks()) expect((off + 512) % 4096).toBe(0);
    img = reopen(img);
    expect(img.blockState(0)).toBe(BLOCK_DATA);
    expect(img.blockState(3)).toBe(BLOCK_PARENT);
    const all = readAll(img);
    expectSame(all.subarray(MiB + 512, MiB + 512 + data.length), data);
    expect(all.subarray(0, MiB + 512).every((v) => v === 0)).toBe(true);
    // Windows sets every bitmap bit of a dynamic block.
    const b = bytesOf(img);
    const [, bm] = img.allocatedBlocks()[0]!;
    expect(b.subarray(bm, bm + 512).every((v) => v === 0xff)).toBe(true);
    expect(img.info().FragmentationPercentage).toBe(0);
    expect(img.check()).toEqual([]);
  });

  it('creates a fixed disk: data then footer', () => {
    let img = createVhd(new MemoryFile('f.vhd'), { virtualSize: 3 * MiB + 512, type: 'Fixed' });
    expect(img.file.size()).toBe(3 * MiB + 1024);
    expect(img.info()).toMatchObject({ VhdType: 'Fixed', BlockSize: 0, Size: 3 * MiB + 512, Alignment: 1 });
    expect(img.blockSize).toBe(2 * MiB);
    expect(img.blockCount).toBe(2);
    expect(img.blockState(1)).toBe(BLOCK_DATA);
    expect(img.blockDataOffset(1)).toBe(2 * MiB);
    const data = pattern(MiB, 2);
    img.writeSectors(data, 2 * MiB);
    img = reopen(img);
    expectSame(readAll(img).subarray(2 * MiB, 3 * MiB), data);
    expectSame(bytesOf(img).subarray(2 * MiB, 3 * MiB), data);
    img.discardBlocks(0, img.virtualSize);
    expect(readAll(img).every((v) => v === 0)).toBe(true);
    expect(img.check()).toEqual([]);
    expect(isVhd(img.file)).toBe(true);
  });

  it('a differencing disk records its parent and reads through it', () => {
    const parent = createVhd(new MemoryFile('/vms/base/parent.vhd'), { virtualSize: 6 * MiB });
    const pdata = pattern(6 * MiB, 3);
    parent.writeSectors(pdata, 0);
    let child = createVhdDifferencing(new MemoryFile('/vms/base/child.avhd'), {
      parent,
      parentPath: '/vms/base/parent.vhd',
      childPath: '/vms/base/child.avhd',
    });
    expect(child.type).toBe('Differencing');
    expect(child.header!.parentUniqueId).toBe(parent.identity);
    expect(child.header!.parentTimeStamp).toBe(parent.footer.timeStamp);
    expect(child.header!.parentUnicodeName).toBe('/vms/base/parent.vhd');
    expect(child.parentLocator).toMatchObject({
      linkage: parent.identity,
      relativePath: '.\\parent.vhd',
      absolutePath: '/vms/base/parent.vhd',
      entries: [
        ['W2ku', '/vms/base/parent.vhd'],
        ['W2ru', '.\\parent.vhd'],
      ],
    });
    expect(child.info()).toMatchObject({ VhdType: 'Differencing', ParentPath: '/vms/base/parent.vhd', Size: 6 * MiB });
    expectSame(readAll(child, parent), pdata);
    // Locator data is UTF-16LE without a terminator; ParentUnicodeName UTF-16BE.
    const b = bytesOf(child);
    expect(Buffer.from(b.subarray(0x3000, 0x3000 + 24)).toString('utf16le')).toBe('.\\parent.vhd');
    expect(Buffer.from(b.subarray(0x240, 0x244))).toEqual(Buffer.from([0, 0x2f, 0, 0x76]));

    // One sector written: only its bit is set, the rest still comes from the parent.
    const s = pattern(512, 4);
    child.writeSectors(s, 2 * MiB + 5 * 512);
    expect(child.blockState(1)).toBe(BLOCK_PARTIAL);
    const expected = pdata.slice();
    expected.set(s, 2 * MiB + 5 * 512);
    expectSame(readAll(child, parent), expected);
    // Zeros written into an unallocated child block allocate it (unallocated = "ask the parent").
    child.writeSectors(new Uint8Array(4096), 4 * MiB);
    expected.fill(0, 4 * MiB, 4 * MiB + 4096);
    expect(child.blockState(2)).toBe(BLOCK_PARTIAL);
    child.zeroSectors(512, 1024);
    expected.fill(0, 512, 1536);
    child = reopen(child);
    expectSame(readAll(child, parent), expected);
    // A whole-block write makes the block BLOCK_DATA.
    const whole = pattern(2 * MiB, 5);
    child.writeSectors(whole, 2 * MiB);
    expected.set(whole, 2 * MiB);
    expect(child.blockState(1)).toBe(BLOCK_DATA);
    // Discarding whole blocks makes them transparent; partial blocks are left alone.
    child.discardBlocks(2 * MiB - 512, 2 * MiB + 1024);
    expected.set(pdata.subarray(2 * MiB, 4 * MiB), 2 * MiB);
    expect(child.blockState(1)).toBe(BLOCK_PARENT);
    expect(child.blockState(0)).toBe(BLOCK_PARTIAL);
    child = reopen(child);
    expectSame(readAll(child, parent), expected);
    expect(child.check()).toEqual([]);
  });

  it('refuses bad arguments and writes to read-only files with typed errors', () => {
    expectHvsimError(() => createVhd(new MemoryFile('x'), { virtualSize: 1000 }), 'INVALID_ARGUMENT');
    expectHvsimError(() => createVhd(new MemoryFile('x'), { virtualSize: 0 }), 'INVALID_ARGUMENT');
    expectHvsimError(() => createVhd(new MemoryFile('x'), { virtualSize: 3000 * 1024 * MiB }), 'INVALID_ARGUMENT');
    expectHvsimError(() => createVhd(new MemoryFile('x'), { virtualSize: MiB, blockSize: 3 * MiB }), 'INVALID_ARGUMENT');
    expectHvsimError(() => createVhd(new MemoryFile('x', undefined, true), { virtualSize: MiB }), 'READ_ONLY');
    const parent = createVhd(new MemoryFile('p.vhd'), { virtualSize: MiB });
    const fakeVhdx = { ...parent, format: 'VHDX', path: 'p.vhdx' } as unknown as DiskImage;
    expectHvsimError(() => createVhdDifferencing(new MemoryFile('c.avhd'), { parent: fakeVhdx, parentPath: 'p.vhdx', childPath: 'c.avhd' }), 'INVALID_ARGUMENT');
    const ro = reopen(parent, true);
    expectHvsimError(() => ro.writeSectors(new Uint8Array(512), 0), 'READ_ONLY');
    expectHvsimError(() => ro.zeroSectors(0, 512), 'READ_ONLY');
    const rw = reopen(ro);
    expectHvsimError(() => rw.writeSectors(new Uint8Array(100), 0), 'INVALID_ARGUMENT');
    expectHvsimError(() => rw.writeSectors(new Uint8Array(512), 10), 'INVALID_ARGUMENT');
    expectHvsimError(() => rw.writeSectors(new Uint8Array(512), MiB), 'INVALID_ARGUMENT');
    expectHvsimError(() => rw.blockState(5), 'INVALID_ARGUMENT');
  });

  it('isVhd looks at content only', () => {
    expect(isVhd(new MemoryFile('a', new Uint8Array(100)))).toBe(false);
    expect(isVhd(new MemoryFile('a', pattern(4096, 9)))).toBe(false);
    const old = createVhd(new MemoryFile('f'), { virtualSize: MiB, type: 'Fixed' });
    expect(isVhd(new MemoryFile('a', bytesOf(old).subarray(0, MiB + 511)))).toBe(true); // 511-byte old footer
    const dyn = bytesOf(createVhd(new MemoryFile('d'), { virtualSize: MiB }));
    expect(isVhd(new MemoryFile('a', dyn.subarray(0, dyn.length - 100)))).toBe(true); // copy at 0
  });

  it('reads the 511-byte footer of old Virtual PC', () => {
    const fixed = bytesOf(createVhd(new MemoryFile('f'), { virtualSize: MiB, type: 'Fixed' }));
    const img = openVhd(new MemoryFile('old.vhd', fixed.subarray(0, MiB + 511), true));
    expect(img.virtualSize).toBe(MiB);
    expect(img.check().map((f) => f.code)).toEqual(['FOOTER_OLD']);
    const d = createVhd(new MemoryFile('d'), { virtualSize: 3 * MiB });
    d.writeSectors(pattern(4096, 1), 0);
    const db = bytesOf(d);
    let img2 = openVhd(new MemoryFile('old-dyn.vhd', db.subarray(0, db.length - 1)));
    expect(img2.check().map((f) => f.code)).toEqual(['FOOTER_OLD']);
    img2.writeSectors(pattern(4096, 2), 2 * MiB); // rewrites a 512-byte footer at the new end
    img2 = reopen(img2);
    expect(img2.check()).toEqual([]);
    expectSame(readAll(img2).subarray(0, 4096), pattern(4096, 1));
    expectSame(readAll(img2).subarray(2 * MiB, 2 * MiB + 4096), pattern(4096, 2));
  });
});

// ---------------------------------------------------------------------------------------------

describe('footer copies and crashes', () => {
  function sample(): { parent: VhdImage; child: VhdImage; expected: Uint8Array } {
    const parent = createVhd(new MemoryFile('/d/p.vhd'), { virtualSize: 5 * MiB });
    parent.writeSectors(pattern(5 * MiB, 7), 0);
    const child = createVhdDifferencing(new MemoryFile('/d/c.avhd'), { parent, parentPath: '/d/p.vhd', childPath: '/d/c.avhd' });
    child.writeSectors(pattern(8192, 8), 2 * MiB + 4096);
    return { parent, child, expected: readAll(child, parent) };
  }

  it('a damaged footer at the end falls back to the copy at 0; check() reports it; a writable open repairs it', () => {
    const { parent, child, expected } = sample();
    const b = bytesOf(child);
    b[b.length - 512 + 70]! ^= 0xff; // UniqueId byte: checksum now wrong
    const ro = openVhd(new MemoryFile('c', b, true));
    expectSame(readAll(ro, parent), expected);
    expect(ro.check().map((f) => f.code)).toEqual(['FOOTER_CHECKSUM']);
    const mem = new MemoryFile('c', b);
    const rw = openVhd(mem);
    expect(rw.check()).toEqual([]);
    expect(mem.bytes().subarray(mem.size() - 512)).toEqual(mem.bytes().subarray(0, 512));
    expect(mem.size()).toBe(b.length);
  });

  it('a damaged copy at 0 is reported and repaired from the footer at the end', () => {
    const { parent, child, expected } = sample();
    const b = bytesOf(child);
    b[30]! ^= 1;
    const ro = openVhd(new MemoryFile('c', b, true));
    expect(ro.check().map((f) => f.code)).toEqual(['FOOTER_COPY_CHECKSUM']);
    const mem = new MemoryFile('c', b);
    const rw = openVhd(mem);
    expect(rw.check()).toEqual([]);
    expectSame(readAll(rw, parent), expected);
  });

  it('copies that differ are reported', () => {
    const { child } = sample();
    const b = bytesOf(child);
    const head = b.subarray(0, 512);
    setU32be(head, 24, 12345);
    setU32be(head, 64, vhdChecksum(head, 64));
    expect(openVhd(new MemoryFile('c', b, true)).check().map((f) => f.code)).toEqual(['FOOTER_COPY_MISMATCH']);
  });

  it('a file cut after its last block (footer lost) reopens and is repaired', () => {
    const { parent, child, expected } = sample();
    const b = bytesOf(child);
    const [, start] = child.allocatedBlocks()[0]!;
    const cut = b.subarray(0, start + 512 + 2 * MiB);
    const ro = openVhd(new MemoryFile('c', cut, true));
    expectSame(readAll(ro, parent), expected);
    expect(ro.check().map((f) => f.code)).toEqual(['FOOTER_MISSING']);
    const mem = new MemoryFile('c', cut);
    const rw = openVhd(mem);
    expect(mem.size()).toBe(b.length);
    expect(rw.check()).toEqual([]);
    // Orphaned bytes past the last referenced block (a crash before the BAT update) are dropped.
    const longer = new Uint8Array(b.length + 3 * MiB);
    longer.set(b.subarray(0, b.length - 512));
    const mem2 = new MemoryFile('c', longer);
    const rw2 = openVhd(mem2);
    expect(mem2.size()).toBe(b.length);
    expectSame(readAll(rw2, parent), expected);
  });

  const modes: CrashMode[] = ['keep-all', 'lose-unflushed', 'torn'];
  for (const type of ['Dynamic', 'Differencing'] as const) {
    it(`${type}: a crash at any write leaves a file that reopens with the old or new data`, () => {
      const parent = createVhd(new MemoryFile('/d/p.vhd'), { virtualSize: 5 * MiB });
      parent.writeSectors(pattern(5 * MiB, 11), 0);
      const make = (f: MemoryFile): VhdImage =>
        type === 'Dynamic' ? createVhd(f, { virtualSize: 5 * MiB }) : createVhdDifferencing(f, { parent, parentPath: '/d/p.vhd', childPath: '/d/c.avhd' });
      const base = make(new MemoryFile('/d/c.avhd'));
      base.writeSectors(pattern(4096, 12), 0);
      const start = bytesOf(base);
      const parentOf = type === 'Dynamic' ? undefined : parent;
      const before = readAll(base, parentOf);
      const ops = (img: VhdImage): void => {
        img.writeSectors(pattern(8192, 13), 2 * MiB - 4096); // spans block 0 (allocated) and block 1 (new)
        img.writeSectors(pattern(1024, 14), 4 * MiB + 512); // new block 2
        img.writeSectors(pattern(1024, 15), 2 * MiB + 20 * 512); // in place in block 1 (differencing: new bitmap bits)
      };
      const full = new FaultFile('/d/c.avhd', start);
      const img = openVhd(full);
      ops(img);
      img.flush();
      const after = readAll(img, parentOf);
      const total = full.operations;
      expect(total).toBeGreaterThan(5);
      for (const mode of modes) {
        for (let k = 0; k < total; k++) {
          const ff = new FaultFile('/d/c.avhd', start, { crashAfter: k, mode });
          const victim = openVhd(ff);
          expect(() => {
            ops(victim);
            victim.flush();
          }).toThrow(HvsimError);
          const crashed = ff.image();
          const ro = openVhd(new MemoryFile('/d/c.avhd', crashed, true));
          expect(ro.check().filter((f) => f.severity === 'error')).toEqual([]);
          const got = readAll(ro, parentOf);
          for (let s = 0; s < got.length; s += 512) {
            const g = Buffer.from(got.subarray(s, s + 512));
            if (!g.equals(Buffer.from(before.subarray(s, s + 512))) && !g.equals(Buffer.from(after.subarray(s, s + 512))))
              throw new Error(`${mode} crash after ${k} ops: sector ${s / 512} is neither old nor new`);
          }
          const rw = openVhd(new MemoryFile('/d/c.avhd', crashed));
          expect(rw.check()).toEqual([]);
          expectSame(readAll(rw, parentOf), got);
          ops(rw);
          expectSame(readAll(reopen(rw), parentOf), after);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------

type Op =
  | { kind: 'write'; sector: number; count: number; seed: number }
  | { kind: 'block'; block: number; seed: number }
  | { kind: 'zero'; sector: number; count: number }
  | { kind: 'discard'; sector: number; count: number }
  | { kind: 'reopen' };

describe('model-based: random writes against a flat Uint8Array', () => {
  const BS = 64 * KiB;
  const SIZE = 3 * BS + 40 * 512; // a partial last block
  const SECTORS = SIZE / 512;
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), sector: fc.nat({ max: SECTORS - 1 }), count: fc.integer({ min: 1, max: 300 }), seed: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('block' as const), block: fc.nat({ max: 3 }), seed: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('zero' as const), sector: fc.nat({ max: SECTORS - 1 }), count: fc.integer({ min: 1, max: 400 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('discard' as const), sector: fc.nat({ max: SECTORS - 1 }), count: fc.integer({ min: 1, max: 600 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  );

  for (const type of ['Dynamic', 'Differencing'] as const) {
    it(`${type} disk`, () => {
      const parent = createVhd(new MemoryFile('/m/p.vhd'), { virtualSize: SIZE, blockSize: BS });
      const pdata = pattern(SIZE, 99);
      parent.writeSectors(pdata, 0);
      fc.assert(
        fc.property(fc.array(arbOp, { maxLength: 25 }), (ops) => {
          let img: VhdImage =
            type === 'Dynamic'
              ? createVhd(new MemoryFile('/m/d.vhd'), { virtualSize: SIZE, blockSize: BS })
              : createVhdDifferencing(new MemoryFile('/m/c.avhd'), { parent, parentPath: '/m/p.vhd', childPath: '/m/c.avhd', blockSize: BS });
          const under = type === 'Dynamic' ? new Uint8Array(SIZE) : pdata;
          const model = under.slice();
          for (const op of ops) {
            if (op.kind === 'write') {
              const count = Math.min(op.count, SECTORS - op.sector);
              const d = pattern(count * 512, op.seed);
              img.writeSectors(d, op.sector * 512);
              model.set(d, op.sector * 512);
            } else if (op.kind === 'block') {
              const off = op.block * BS;
              const d = pattern(Math.min(BS, SIZE - off), op.seed);
              img.writeSectors(d, off);
              model.set(d, off);
            } else if (op.kind === 'zero') {
              const count = Math.min(op.count, SECTORS - op.sector);
              img.zeroSectors(op.sector * 512, count * 512);
              model.fill(0, op.sector * 512, (op.sector + count) * 512);
            } else if (op.kind === 'discard') {
              const count = Math.min(op.count, SECTORS - op.sector);
              const start = op.sector * 512;
              const end = start + count * 512;
              img.discardBlocks(start, count * 512);
              for (let b = Math.ceil(start / BS); b * BS < SIZE; b++) {
                const bEnd = Math.min((b + 1) * BS, SIZE);
                if (bEnd > end) break;
                model.set(under.subarray(b * BS, bEnd), b * BS);
              }
            } else img = reopen(img);
            expect(Buffer.from(readAll(img, type === 'Dynamic' ? undefined : parent)).equals(Buffer.from(model))).toBe(true);
          }
          img = reopen(img, true);
          expect(Buffer.from(readAll(img, type === 'Dynamic' ? undefined : parent)).equals(Buffer.from(model))).toBe(true);
          expect(img.check()).toEqual([]);
        }),
        { numRuns: 60 },
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('hostile files', () => {
  // A small chain: parent dynamic, child differencing with two allocated blocks (64 KiB blocks).
  const parent = createVhd(new MemoryFile('/h/p.vhd'), { virtualSize: 256 * KiB, blockSize: 64 * KiB });
  parent.writeSectors(pattern(256 * KiB, 21), 0);
  const childImg = createVhdDifferencing(new MemoryFile('/h/c.avhd'), { parent, parentPath: '/h/p.vhd', childPath: '/h/c.avhd', blockSize: 64 * KiB });
  childImg.writeSectors(pattern(8192, 22), 4096);
  childImg.writeSectors(pattern(64 * KiB, 23), 128 * KiB);
  const child = bytesOf(childImg);
  const expected = readAll(childImg, parent);

  /** Open (read-only and writable) and read everything; only HvsimError may escape. Returns the read or the error. */
  function attempt(bytes: Uint8Array): Uint8Array | HvsimError {
    try {
      const ro = openVhd(new MemoryFile('/h/c.avhd', bytes, true));
      ro.info();
      ro.check();
      const parentRead = (b: Uint8Array, o: number): void => {
        if (o + b.length <= parent.virtualSize) readImage(parent, b, o);
        else b.fill(0);
      };
      // Read everything, or (for a hostile size) the first and the last MiB.
      const out = new Uint8Array(Math.min(ro.virtualSize, 2 * MiB));
      if (ro.virtualSize <= 2 * MiB) readImage(ro, out, 0, parentRead);
      else {
        readImage(ro, out.subarray(0, MiB), 0, parentRead);
        readImage(ro, out.subarray(MiB), ro.virtualSize - MiB, parentRead);
      }
      try {
        const rw = openVhd(new MemoryFile('/h/c.avhd', bytes));
        rw.writeSectors(pattern(1024, 5), 0);
        rw.zeroSectors(0, Math.min(rw.virtualSize, 70 * KiB));
        rw.discardBlocks(0, rw.virtualSize);
        reopen(rw).check();
      } catch (e) {
        if (!(e instanceof HvsimError)) throw e;
      }
      return out;
    } catch (e) {
      if (e instanceof HvsimError) {
        expect(e.message).toMatch(/^\/h\/c\.avhd: /);
        expect(e.message).not.toContain('\n');
        return e;
      }
      throw e;
    }
  }

  const footerFields = Object.entries(FOOTER_FIELDS).filter(([k]) => k !== 'checksum' && k !== 'reserved' && k !== 'cookie');
  const headerFields = Object.entries(HEADER_FIELDS).filter(([k]) => k !== 'checksum' && k !== 'cookie' && !k.startsWith('reserved') && k !== 'parentLocatorEntries');
  /** Fields that do not change what the disk reads. */
  const COSMETIC = new Set(['timeStamp', 'creatorApplication', 'creatorVersion', 'creatorHostOs', 'originalSize', 'diskGeometry', 'savedState', 'features', 'uniqueId', 'parentTimeStamp', 'parentUnicodeName', 'parentUniqueId', 'dataOffset:header']);
  const specials = [0, 1, 0x1ff, 0x200, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, child.length, child.length - 512, 0x2000, 0x13e00];

  const arbValue = fc.oneof(fc.constantFrom(...specials), fc.nat({ max: 0xffffffff }));

  it('mutated footer fields (checksums recomputed) end in HvsimError or a correct read', () => {
    fc.assert(
      fc.property(fc.constantFrom(...footerFields), arbValue, fc.boolean(), ([name, [off, width]], v, high) => {
        const b = child.slice();
        patchFooters(b, (f) => {
          if (width === 8) setU64be(f, off, high ? v * 0x100000000 + v : v);
          else if (width === 4) setU32be(f, off, v);
          else if (width === 1) f[off] = v & 0xff;
          else f.set(pattern(width, v), off);
        });
        const r = attempt(b);
        if (COSMETIC.has(name) && !(r instanceof HvsimError)) expect(Buffer.from(r).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated dynamic header fields and locator entries end in HvsimError or a correct read', () => {
    const locatorSlots = [0, 1, 2].flatMap((i) =>
      Object.entries(LOCATOR_FIELDS).map(([k, [o, w]]) => [`locator${i}.${k}`, [576 + i * 24 + o, w]] as [string, readonly [number, number]]),
    );
    fc.assert(
      fc.property(fc.constantFrom(...headerFields, ...locatorSlots), arbValue, fc.boolean(), ([name, [off, width]], v, high) => {
        const b = child.slice();
        patchHeader(b, (h) => {
          if (width === 8) setU64be(h, off, high ? v * 0x100000000 + v : v);
          else if (width === 4) setU32be(h, off, v);
          else h.set(pattern(width, v), off);
        });
        const r = attempt(b);
        const key = name === 'dataOffset' ? 'dataOffset:header' : name;
        if (COSMETIC.has(key) && !(r instanceof HvsimError)) expect(Buffer.from(r).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated BAT entries end in HvsimError or a read; a writable open refuses overlapping blocks', () => {
    const tableOffset = 0x2000;
    fc.assert(
      fc.property(fc.nat({ max: 3 }), arbValue, (entry, v) => {
        const b = child.slice();
        setU32be(b, tableOffset + entry * 4, v);
        attempt(b);
      }),
      { numRuns: 300 },
    );
    // Block 0 pointing into the BAT: read-only open works and check() says so; writable refuses.
    const b = child.slice();
    setU32be(b, tableOffset, tableOffset / 512);
    const ro = openVhd(new MemoryFile('/h/c.avhd', b, true));
    expect(ro.check().map((f) => f.code)).toContain('BAT_ENTRY_OVERLAP');
    expectHvsimError(() => openVhd(new MemoryFile('/h/c.avhd', b)), 'CORRUPT');
    // Two entries sharing a block.
    const d = child.slice();
    setU32be(d, tableOffset + 4, u32be(d, tableOffset + 8));
    expect(openVhd(new MemoryFile('/h/c.avhd', d, true)).check().map((f) => f.code)).toContain('BAT_ENTRY_OVERLAP');
    // An entry past the end of the file.
    const e = child.slice();
    setU32be(e, tableOffset + 12, 0x100000);
    expect(openVhd(new MemoryFile('/h/c.avhd', e, true)).check().map((f) => f.code)).toContain('BAT_ENTRY_PAST_EOF');
  });

  it('random bytes in the metadata area (checksums recomputed) never throw anything but HvsimError', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 0x4000 - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 16 }), fc.boolean(), (edits, fixHeader) => {
        const b = child.slice();
        for (const [o, v] of edits) b[o] = v;
        if (fixHeader) patchHeader(b, () => undefined);
        patchFooters(b, (f) => f.set(b.subarray(0, 512).slice()));
        attempt(b);
      }),
      { numRuns: 300 },
    );
  });

  it('specific hostile values give one-line CORRUPT/UNSUPPORTED errors naming the field', () => {
    const cases: Array<[string, (b: Uint8Array) => void, RegExp]> = [
      ['MaxTableEntries huge', (b) => patchHeader(b, (h) => setU32be(h, 28, 0xffffffff)), /MaxTableEntries/],
      ['MaxTableEntries too small', (b) => patchHeader(b, (h) => setU32be(h, 28, 1)), /MaxTableEntries/],
      ['TableOffset past EOF', (b) => patchHeader(b, (h) => setU64be(h, 16, 2 ** 40)), /TableOffset/],
      ['TableOffset all ones', (b) => patchHeader(b, (h) => h.fill(0xff, 16, 24)), /TableOffset/],
      ['BlockSize not a power of 2', (b) => patchHeader(b, (h) => setU32be(h, 32, 3 * 65536)), /BlockSize/],
      ['BlockSize huge', (b) => patchHeader(b, (h) => setU32be(h, 32, 0x80000000)), /BlockSize/],
      ['locator offset out of range', (b) => patchHeader(b, (h) => setU64be(h, 576 + 16, 2 ** 45)), /ParentLocatorEntries\[0\].*PlatformDataOffset/],
      ['locator length huge', (b) => patchHeader(b, (h) => setU32be(h, 576 + 24 + 8, 0x7fffffff)), /ParentLocatorEntries\[1\].*PlatformDataLength/],
      ['DataOffset weird', (b) => patchFooters(b, (f) => setU64be(f, 16, 3)), /DataOffset/],
      ['DataOffset past EOF', (b) => patchFooters(b, (f) => setU64be(f, 16, 2 ** 50)), /DataOffset/],
      ['CurrentSize odd', (b) => patchFooters(b, (f) => setU64be(f, 48, 1000)), /CurrentSize/],
      ['disk type 5', (b) => patchFooters(b, (f) => setU32be(f, 60, 5)), /DiskType/],
      ['file format version 2', (b) => patchFooters(b, (f) => setU32be(f, 12, 0x00020000)), /FileFormatVersion/],
      ['header cookie', (b) => patchHeader(b, (h) => (h[0] = 0x41)), /cxsparse/],
      ['header checksum', (b) => (b[0x200 + 100]! ^= 1), /Checksum/],
      ['both footers bad', (b) => ((b[40]! ^= 1), (b[b.length - 512 + 40]! ^= 1)), /Checksum/],
      ['no footer at all', (b) => (b.fill(0, 0, 8), b.fill(0, b.length - 512)), /conectix/],
    ];
    for (const [what, mutate, re] of cases) {
      const b = child.slice();
      mutate(b);
      const e = expectHvsimError(() => openVhd(new MemoryFile('/h/c.avhd', b, true)));
      expect(['CORRUPT', 'UNSUPPORTED'], what).toContain(e.code);
      expect(e.message, what).toMatch(re);
      expect(e.message.startsWith('/h/c.avhd: '), what).toBe(true);
    }
  });

  it('lenient opens (test-vhd) report checksum failures instead of refusing, read-only', () => {
    const h = child.slice();
    h[0x200 + 100]! ^= 1;
    const img = openVhd(new MemoryFile('/h/c.avhd', h, true), { lenient: true });
    expect(img.check().filter((f) => f.severity === 'error').map((f) => f.code)).toEqual(['HEADER_CHECKSUM']);
    expectHvsimError(() => openVhd(new MemoryFile('/h/c.avhd', h), { lenient: true }), 'CORRUPT');
    const f = child.slice();
    f[40]! ^= 1;
    f[f.length - 512 + 40]! ^= 1;
    const img2 = openVhd(new MemoryFile('/h/c.avhd', f, true), { lenient: true });
    expect(img2.check().map((x) => [x.severity, x.code])).toEqual([
      ['error', 'FOOTER_CHECKSUM'],
      ['warning', 'FOOTER_COPY_CHECKSUM'],
    ]);
    expectHvsimError(() => openVhd(new MemoryFile('/h/c.avhd', f), { lenient: true }), 'CORRUPT');
    expect(Buffer.from(readAll(img2, parent)).equals(Buffer.from(expected))).toBe(true);
  });

  it('truncation at every structure boundary ends in HvsimError or a read of what is left', () => {
    const [[, b0], [, b1]] = childImg.allocatedBlocks() as [[number, number], [number, number]];
    const boundaries = [
      0, 1, 8, 511, 512, 513, 0x200 + 1024, 0x1000, 0x1000 + 12, 0x2000, 0x2000 + 16, 0x3000, 0x3000 + 18, 0x13000,
      b0, b0 + 512, b0 + 512 + 4096, b0 + 512 + 64 * KiB, b1, b1 + 512, b1 + 512 + 32 * KiB, b1 + 512 + 64 * KiB,
      child.length - 512, child.length - 511, child.length - 1,
    ];
    const lastDataEnd = b1 + 512 + 64 * KiB;
    for (const cut of boundaries) {
      const b = child.slice(0, cut);
      const r = attempt(b);
      if (cut >= lastDataEnd) {
        // Only the footer is gone: the copy at 0 takes over and nothing is lost.
        expect(r instanceof HvsimError, `cut ${cut}`).toBe(false);
        expect(Buffer.from(r as Uint8Array).equals(Buffer.from(expected)), `cut ${cut}`).toBe(true);
      }
      if (!(r instanceof HvsimError) && cut < child.length) {
        const img = openVhd(new MemoryFile('/h/c.avhd', b, true));
        expect(img.check().length, `cut ${cut}`).toBeGreaterThan(0);
      }
    }
  });
});
