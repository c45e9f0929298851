// The built CLI (node dist/cli/bin.cjs) end to end: new-vhd, get-vhd, test-vhd, read-vhd,
// write-vhd, merge-vhd, convert-vhd. Outputs, --json property names, one-line errors on stderr
// with a non-zero exit, unaligned reads and writes through chains, and read-only commands that
// leave every file byte-identical.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';

const MiB = 1024 * 1024;

function hvsim(args: string[], input?: Buffer): CliResult {
  return runCli(args, { input, env: { HVSIM_DEBUG: '' } });
}
function ok(args: string[], input?: Buffer): CliResult {
  const r = hvsim(args, input);
  expect(r.stderr, `hvsim ${args.join(' ')}`).toBe('');
  expect(r.code, `hvsim ${args.join(' ')}`).toBe(0);
  return r;
}
/** A failure: one line on stderr starting "hvsim: ", naming what it is about, and a non-zero exit. */
function fails(args: string[], status: number, ...mentions: string[]): CliResult {
  const r = hvsim(args);
  expect(r.code, `hvsim ${args.join(' ')}: ${r.stderr}`).toBe(status);
  expect(r.stderr).toMatch(/^hvsim: [^\n]+\n$/);
  for (const m of mentions) expect(r.stderr).toContain(m);
  expect(r.stdout).toBe('');
  return r;
}
function json<T>(r: CliResult): T {
  return JSON.parse(r.stdout) as T;
}
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 16) & 0xff;
  }
  return b;
}
function hashes(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) m.set(f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex'));
  return m;
}

const VHD_INFO_KEYS = [
  'Path', 'VhdFormat', 'VhdType', 'FileSize', 'Size', 'MinimumSize', 'LogicalSectorSize', 'PhysicalSectorSize', 'BlockSize',
  'ParentPath', 'DiskIdentifier', 'FragmentationPercentage', 'Alignment',
];

let dir = '';
let n = 0;
function fresh(): string {
  const d = join(dir, `case${n++}`);
  mkdirSync(d);
  return d;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvsim-cli-'));
}, 120_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('new-vhd, get-vhd, test-vhd', () => {
  it('creates disks and differencing disks; prints Get-VHD properties as a list or JSON', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    const text = ok(['new-vhd', base, '--size', '8M', '--block-size', '1M']).stdout;
    expect(text).toMatch(/^Path\s+: .*base\.vhdx$/m);
    expect(text).toMatch(/^VhdType\s+: Dynamic$/m);
    const info = json<Record<string, unknown>>(ok(['get-vhd', base, '--json']));
    expect(Object.keys(info)).toEqual(VHD_INFO_KEYS);
    expect(info).toMatchObject({ VhdFormat: 'VHDX', VhdType: 'Dynamic', Size: 8 * MiB, BlockSize: MiB, ParentPath: null, LogicalSectorSize: 512 });
    const child = join(d, 'child.avhdx');
    const ci = json<Record<string, unknown>>(ok(['new-vhd', child, '--parent', base, '--json']));
    expect(ci).toMatchObject({ VhdType: 'Differencing', Size: 8 * MiB, ParentPath: base });
    expect(statSync(base).mode & 0o222).toBe(0); // the parent is frozen
    const vhd = json<Record<string, unknown>>(ok(['new-vhd', join(d, 'old.vhd'), '--size', '4M', '--json']));
    expect(vhd).toMatchObject({ VhdFormat: 'VHD', VhdType: 'Dynamic', Size: 4 * MiB });
  });

  it('get-vhd --chain lists every layer with its allocation', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '8M', '--block-size', '1M']);
    ok(['write-vhd', base, '--offset', '0'], pattern(3 * MiB, 1));
    ok(['new-vhd', join(d, 'a.avhdx'), '--parent', base]);
    ok(['write-vhd', join(d, 'a.avhdx'), '--offset', '5000'], pattern(1000, 2));
    const rows = json<Array<Record<string, unknown>>>(ok(['get-vhd', join(d, 'a.avhdx'), '--chain', '--json']));
    expect(rows.map((r) => r['Depth'])).toEqual([0, 1]);
    expect(Object.keys(rows[0]!)).toEqual([
      'Depth', 'Path', 'VhdFormat', 'VhdType', 'FileSize', 'BlockSize', 'AllocatedBlocks', 'PartialBlocks', 'ZeroBlocks', 'DataBytes', 'ParentPath', 'Identity',
    ]);
    expect(rows[0]).toMatchObject({ Path: base, VhdType: 'Dynamic', AllocatedBlocks: 3, DataBytes: 3 * MiB });
    expect(rows[1]).toMatchObject({ VhdType: 'Differencing', PartialBlocks: 1, DataBytes: 1536, ParentPath: base });
    const table = ok(['get-vhd', join(d, 'a.avhdx'), '--chain']).stdout;
    expect(table.split('\n')[0]).toMatch(/^Depth\s+VhdType\s+FileSize/);
  });

  it('test-vhd: True and exit 0 for a good chain; findings and exit 1 for a broken one', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '4M']);
    ok(['new-vhd', join(d, 'c.avhdx'), '--parent', base]);
    expect(ok(['test-vhd', join(d, 'c.avhdx')]).stdout).toBe('True\n');
    const good = json<{ Path: string; Valid: boolean; Findings: unknown[] }>(ok(['test-vhd', join(d, 'c.avhdx'), '--json']));
    expect(good).toEqual({ Path: join(d, 'c.avhdx'), Valid: true, Findings: [] });
    rmSync(base, { force: true });
    const r = hvsim(['test-vhd', join(d, 'c.avhdx'), '--json']);
    expect(r.code).toBe(1);
    const bad = JSON.parse(r.stdout) as { Valid: boolean; Findings: Array<{ code: string; message: string }> };
    expect(bad.Valid).toBe(false);
    expect(bad.Findings.map((f) => f.code)).toContain('PARENT_MISSING');
  });
});

