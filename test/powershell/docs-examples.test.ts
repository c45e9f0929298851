/**
 * The EXAMPLES of Microsoft's cmdlet reference (windows-powershell-docs, winserver2022-ps/hyper-v:
 * Checkpoint-VM, Get-VMSnapshot, Restore-VMSnapshot, Remove-VMSnapshot, Rename-VMSnapshot,
 * Export-VMSnapshot), each a script in test/fixtures/ps-scripts/docs, run by hvsim run against
 * an in-memory simulator set up with the VMs it names; each test checks the example's effect.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/simulator.js';
import { psScript, runPs, type PsRun } from '../helpers/powershell.js';
import { simHost } from '../helpers/sim-host.js';

const START = Date.UTC(2023, 5, 2, 12, 0, 0);
const DAY = 86_400_000;

function host(computerName = 'HV01'): Simulator {
  return simHost({ computerName, startTime: START });
}

async function vm(h: Simulator, name: string, checkpoints: string[] = [], running = true): Promise<void> {
  await h.newVM({ name, checkpointType: 'Standard' });
  if (running) await h.startVM([name]);
  for (const c of checkpoints) await h.checkpointVM([name], { snapshotName: c });
}

/** One of the examples (test/fixtures/ps-scripts/docs) in a new session. */
function example(h: Simulator, file: string, yes = false): Promise<PsRun> {
  return runPs(h, psScript('docs', file), { yes });
}

const names = async (h: Simulator, vmName: string): Promise<string[]> => (await h.getVMSnapshot({ vmNames: [vmName] })).map((s) => s.Name).sort();
const rows = (out: string, vmName: string): string[] => out.split('\n').filter((l) => l.startsWith(vmName + ' '));

describe('Checkpoint-VM examples', () => {
  it('1: checkpoints Test as BeforeInstallingUpdates', async () => {
    const h = host();
    await vm(h, 'Test');
    const r = await example(h, 'Checkpoint-VM-example1.ps1');
    expect(r.errors).toEqual([]);
    expect(await names(h, 'Test')).toEqual(['BeforeInstallingUpdates']);
    expect(r.out).toBe('');
  });

  it('2: Get-VM Test -ComputerName Server1 | Checkpoint-VM checkpoints Test on Server1 with the default name', async () => {
    const h = host('Server1');
    await vm(h, 'Test');
    const r = await example(h, 'Checkpoint-VM-example2.ps1');
    expect(r.errors).toEqual([]);
    const snaps = await h.getVMSnapshot({ vmNames: ['Test'] });
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.Name).toMatch(/^Test - \(6\/2\/2023 - \d+:\d\d:\d\d [AP]M\)$/);
    expect(snaps[0]!.ComputerName).toBe('Server1');
  });

  it('2 on another host name fails for Server1 and checkpoints nothing', async () => {
    const h = host('HV01');
    await vm(h, 'Test');
    const r = await example(h, 'Checkpoint-VM-example2.ps1');
    expect(r.errors.map((e) => e.command)).toEqual(['Get-VM']);
    expect(r.err).toContain("The operation on computer 'Server1' failed");
    expect(await names(h, 'Test')).toEqual([]);
  });
});

describe('Get-VMSnapshot examples', () => {
  async function tree(): Promise<Simulator> {
    const h = host();
    await vm(h, 'TestVM', ['Base', 'Before applying updates', 'After updates']);
    await vm(h, 'Other', ['Other base']);
    return h;
  }

  it('1: all checkpoints of TestVM, in the default table view', async () => {
    const h = await tree();
    const r = await example(h, 'Get-VMSnapshot-example1.ps1');
    expect(r.errors).toEqual([]);
    expect(r.out).toMatch(/VMName\s+Name\s+SnapshotType\s+CreationTime\s+ParentSnapshotName/);
    const got = rows(r.out, 'TestVM');
    expect(got).toHaveLength(3);
    expect(got.join('\n')).toContain('Before applying updates');
    expect(r.out).not.toContain('Other base');
  });

  it('2: Get-VM -Name TestVM | Get-VMSnapshot -SnapshotType Standard', async () => {
    const h = await tree();
    const r = await example(h, 'Get-VMSnapshot-example2.ps1');
    expect(r.errors).toEqual([]);
    expect(rows(r.out, 'TestVM')).toHaveLength(3);
  });

  it('3: -ParentOf gives the immediate parent', async () => {
    const h = await tree();
    const r = await example(h, 'Get-VMSnapshot-example3.ps1');
    expect(r.errors).toEqual([]);
    const got = rows(r.out, 'TestVM');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^TestVM\s+Base\s+Standard/);
  });

  it('4: -ChildOf gives the immediate children', async () => {
    const h = await tree();
    const r = await example(h, 'Get-VMSnapshot-example4.ps1');
    expect(r.errors).toEqual([]);
    const got = rows(r.out, 'TestVM');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^TestVM\s+After updates\s+Standard/);
  });
});

