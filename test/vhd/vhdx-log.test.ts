import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setU32le, setU64le, u32le } from '../../src/vhd/common/bytes.js';
import { crc32c } from '../../src/vhd/common/crc32c.js';
import { HvsimError } from '../../src/errors.js';
import type { BlockFile } from '../../src/vhd/io/block-file.js';
import { FaultFile, type CrashMode } from '../../src/vhd/io/fault-file.js';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { OverlayFile } from '../../src/vhd/io/overlay-file.js';
import {
  applyReplay,
  encodeLogEntry,
  entryLength,
  findActiveSequence,
  LogWriter,
  maxPagesPerEntry,
  type LogLocation,
  type LogReplay,
  type LogWrite,
} from '../../src/vhd/vhdx/log.js';
import { pattern } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECTOR = 4096;
const GUID_A = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const GUID_B = 'a1b2c3d4-e5f6-4a0b-9c8d-7e6f5a4b3c2d';
const GUID_C = '0badf00d-0000-4000-8000-000000000001';
/** Log at 1 MiB as Windows lays it out; page targets live in [256 KiB, 1 MiB). */
const LOG_OFF = MiB;
const TARGET_BASE = 256 * KiB;

type Page = { offset: number; data: Uint8Array };
type Zero = { offset: number; length: number };

function pageData(seed: number): Uint8Array {
  return pattern(SECTOR, seed);
}
function page(slot: number, seed: number): Page {
  return { offset: TARGET_BASE + slot * SECTOR, data: pageData(seed) };
}
function logFile(logLength: number): MemoryFile {
  return new MemoryFile('test.vhdx', new Uint8Array(LOG_OFF + logLength));
}
function loc(length: number): LogLocation {
  return { offset: LOG_OFF, length };
}
/** The writes one writeEntry call should replay to: zeros first, then pages. */
function expectedWrites(pages: Page[], zeros: Zero[]): LogWrite[] {
  return [
    ...zeros.filter((z) => z.length > 0).map((z): LogWrite => ({ kind: 'zero', offset: z.offset, length: z.length })),
    ...pages.map((p): LogWrite => ({ kind: 'data', offset: p.offset, data: p.data })),
  ];
}

/** Records how the search reads the file. */
class SpyFile implements BlockFile {
  maxRead = 0;
  totalRead = 0;
  constructor(private readonly inner: BlockFile) {}
  get name(): string {
    return this.inner.name;
  }
  get readOnly(): boolean {
    return true;
  }
  read(buf: Uint8Array, offset: number): number {
    this.maxRead = Math.max(this.maxRead, buf.length);
    this.totalRead += buf.length;
    return this.inner.read(buf, offset);
  }
  write(): void {
    throw new Error('SpyFile is read-only');
  }
  size(): number {
    return this.inner.size();
  }
  truncate(): void {
    throw new Error('SpyFile is read-only');
  }
  flush(): void {}
  close(): void {}
}

/** Copy bytes into the log circularly. */
function placeInLog(file: MemoryFile, logLength: number, at: number, bytes: Uint8Array): void {
  const first = Math.min(bytes.length, logLength - at);
  file.write(bytes.subarray(0, first), LOG_OFF + at);
  if (first < bytes.length) file.write(bytes.subarray(first), LOG_OFF);
}
/** Recompute an entry's checksum after its fields were patched (over the bytes as given). */
function reseal(entry: Uint8Array): Uint8Array {
  entry.fill(0, 4, 8);
  setU32le(entry, 4, crc32c(entry));
  return entry;
}

/** Fast byte-array equality with a readable failure (vitest's deep equality is slow on big arrays). */
function expectBytes(got: Uint8Array, want: Uint8Array, what = 'bytes'): void {
  if (Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  expect.fail(`${what} differ: lengths ${got.length}/${want.length}, first difference at ${i}`);
}
/** Writes in a form that compares quickly. */
function norm(ws: LogWrite[]): Array<string> {
  return ws.map((w) => (w.kind === 'data' ? `data@${w.offset}:${Buffer.from(w.data).toString('base64')}` : `zero@${w.offset}+${w.length}`));
}
function expectWrites(got: LogWrite[] | undefined, want: LogWrite[]): void {
  expect(got).toBeDefined();
  expect(norm(got!)).toEqual(norm(want));
}

function expectOnlyHvsimErrors(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HvsimError);
    return e;
  }
}

/** Structural invariants every replay must satisfy, whatever the log held. */
function checkReplayShape(r: LogReplay, log: LogLocation): void {
  let dataBytes = 0;
  for (const w of r.writes) {
    expect(w.offset % SECTOR).toBe(0);
    expect(w.offset).toBeGreaterThanOrEqual(192 * KiB);
    const len = w.kind === 'data' ? w.data.length : w.length;
    if (w.kind === 'data') {
      expect(w.data.length).toBe(SECTOR);
      dataBytes += SECTOR;
    } else expect(w.length % SECTOR).toBe(0);
    expect(w.offset + len <= log.offset || w.offset >= log.offset + log.length).toBe(true);
  }
  expect(dataBytes).toBeLessThan(log.length);
  expect(r.headOffset % SECTOR).toBe(0);
  expect(r.headOffset).toBeLessThan(log.length);
  expect(r.headLength + SECTOR).toBeLessThanOrEqual(log.length);
}

