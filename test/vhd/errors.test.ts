// Typed errors (src/errors.ts): the CLI's exit status per code, and the reason a CORRUPT error
// carries — the check that refused a hostile file.
import { describe, expect, it } from 'vitest';
import { CORRUPT_REASONS, EXIT_BUG, EXIT_CODES, HvsimError, type CorruptReason, type HvsimErrorCode } from '../../src/errors.js';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { openDiskFile, createDiskFile } from '../../src/vhd/open.js';
import { HEADER1_OFFSET, HEADER2_OFFSET } from '../../src/vhd/vhdx/spec.js';
import { thrownHvsimError } from '../helpers/data.js';

const MiB = 1024 * 1024;

/** Every code, written out: adding a code to HvsimErrorCode breaks this list until it is added here. */
const ALL_CODES: Record<HvsimErrorCode, true> = {
  CORRUPT: true, UNSUPPORTED: true, INVALID_ARGUMENT: true, READ_ONLY: true, NOT_FOUND: true, PARENT_MISSING: true,
  PARENT_MISMATCH: true, CHAIN: true, INVALID_STATE: true, BUSY: true, IO: true, FAULT_INJECTED: true,
};

describe('exit codes', () => {
  it('every error code has an exit status: 2 bad arguments, 3 not found, 4 busy, 1 the rest; 70 only for a bug', () => {
    const codes = Object.keys(ALL_CODES) as HvsimErrorCode[];
    expect(Object.keys(EXIT_CODES).sort()).toEqual([...codes].sort());
    for (const c of codes) expect(EXIT_CODES[c], c).toBe(({ INVALID_ARGUMENT: 2, NOT_FOUND: 3, BUSY: 4 } as Record<string, number>)[c] ?? 1);
    expect(EXIT_BUG).toBe(70);
    expect(Object.values(EXIT_CODES)).not.toContain(EXIT_BUG);
  });
});

/** The error `fn` throws. */
function disk(format: 'VHDX' | 'VHD'): Uint8Array {
  const img = createDiskFile(new MemoryFile(`d.${format.toLowerCase()}`), format, { virtualSize: 8 * MiB });
  const bytes = (img.file as MemoryFile).bytes();
  img.close();
  return bytes;
}

function flip(b: Uint8Array, i: number): void {
  b[i] = b[i]! ^ 0xff;
}

function open(name: string, bytes: Uint8Array): HvsimError {
  return thrownHvsimError(() => openDiskFile(new MemoryFile(name, bytes, true)));
}

describe('corruption reasons', () => {
  it('are unique codes', () => {
    expect(new Set(CORRUPT_REASONS).size).toBe(CORRUPT_REASONS.length);
  });

  const cases: Array<[string, () => HvsimError, CorruptReason]> = [
    ['not a disk at all', () => open('x.vhdx', new Uint8Array(4096).fill(7)), 'NOT_A_DISK'],
    ['a VHDX cut below its header area', () => open('x.vhdx', disk('VHDX').slice(0, MiB / 2)), 'FILE_TOO_SMALL'],
    ['a VHDX with both headers damaged', () => {
      const b = disk('VHDX');
      flip(b, HEADER1_OFFSET + 100);
      flip(b, HEADER2_OFFSET + 100);
      return open('x.vhdx', b);
    }, 'HEADER'],
    ['a VHDX whose metadata table lost its signature', () => {
      const b = disk('VHDX');
      flip(b, 2 * MiB); // metadata region at 2 MiB, as hvsim creates it
      return open('x.vhdx', b);
    }, 'METADATA_TABLE'],
    ['a VHD whose footer checksum fails', () => {
      const b = disk('VHD');
      flip(b, b.length - 512 + 70); // a footer byte outside the cookie, no copy at 0 to fall back on
      flip(b, 70);
      return open('x.vhd', b);
    }, 'FOOTER_CHECKSUM'],
  ];
  for (const [what, run, reason] of cases)
    it(`${what}: CORRUPT with reason ${reason}, in toJSON too`, () => {
      const e = run();
      expect(e.code).toBe('CORRUPT');
      expect(e.reason).toBe(reason);
      expect(e.toJSON()).toMatchObject({ code: 'CORRUPT', reason });
    });

  it('other codes carry no reason', () => {
    const e = thrownHvsimError(() => createDiskFile(new MemoryFile('x.vhd'), 'VHD', { virtualSize: 8 * MiB, logicalSectorSize: 4096 }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.reason).toBeUndefined();
    expect(e.toJSON()).not.toHaveProperty('reason');
  });
});