describe('read-vhd and write-vhd through chains', () => {
  it('unaligned writes and reads anywhere, from files and pipes', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '4M', '--block-size', '1M']);
    const model = Buffer.alloc(4 * MiB);
    const w = (p: string, off: number, data: Buffer, viaFile: boolean): void => {
      if (viaFile) {
        const f = join(d, `in${off}`);
        writeFileSync(f, data);
        ok(['write-vhd', p, '--offset', String(off), '--input', f]);
      } else ok(['write-vhd', p, '--offset', String(off)], data);
      data.copy(model, off);
    };
    w(base, 1, pattern(70000, 3), true);
    ok(['new-vhd', join(d, 'c1.avhdx'), '--parent', base]);
    w(join(d, 'c1.avhdx'), MiB - 3, pattern(10, 4), false); // across a block edge, inside sectors
    ok(['new-vhd', join(d, 'c2.avhdx'), '--parent', join(d, 'c1.avhdx')]);
    w(join(d, 'c2.avhdx'), 4 * MiB - 700, pattern(700, 5), false); // up to the last byte
    const leaf = join(d, 'c2.avhdx');
    expect(ok(['read-vhd', leaf]).bytes.equals(model)).toBe(true);
    expect(ok(['read-vhd', leaf, '--offset', '999', '--length', '2000']).bytes.equals(model.subarray(999, 2999))).toBe(true);
    expect(ok(['read-vhd', leaf, '--offset', String(MiB - 5), '--length', '20']).bytes.equals(model.subarray(MiB - 5, MiB + 15))).toBe(true);
    const outFile = join(d, 'out.bin');
    expect(ok(['read-vhd', leaf, '--offset', '1M', '--length', '1M', '--output', outFile]).stdout).toBe('');
    expect(readFileSync(outFile).equals(model.subarray(MiB, 2 * MiB))).toBe(true);
    expect(ok(['read-vhd', leaf, '--offset', '4M', '--length', '0']).bytes.length).toBe(0);
  });

  it('errors: one line on stderr, non-zero exit, nothing on stdout', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '4M']);
    ok(['new-vhd', join(d, 'c.avhdx'), '--parent', base]);
    fails(['get-vhd', join(d, 'nope.vhdx')], 3, 'nope.vhdx');
    fails(['read-vhd', join(d, 'c.avhdx'), '--offset', '5M'], 2, 'past the end');
    fails(['read-vhd', join(d, 'c.avhdx'), '--offset', '4M', '--length', '1'], 2);
    fails(['read-vhd', join(d, 'c.avhdx'), '--offset', 'x'], 2, '"x"');
    fails(['write-vhd', base, '--offset', '0', '--input', join(d, 'c.avhdx')], 1, base, 'read-only');
    writeFileSync(join(d, 'junk.vhdx'), Buffer.alloc(4096, 7));
    fails(['get-vhd', join(d, 'junk.vhdx')], 1, 'junk.vhdx');
    fails(['new-vhd', join(d, 'x.qcow2'), '--size', '1M'], 2, '.qcow2');
    fails(['new-vhd', join(d, 'x.vhdx')], 2, '--size');
    fails(['no-such-command'], 2);
  });
});

