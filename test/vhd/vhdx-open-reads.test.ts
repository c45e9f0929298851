/**
 * What a VHDX open reads (issue 20, chain open per layer): a read-only open reads region table
 * copy 2 only when copy 1 is not valid (check() still reports a bad copy 2), and the metadata
 * table's entries and items rather than the whole 64 KiB table — with every finding and typed
 * error the eager open gave.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import type { BlockFile } from '../../src/vhd/io/block-file.js';
import { createVhdx, createVhdxDifferencing } from '../../src/vhd/vhdx/create.js';
import { openVhdx, setBitmapPoolBytes, type VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';
import { BLOCK_PARTIAL, readImage } from '../../src/vhd/disk.js';
import { HvsimError } from '../../src/errors.js';
import { sealStructure } from '../../src/vhd/common/crc32c.js';
import { setU16le, setU32le, u16le, u32le } from '../../src/vhd/common/bytes.js';
import type { MetadataItem } from '../../src/vhd/vhdx/metadata.js';
import { smallVhdxPair } from '../helpers/vhdx-pair.js';

const MiB = 1024 * 1024;
const RT1 = 192 * 1024;
const RT2 = 256 * 1024;
const MD = 2 * MiB;

/** A file that records every read's [offset, end). */
class CountingFile implements BlockFile {
  readonly reads: Array<[number, number]> = [];
  constructor(private readonly f: BlockFile) {}
  get name(): string { return this.f.name; }
  get readOnly(): boolean { return this.f.readOnly; }
  read(buf: Uint8Array, offset: number): number {
    this.reads.push([offset, offset + buf.length]);
    return this.f.read(buf, offset);
  }
  write(buf: Uint8Array, offset: number): void { this.f.write(buf, offset); }
  size(): number { return this.f.size(); }
  truncate(size: number): void { this.f.truncate(size); }
  flush(): void { this.f.flush(); }
  close(): void { this.f.close(); }
  touched(lo: number, hi: number): boolean {
    return this.reads.some(([a, b]) => a < hi && lo < b);
  }
}

const { parent, childBytes } = smallVhdxPair((c) => c.writeSectors(new Uint8Array(4096).fill(0x42), MiB + 8192));

function open(bytes: Uint8Array, readOnly: boolean): { img: VhdxImage; file: CountingFile } {
  const file = new CountingFile(new MemoryFile('/f/c.avhdx', bytes, readOnly));
  return { img: openVhdx(file), file };
}

function readAll(img: VhdxImage): Uint8Array {
  const out = new Uint8Array(img.virtualSize);
  readImage(img, out, 0, (b, o) => readImage(parent, b, o));
  return out;
}

const codes = (img: VhdxImage): string[] => img.check().map((f) => `${f.code}: ${f.message}`);

