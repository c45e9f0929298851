/** The package's entry point (package.json "main"/"types") exposes a working library API. */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as hvsim from '../../src/index.js';

describe('public API (src/index.ts)', () => {
  it('package.json points at the built entry and its types', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { main: string; types: string };
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.types).toBe('dist/index.d.ts');
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