describe('log entry layout', () => {
  it('sizes descriptor areas as 126 descriptors in the first sector and 128 in later ones', () => {
    expect(entryLength(0)).toBe(SECTOR);
    expect(entryLength(0, 126)).toBe(SECTOR);
    expect(entryLength(0, 127)).toBe(2 * SECTOR);
    expect(entryLength(126)).toBe(SECTOR + 126 * SECTOR);
    expect(entryLength(127)).toBe(2 * SECTOR + 127 * SECTOR);
    expect(entryLength(0, 254)).toBe(2 * SECTOR);
    expect(entryLength(0, 255)).toBe(3 * SECTOR);
  });

  it('encodes the fields at their MS-VHDX offsets', () => {
    const p = page(3, 7);
    const e = encodeLogEntry({
      sequenceNumber: 0x1_0000_0005,
      tail: 8192,
      logGuid: GUID_A,
      flushedFileOffset: 4 * MiB,
      lastFileOffset: 5 * MiB,
      zeros: [{ offset: TARGET_BASE, length: 2 * SECTOR }],
      pages: [p],
    });
    expect(e.length).toBe(2 * SECTOR);
    expect(String.fromCharCode(...e.subarray(0, 4))).toBe('loge');
    expect(u32le(e, 8)).toBe(2 * SECTOR);
    expect(u32le(e, 12)).toBe(8192);
    expect(u32le(e, 16)).toBe(5);
    expect(u32le(e, 20)).toBe(1);
    expect(u32le(e, 24)).toBe(2);
    // LogGuid in mixed-endian form: Data1 little-endian.
    expect([...e.subarray(32, 36)]).toEqual([0x3a, 0x2b, 0x1c, 0x6f]);
    expect(String.fromCharCode(...e.subarray(64, 68))).toBe('zero');
    expect(String.fromCharCode(...e.subarray(96, 100))).toBe('desc');
    expect([...e.subarray(100, 104)]).toEqual([...p.data.subarray(4092)]);
    expect([...e.subarray(104, 112)]).toEqual([...p.data.subarray(0, 8)]);
    expect(String.fromCharCode(...e.subarray(SECTOR, SECTOR + 4))).toBe('data');
    expect(u32le(e, SECTOR + 4)).toBe(1); // SequenceHigh
    expect(u32le(e, SECTOR + 4092)).toBe(5); // SequenceLow
    expectBytes(e.subarray(SECTOR + 8, SECTOR + 4092), p.data.subarray(8, 4092));
    const copy = e.slice();
    copy.fill(0, 4, 8);
    expect(u32le(e, 4)).toBe(crc32c(copy));
  });

  it('maxPagesPerEntry is the largest page count that leaves one sector free', () => {
    for (const L of [0, SECTOR, 2 * SECTOR, 3 * SECTOR, 64 * KiB, 520 * KiB, 524 * KiB, MiB, 8 * MiB]) {
      let n = 0;
      while (L >= 2 * SECTOR && entryLength(n + 1) + SECTOR <= L) n++;
      expect(maxPagesPerEntry(L)).toBe(n);
    }
    expect(maxPagesPerEntry(MiB)).toBe(253);
  });
});