describe('region table copy 2 (MS-VHDX §2.2.3)', () => {
  it('a read-only open of a sound file never reads copy 2; check() does, and finds it sound', () => {
    const { img, file } = open(childBytes, true);
    expect(file.touched(RT2, RT2 + 64 * 1024)).toBe(false);
    expect(readAll(img).subarray(MiB + 8192, MiB + 8192 + 4096).every((v) => v === 0x42)).toBe(true);
    expect(codes(img)).toEqual([]);
    expect(file.touched(RT2, RT2 + 64 * 1024)).toBe(true);
  });

  it('a damaged copy 2: the read-only open works from copy 1 and check() reports copy 2; a writable open reports it at open', () => {
    const b = childBytes.slice();
    b[RT2 + 100] = b[RT2 + 100]! ^ 1;
    const ro = open(b, true).img;
    expect(ro.openFindings.map((f) => f.code)).toEqual([]);
    expect(codes(ro)).toEqual(['REGION_TABLE_COPY: region table 2 is not valid: bad checksum']);
    expect(ro.check()[0]!.offset).toBe(RT2);
    const rw = open(b, false).img;
    expect(rw.openFindings.map((f) => `${f.code}: ${f.message}`)).toEqual(['REGION_TABLE_COPY: region table 2 is not valid: bad checksum']);
    expect(codes(rw)).toEqual(['REGION_TABLE_COPY: region table 2 is not valid: bad checksum']);
  });

  it('a valid copy 2 that lists the regions differently is reported by check()', () => {
    const b = childBytes.slice();
    // Swap the two entries of copy 2 and reseal it: valid, but not the same table.
    const e0 = b.slice(RT2 + 16, RT2 + 48);
    b.copyWithin(RT2 + 16, RT2 + 48, RT2 + 80);
    b.set(e0, RT2 + 48);
    sealStructure(b.subarray(RT2, RT2 + 64 * 1024), 4);
    expect(codes(open(b, true).img)).toEqual(['REGION_TABLE_COPY: region table 2 is not valid: differs from copy 1']);
  });

  it('a damaged copy 1: copy 2 is read and used, and the open reports copy 1', () => {
    const b = childBytes.slice();
    b[RT1 + 100] = b[RT1 + 100]! ^ 1;
    const { img, file } = open(b, true);
    expect(file.touched(RT2, RT2 + 64 * 1024)).toBe(true);
    expect(codes(img)).toEqual(['REGION_TABLE_COPY: region table 1 is not valid: bad checksum']);
    expect(readAll(img).subarray(MiB + 8192, MiB + 8192 + 4096).every((v) => v === 0x42)).toBe(true);
  });

  it('both copies damaged: CORRUPT, naming the file', () => {
    const b = childBytes.slice();
    b[RT1 + 100] = b[RT1 + 100]! ^ 1;
    b[RT2 + 100] = b[RT2 + 100]! ^ 1;
    expect(() => open(b, true)).toThrow(expect.objectContaining({ code: 'CORRUPT', file: '/f/c.avhdx' }) as HvsimError);
  });
});

describe('metadata table and items (MS-VHDX §2.6)', () => {
  it('an open reads the table entries and the items, not the reserved rest of the 64 KiB table', () => {
    const { file } = open(childBytes, true);
    const count = u16le(childBytes, MD + 10);
    const entriesEnd = MD + 32 + 32 * count;
    expect(file.touched(MD + 4096, MD + 64 * 1024)).toBe(false);
    expect(file.touched(MD, entriesEnd)).toBe(true);
  });

  it('a table of 300 entries (past its first 4 KiB) is read whole: every item comes back', () => {
    const img = openVhdx(new MemoryFile('/f/c.avhdx', childBytes));
    const extra: MetadataItem[] = Array.from({ length: 295 }, (_, i) => {
      const id = `${(0x10000000 + i).toString(16)}-0000-4000-8000-000000000000`;
      return { itemId: id, isUser: true, isVirtualDisk: false, isRequired: false, data: new Uint8Array(24).fill(i & 0xff) };
    });
    img.rewriteMetadata([...img.metadataItems, ...extra], false);
    img.close();
    const bytes = (img.file as MemoryFile).bytes();
    expect(u16le(bytes, MD + 10)).toBe(img.metadataItems.length);
    expect(32 + 32 * img.metadataItems.length).toBeGreaterThan(4096);
    const back = open(bytes, true).img;
    expect(back.metadataItems.length).toBe(img.metadataItems.length);
    back.metadataItems.forEach((it, i) => {
      expect(it.itemId).toBe(img.metadataItems[i]!.itemId);
      expect(Buffer.from(it.data).equals(Buffer.from(img.metadataItems[i]!.data))).toBe(true);
    });
    expect(back.parentLocator?.linkage).toBe(parent.identity);
  });

  it('an item placed far into the region (not packed after the table) is read', () => {
    const b = childBytes.slice();
    const count = u16le(b, MD + 10);
    // Move the last item's data to 900 KiB into the region.
    const o = MD + 32 + 32 * (count - 1);
    const off = u32le(b, o + 16);
    const len = u32le(b, o + 20);
    b.copyWithin(MD + 900 * 1024, MD + off, MD + off + len);
    b.fill(0, MD + off, MD + off + len);
    setU32le(b, o + 16, 900 * 1024);
    const { img } = open(b, true);
    const orig = open(childBytes, true).img;
    expect(img.metadataItems.map((it) => Buffer.from(it.data).toString('hex'))).toEqual(orig.metadataItems.map((it) => Buffer.from(it.data).toString('hex')));
    expect(img.parentLocator).toEqual(orig.parentLocator);
  });

  it('an entry count past the maximum, or an item past the region, is still CORRUPT', () => {
    const a = childBytes.slice();
    setU16le(a, MD + 10, 2048);
    expect(() => open(a, true)).toThrow(/metadata table lists 2048 entries/);
    const b = childBytes.slice();
    setU32le(b, MD + 32 + 16, MiB - 4); // an 8-byte item ending 4 bytes past the 1 MiB region
    expect(() => open(b, true)).toThrow(/lies outside the metadata region/);
  });
});

