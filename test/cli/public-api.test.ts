/** The package's entry point (package.json "main"/"types") exposes a working library API. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as hvsim from '../../src/index.js';
import { cliBin } from '../helpers/cli.js';

/**
 * Every runtime name the package exports (docs/library.md). Adding or removing one is a decision
 * about the public API: change this list, docs/library.md and src/index.ts together.
 */
const RUNTIME_EXPORTS = [
  'BLOCK_DATA', 'BLOCK_PARENT', 'BLOCK_PARTIAL', 'BLOCK_ZERO', 'CHECKPOINT_TYPES', 'Chain', 'DEFAULT_COSTS', 'DirectoryStorage',
  'EXPECTED_SHA256', 'FAULT_OPS', 'HvsimError', 'HyperVHost', 'MAX_CHAIN_DEPTH', 'MemoryDiskStore', 'MemoryFile', 'MemoryStorage',
  'NodeDiskStore', 'ScriptSyntaxError', 'Simulator', 'UnsupportedError', 'WORKLOAD', 'analyzeChain', 'checkChainFile', 'checkTree',
  'checkpointGroup', 'createBaseDisk', 'createChild', 'createSession', 'deleteCheckpointDisk', 'faultBudget', 'flatten',
  'flattenFormatForPath', 'formatForPath', 'getGroups', 'isHvsimError', 'layerAllocation', 'makeWorkload', 'mergeDown',
  'openChainResuming', 'openDisk', 'openDiskFile', 'parseHostSpec', 'removeGroup', 'removeLayer', 'renderChainSvg', 'restoreGroup',
  'resumeMerges', 'runScript', 'withHyperVHost',
];

describe('public API (src/index.ts)', () => {
  it('exports exactly the pinned names, in the source and in the build', async () => {
    expect(RUNTIME_EXPORTS).toEqual([...RUNTIME_EXPORTS].sort());
    expect(Object.keys(hvsim).sort()).toEqual(RUNTIME_EXPORTS);
    // The build the tests use (test/helpers/build-cli.ts): what `import … from 'hvsim'` loads.
    const dist = path.dirname(path.dirname(cliBin()));
    const built = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as Record<string, unknown>;
    expect(Object.keys(built).sort()).toEqual(RUNTIME_EXPORTS);
    // Its types entry declares the types too (only names; tsc checks docs/library.md's uses).
    const dts = fs.readFileSync(path.join(dist, 'index.d.ts'), 'utf8');
    for (const t of ['DiskImage', 'DiskStore', 'Host', 'HvsimErrorCode', 'VMSnapshot']) expect(dts).toMatch(new RegExp(`\\btype ${t}\\b`));
  });

  it('package.json points at the built entry and its types', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      main: string; types: string; exports: Record<string, { types: string; default: string }>;
    };
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.types).toBe('dist/index.d.ts');
    expect(pkg.exports).toEqual({ '.': { types: './dist/index.d.ts', default: './dist/index.js' } });
    // npm test builds before vitest runs.
    expect(fs.existsSync(new URL(`../../${pkg.main}`, import.meta.url))).toBe(true);
    expect(fs.existsSync(new URL(`../../${pkg.types}`, import.meta.url))).toBe(true);
  });

  it('creates a base and a child, writes through the chain and reads through it, using the entry point only', () => {
    const store = new hvsim.MemoryDiskStore();
    hvsim.createBaseDisk(store, '/d/base.vhdx', { virtualSize: 8 << 20 });
    hvsim.createChild(store, '/d/base.vhdx', '/d/leaf.avhdx');
    expect(store.isReadOnly('/d/base.vhdx')).toBe(true);
    const c = hvsim.Chain.open('/d/leaf.avhdx', { store, writable: true });
    c.write(new Uint8Array(4096).fill(7), 1 << 20);
    c.close();
    const r = hvsim.Chain.open('/d/leaf.avhdx', { store });
    const b = new Uint8Array(4096);
    r.read(b, 1 << 20);
    expect(r.depth).toBe(2);
    r.close();
    expect(b.every((x) => x === 7)).toBe(true);
  });

  it('runs the simulator through the Host interface', async () => {
    const host: hvsim.Host = hvsim.Simulator.open({ startTime: Date.UTC(2024, 0, 1) });
    await host.newVM({ name: 'web' });
    await host.checkpointVM(['web'], { snapshotName: 'before' });
    const snaps = await host.getVMSnapshot({ vmNames: ['web'] });
    expect(snaps.map((s) => s.Name)).toEqual(['before']);
  });

  it('runs a PowerShell script against a Host', async () => {
    const host = hvsim.Simulator.open({ startTime: Date.UTC(2024, 0, 1) });
    await host.newVM({ name: 'web' });
    let out = '';
    const r = await hvsim.runScript(host, "Checkpoint-VM web first\n(Get-VMSnapshot -VMName web).Name\n", { stdout: (t) => (out += t), stderr: () => {} });
    expect(r.exitCode).toBe(0);
    expect(out).toBe('first\n');
  });

  it('reports errors as HvsimError with a code', () => {
    expect(() => hvsim.formatForPath('/x/disk.qcow2')).toThrow(hvsim.HvsimError);
    try {
      hvsim.formatForPath('/x/disk.qcow2');
    } catch (e) {
      expect((e as hvsim.HvsimError).code).toBe('INVALID_ARGUMENT');
    }
  });
});