describe('LogWriter + findActiveSequence', () => {
  it('round-trips: the replay is exactly the newest entry, and reconstructed bytes match', () => {
    const L = 64 * KiB;
    const entryArb = fc.record({
      slots: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }),
      zeros: fc.array(fc.record({ slot: fc.integer({ min: 0, max: 40 }), n: fc.integer({ min: 0, max: 3 }) }), { maxLength: 2 }),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 2 ** 40 }), (entries, firstSeq) => {
        const file = logFile(L);
        const w = new LogWriter(file, loc(L), GUID_A, firstSeq);
        let last: { pages: Page[]; zeros: Zero[] } | undefined;
        for (const e of entries) {
          const pages = e.slots.map((s, i) => page(s, e.seed + i));
          const zeros = e.zeros.map((z) => ({ offset: TARGET_BASE + z.slot * SECTOR, length: z.n * SECTOR }));
          w.writeEntry(pages, zeros, file.size(), file.size() + MiB);
          last = { pages, zeros };
        }
        const r = findActiveSequence(file, loc(L), GUID_A)!;
        expect(r).toBeDefined();
        expect(r.headSequence).toBe(w.nextSequence - 1);
        expectWrites(r.writes, expectedWrites(last!.pages, last!.zeros));
        expect(r.flushedFileOffset).toBe(LOG_OFF + L);
        expect(r.lastFileOffset).toBe(LOG_OFF + L + MiB);
        checkReplayShape(r, loc(L));
        // Applying the replay leaves every page of the newest entry in place.
        const target = new MemoryFile('t', file.bytes());
        applyReplay(target, r);
        for (const p of last!.pages) {
          const got = new Uint8Array(SECTOR);
          target.read(got, p.offset);
          const lastForSlot = [...last!.pages].reverse().find((q) => q.offset === p.offset)!;
          expectBytes(got, lastForSlot.data);
        }
        expect(target.size()).toBe(LOG_OFF + L + MiB);
      }),
      { numRuns: 150 },
    );
  });

  it('finds an entry that wraps around the end of the log', () => {
    const L = 64 * KiB;
    const file = logFile(L);
    const w = new LogWriter(file, loc(L), GUID_A);
    const a = Array.from({ length: 8 }, (_, i) => page(i, 100 + i)); // 36 KiB at 0
    w.writeEntry(a, [], 0, 0);
    expect(w.nextOffset).toBe(36 * KiB);
    const b = Array.from({ length: 5 }, (_, i) => page(20 + i, 200 + i)); // 24 KiB at 36 KiB
    w.writeEntry(b, [], 0, 0);
    expect(w.nextOffset).toBe(60 * KiB);
    const c = Array.from({ length: 3 }, (_, i) => page(30 + i, 300 + i)); // 16 KiB at 60 KiB: wraps to 12 KiB
    w.writeEntry(c, [], 0, 0);
    expect(w.nextOffset).toBe(12 * KiB);
    expect(w.nextSequence).toBe(4); // no padding needed: c does not reach b
    const r = findActiveSequence(file, loc(L), GUID_A)!;
    expect(r.headOffset).toBe(60 * KiB);
    expect(r.headLength).toBe(16 * KiB);
    expect(r.headSequence).toBe(3);
    expectWrites(r.writes, expectedWrites(c, []));
    // The sectors at the log start now belong to c; a still-valid tail of a must not confuse the search.
    const d = [page(40, 400)]; // 8 KiB at 12 KiB
    w.writeEntry(d, [], 0, 0);
    const r2 = findActiveSequence(file, loc(L), GUID_A)!;
    expect(r2.headOffset).toBe(12 * KiB);
    expectWrites(r2.writes, expectedWrites(d, []));
  });

  it('pads with an empty entry rather than overwrite the newest entry', () => {
    const L = 64 * KiB;
    const file = logFile(L);
    const w = new LogWriter(file, loc(L), GUID_A);
    w.writeEntry(Array.from({ length: 9 }, (_, i) => page(i, i)), [], 0, 0); // 40 KiB at 0
    const big = Array.from({ length: 7 }, (_, i) => page(i, 50 + i)); // 32 KiB: would reach entry 1
    w.writeEntry(big, [], 0, 0);
    expect(w.nextSequence).toBe(4); // 1 = first, 2 = padding, 3 = big
    const r = findActiveSequence(file, loc(L), GUID_A)!;
    expect(r.headSequence).toBe(3);
    expect(r.headOffset).toBe(44 * KiB);
    expectWrites(r.writes, expectedWrites(big, []));
  });

  it('ignores stale entries of another LogGuid', () => {
    const L = 64 * KiB;
    const file = logFile(L);
    const wa = new LogWriter(file, loc(L), GUID_A, 500);
    for (let i = 0; i < 6; i++) wa.writeEntry([page(i, i), page(i + 10, i)], [], 0, 0);
    const wb = new LogWriter(file, loc(L), GUID_B); // a new session starts again at 0 with seq 1
    const pb = [page(40, 4040)];
    wb.writeEntry(pb, [], 0, 0);
    const rb = findActiveSequence(file, loc(L), GUID_B)!;
    expect(rb.headSequence).toBe(1);
    expectWrites(rb.writes, expectedWrites(pb, []));
    expect(findActiveSequence(file, loc(L), GUID_C)).toBeUndefined();
    const ra = findActiveSequence(file, loc(L), GUID_A)!;
    // A's entries are 12 KiB each: seq 505 sat at 60 KiB and wrapped into [0, 8 KiB), which B's entry
    // overwrote, so A's newest intact entry is 504.
    expect(ra.headSequence).toBe(504);
    expect(findActiveSequence(file, loc(L), '00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(findActiveSequence(logFile(L), loc(L), GUID_A)).toBeUndefined(); // all-zero log
  });

  it('falls back to the previous entry when the newest one is corrupt', () => {
    const L = 64 * KiB;
    const pages = [0, 1, 2].map((k) => [page(k, k), page(k + 5, k + 5)]);
    for (const where of ['data', 'checksum', 'descriptor', 'header-sector-padding']) {
      const file = logFile(L);
      const w = new LogWriter(file, loc(L), GUID_A);
      for (const p of pages) w.writeEntry(p, [], 0, 0);
      const head = findActiveSequence(file, loc(L), GUID_A)!;
      expect(head.headSequence).toBe(3);
      const at = LOG_OFF + head.headOffset + { data: SECTOR + 100, checksum: 5, descriptor: 64 + 40, 'header-sector-padding': 3000 }[where]!;
      const b = new Uint8Array(1);
      file.read(b, at);
      b[0]! ^= 0x10;
      file.write(b, at);
      const r = findActiveSequence(file, loc(L), GUID_A)!;
      expect(r.headSequence, where).toBe(2);
      expectWrites(r.writes, expectedWrites(pages[1]!, []));
    }
  });

  it('replays from the head Tail through the head, oldest entry first', () => {
    const L = 64 * KiB;
    const file = logFile(L);
    const p1 = [page(1, 11)];
    const p2 = [page(2, 22), page(1, 23)];
    const p3 = [page(3, 33)];
    const base = { logGuid: GUID_A, flushedFileOffset: 0, lastFileOffset: 0, zeros: [] };
    // A Windows-style sequence: entry 2's Tail is entry 1, entry 3's Tail is entry 2.
    const e1 = encodeLogEntry({ ...base, sequenceNumber: 7, tail: 40 * KiB, pages: p1 }); // Tail: overwritten entry
    const e2 = encodeLogEntry({ ...base, sequenceNumber: 8, tail: 0, pages: p2 });
    const e3 = encodeLogEntry({ ...base, sequenceNumber: 9, tail: e1.length, pages: p3, lastFileOffset: 9 * MiB });
    placeInLog(file, L, 0, e1);
    placeInLog(file, L, e1.length, e2);
    placeInLog(file, L, e1.length + e2.length, e3);
    const r = findActiveSequence(file, loc(L), GUID_A)!;
    expect(r.headSequence).toBe(9);
    expect(r.headOffset).toBe(e1.length + e2.length);
    expect(r.lastFileOffset).toBe(9 * MiB);
    expectWrites(r.writes, [...expectedWrites(p2, []), ...expectedWrites(p3, [])]);

    // Entry 3's Tail pointing outside the run ends the run at entry 2 (whose Tail is entry 1).
    const bad3 = encodeLogEntry({ ...base, sequenceNumber: 9, tail: 48 * KiB, pages: p3 });
    placeInLog(file, L, e1.length + e2.length, bad3);
    const r2 = findActiveSequence(file, loc(L), GUID_A)!;
    expect(r2.headSequence).toBe(8);
    expectWrites(r2.writes, [...expectedWrites(p1, []), ...expectedWrites(p2, [])]);

    // A lone entry whose Tail is not itself is not a sequence.
    const lone = logFile(L);
    placeInLog(lone, L, 8 * KiB, encodeLogEntry({ ...base, sequenceNumber: 3, tail: 0, pages: p1 }));
    expect(findActiveSequence(lone, loc(L), GUID_A)).toBeUndefined();
  });

  it('matches a brute-force search over every start offset on random entry layouts', () => {
    const L = 32 * SECTOR;
    type Slot = { at: number; len: number; seq: number; tail: number; pages: Page[] };
    const layoutArb = fc.record({
      shapes: fc.array(
        fc.record({
          gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })),
          pages: fc.integer({ min: 0, max: 2 }),
          seq: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 })), // 0: previous + 1
          tail: fc.nat(),
        }),
        { minLength: 1, maxLength: 14 },
      ),
      wrapLast: fc.boolean(),
    });
    fc.assert(
      fc.property(layoutArb, ({ shapes, wrapLast }) => {
        const slots: Slot[] = [];
        let p = 0;
        for (const [i, s] of shapes.entries()) {
          const len = entryLength(s.pages);
          const at = p + s.gap * SECTOR;
          const firstStart = slots[0]?.at ?? 0;
          const fits = at + len <= L || (wrapLast && at < L && slots.length > 0 && at + len - L <= firstStart);
          if (!fits) break;
          const seq = s.seq === 0 ? (slots[slots.length - 1]?.seq ?? 0) + 1 : s.seq;
          slots.push({ at, len, seq, tail: 0, pages: Array.from({ length: s.pages }, (_, k) => page(i * 3 + k, i * 7 + k)) });
          p = at + len;
          if (p >= L) break;
        }
        shapes.forEach((s, i) => {
          const slot = slots[i];
          if (!slot) return;
          // Tails: mostly this entry or an earlier one, sometimes a later one or an arbitrary sector.
          const pick = s.tail % 8;
          slot.tail =
            pick === 7 ? ((s.tail >>> 3) % 32) * SECTOR : pick === 6 ? slots[(s.tail >>> 3) % slots.length]!.at : slots[i - ((s.tail >>> 3) % (Math.min(i, 3) + 1))]!.at;
        });
        const file = logFile(L);
        for (const s of slots)
          placeInLog(file, L, s.at, encodeLogEntry({ sequenceNumber: s.seq, tail: s.tail, logGuid: GUID_A, flushedFileOffset: 0, lastFileOffset: s.at, zeros: [], pages: s.pages }));

        // Reference: try every start, build the run per MS-VHDX §2.3.3, keep the highest head.
        const byAt = new Map(slots.map((s) => [s.at % L, s]));
        let best: { run: Slot[]; ti: number } | undefined;
        for (let start = 0; start < L; start += SECTOR) {
          const e0 = byAt.get(start);
          if (!e0) continue;
          const run = [e0];
          let used = e0.len;
          for (;;) {
            const n = byAt.get((start + used) % L);
            if (!n || n.seq !== run[run.length - 1]!.seq + 1 || used + n.len > L) break;
            if (![...run, n].some((x) => x.at === n.tail)) break;
            run.push(n);
            used += n.len;
          }
          const head = run[run.length - 1]!;
          const ti = run.findIndex((x) => x.at === head.tail);
          if (ti < 0) continue;
          if (!best || head.seq > best.run[best.run.length - 1]!.seq) best = { run, ti };
        }
        const r = findActiveSequence(file, loc(L), GUID_A);
        if (!best) {
          expect(r).toBeUndefined();
          return;
        }
        const head = best.run[best.run.length - 1]!;
        expect(r).toBeDefined();
        expect(r!.headSequence).toBe(head.seq);
        expect(r!.headOffset).toBe(head.at);
        expect(r!.lastFileOffset).toBe(head.at);
        expectWrites(r!.writes, best.run.slice(best.ti).flatMap((s) => expectedWrites(s.pages, [])));
      }),
      { numRuns: 400 },
    );
  });
});