describe('Restore-VMSnapshot examples', () => {
  it('1: ConfirmImpact High — refused without an answer (non-interactive), done with --yes', async () => {
    const h = host();
    await vm(h, 'TestVM', ['Base image', 'Later']);
    const r = await example(h, 'Restore-VMSnapshot-example1.ps1');
    expect(r.exitCode).toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.err).toContain('NonInteractive mode');
    expect(r.err).toContain('Restore-VMSnapshot will restore checkpoint "Base image".');
    expect((await h.getVM(['TestVM']))[0]!.ParentSnapshotName).toBe('Later');

    const y = await example(h, 'Restore-VMSnapshot-example1.ps1', true);
    expect(y.errors).toEqual([]);
    const after = (await h.getVM(['TestVM']))[0]!;
    expect(after.ParentSnapshotName).toBe('Base image');
    expect(after.State).toBe('Saved');
  });

  it('2: applies the most recent checkpoint of every VM, without prompts', async () => {
    const h = host();
    for (const n of ['A', 'B']) {
      await vm(h, n, [`${n}-old`]);
      await h.advance(DAY);
      await h.checkpointVM([n], { snapshotName: `${n}-new` });
      await h.restoreVMSnapshot({ vmName: n, name: `${n}-old` });
    }
    const r = await example(h, 'Restore-VMSnapshot-example2.ps1');
    expect(r.errors).toEqual([]);
    for (const n of ['A', 'B']) expect((await h.getVM([n]))[0]!.ParentSnapshotName).toBe(`${n}-new`);
  });
});

describe('Remove-VMSnapshot examples', () => {
  it('1: removes the checkpoints named Experiment*', async () => {
    const h = host();
    await vm(h, 'TestVM', ['Experiment1', 'Keep', 'Experiment2']);
    const r = await example(h, 'Remove-VMSnapshot-example1.ps1');
    expect(r.errors).toEqual([]);
    await h.waitVM(['TestVM']);
    expect(await names(h, 'TestVM')).toEqual(['Keep']);
  });

  it('2: removes the checkpoints older than 90 days (host clock)', async () => {
    const h = host();
    await vm(h, 'TestVM', ['old 1', 'old 2']);
    await h.advance(100 * DAY);
    await h.checkpointVM(['TestVM'], { snapshotName: 'recent' });
    const r = await example(h, 'Remove-VMSnapshot-example2.ps1');
    expect(r.errors).toEqual([]);
    await h.waitVM(['TestVM']);
    expect(await names(h, 'TestVM')).toEqual(['recent']);
  });
});

describe('Rename-VMSnapshot example', () => {
  it('1: renames Configuration 2', async () => {
    const h = host();
    await vm(h, 'TestVM', ['Configuration 1', 'Configuration 2']);
    const r = await example(h, 'Rename-VMSnapshot-example1.ps1');
    expect(r.errors).toEqual([]);
    expect(await names(h, 'TestVM')).toEqual(['Configuration 1', 'Configuration 2: applied all updates']);
  });
});

describe('Export-VMSnapshot example', () => {
  it('1: writes Base Image of TestVM as a standalone disk that a new VM can use', async () => {
    const h = host();
    await vm(h, 'TestVM');
    await h.writeGuest('TestVM', new TextEncoder().encode('base image data'), 4096);
    await h.checkpointVM(['TestVM'], { snapshotName: 'Base Image' });
    await h.writeGuest('TestVM', new TextEncoder().encode('later data!!!!!'), 4096);
    const exports: string[] = [];
    const spy = new Proxy(h, {
      get(target, prop, receiver) {
        if (prop === 'exportVMSnapshot')
          return async (...args: Parameters<Simulator['exportVMSnapshot']>) => {
            const res = await target.exportVMSnapshot(...args);
            exports.push(...res.HardDrives);
            return res;
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const r = await runPs(spy, psScript('docs', 'Export-VMSnapshot-example1.ps1'));
    expect(r.err).toBe('');
    expect(r.errors).toEqual([]);
    expect(exports).toHaveLength(1);
    await h.newVM({ name: 'Clone', vhdPath: exports[0]! });
    expect(new TextDecoder().decode(await h.readGuest('Clone', 4096, 15))).toBe('base image data');
  });
});
