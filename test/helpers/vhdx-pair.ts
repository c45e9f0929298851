/**
 * A small VHDX parent and a differencing child made on it, in memory (the hostile-file and open
 * tests mutate the child's bytes): the parent is 8 MiB of 1 MiB blocks with 0x31 over
 * [1 MiB, 3 MiB), at /f/p.vhdx; the child, at /f/c.avhdx, holds what `writeChild` writes.
 */
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { createVhdx, createVhdxDifferencing } from '../../src/vhd/vhdx/create.js';
import { openVhdx, type VhdxImage } from '../../src/vhd/vhdx/vhdx-image.js';

const MiB = 1024 * 1024;

export function smallVhdxPair(writeChild: (c: VhdxImage) => void): { parentBytes: Uint8Array; parent: VhdxImage; childBytes: Uint8Array } {
  const p = createVhdx(new MemoryFile('/f/p.vhdx'), { virtualSize: 8 * MiB, blockSize: MiB });
  p.writeSectors(new Uint8Array(2 * MiB).fill(0x31), MiB);
  p.close();
  const parentBytes = (p.file as MemoryFile).bytes();
  const parent = openVhdx(new MemoryFile('/f/p.vhdx', parentBytes, true));
  const c = createVhdxDifferencing(new MemoryFile('/f/c.avhdx'), { parent, parentPath: '/f/p.vhdx', childPath: '/f/c.avhdx', blockSize: MiB });
  writeChild(c);
  c.close();
  return { parentBytes, parent, childBytes: (c.file as MemoryFile).bytes() };
}