describe('merge-vhd and convert-vhd', () => {
  function tree(d: string): { base: string; a: string; b: string; model: Buffer } {
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '4M', '--block-size', '1M']);
    const model = Buffer.alloc(4 * MiB);
    const w = (p: string, off: number, data: Buffer): void => {
      ok(['write-vhd', p, '--offset', String(off)], data);
      data.copy(model, off);
    };
    w(base, 0, pattern(2 * MiB, 1));
    ok(['new-vhd', join(d, 'a.avhdx'), '--parent', base, '--block-size', '1M']);
    w(join(d, 'a.avhdx'), 3 * MiB + 17, pattern(5000, 2));
    ok(['new-vhd', join(d, 'b.avhdx'), '--parent', join(d, 'a.avhdx')]);
    w(join(d, 'b.avhdx'), 100, pattern(300, 3));
    return { base, a: join(d, 'a.avhdx'), b: join(d, 'b.avhdx'), model };
  }

  it('merge-vhd --path CHILD merges into its parent; --destination-path into an ancestor; --json', () => {
    const d = fresh();
    const t = tree(d);
    expect(ok(['merge-vhd', '--path', t.b]).stdout).toBe('');
    expect(existsSync(t.b)).toBe(false);
    expect(ok(['read-vhd', t.a]).bytes.equals(t.model)).toBe(true);
    const r = json<Record<string, unknown>>(ok(['merge-vhd', '--path', t.a, '--destination-path', t.base, '--json']));
    expect(r).toEqual({ Path: t.base, Removed: [t.a], Resumed: false });
    expect(readdirSync(d).sort()).toEqual(['base.vhdx']);
    expect(ok(['read-vhd', t.base]).bytes.equals(t.model)).toBe(true);
    expect(statSync(t.base).mode & 0o200).not.toBe(0); // a writable leaf again
    expect(ok(['test-vhd', t.base]).stdout).toBe('True\n');
    ok(['new-vhd', join(d, 'x.avhdx'), '--parent', t.base]);
    const p = json<{ Disk: Record<string, unknown> }>(ok(['merge-vhd', '--path', join(d, 'x.avhdx'), '--passthru', '--json']));
    expect(Object.keys(p.Disk)).toEqual(VHD_INFO_KEYS);
  });

  it('merge-vhd refuses what would break another child, and a base disk', () => {
    const d = fresh();
    const t = tree(d);
    ok(['new-vhd', join(d, 'branch.avhdx'), '--parent', t.a]);
    const before = hashes(d);
    fails(['merge-vhd', '--path', t.b], 1, 'branch.avhdx');
    fails(['merge-vhd', '--path', t.base], 2, 'base disk');
    fails(['merge-vhd', '--path', t.b, '--destination-path', join(d, 'branch.avhdx')], 2, 'not an ancestor');
    fails(['merge-vhd'], 2, '--path');
    expect(hashes(d)).toEqual(before);
  });

  it('convert-vhd writes VHDX, VHD and raw copies of a chain; the format comes from the extension', () => {
    const d = fresh();
    const t = tree(d);
    const vhdx = json<Record<string, unknown>>(ok(['convert-vhd', t.b, join(d, 'flat.vhdx'), '--json']));
    expect(vhdx).toMatchObject({ Path: join(d, 'flat.vhdx'), VhdFormat: 'VHDX', VhdType: 'Dynamic', Size: 4 * MiB, ParentPath: null });
    expect(typeof vhdx['DataBytes']).toBe('number');
    expect(ok(['convert-vhd', t.b, join(d, 'flat.vhd')]).stdout).toBe('');
    expect(json<Record<string, unknown>>(ok(['convert-vhd', t.b, join(d, 'flat.img'), '--json']))).toMatchObject({ Format: 'RAW', Size: 4 * MiB });
    expect(readFileSync(join(d, 'flat.img')).equals(t.model)).toBe(true);
    for (const f of ['flat.vhdx', 'flat.vhd']) expect(ok(['read-vhd', join(d, f)]).bytes.equals(t.model), f).toBe(true);
    expect(json<Record<string, unknown>>(ok(['get-vhd', join(d, 'flat.vhd'), '--json']))).toMatchObject({ VhdFormat: 'VHD', VhdType: 'Dynamic' });
    fails(['convert-vhd', t.b, join(d, 'flat.qcow2')], 2, '.qcow2');
    fails(['convert-vhd', t.b, join(d, 'flat.vhdx')], 2, 'exists');
    fails(['convert-vhd', join(d, 'missing.avhdx'), join(d, 'y.vhdx')], 3, 'missing.avhdx');
    expect(existsSync(join(d, 'y.vhdx'))).toBe(false);
  });
});