describe('crash consistency', () => {
  /** Logical entries (page sets) sized so that some wrap and some force a padding entry. */
  const L = 64 * KiB;
  const batches: Page[][] = [6, 5, 8, 9, 2, 12, 3].map((n, b) => Array.from({ length: n }, (_, i) => page(b * 10 + i, b * 100 + i)));

  type Physical = { seq: number; writes: LogWrite[]; writesDone: number; flushDone: number; bytes: Array<{ offset: number; data: Uint8Array }> };

  /** Physical entries of a clean run: sequence, replayed writes, file writes, and the op indices that make them land. */
  function dryRun(): Physical[] {
    const ops: Array<{ op: 'w' | 'f'; offset?: number; data?: Uint8Array }> = [];
    const inner = new FaultFile('dry', new Uint8Array(LOG_OFF + L));
    const rec: BlockFile = {
      name: 'dry',
      readOnly: false,
      read: (b, o) => inner.read(b, o),
      write: (b, o) => (ops.push({ op: 'w', offset: o, data: b.slice() }), inner.write(b, o)),
      size: () => inner.size(),
      truncate: (s) => inner.truncate(s),
      flush: () => (ops.push({ op: 'f' }), inner.flush()),
      close: () => {},
    };
    const w = new LogWriter(rec, loc(L), GUID_A);
    const logical: LogWrite[][] = [];
    for (const b of batches) {
      const before = w.nextSequence;
      w.writeEntry(b, [], 0, 0);
      if (w.nextSequence - before === 2) logical.push([]);
      logical.push(expectedWrites(b, []));
    }
    expect(logical.length).toBeGreaterThan(batches.length); // the layout does exercise padding
    const out: Physical[] = [];
    let bytes: Physical['bytes'] = [];
    ops.forEach((o, i) => {
      if (o.op === 'w') bytes.push({ offset: o.offset!, data: o.data! });
      else {
        out.push({ seq: out.length + 1, writes: logical[out.length]!, writesDone: i, flushDone: i + 1, bytes });
        bytes = [];
      }
    });
    expect(out.length).toBe(logical.length);
    expect(out.some((p) => p.bytes.length === 2)).toBe(true); // and entries that wrap
    return out;
  }

  it.each<CrashMode>(['torn', 'lose-unflushed', 'keep-all'])('never yields a half entry when a crash hits any operation (%s)', (mode) => {
    const physical = dryRun();
    const total = physical[physical.length - 1]!.flushDone;
    for (let k = 0; k <= total; k++) {
      const f = new FaultFile('crash', new Uint8Array(LOG_OFF + L), { crashAfter: k, mode });
      const w = new LogWriter(f, loc(L), GUID_A);
      try {
        for (const b of batches) w.writeEntry(b, [], 0, 0);
      } catch (e) {
        expect((e as HvsimError).code).toBe('FAULT_INJECTED');
      }
      const image = f.image();
      const landed = physical.filter((p) => (mode === 'lose-unflushed' ? p.flushDone : p.writesDone) <= k);
      let want = landed[landed.length - 1];
      // The entry in flight counts as landed only when all of its bytes happen to be on disk
      // (a torn write whose missing part already held the same bytes).
      const inFlight = physical[landed.length];
      if (inFlight && inFlight.bytes.every((b) => Buffer.from(image.subarray(b.offset, b.offset + b.data.length)).equals(b.data))) want = inFlight;
      const r = findActiveSequence(new MemoryFile('img', image), loc(L), GUID_A);
      if (!want) expect(r, `crash after ${k}`).toBeUndefined();
      else {
        expect(r?.headSequence, `crash after ${k}`).toBe(want.seq);
        expectWrites(r!.writes, want.writes);
      }
    }
  });
});

