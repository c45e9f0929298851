import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { createVhdx, createVhdxDifferencing } from '../../src/vhd/vhdx/create.js';
import { openVhdx, VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';
import { readImage, type DiskImage } from '../../src/vhd/disk.js';
import { crc32c } from '../../src/vhd/common/crc32c.js';
import { readMsGuid, writeMsGuid } from '../../src/vhd/common/guid.js';
import { batGeometry, payloadIndex, bitmapIndex } from '../../src/vhd/vhdx/bat.js';
import { HvsimError } from '../../src/errors.js';

const MiB = 1024 * 1024;

/** Close cleanly, then open the bytes again. */
function reopen(img: VhdxImage, readOnly = false): VhdxImage {
  img.close();
  return openVhdx(new MemoryFile(img.path, (img.file as MemoryFile).bytes(), readOnly));
}

/** Open the bytes as they are now, without the clean close (a crash after the last write returned). */
function crashReopen(img: VhdxImage): VhdxImage {
  return openVhdx(new MemoryFile(img.path, (img.file as MemoryFile).bytes()));
}

function bytesOf(img: DiskImage): Uint8Array {
  return (img.file as MemoryFile).bytes();
}

function readAll(img: DiskImage, parent?: DiskImage): Uint8Array {
  const out = new Uint8Array(img.virtualSize);
  readImage(img, out, 0, parent ? (b, o) => readImage(parent, b, o) : undefined);
  return out;
}

describe('VHDX building blocks', () => {
  it('CRC-32C matches the check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('GUIDs use the mixed-endian layout of MS-VHDX', () => {
    const b = new Uint8Array(16);
    writeMsGuid('2dc27766-f623-4200-9d64-115e9bfd4a08', b, 0);
    expect(Buffer.from(b).toString('hex')).toBe('6677c22d23f600429d64115e9bfd4a08');
    expect(readMsGuid(b, 0)).toBe('2dc27766-f623-4200-9d64-115e9bfd4a08');
  });

  it('BAT geometry interleaves sector bitmap entries', () => {
    const g = batGeometry(10 * 1024 * MiB, 2 * MiB, 512, true);
    expect(g.chunkRatio).toBe(2048);
    expect(payloadIndex(g, 2048)).toBe(2049);
    expect(bitmapIndex(g, 0)).toBe(2048);
    expect(g.totalEntries).toBe(3 * 2049);
    const d = batGeometry(10 * 1024 * MiB, 2 * MiB, 512, false);
    expect(d.totalEntries).toBe(5120 + 2);
    expect(batGeometry(64 * MiB, 32 * MiB, 4096, false).chunkRatio).toBe(1024);
  });
});

