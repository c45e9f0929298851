/**
 * VHDX crash consistency and log replay: a write cut off at any operation leaves a file that
 * opens and reads every sector as its old or its new content; a read-only open replays the log
 * in memory without touching the file.
 */
import { describe, expect, it } from 'vitest';
import { FaultFile, faultBudget, type CrashMode } from '../../src/vhd/io/fault-file.js';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { createVhdx, createVhdxDifferencing } from '../../src/vhd/vhdx/create.js';
import { openVhdx, type VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';
import { readImage, type DiskImage } from '../../src/vhd/disk.js';
import { entryState } from '../../src/vhd/vhdx/bat.js';
import { HvsimError } from '../../src/errors.js';

const MiB = 1024 * 1024;
const SIZE = 6 * MiB;

function fill(len: number, v: number): Uint8Array {
  return new Uint8Array(len).fill(v);
}

function readAll(img: DiskImage, parent?: DiskImage): Uint8Array {
  const out = new Uint8Array(img.virtualSize);
  readImage(img, out, 0, parent ? (b, o) => readImage(parent, b, o) : undefined);
  return out;
}

/** A parent full of 0x50 and a child holding a few sectors of 0x60 (partial blocks), closed cleanly. */
function scenario(): { parent: VhdxImage; child: Uint8Array } {
  const p = createVhdx(new MemoryFile('/c/p.vhdx'), { virtualSize: SIZE, blockSize: MiB });
  p.writeSectors(fill(SIZE, 0x50), 0);
  p.close();
  const parent = openVhdx(new MemoryFile('/c/p.vhdx', (p.file as MemoryFile).bytes(), true));
  const c = createVhdxDifferencing(new MemoryFile('/c/c.avhdx'), { parent, parentPath: '/c/p.vhdx', childPath: '/c/c.avhdx' });
  c.writeSectors(fill(4096, 0x60), MiB + 4096);
  c.close();
  return { parent, child: (c.file as MemoryFile).bytes() };
}

/** The write under test: spans a partial block, a whole block and a new partial block. */
const W_OFF = MiB + 2048;
const W_LEN = 2 * MiB + 1536;
function doWrite(img: VhdxImage): void {
  img.writeSectors(fill(W_LEN, 0x77), W_OFF);
}

describe('a write cut off at any operation', () => {
  const { parent, child } = scenario();
  const oldView = (() => {
    const img = openVhdx(new MemoryFile('/c/c.avhdx', child, true));
    return readAll(img, parent);
  })();
  const newView = oldView.slice();
  newView.fill(0x77, W_OFF, W_OFF + W_LEN);

  // Count the operations of the whole write and clean close.
  const dry = new FaultFile('/c/c.avhdx', child, faultBudget());
  const dryImg = openVhdx(dry);
  doWrite(dryImg);
  dryImg.close();
  const total = dry.operations;

  for (const mode of ['keep-all', 'lose-unflushed', 'torn'] as CrashMode[]) {
    it(`${mode}: every crash point (${total} operations) reopens with each sector old or new`, () => {
      expect(total).toBeGreaterThan(10);
      let sawOld = false;
      let sawNew = false;
      for (let k = 0; k <= total; k++) {
        const f = new FaultFile('/c/c.avhdx', child, faultBudget(k, mode));
        try {
          const img = openVhdx(f);
          doWrite(img);
          img.close();
        } catch (e) {
          expect(e).toBeInstanceOf(HvsimError);
          expect((e as HvsimError).code).toBe('FAULT_INJECTED');
        }
        const after = f.image();
        // Read-only open first (replays in memory, must not change the bytes), then writable.
        const ro = openVhdx(new MemoryFile('/c/c.avhdx', after, true));
        const viewRo = readAll(ro, parent);
        const rw = openVhdx(new MemoryFile('/c/c.avhdx', after));
        const viewRw = readAll(rw, parent);
        expect(Buffer.compare(Buffer.from(viewRo), Buffer.from(viewRw))).toBe(0);
        for (let s = 0; s < SIZE; s += 512) {
          const got = viewRw.subarray(s, s + 512);
          const isOld = Buffer.compare(Buffer.from(got), Buffer.from(oldView.subarray(s, s + 512))) === 0;
          const isNew = Buffer.compare(Buffer.from(got), Buffer.from(newView.subarray(s, s + 512))) === 0;
          if (!isOld && !isNew) throw new Error(`crash at ${k} (${mode}): sector ${s / 512} is neither old nor new`);
        }
        if (Buffer.compare(Buffer.from(viewRw), Buffer.from(oldView)) === 0) sawOld = true;
        if (Buffer.compare(Buffer.from(viewRw), Buffer.from(newView)) === 0) sawNew = true;
        // The reopened file takes further writes and passes its own check.
        rw.writeSectors(fill(512, 0x99), 0);
        rw.close();
        const again = openVhdx(new MemoryFile('/c/c.avhdx', (rw.file as MemoryFile).bytes(), true));
        expect(again.check().filter((x) => x.severity === 'error')).toEqual([]);
      }
      expect(sawOld).toBe(true);
      expect(sawNew).toBe(true);
    });
  }
});

describe('log replay', () => {
  it('reads a BAT that lives only in an unreplayed log entry, without changing the file', () => {
    const base = createVhdx(new MemoryFile('/l/d.vhdx'), { virtualSize: SIZE, blockSize: MiB });
    base.close();
    const start = (base.file as MemoryFile).bytes();
    const dry = new FaultFile('/l/d.vhdx', start, faultBudget());
    const img0 = openVhdx(dry);
    img0.writeSectors(fill(MiB, 0xab), 2 * MiB);
    const total = dry.operations;
    // Find the crash point right after the log entry is durable but before it is applied.
    let found = false;
    for (let k = 1; k <= total && !found; k++) {
      const f = new FaultFile('/l/d.vhdx', start, faultBudget(k, 'keep-all'));
      try {
        openVhdx(f).writeSectors(fill(MiB, 0xab), 2 * MiB);
      } catch {
        // the crash
      }
      const bytes = f.image();
      const roFile = new MemoryFile('/l/d.vhdx', bytes, true);
      const ro = openVhdx(roFile);
      if (ro.logStatus !== 'replayed-in-memory') continue;
      // The BAT in the file itself still says NOT_PRESENT for block 2 …
      const batOff = 3 * MiB;
      const rawBat = bytes.subarray(batOff, batOff + 64);
      if (entryState(rawBat, 2) !== 0) continue;
      // … yet hvsim reads the new data, because it replayed the log in memory.
      const got = new Uint8Array(MiB);
      readImage(ro, got, 2 * MiB);
      if (!got.every((b) => b === 0xab)) continue;
      found = true;
      ro.close();
      expect(Buffer.compare(Buffer.from(roFile.bytes()), Buffer.from(bytes))).toBe(0);
      // A writable open replays in place: the BAT entry is now in the file and the log is clean.
      const rw = openVhdx(new MemoryFile('/l/d.vhdx', bytes));
      expect(rw.logStatus).toBe('replayed-in-place');
      const after = (rw.file as MemoryFile).bytes();
      expect(entryState(after.subarray(batOff, batOff + 64), 2)).toBe(6);
      expect(rw.header.logGuid).toBe('00000000-0000-0000-0000-000000000000');
    }
    expect(found).toBe(true);
  });
});
