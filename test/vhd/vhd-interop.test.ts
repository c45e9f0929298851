/**
 * Legacy VHD against other implementations: qemu-img (block/vpc.c) and libvhdi (pyvhdi).
 *
 * Size semantics: qemu-img 7.2 `create`/`convert -O vpc` rounds the requested size UP to a CHS
 * geometry and stores that CHS size as CurrentSize, with creator "qemu"; when reading it uses the
 * geometry for creator "qemu"/"vpc " and CurrentSize for "win "/"qem2"/… . Since qemu writes
 * CurrentSize = C*H*S*512, hvsim (which always uses CurrentSize, like Hyper-V) and qemu agree on
 * every qemu-made file; with `-o force_size=on` qemu writes creator "qem2" and the exact size.
 * hvsim writes creator "win ", so qemu reads CurrentSize from hvsim's files too.
 *
 * Differencing: qemu's vpc driver has no backing-file support — it opens a differencing VHD as a
 * dynamic one (unallocated blocks read as zeros, allocated blocks read whole, bitmap ignored), so
 * for children it must agree with hvsim reading the child alone (no parent). libvhdi follows the
 * parent when it is attached with set_parent (UniqueId checked).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeFile } from '../../src/vhd/io/node-file.js';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { readImage, type DiskImage } from '../../src/vhd/disk.js';
import { createVhd, createVhdDifferencing, openVhd, type VhdImage } from '../../src/vhd/vhd/vhd-file.js';
import { chsGeometry, geometryBytes } from '../../src/vhd/vhd/footer.js';
import { interopGate, pyvhdiInfo, pyvhdiRead, qemuImgCheck, qemuImgInfo, runQemuImg } from '../helpers/interop.js';
import { pattern } from '../helpers/data.js';

const MiB = 1024 * 1024;
const haveQemu = interopGate('qemu-img');
const havePyvhdi = interopGate('pyvhdi');
const FIXTURE = new URL('../../fixtures/fat-differential.vhd', import.meta.url);

const dir = mkdtempSync(join(tmpdir(), 'hvsim-vhd-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => join(dir, name);

function qemu(args: string[]): string {
  const r = runQemuImg(args);
  if (r.status !== 0) throw new Error(`qemu-img ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function readAll(img: DiskImage, parents: DiskImage[] = []): Uint8Array {
  const out = new Uint8Array(img.virtualSize);
  const through = (i: number) => (b: Uint8Array, o: number): void => readImage(parents[i]!, b, o, i + 1 < parents.length ? through(i + 1) : undefined);
  readImage(img, out, 0, parents.length > 0 ? through(0) : undefined);
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** qemu-img convert to raw, returned as bytes. */
function qemuRaw(path: string): Uint8Array {
  const out = `${path}.raw`;
  qemu(['convert', '-f', 'vpc', '-O', 'raw', path, out]);
  const b = new Uint8Array(readFileSync(out));
  rmSync(out);
  return b;
}

function openRo(path: string): VhdImage {
  return openVhd(NodeFile.open(path, 'r'));
}

/** Raw test data: random, with block 1 (2–4 MiB) all zero so qemu leaves it unallocated. */
function rawData(size: number): Uint8Array {
  const raw = pattern(size, 42);
  raw.fill(0, 2 * MiB, 4 * MiB);
  raw.fill(0, 4 * MiB + 4096, 4 * MiB + 65536);
  return raw;
}

