/**
 * analyze-chain on a small hand-made chain whose every figure is worked out below, the SVG picture,
 * and the CLI's --json / --svg output (through the built CLI, test/helpers/cli.ts).
 *
 * The chain (VHDX, 8 MiB, 512-byte sectors; base blocks 2 MiB, children 1 MiB):
 *   base  writes [0, 2.5 MiB)           → blocks 0 and 1 allocated (a base block is all or nothing)
 *   c1    writes [0, 64 KiB), [4, 5 MiB) → block 0 partial, block 4 full; [6, 7 MiB) set to zeros
 *   c2    writes [32, 96 KiB), [4 MiB, +4 KiB) → blocks 0 and 4 partial
 * Read from c2:
 *   [0, 32K) c1 · [32K, 96K) c2 · [96K, 4M) base · [4M, 4M+4K) c2 · [4M+4K, 5M) c1 ·
 *   [5M, 6M) nothing · [6M, 7M) zeros from c1 · [7M, 8M) nothing
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { okStdout, runCli } from '../helpers/cli.js';
import { Chain } from '../../src/engine/chain.js';
import { analyzeChain, type ChainAnalysis } from '../../src/engine/analyze.js';
import { renderChainSvg, xmlEscape } from '../../src/engine/analyze-svg.js';
import type { BlockFile } from '../../src/vhd/io/block-file.js';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { NodeFile } from '../../src/vhd/io/node-file.js';
import { createDifferencingDiskFile, createDiskFile } from '../../src/vhd/open.js';
import type { DiskImage } from '../../src/vhd/disk.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 8 * MiB;

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

/** Build the chain above with files from `make` (memory or real files); returns the open layers. */
function buildChain(make: (name: string) => { file: BlockFile; path: string }): { layers: DiskImage[]; paths: string[] } {
  const b = make('base.vhdx');
  const base = createDiskFile(b.file, 'VHDX', { virtualSize: SIZE, blockSize: 2 * MiB });
  base.writeSectors(fill(2.5 * MiB, 1), 0);
  const f1 = make('c1.avhdx');
  const c1 = createDifferencingDiskFile(f1.file, base, b.path, f1.path, MiB);
  c1.writeSectors(fill(64 * KiB, 2), 0);
  c1.writeSectors(fill(MiB, 2), 4 * MiB);
  c1.zeroSectors(6 * MiB, MiB);
  const f2 = make('c2.avhdx');
  const c2 = createDifferencingDiskFile(f2.file, c1, f1.path, f2.path, MiB);
  c2.writeSectors(fill(64 * KiB, 3), 32 * KiB);
  c2.writeSectors(fill(4 * KiB, 3), 4 * MiB);
  return { layers: [base, c1, c2], paths: [b.path, f1.path, f2.path] };
}

function memoryChain(): Chain {
  const { layers, paths } = buildChain((name) => ({ file: new MemoryFile(`/mem/${name}`), path: `/mem/${name}` }));
  return Chain.fromLayers(layers, paths);
}

// Bytes per source, read from c2 (see the header comment).
const FROM_C2 = 64 * KiB + 4 * KiB;
const FROM_C1 = 32 * KiB + (MiB - 4 * KiB);
const FROM_BASE = 4 * MiB - 96 * KiB;
const ZEROS = 3 * MiB;
// Probes (naive walk from c2): c2-held 1, c1-held or c1-zeros 2, base-held or nothing 3.
const PROBE_BYTES = FROM_C2 * 1 + (FROM_C1 + MiB) * 2 + (FROM_BASE + 2 * MiB) * 3;

