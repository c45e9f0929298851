// Sector bitmaps are read in units as reads and writes reach them (src/vhd/vhdx/vhdx-image.ts
// ChunkBitmap: 4 KiB, or one block's bitmap when larger): partial blocks in different units, in
// different chunks, and a block whose bitmap spans two 4 KiB log pages must read back what was
// written, after a clean reopen and after a crash (log replay).
import { describe, expect, it } from 'vitest';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { createVhdx, createVhdxDifferencing } from '../../src/vhd/vhdx/create.js';
import { openVhdx, type VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';
import { readImage } from '../../src/vhd/disk.js';

const MiB = 1024 * 1024;

function reopen(img: VhdxImage, crash: boolean): VhdxImage {
  if (!crash) img.close();
  return openVhdx(new MemoryFile(img.path, (img.file as MemoryFile).bytes()));
}

describe('VHDX sector bitmaps read in units', () => {
  const cases = [
    // 1 MiB blocks, 512-byte sectors: 256 bitmap bytes a block, 16 blocks a unit, 4,096 blocks a chunk.
    { blockSize: MiB, lss: 512, virtualSize: 6 * 1024 * MiB },
    // 32 MiB blocks, 512-byte sectors: 8 KiB of bitmap a block (two log pages), a unit each.
    { blockSize: 32 * MiB, lss: 512, virtualSize: 1024 * MiB },
    // 4 KiB sectors: 32 bitmap bytes a 1 MiB block.
    { blockSize: MiB, lss: 4096, virtualSize: 2 * 1024 * MiB },
  ];
  for (const c of cases)
    for (const crash of [false, true])
      it(`block ${c.blockSize / MiB} MiB, sector ${c.lss}: partial blocks across units and chunks${crash ? ', after a crash' : ''}`, () => {
        const parent = createVhdx(new MemoryFile('/t/p.vhdx'), { virtualSize: c.virtualSize, blockSize: c.blockSize, logicalSectorSize: c.lss });
        const blocks = c.virtualSize / c.blockSize;
        // A pattern in the parent where the child's writes land, so a wrong bit reads the parent's byte.
        const picks = [0, 1, 15, 16, 17, 100, Math.floor(blocks / 2), blocks - 1].filter((k, i, a) => k < blocks && a.indexOf(k) === i);
        for (const k of picks) parent.writeSectors(new Uint8Array(4 * c.lss).fill(0xaa), k * c.blockSize);
        parent.close();
        const p = openVhdx(new MemoryFile('/t/p.vhdx', (parent.file as MemoryFile).bytes(), true));
        let child = createVhdxDifferencing(new MemoryFile('/t/c.avhdx'), { parent: p, parentPath: '/t/p.vhdx', childPath: '/t/c.avhdx', blockSize: c.blockSize });
        // In each picked block: its second sector, and its last sector.
        for (const [i, k] of picks.entries()) {
          child.writeSectors(new Uint8Array(c.lss).fill(i + 1), k * c.blockSize + c.lss);
          child.writeSectors(new Uint8Array(c.lss).fill(0x80 + i), (k + 1) * c.blockSize - c.lss);
        }
        child = reopen(child, crash);
        const parentRead = (b: Uint8Array, o: number): void => readImage(p, b, o);
        for (const [i, k] of picks.entries()) {
          const head = new Uint8Array(4 * c.lss);
          readImage(child, head, k * c.blockSize, parentRead);
          expect(head.subarray(0, c.lss).every((x) => x === 0xaa), `block ${k}, sector 0 (parent)`).toBe(true);
          expect(head.subarray(c.lss, 2 * c.lss).every((x) => x === i + 1), `block ${k}, sector 1 (child)`).toBe(true);
          expect(head.subarray(2 * c.lss).every((x) => x === 0xaa), `block ${k}, sectors 2-3 (parent)`).toBe(true);
          const tail = new Uint8Array(2 * c.lss);
          readImage(child, tail, (k + 1) * c.blockSize - 2 * c.lss, parentRead);
          expect(tail.subarray(0, c.lss).every((x) => x === 0), `block ${k}, next-to-last sector (parent: zero)`).toBe(true);
          expect(tail.subarray(c.lss).every((x) => x === 0x80 + i), `block ${k}, last sector (child)`).toBe(true);
        }
        // A second write into a block already partial, after the reopen (bitmap unit read back from the file).
        const k = picks[picks.length - 1]!;
        child.writeSectors(new Uint8Array(c.lss).fill(0x55), k * c.blockSize + 2 * c.lss);
        child = reopen(child, crash);
        const b = new Uint8Array(4 * c.lss);
        readImage(child, b, k * c.blockSize, (x, o) => readImage(p, x, o));
        expect([b[0], b[c.lss], b[2 * c.lss], b[3 * c.lss]]).toEqual([0xaa, picks.length, 0x55, 0xaa]);
      });
});