describe('sector runs of a partial block (MS-VHDX §2.4, a word at a time)', () => {
  it('tile the range exactly, alternate, and match the sectors written', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 1, max: 300 })), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 2047 }),
        fc.integer({ min: 1, max: 2048 }),
        (writes, first, count) => {
          const c = createVhdxDifferencing(new MemoryFile('/f/r.avhdx'), { parent, parentPath: '/f/p.vhdx', childPath: '/f/r.avhdx', blockSize: MiB });
          const held = new Uint8Array(4096); // sectors of blocks 0 and 1 (512-byte sectors)
          for (const [s, n] of writes) {
            const m = Math.min(n, 4096 - s);
            c.writeSectors(new Uint8Array(m * 512).fill(7), s * 512);
            held.fill(1, s, s + m);
          }
          const f = first;
          const n = Math.min(count, 2048 - f);
          // Block 0 and block 1 each: expected from what was written, unless the block became whole.
          for (const block of [0, 1]) {
            if (c.blockState(block) !== BLOCK_PARTIAL) continue;
            const runs: Array<[boolean, number, number]> = [];
            c.forEachSectorRun(block, f, n, (p, s, len) => runs.push([p, s, len]));
            let at = f;
            runs.forEach(([p, s, len], i) => {
              expect(s).toBe(at);
              expect(len).toBeGreaterThan(0);
              if (i > 0) expect(p).not.toBe(runs[i - 1]![0]);
              for (let x = s; x < s + len; x++) expect(held[block * 2048 + x] === 1).toBe(p);
              at += len;
            });
            expect(at).toBe(f + n);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('bitmap units of read-only images share a bounded pool', () => {
  it('with the pool far smaller than the bitmaps, reads through recycled units still return what was written', () => {
    const old = setBitmapPoolBytes(8192); // two 4 KiB units
    try {
      // 64 MiB of 1 MiB blocks: a 4 KiB unit holds the bitmaps of 16 blocks, so 4 units in use.
      const base = createVhdx(new MemoryFile('/f/b.vhdx'), { virtualSize: 64 * MiB, blockSize: MiB });
      base.writeSectors(new Uint8Array(64 * MiB).fill(0x11), 0);
      base.close();
      const baseRo = openVhdx(new MemoryFile('/f/b.vhdx', (base.file as MemoryFile).bytes(), true));
      const mk = (name: string, fill: number, shift: number): VhdxImage => {
        const c = createVhdxDifferencing(new MemoryFile(name), { parent: baseRo, parentPath: '/f/b.vhdx', childPath: name, blockSize: MiB });
        for (let k = 0; k < 64; k += 5) c.writeSectors(new Uint8Array(1024).fill(fill), k * MiB + (k + shift) * 512);
        c.close();
        return openVhdx(new MemoryFile(name, (c.file as MemoryFile).bytes(), true));
      };
      const imgs = [mk('/f/x.avhdx', 0x21, 0), mk('/f/y.avhdx', 0x31, 7)];
      const expected = (i: number, k: number, sector: number): number => {
        const start = k + (i ? 7 : 0);
        return k % 5 === 0 && sector >= start && sector < start + 2 ? (i ? 0x31 : 0x21) : 0x11;
      };
      for (let round = 0; round < 2; round++)
        for (let k = 0; k < 64; k++)
          for (const [i, img] of imgs.entries()) {
            const b = new Uint8Array(MiB);
            readImage(img, b, k * MiB, (bb, o) => readImage(baseRo, bb, o));
            for (let s = 0; s < 2048; s += 1) expect(b[s * 512]).toBe(expected(i, k, s));
          }
      for (const img of imgs) img.close();
    } finally {
      setBitmapPoolBytes(old);
    }
  });
});