describe('analyzeChain on a hand-made chain', () => {
  let a: ChainAnalysis;
  let chain: Chain;
  beforeAll(() => {
    chain = memoryChain();
    a = analyzeChain(chain, { bins: 8 });
  });
  afterAll(() => chain.close());

  it('chain-wide figures', () => {
    expect(a.depth).toBe(2);
    expect(a.virtualSize).toBe(SIZE);
    expect(a.logicalSectorSize).toBe(512);
    expect(a.zeroBytes).toBe(ZEROS);
    expect(a.expectedProbes).toBe(PROBE_BYTES / SIZE); // 2.72998046875
    expect(a.expectedProbes).toBe(2.72998046875);
    expect(a.maxProbes).toBe(3);
  });

  it('allocation, bytes and what each layer supplies', () => {
    const rows = a.layers.map((l) => [l.depth, l.type, l.blocks, l.allocatedBlocks, l.partialBlocks, l.zeroBlocks, l.dataBytes, l.suppliedBytes, l.shadowedBytes]);
    expect(rows).toEqual([
      [0, 'Dynamic', 4, 2, 0, 0, 4 * MiB, FROM_BASE, 96 * KiB],
      [1, 'Differencing', 8, 2, 1, 1, 64 * KiB + MiB, FROM_C1, 32 * KiB + 4 * KiB],
      [2, 'Differencing', 8, 2, 2, 0, 68 * KiB, FROM_C2, 0],
    ]);
    expect(a.layers.map((l) => l.suppliedShare)).toEqual([FROM_BASE / SIZE, FROM_C1 / SIZE, FROM_C2 / SIZE]);
    expect(a.layers.map((l) => l.path)).toEqual(['/mem/base.vhdx', '/mem/c1.avhdx', '/mem/c2.avhdx']);
  });

  it('naive-walk probes: share of reads reaching each layer, and each layer as the leaf', () => {
    // Reads stopping at the base or nowhere reach the base; add c1's to reach c1; every read probes c2.
    expect(a.layers.map((l) => l.probeShare)).toEqual([(FROM_BASE + 2 * MiB) / SIZE, (SIZE - FROM_C2) / SIZE, 1]);
    expect(a.layers.reduce((s, l) => s + l.probeShare, 0)).toBeCloseTo(a.expectedProbes, 12);
    // Base alone: 1. Base + c1: c1 holds 64K + 1M data and 1M zeros (1 probe), the rest takes 2.
    const c1Holds = 64 * KiB + 2 * MiB;
    expect(a.layers.map((l) => l.expectedProbesAsLeaf)).toEqual([1, (c1Holds + 2 * (SIZE - c1Holds)) / SIZE, a.expectedProbes]);
  });

  it('the estimate matches what Chain.readNaive counts for every 4 KiB read', () => {
    chain.stats.probes = 0;
    const b = new Uint8Array(4 * KiB);
    for (let off = 0; off < SIZE; off += b.length) chain.readNaive(b, off);
    expect(chain.stats.probes / (SIZE / b.length)).toBe(a.expectedProbes);
  });

  it('merge estimates: each layer into its parent, and everything into the base', () => {
    expect(a.layers[0]!.merge).toBeNull();
    expect(a.layers[1]!.merge).toEqual({
      into: '/mem/base.vhdx', copyBytes: 64 * KiB + MiB, zeroBytes: MiB, dataRuns: 2,
      newParentBlocks: 1, parentGrowthBytes: 2 * MiB, // [4M, 5M) lands in base block 2, unallocated
    });
    expect(a.layers[2]!.merge).toEqual({
      into: '/mem/c1.avhdx', copyBytes: 68 * KiB, zeroBytes: 0, dataRuns: 2, newParentBlocks: 0, parentGrowthBytes: 0,
    });
    expect(a.mergeToBase).toEqual({
      into: '/mem/base.vhdx', copyBytes: 96 * KiB + MiB, zeroBytes: MiB, dataRuns: 2, newParentBlocks: 1, parentGrowthBytes: 2 * MiB,
    });
  });

  it('the map: majority source per 1 MiB slice', () => {
    expect(a.map).toEqual({ bins: 8, binSize: MiB, owner: [0, 0, 0, 0, 1, -1, -1, -1], sources: [3, 1, 1, 1, 2, 1, 1, 1] });
    const fine = analyzeChain(chain).map;
    expect(fine.bins).toBe(4096);
    expect(fine.binSize).toBe(2 * KiB);
    expect(fine.owner.slice(0, 50)).toEqual([...Array(16).fill(1), ...Array(32).fill(2), 0, 0]);
  });

  it('a lone base: no merge, one probe', () => {
    const base = createDiskFile(new MemoryFile('/mem/solo.vhdx'), 'VHDX', { virtualSize: SIZE, blockSize: MiB });
    base.writeSectors(fill(MiB, 9), MiB);
    const solo = analyzeChain(Chain.fromLayers([base]), { bins: 4 });
    expect(solo.depth).toBe(0);
    expect(solo.mergeToBase).toBeNull();
    expect(solo.expectedProbes).toBe(1);
    expect(solo.zeroBytes).toBe(SIZE - MiB);
    expect(solo.layers[0]!.suppliedBytes).toBe(MiB);
    expect(solo.map.owner).toEqual([0, -1, -1, -1]);
  });

  it('refuses a bin count that is not a positive integer', () => {
    expect(() => analyzeChain(chain, { bins: 0 })).toThrow(/bins/);
  });
});