describe('test-tree and resume-merge', () => {
  it('test-tree checks a folder as one tree; resume-merge completes an interrupted removal', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '4M', '--block-size', '1M']);
    ok(['write-vhd', base, '--offset', '0'], pattern(MiB, 1));
    ok(['new-vhd', join(d, 'm.avhdx'), '--parent', base]);
    ok(['write-vhd', join(d, 'm.avhdx'), '--offset', '4096'], pattern(4096, 2));
    ok(['new-vhd', join(d, 'c.avhdx'), '--parent', join(d, 'm.avhdx')]);
    const view = ok(['read-vhd', join(d, 'c.avhdx')]).bytes;
    expect(ok(['test-tree', d]).stdout).toBe('True\n');
    const rep = json<{ Valid: boolean; Nodes: Array<Record<string, unknown>>; Findings: unknown[] }>(ok(['test-tree', d, '--json']));
    expect(rep.Valid).toBe(true);
    expect(Object.keys(rep.Nodes[0]!)).toEqual(['Path', 'VhdFormat', 'VhdType', 'Size', 'ReadOnly', 'Link', 'ParentPath', 'Children']);
    expect(ok(['resume-merge', d]).stdout).toBe('no interrupted merge found\n');
    // A removal of m that stopped right after writing its journal.
    writeFileSync(join(d, 'm.avhdx.hvsim-merge.json'), JSON.stringify({
      hvsim: 'merge-journal', version: 1, op: 'remove-layer', phase: 'copy', target: join(d, 'm.avhdx'), parent: base,
      children: [join(d, 'c.avhdx')], childrenReadOnly: [false],
    }));
    const pending = hvsim(['test-tree', d]);
    expect(pending.code).toBe(0); // a warning, not an error
    expect(pending.stdout).toContain('MERGE_PENDING');
    const done = json<Array<Record<string, unknown>>>(ok(['resume-merge', d, '--json']));
    expect(done).toEqual([{ Operation: 'remove-layer', Path: join(d, 'm.avhdx'), Removed: [join(d, 'm.avhdx')] }]);
    expect(readdirSync(d).sort()).toEqual(['base.vhdx', 'c.avhdx']);
    expect(ok(['read-vhd', join(d, 'c.avhdx')]).bytes.equals(view)).toBe(true);
    rmSync(base);
    const broken = hvsim(['test-tree', d, '--json']);
    expect(broken.code).toBe(1);
    expect((JSON.parse(broken.stdout) as { Findings: Array<{ code: string }> }).Findings.map((f) => f.code)).toEqual(['PARENT_MISSING']);
  });
});

describe('read-only commands leave every file byte-identical', () => {
  it('get-vhd, get-vhd --chain, test-vhd, read-vhd, convert-vhd (source side)', () => {
    const d = fresh();
    const base = join(d, 'base.vhdx');
    ok(['new-vhd', base, '--size', '4M', '--block-size', '1M']);
    ok(['write-vhd', base, '--offset', '12345'], pattern(100000, 9));
    ok(['new-vhd', join(d, 'c.avhdx'), '--parent', base]);
    ok(['write-vhd', join(d, 'c.avhdx'), '--offset', '777'], pattern(3000, 10));
    ok(['new-vhd', join(d, 'v.vhd'), '--size', '4M']);
    ok(['write-vhd', join(d, 'v.vhd'), '--offset', '1'], pattern(5000, 11));
    const before = hashes(d);
    const leaf = join(d, 'c.avhdx');
    for (const args of [
      ['get-vhd', leaf], ['get-vhd', leaf, '--json'], ['get-vhd', leaf, '--chain'], ['get-vhd', base, '--chain', '--json'],
      ['test-vhd', leaf], ['test-vhd', base, '--json'], ['test-vhd', join(d, 'v.vhd')],
      ['read-vhd', leaf], ['read-vhd', leaf, '--offset', '3', '--length', '5'], ['read-vhd', join(d, 'v.vhd')],
    ])
      ok(args);
    expect(hashes(d)).toEqual(before);
    const out = join(dir, `conv${n}.vhdx`);
    ok(['convert-vhd', leaf, out]);
    expect(hashes(d)).toEqual(before);
    expect(relative(d, out).startsWith('..')).toBe(true);
  });
});