describe.skipIf(!haveQemu)('qemu-img made VHDs read identically in hvsim', () => {
  const RAW_SIZE = 5_000_192; // 9766 sectors: not a CHS size, so qemu rounds up to 5013504
  const raw = rawData(RAW_SIZE);
  writeFileSync(at('in.raw'), raw);

  for (const sub of ['dynamic', 'fixed'] as const) {
    it(`convert -O vpc -o subformat=${sub}: CHS-rounded size, same bytes`, () => {
      const path = at(`qemu-${sub}.vhd`);
      qemu(['convert', '-f', 'raw', '-O', 'vpc', '-o', `subformat=${sub}`, at('in.raw'), path]);
      const qi = qemuImgInfo(path, 'vpc');
      const img = openRo(path);
      expect(img.type).toBe(sub === 'fixed' ? 'Fixed' : 'Dynamic');
      expect(img.footer.creatorApplication).toBe('qemu');
      // qemu stores the CHS-rounded size as CurrentSize: both readings agree.
      expect(img.virtualSize).toBe(qi['virtual-size']);
      expect(img.virtualSize).toBe(5013504);
      expect(geometryBytes(img.footer.diskGeometry)).toBe(img.virtualSize);
      expect(img.footer.diskGeometry).toEqual(chsGeometry(img.virtualSize));
      if (sub === 'dynamic') {
        expect(img.blockState(1)).toBe(0); // all-zero block left unallocated by qemu
        expect(img.info().BlockSize).toBe(qi['cluster-size']);
      }
      const got = readAll(img);
      expect(same(got.subarray(0, RAW_SIZE), raw)).toBe(true);
      expect(got.subarray(RAW_SIZE).every((v) => v === 0)).toBe(true);
      expect(same(got, qemuRaw(path))).toBe(true);
      expect(img.check().filter((f) => f.severity === 'error')).toEqual([]);
      img.close();
    });
  }

  it('force_size=on keeps the exact size (creator "qem2")', () => {
    const path = at('qemu-force.vhd');
    qemu(['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', at('in.raw'), path]);
    const img = openRo(path);
    expect(img.footer.creatorApplication).toBe('qem2');
    expect(img.virtualSize).toBe(RAW_SIZE);
    expect(qemuImgInfo(path, 'vpc')['virtual-size']).toBe(RAW_SIZE);
    expect(same(readAll(img), raw)).toBe(true);
    img.close();
  });

  it('hvsim writes into a qemu-made dynamic VHD and qemu reads the result', () => {
    const path = at('qemu-empty.vhd');
    qemu(['create', '-f', 'vpc', '-o', 'subformat=dynamic', path, String(6 * MiB)]);
    const img = openVhd(NodeFile.open(path, 'rw'));
    const size = img.virtualSize;
    expect(size).toBe(qemuImgInfo(path, 'vpc')['virtual-size']);
    const model = new Uint8Array(size);
    const writes: Array<[number, number, number]> = [
      [0, 4096, 1],
      [2 * MiB - 1024, 8192, 2],
      [size - 512, 512, 3],
    ];
    for (const [off, len, seed] of writes) {
      const d = pattern(len, seed);
      img.writeSectors(d, off);
      model.set(d, off);
    }
    img.close();
    const again = openRo(path);
    expect(same(readAll(again), model)).toBe(true);
    expect(again.check()).toEqual([]);
    again.close();
    expect(same(qemuRaw(path), model)).toBe(true);
  });
});

describe.skipIf(!haveQemu)('hvsim-made VHDs read identically in qemu-img', () => {
  it('dynamic and fixed: same virtual size, same bytes; qemu-img check (unsupported for vpc)', () => {
    for (const type of ['Dynamic', 'Fixed'] as const) {
      const path = at(`hv-${type}.vhd`);
      const img = createVhd(NodeFile.create(path, true), { virtualSize: 5 * MiB + 3 * 512, type });
      img.writeSectors(pattern(3 * MiB, 7), MiB + 512);
      img.writeSectors(pattern(1536, 8), img.virtualSize - 1536);
      const mine = readAll(img);
      img.close();
      expect(qemuImgInfo(path, 'vpc')['virtual-size']).toBe(5 * MiB + 3 * 512);
      expect(same(qemuRaw(path), mine)).toBe(true);
      const chk = qemuImgCheck(path, 'vpc');
      // qemu 7.2: "This image format does not support checks" (exit 63); a later qemu must say clean.
      if (chk.status !== 63) expect(chk.status).toBe(0);
    }
  });

  it('a differencing child reads in qemu as hvsim reads the child alone (qemu has no VHD backing files)', () => {
    const ppath = at('hv-parent.vhd');
    const cpath = at('hv-child.avhd');
    const parent = createVhd(NodeFile.create(ppath, true), { virtualSize: 6 * MiB });
    parent.writeSectors(pattern(6 * MiB, 9), 0);
    const child = createVhdDifferencing(NodeFile.create(cpath, true), { parent, parentPath: ppath, childPath: cpath });
    child.writeSectors(pattern(4096, 10), 8192);
    child.writeSectors(pattern(3 * 512, 11), 2 * MiB + 5 * 512);
    child.writeSectors(pattern(2 * MiB, 12), 4 * MiB);
    const alone = readAll(child);
    child.close();
    parent.close();
    expect(qemuImgInfo(cpath, 'vpc')['virtual-size']).toBe(6 * MiB);
    expect(same(qemuRaw(cpath), alone)).toBe(true);
  });
});