describe('hostile logs', () => {
  const L = 64 * KiB;
  const base = { logGuid: GUID_A, flushedFileOffset: 0, lastFileOffset: 0 };
  /** Entry 1 valid at 0; entry 2 (patched, resealed) right after it. */
  function withHostileSecond(patch: (e: Uint8Array) => void, second?: Uint8Array): { file: SpyFile; first: Page[] } {
    const file = logFile(L);
    const first = [page(1, 1)];
    const e1 = encodeLogEntry({ ...base, sequenceNumber: 1, tail: 0, zeros: [], pages: first });
    placeInLog(file, L, 0, e1);
    const e2 =
      second ??
      encodeLogEntry({ ...base, sequenceNumber: 2, tail: e1.length, zeros: [{ offset: TARGET_BASE, length: SECTOR }], pages: [page(2, 2), page(3, 3)] });
    patch(e2);
    reseal(e2);
    placeInLog(file, L, e1.length, e2);
    return { file: new SpyFile(file), first };
  }

  const zeroDesc = 64; // descriptor 0 is the zero descriptor, 1 and 2 are data descriptors
  const dataDesc = 96;
  const cases: Array<[string, (e: Uint8Array) => void]> = [
    ['EntryLength huge', (e) => setU32le(e, 8, 0xfffff000)],
    ['EntryLength zero', (e) => setU32le(e, 8, 0)],
    ['EntryLength unaligned', (e) => setU32le(e, 8, 3 * SECTOR + 100)],
    ['EntryLength equal to the log', (e) => setU32le(e, 8, L)],
    ['EntryLength one sector short', (e) => setU32le(e, 8, 2 * SECTOR)],
    ['DescriptorCount 2^32-1', (e) => setU32le(e, 24, 0xffffffff)],
    ['DescriptorCount one too many', (e) => setU32le(e, 24, 4)],
    ['DescriptorCount one too few', (e) => setU32le(e, 24, 2)],
    ['SequenceNumber 0', (e) => setU64le(e, 16, 0)],
    ['SequenceNumber 2^64-1', (e) => (setU32le(e, 16, 0xffffffff), setU32le(e, 20, 0xffffffff))],
    ['Tail outside the log', (e) => setU32le(e, 12, L)],
    ['Tail far outside the log', (e) => setU32le(e, 12, 0xfffff000)],
    ['Tail unaligned', (e) => setU32le(e, 12, 100)],
    ['LogGuid of another log', (e) => (e[40] = e[40]! ^ 1)],
    ['FlushedFileOffset 2^64-1', (e) => (setU32le(e, 48, 0xffffffff), setU32le(e, 52, 0xffffffff))],
    ['LastFileOffset beyond the hvsim bound', (e) => setU64le(e, 56, 2 ** 52)],
    ['FileOffset inside the header area', (e) => setU64le(e, dataDesc + 16, 64 * KiB)],
    ['FileOffset zero', (e) => setU64le(e, dataDesc + 16, 0)],
    ['FileOffset inside the log', (e) => setU64le(e, dataDesc + 16, LOG_OFF + 8 * KiB)],
    ['FileOffset unaligned', (e) => setU64le(e, dataDesc + 16, TARGET_BASE + 512)],
    ['FileOffset 2^64-4096', (e) => (setU32le(e, dataDesc + 16, 0xfffff000), setU32le(e, dataDesc + 20, 0xffffffff))],
    ['zero range overflowing', (e) => (setU32le(e, zeroDesc + 8, 0xfffff000), setU32le(e, zeroDesc + 12, 0xffffffff))],
    ['zero range up to 2^53', (e) => setU64le(e, zeroDesc + 8, 2 ** 53 - 2 * 4096 - TARGET_BASE)],
    ['zero range covering the log', (e) => setU64le(e, zeroDesc + 8, 2 * MiB)],
    ['zero range in the header area', (e) => setU64le(e, zeroDesc + 16, 128 * KiB)],
    ['ZeroLength unaligned', (e) => setU64le(e, zeroDesc + 8, 100)],
    ['descriptor signature', (e) => (e[dataDesc] = 0x41)],
    ['descriptor SequenceNumber', (e) => setU64le(e, dataDesc + 24, 3)],
    ['data sector signature', (e) => (e[SECTOR] = 0x41)],
    ['data sector SequenceHigh', (e) => setU32le(e, SECTOR + 4, 1)],
    ['data sector SequenceLow', (e) => setU32le(e, SECTOR + 4092, 7)],
  ];

  it.each(cases)('rejects %s without a big allocation', (_what, patch) => {
    const { file, first } = withHostileSecond(patch);
    const r = expectOnlyHvsimErrors(() => findActiveSequence(file, loc(L), GUID_A)) as LogReplay;
    expect(r.headSequence).toBe(1);
    expectWrites(r.writes, expectedWrites(first, []));
    expect(file.maxRead).toBeLessThanOrEqual(L);
    expect(file.totalRead).toBeLessThanOrEqual(4 * L);
  });

  it('accepts the unpatched second entry (the cases above test one field each)', () => {
    const { file } = withHostileSecond(() => {});
    expect(findActiveSequence(file, loc(L), GUID_A)!.headSequence).toBe(2);
  });

  it('rejects a malformed log region with CORRUPT and bad arguments with INVALID_ARGUMENT', () => {
    const file = logFile(L);
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(HvsimError);
        return (e as HvsimError).code;
      }
    };
    expect(code(() => findActiveSequence(file, { offset: LOG_OFF, length: L + SECTOR }, GUID_A))).toBe('CORRUPT'); // past EOF
    expect(code(() => findActiveSequence(file, { offset: LOG_OFF, length: 2 ** 40 }, GUID_A))).toBe('CORRUPT');
    expect(code(() => findActiveSequence(file, { offset: LOG_OFF + 1, length: L }, GUID_A))).toBe('CORRUPT');
    expect(code(() => findActiveSequence(file, { offset: 64 * KiB, length: L }, GUID_A))).toBe('CORRUPT');
    expect(code(() => findActiveSequence(file, { offset: LOG_OFF, length: 1000 }, GUID_A))).toBe('CORRUPT');
    expect(code(() => findActiveSequence(file, { offset: Infinity, length: L }, GUID_A))).toBe('CORRUPT');
    expect(code(() => findActiveSequence(file, loc(L), 'not-a-guid'))).toBe('INVALID_ARGUMENT');
    expect(findActiveSequence(file, { offset: LOG_OFF, length: 0 }, GUID_A)).toBeUndefined();
  });

  it('stays linear on a log where every sector looks like the start of a huge entry', () => {
    const big = 4 * MiB;
    const file = new MemoryFile('t', new Uint8Array(LOG_OFF + big));
    const hdr = encodeLogEntry({ ...base, sequenceNumber: 1, tail: 0, zeros: [], pages: [] });
    for (let at = 0; at < big; at += SECTOR) {
      const e = hdr.slice();
      setU32le(e, 8, big - SECTOR); // claims the whole log
      setU32le(e, 24, (at / SECTOR) % 3 === 0 ? 126 : 1); // descriptors that are zeros → bad signatures
      setU64le(e, 16, at / SECTOR + 1);
      placeInLog(file, big, at, reseal(e));
    }
    const spy = new SpyFile(file);
    const t0 = performance.now();
    expect(findActiveSequence(spy, loc(big), GUID_A)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(spy.totalRead).toBeLessThanOrEqual(3 * big);
    expect(spy.maxRead).toBeLessThanOrEqual(MiB);
  });

  it('random mutations of a log never throw anything but HvsimError and finish fast', () => {
    const L2 = 64 * KiB;
    const clean = logFile(L2);
    const w = new LogWriter(clean, loc(L2), GUID_A);
    const starts: number[] = [];
    for (let i = 0; i < 9; i++) {
      starts.push(w.nextOffset);
      w.writeEntry(
        Array.from({ length: (i % 4) + 1 }, (_, k) => page(i + k, i * 13 + k)),
        i % 3 === 0 ? [{ offset: TARGET_BASE + 60 * SECTOR, length: (i + 1) * SECTOR }] : [],
        LOG_OFF + L2,
        LOG_OFF + L2 + i * MiB,
      );
    }
    const image = clean.bytes();
    const hostile = [0, 1, 0xff, 0x1000, 0xfff, 0x7fffffff, 0x80000000, 0xfffff000, 0xffffffff, L2, L2 - SECTOR];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('byte' as const), pos: fc.nat({ max: L2 - 1 }), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({
        kind: fc.constant('field' as const),
        entry: fc.nat({ max: starts.length - 1 }),
        field: fc.constantFrom(8, 12, 16, 20, 24, 48, 52, 56, 60, 64 + 8, 64 + 12, 64 + 16, 64 + 20, 64 + 24, 96 + 16, 96 + 20),
        value: fc.constantFrom(...hostile),
      }),
      fc.record({ kind: fc.constant('copy' as const), from: fc.nat({ max: 15 }), to: fc.nat({ max: 15 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 12 }), fc.boolean(), (muts, resealAll) => {
        const file = new MemoryFile('m', image);
        const log = new Uint8Array(L2);
        file.read(log, LOG_OFF);
        for (const m of muts) {
          if (m.kind === 'byte') log[m.pos] = m.value;
          else if (m.kind === 'field') setU32le(log, (starts[m.entry]! + m.field) % L2, m.value);
          else log.copyWithin(m.to * SECTOR, m.from * SECTOR, m.from * SECTOR + SECTOR);
        }
        if (resealAll) {
          // Re-seal every "loge" sector over its claimed length (when it fits), so field checks, not
          // the checksum, have to catch the damage.
          for (let at = 0; at < L2; at += SECTOR) {
            if (u32le(log, at) !== 0x65676f6c) continue;
            const len = u32le(log, at + 8);
            if (len === 0 || len % SECTOR !== 0 || len >= L2) continue;
            const e = new Uint8Array(len);
            for (let i = 0; i < len; i += SECTOR) e.set(log.subarray((at + i) % L2, ((at + i) % L2) + SECTOR), i);
            reseal(e);
            setU32le(log, at + 4, u32le(e, 4));
          }
        }
        file.write(log, LOG_OFF);
        const spy = new SpyFile(file);
        const t0 = performance.now();
        const r = expectOnlyHvsimErrors(() => findActiveSequence(spy, loc(L2), GUID_A));
        expect(performance.now() - t0).toBeLessThan(500);
        expect(spy.maxRead).toBeLessThanOrEqual(L2);
        expect(spy.totalRead).toBeLessThanOrEqual(6 * L2);
        if (r && !(r instanceof HvsimError)) {
          checkReplayShape(r as LogReplay, loc(L2));
          // Whatever was chosen must replay cleanly onto an overlay of the file.
          expectOnlyHvsimErrors(() => applyReplay(new OverlayFile(file, { closeBase: false }), r as LogReplay));
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('applyReplay', () => {
  const L = 64 * KiB;
  function replayOf(pages: Page[], zeros: Zero[], flushed: number, last: number): LogReplay {
    const file = logFile(L);
    new LogWriter(file, loc(L), GUID_A).writeEntry(pages, zeros, flushed, last);
    return findActiveSequence(file, loc(L), GUID_A)!;
  }

  it('writes pages and zero ranges in order and extends the file to LastFileOffset', () => {
    const initial = new Uint8Array(LOG_OFF + L).fill(0xee);
    const pages = [page(0, 1), page(2, 2)];
    const zeros = [{ offset: TARGET_BASE, length: 4 * SECTOR }];
    const r = replayOf(pages, zeros, LOG_OFF, LOG_OFF + L + 3 * MiB);
    const mem = new MemoryFile('m', initial);
    applyReplay(mem, r);
    const expected = initial.slice();
    expected.fill(0, TARGET_BASE, TARGET_BASE + 4 * SECTOR); // zeros first...
    for (const p of pages) expected.set(p.data, p.offset); // ...then pages win
    const grown = new Uint8Array(LOG_OFF + L + 3 * MiB);
    grown.set(expected);
    expectBytes(mem.bytes(), grown);

    const baseFile = new MemoryFile('b', initial, true);
    const overlay = new OverlayFile(baseFile);
    applyReplay(overlay, r);
    const got = new Uint8Array(overlay.size());
    expect(overlay.read(got, 0)).toBe(grown.length);
    expectBytes(got, grown);
    expectBytes(baseFile.bytes(), initial); // the base is never written
  });

  it('zero ranges past the end of the file extend it instead of writing zeros', () => {
    const r = replayOf([], [{ offset: 8 * MiB, length: 2 ** 40 }], 0, 0);
    const mem = new MemoryFile('m', new Uint8Array(LOG_OFF + L).fill(1));
    const overlay = new OverlayFile(new MemoryFile('b', mem.bytes(), true));
    applyReplay(overlay, r);
    expect(overlay.size()).toBe(8 * MiB + 2 ** 40);
    expect(overlay.pageCount).toBe(0);
    const probe = new Uint8Array(16);
    overlay.read(probe, 2 ** 39);
    expect(probe).toEqual(new Uint8Array(16));
    // A plain file gets only the in-file part written (here none) and is then extended.
    const small = replayOf([], [{ offset: LOG_OFF + L, length: 2 * MiB }], 0, 0);
    applyReplay(mem, small);
    expect(mem.size()).toBe(LOG_OFF + L + 2 * MiB);
  });

  it('refuses a file shorter than the head FlushedFileOffset', () => {
    const r = replayOf([page(0, 0)], [], 64 * MiB, 64 * MiB);
    const mem = new MemoryFile('m', new Uint8Array(LOG_OFF + L));
    expect(() => applyReplay(mem, r)).toThrowError(expect.objectContaining({ code: 'CORRUPT' }) as Error);
    expect(mem.size()).toBe(LOG_OFF + L);
  });
});

describe('LogWriter arguments', () => {
  const L = 64 * KiB;
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(HvsimError);
      return (e as HvsimError).code;
    }
    return undefined;
  };

  it('accepts exactly maxPagesPerEntry pages and refuses one more', () => {
    for (const len of [64 * KiB, MiB]) {
      const file = logFile(len);
      const w = new LogWriter(file, loc(len), GUID_A);
      const n = maxPagesPerEntry(len);
      const pages = Array.from({ length: n + 1 }, (_, i) => page(i % 150, i));
      expect(codeOf(() => w.writeEntry(pages, [], 0, 0))).toBe('INVALID_ARGUMENT');
      expect(w.nextSequence).toBe(1);
      w.writeEntry(pages.slice(0, n), [], 0, 0);
      w.writeEntry(pages.slice(0, n), [], 0, 0); // needs a padding entry first
      const r = findActiveSequence(file, loc(len), GUID_A)!;
      expect(r.headSequence).toBe(3);
      expect(r.writes.length).toBe(n);
    }
  });

  it('refuses bad pages, ranges, GUIDs, sequence numbers and read-only files', () => {
    const file = logFile(L);
    const w = new LogWriter(file, loc(L), GUID_A);
    const d = pageData(1);
    expect(codeOf(() => w.writeEntry([{ offset: 64 * KiB, data: d }], [], 0, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => w.writeEntry([{ offset: TARGET_BASE + 1, data: d }], [], 0, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => w.writeEntry([{ offset: LOG_OFF + SECTOR, data: d }], [], 0, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => w.writeEntry([{ offset: TARGET_BASE, data: d.subarray(1) }], [], 0, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => w.writeEntry([], [{ offset: TARGET_BASE, length: 100 }], 0, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => w.writeEntry([], [{ offset: TARGET_BASE, length: MiB }], 0, 0))).toBe('INVALID_ARGUMENT'); // reaches the log
    expect(codeOf(() => w.writeEntry([], [], -1, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => w.writeEntry([], [], 0, 2 ** 60))).toBe('INVALID_ARGUMENT');
    expect(w.nextSequence).toBe(1);
    expectBytes(file.bytes(), new Uint8Array(LOG_OFF + L)); // nothing was written
    expect(codeOf(() => new LogWriter(file, loc(L), 'nope'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new LogWriter(file, loc(L), '00000000-0000-0000-0000-000000000000'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new LogWriter(file, loc(L), GUID_A, 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new LogWriter(file, { offset: 0, length: L }, GUID_A))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new LogWriter(file, { offset: LOG_OFF, length: SECTOR }, GUID_A))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new LogWriter(new MemoryFile('ro', new Uint8Array(0), true), loc(L), GUID_A))).toBe('READ_ONLY');
  });
});

describe('OverlayFile', () => {
  type Op =
    | { kind: 'write'; offset: number; data: Uint8Array }
    | { kind: 'zero'; offset: number; length: number }
    | { kind: 'truncate'; size: number }
    | { kind: 'read'; offset: number; length: number };
  const span = 48 * KiB;
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), offset: fc.nat({ max: span }), data: fc.uint8Array({ minLength: 0, maxLength: 9000 }) }),
    fc.record({ kind: fc.constant('zero' as const), offset: fc.nat({ max: span }), length: fc.nat({ max: 12000 }) }),
    fc.record({ kind: fc.constant('truncate' as const), size: fc.nat({ max: span }) }),
    fc.record({ kind: fc.constant('read' as const), offset: fc.nat({ max: span + 100 }), length: fc.nat({ max: 12000 }) }),
  );

  it('behaves like a MemoryFile copy of the base and never writes the base', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 * KiB }), fc.array(opArb, { maxLength: 25 }), (initial, ops) => {
        const base = new MemoryFile('base', initial, true);
        const overlay = new OverlayFile(base);
        const model = new MemoryFile('model', initial);
        expect(overlay.readOnly).toBe(false);
        expect(overlay.name).toBe('base');
        // MemoryFile leaves stale bytes in the gap when a write lands past its end after a
        // shrinking truncate, so the model extends itself (zero-filling) first.
        const modelWrite = (data: Uint8Array, offset: number): void => {
          if (offset > model.size()) model.truncate(offset);
          model.write(data, offset);
        };
        for (const op of ops) {
          if (op.kind === 'write') {
            overlay.write(op.data, op.offset);
            modelWrite(op.data, op.offset);
          } else if (op.kind === 'zero') {
            overlay.zeroRange(op.offset, op.length);
            if (op.length > 0) modelWrite(new Uint8Array(op.length), op.offset);
          } else if (op.kind === 'truncate') {
            overlay.truncate(op.size);
            model.truncate(op.size);
          } else {
            const a = new Uint8Array(op.length).fill(0xcc);
            const b = new Uint8Array(op.length).fill(0xcc);
            expect(overlay.read(a, op.offset)).toBe(model.read(b, op.offset));
            expectBytes(a, b, `read ${op.offset}+${op.length}`);
          }
          expect(overlay.size()).toBe(model.size());
        }
        const all = new Uint8Array(overlay.size());
        overlay.read(all, 0);
        expectBytes(all, model.bytes());
        expectBytes(base.bytes(), initial);
      }),
      { numRuns: 300 },
    );
  });

  it('closes its base unless told not to', () => {
    let closed = 0;
    const base = new MemoryFile('b', new Uint8Array(10), true);
    base.close = () => void closed++;
    new OverlayFile(base).close();
    new OverlayFile(base, { closeBase: false }).close();
    expect(closed).toBe(1);
  });

  it('refuses negative or non-integer offsets with INVALID_ARGUMENT', () => {
    const o = new OverlayFile(new MemoryFile('b', new Uint8Array(10), true));
    expect(() => o.write(new Uint8Array(1), -1)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => o.read(new Uint8Array(1), 0.5)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});