describe('VHDX create / write / read', () => {
  it('creates a dynamic disk in the Windows layout and reads zeros', () => {
    const img = createVhdx(new MemoryFile('d.vhdx'), { virtualSize: 64 * MiB });
    expect(img.type).toBe('Dynamic');
    expect(img.blockSize).toBe(32 * MiB);
    expect(img.physicalSectorSize).toBe(4096);
    const info = img.info();
    expect(info.VhdFormat).toBe('VHDX');
    expect(info.Size).toBe(64 * MiB);
    expect(info.FileSize).toBe(4 * MiB);
    expect(readAll(img).every((b) => b === 0)).toBe(true);
  });

  it('writes survive reopen and keep a clean log', () => {
    let img = createVhdx(new MemoryFile('d.vhdx'), { virtualSize: 8 * MiB, blockSize: MiB });
    const before = img.identity;
    const data = new Uint8Array(3 * 4096).map((_, i) => (i * 7) & 0xff);
    img.writeSectors(data, MiB - 4096);
    expect(img.identity).not.toBe(before);
    img = reopen(img);
    expect(img.header.logGuid).toBe('00000000-0000-0000-0000-000000000000');
    expect(img.logStatus).toBe('clean');
    const out = new Uint8Array(data.length);
    readImage(img, out, MiB - 4096);
    expect(out).toEqual(data);
  });

  it('a differencing disk reads through to its parent and records its linkage', () => {
    const parent = createVhdx(new MemoryFile('p.vhdx'), { virtualSize: 4 * MiB, blockSize: MiB });
    parent.writeSectors(new Uint8Array(4 * MiB).fill(0xaa), 0);
    const p = reopen(parent, true);
    const child = createVhdxDifferencing(new MemoryFile('/vm/c.avhdx'), { parent: p, parentPath: '/vm/p.vhdx', childPath: '/vm/c.avhdx' });
    expect(child.type).toBe('Differencing');
    expect(child.parentLocator?.linkage).toBe(p.identity);
    expect(child.parentLocator?.relativePath).toBe('.\\p.vhdx');
    expect(child.diskIdentifier).toBe(p.diskIdentifier);
    child.writeSectors(new Uint8Array(512).fill(0x11), 512 * 3);
    const c = reopen(child);
    const all = readAll(c, p);
    expect(all[0]).toBe(0xaa);
    expect(all[512 * 3]).toBe(0x11);
    expect(all[512 * 4]).toBe(0xaa);
    expect(c.blockState(0)).toBe(3); // partial
  });

  it('read-only open never changes the file', () => {
    const img = createVhdx(new MemoryFile('d.vhdx'), { virtualSize: 4 * MiB, blockSize: MiB });
    img.writeSectors(new Uint8Array(4096).fill(1), 0);
    const bytes = bytesOf(img).slice();
    const ro = openVhdx(new MemoryFile('d.vhdx', bytes, true));
    expect(() => ro.writeSectors(new Uint8Array(512), 0)).toThrow(HvsimError);
    ro.close();
  });

  it('refuses bad create parameters with typed errors', () => {
    expect(() => createVhdx(new MemoryFile('x'), { virtualSize: 1000 })).toThrow(/multiple of 512/);
    expect(() => createVhdx(new MemoryFile('x'), { virtualSize: MiB, blockSize: 3 * MiB })).toThrow(/power of two/);
    expect(() => createVhdx(new MemoryFile('x'), { virtualSize: MiB, logicalSectorSize: 1024 })).toThrow(/512 or 4096/);
  });

  it('refuses a child whose parent paths do not fit the metadata region, before writing anything', () => {
    const p = createVhdx(new MemoryFile('/vm/p.vhdx'), { virtualSize: 4 * MiB, blockSize: MiB });
    const deep = '/vm/' + 'd/'.repeat(300_000) + 'c.avhdx'; // two paths of UTF-16: well over 1 MiB
    const f = new MemoryFile(deep);
    const e = (() => {
      try {
        createVhdxDifferencing(f, { parent: p, parentPath: '/vm/p.vhdx', childPath: deep });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(HvsimError);
    expect((e as HvsimError).code).toBe('INVALID_ARGUMENT');
    expect((e as HvsimError).message).toMatch(/does not fit its 1048576-byte region/);
    expect(f.size()).toBe(0);
  });
});

type Op = { kind: 'write'; sector: number; count: number; fill: number } | { kind: 'zero'; sector: number; count: number } | { kind: 'discard'; sector: number; count: number } | { kind: 'reopen' } | { kind: 'crash' };

function opArb(sectors: number): fc.Arbitrary<Op> {
  const range = fc.tuple(fc.nat(sectors - 1), fc.integer({ min: 1, max: Math.min(sectors, 3000) })).map(([s, c]) => ({ sector: s, count: Math.min(c, sectors - s) }));
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(range, fc.integer({ min: 1, max: 255 })).map(([r, fill]) => ({ kind: 'write' as const, ...r, fill })) },
    { weight: 1, arbitrary: range.map((r) => ({ kind: 'zero' as const, ...r })) },
    { weight: 1, arbitrary: range.map((r) => ({ kind: 'discard' as const, ...r })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
  );
}

describe('VHDX property: random writes match a byte-array model', () => {
  for (const lss of [512, 4096]) {
    for (const blockSize of [MiB, 2 * MiB]) {
      for (const diff of [false, true]) {
        it(`${diff ? 'differencing' : 'dynamic'} lss=${lss} block=${blockSize / MiB}MiB`, () => {
          const size = 5 * MiB + 3 * lss; // a short last block
          const sectors = size / lss;
          fc.assert(
            fc.property(fc.array(opArb(sectors), { minLength: 1, maxLength: 12 }), (ops) => {
              let parent: VhdxImage | undefined;
              const model = new Uint8Array(size);
              let img: VhdxImage;
              if (diff) {
                const p = createVhdx(new MemoryFile('/t/p.vhdx'), { virtualSize: size, blockSize: 4 * MiB, logicalSectorSize: lss });
                for (let i = 0; i < size; i += 65536) model.fill((i >> 16) + 1, i, Math.min(size, i + 65536));
                p.writeSectors(model, 0);
                parent = reopen(p, true);
                img = createVhdxDifferencing(new MemoryFile('/t/c.avhdx'), { parent, parentPath: '/t/p.vhdx', childPath: '/t/c.avhdx', blockSize });
              } else img = createVhdx(new MemoryFile('/t/d.vhdx'), { virtualSize: size, blockSize, logicalSectorSize: lss });
              const parentModel = model.slice();
              for (const op of ops) {
                if (op.kind === 'reopen') { img = reopen(img); continue; }
                if (op.kind === 'crash') { img = crashReopen(img); continue; }
                const off = op.sector * lss;
                const len = op.count * lss;
                if (op.kind === 'write') {
                  const data = new Uint8Array(len).fill(op.fill);
                  img.writeSectors(data, off);
                  model.set(data, off);
                } else if (op.kind === 'zero') {
                  img.zeroSectors(off, len);
                  model.fill(0, off, off + len);
                } else {
                  img.discardBlocks(off, len);
                  // whole blocks become transparent: parent content (or zeros)
                  const bs = img.blockSize;
                  const a = Math.ceil(off / bs) * bs;
                  const b = off + len === size ? size : Math.floor((off + len) / bs) * bs;
                  for (let x = a; x < b; x++) model[x] = diff ? parentModel[x]! : 0;
                }
              }
              img = reopen(img);
              const got = readAll(img, parent);
              expect(Buffer.compare(Buffer.from(got), Buffer.from(model))).toBe(0);
            }),
            { numRuns: 25 },
          );
        });
      }
    }
  }
});