/** Tag balance, attribute quoting and entity use of an XML document (enough to catch broken string building). */
function expectWellFormedXml(xml: string): void {
  expect(xml.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const text = xml.slice(last, m.index);
    expect(text, `text before offset ${m.index}`).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|apos);)/);
    last = tag.lastIndex;
    if (m[0].startsWith('<!--')) continue;
    const [, close, name, , self] = m;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else if (!self) stack.push(name!);
  }
  expect(xml.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

describe('the SVG picture', () => {
  it('is well-formed, escapes names and draws every layer and map cell', () => {
    const chain = memoryChain();
    const a = analyzeChain(chain, { bins: 8 });
    chain.close();
    a.layers[2]!.path = '/mem/odd <&> "name\'.avhdx';
    a.leaf = a.layers[2]!.path;
    const svg = renderChainSvg(a);
    expectWellFormedXml(svg);
    expect(svg).toContain(xmlEscape('odd <&> "name\'.avhdx'));
    expect(svg).not.toContain('odd <&>');
    // 8 bins in one row of runs: base ×4, c1, zeros ×3 → three rects in the map group.
    const mapGroup = svg.slice(svg.indexOf('<g id="map"'), svg.indexOf('</g>', svg.indexOf('<g id="map"')));
    expect(mapGroup.match(/<rect /g)).toHaveLength(3);
    const layersGroup = svg.slice(svg.indexOf('<g id="layers">'));
    expect(layersGroup.match(/<g><title>/g)).toHaveLength(3);
  });

  it('stays well-formed for a 4096-cell map of a deep chain', () => {
    const layers: DiskImage[] = [createDiskFile(new MemoryFile('/d/base.vhdx'), 'VHDX', { virtualSize: 16 * MiB, blockSize: MiB })];
    layers[0]!.writeSectors(fill(16 * MiB, 1), 0);
    for (let k = 1; k <= 40; k++) {
      const c = createDifferencingDiskFile(new MemoryFile(`/d/l${k}.avhdx`), layers[k - 1]!, `/d/${k - 1}`, `/d/l${k}.avhdx`, MiB);
      c.writeSectors(fill(4 * KiB, k), ((k * 7919) % 4096) * 4 * KiB);
      layers.push(c);
    }
    const svg = renderChainSvg(analyzeChain(Chain.fromLayers(layers)));
    expectWellFormedXml(svg);
  });
});

describe('hvsim analyze-chain (CLI)', () => {
  let dir: string;
  /** stdout of a run that must succeed. */
  const ok = (args: string[]): string => okStdout(args, runCli(args));
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-analyze-'));
    const { layers } = buildChain((name) => ({ file: NodeFile.create(path.join(dir, name)), path: path.join(dir, name) }));
    for (const l of layers) l.close();
  }, 120_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--json prints the analysis as one JSON document', () => {
    const stdout = ok(['analyze-chain', path.join(dir, 'c2.avhdx'), '--json', '--bins', '8']);
    const j = JSON.parse(stdout) as ChainAnalysis;
    expect(j.leaf).toBe(path.join(dir, 'c2.avhdx'));
    expect(j.depth).toBe(2);
    expect(j.expectedProbes).toBe(2.72998046875);
    expect(j.zeroBytes).toBe(ZEROS);
    expect(j.layers.map((l) => path.basename(l.path))).toEqual(['base.vhdx', 'c1.avhdx', 'c2.avhdx']);
    expect(j.layers.map((l) => l.suppliedBytes)).toEqual([FROM_BASE, FROM_C1, FROM_C2]);
    expect(j.layers.map((l) => [l.allocatedBlocks, l.partialBlocks])).toEqual([[2, 0], [2, 1], [2, 2]]);
    expect(j.layers[1]!.merge!.copyBytes).toBe(64 * KiB + MiB);
    expect(j.mergeToBase!.copyBytes).toBe(96 * KiB + MiB);
    expect(j.map.owner).toEqual([0, 0, 0, 0, 1, -1, -1, -1]);
  });

  it('prints a table by default and writes the SVG with --svg', () => {
    const svgPath = path.join(dir, 'chain.svg');
    const stdout = ok(['analyze-chain', path.join(dir, 'c2.avhdx'), '--svg', svgPath]);
    expect(stdout).toMatch(/Naive walk: 2\.73 layer probes per random read/);
    expect(stdout).toMatch(/^2\s+c2\.avhdx\s+2\s+2\s+68 KiB\s+0\.83%\s+100\.00%/m);
    expectWellFormedXml(fs.readFileSync(svgPath, 'utf8'));
  });

  it('make-workload --json lists the files; bad arguments exit 2', () => {
    const out = path.join(dir, 'wl');
    const j = JSON.parse(ok(['make-workload', '--depth', '1', '--out', out, '--json'])) as { depth: number; paths: string[] };
    expect(j.depth).toBe(1);
    expect(j.paths.map((p) => path.basename(p))).toEqual(['workload.vhdx', 'workload-01.avhdx']);
    const again = runCli(['make-workload', '--depth', '1', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    const bad = runCli(['make-workload', '--depth', 'x', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--depth must be a whole number/);
  });
});