describe.skipIf(!havePyvhdi)('hvsim-made VHD chains read identically in libvhdi (pyvhdi)', () => {
  it('dynamic and fixed disks', () => {
    for (const type of ['Dynamic', 'Fixed'] as const) {
      const path = at(`py-${type}.vhd`);
      const img = createVhd(NodeFile.create(path, true), { virtualSize: 5 * MiB, type });
      img.writeSectors(pattern(MiB + 4096, 13), 2 * MiB - 4096);
      const mine = readAll(img);
      img.close();
      const info = pyvhdiInfo(path);
      expect(info.diskType).toBe(type === 'Fixed' ? 'fixed' : 'dynamic');
      expect(info.mediaSize).toBe(5 * MiB);
      expect(same(pyvhdiRead(path, [], 0, 5 * MiB), mine)).toBe(true);
    }
  });

  it('a parent → child → grandchild chain (4 KiB-aligned writes: libvhdi widens partial bitmap bytes)', () => {
    const p = at('chain-base.vhd');
    const c = at('chain-mid.avhd');
    const g = at('chain-top.avhd');
    const base = createVhd(NodeFile.create(p, true), { virtualSize: 7 * MiB });
    base.writeSectors(pattern(7 * MiB, 14), 0);
    const mid = createVhdDifferencing(NodeFile.create(c, true), { parent: base, parentPath: p, childPath: c });
    mid.writeSectors(pattern(8192, 15), 4096);
    mid.writeSectors(pattern(2 * MiB, 16), 2 * MiB);
    mid.zeroSectors(5 * MiB, 65536);
    const top = createVhdDifferencing(NodeFile.create(g, true), { parent: mid, parentPath: c, childPath: g });
    top.writeSectors(pattern(4096, 17), 0);
    top.writeSectors(pattern(12288, 18), 2 * MiB + 65536);
    top.writeSectors(pattern(4096, 19), 6 * MiB + 4096);
    const mine = readAll(top, [mid, base]);
    for (const [img, parent, chain] of [
      [mid, base, [p]],
      [top, mid, [c, p]],
    ] as const) {
      const info = pyvhdiInfo(img.path, [...chain]);
      expect(info.diskType).toBe('differencing');
      expect(info.identifier).toBe(img.identity);
      expect(info.parentIdentifier).toBe(parent.identity);
      expect(info.parentFilename).toBe(parent.path);
    }
    top.close();
    mid.close();
    base.close();
    expect(same(pyvhdiRead(g, [c, p], 0, 7 * MiB), mine)).toBe(true);
  });

  it('the Windows fixture, over a stand-in parent carrying the recorded UniqueId', () => {
    const fixture = new Uint8Array(readFileSync(FIXTURE));
    const fpath = at('fat-differential.vhd');
    writeFileSync(fpath, fixture);
    const ppath = at('fat-parent.vhd');
    const parent = createVhd(NodeFile.create(ppath, true), { virtualSize: 4 * MiB, uniqueId: '5fa21a55-f394-aa4d-9958-1951a67d5540' });
    parent.writeSectors(pattern(4 * MiB, 20), 0);
    const child = openVhd(new MemoryFile(fpath, fixture, true));
    const mine = readAll(child, [parent]);
    parent.close();
    const theirs = pyvhdiRead(fpath, [ppath], 0, 4 * MiB);
    // libvhdi widens a present run that starts inside a bitmap byte to the byte's end; compare
    // every sector whose bitmap byte is all-clear or all-set (block 0), and all of block 1.
    const bitmap = fixture.subarray(0x13e00, 0x14000);
    let compared = 0;
    for (let s = 0; s < 8192; s++) {
      if (s < 4096) {
        const byte = bitmap[s >>> 3]!;
        if (byte !== 0 && byte !== 0xff) continue;
      }
      compared++;
      expect(same(theirs.subarray(s * 512, s * 512 + 512), mine.subarray(s * 512, s * 512 + 512)), `sector ${s}`).toBe(true);
    }
    expect(compared).toBeGreaterThan(8150);
    // Sectors 152..159 (bitmap byte 19 = 0xFF) are the child's own.
    expect(same(mine.subarray(152 * 512, 160 * 512), fixture.subarray(0x14000 + 152 * 512, 0x14000 + 160 * 512))).toBe(true);
  });
});
