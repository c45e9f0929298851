/**
 * How the driver runs PowerShell (src/hyperv/runner.ts): one process per call or one kept
 * session — both against the stand-in, with timings printed (docs/real-host.md quotes them);
 * a session that dies is replaced; PowerShell that is missing, fails to start, writes noise, or
 * never answers gives typed errors; what only the simulator can do is refused.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { HyperVHost, type RunMode } from '../../src/hyperv/index.js';
import { checkpointGroup } from '../../src/host/group.js';
import type { Host } from '../../src/host/host.js';
import { encodeCommand } from '../../src/hyperv/script.js';
import { installStandIn, MiB, type StandIn } from '../helpers/fake-powershell.setup.js';
import { reject } from '../helpers/data.js';

function script(s: StandIn, name: string, body: string): string {
  const p = path.join(s.dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`);
  fs.chmodSync(p, 0o755);
  return p;
}

const open = (s: StandIn, mode: RunMode, extra: Partial<Parameters<typeof HyperVHost.open>[0]> = {}): Promise<HyperVHost> =>
  HyperVHost.open({ powershell: s.exe, mode, pollIntervalMs: 2, maxPollIntervalMs: 20, defaultDiskSize: 4 * MiB, ...extra });

describe('one process per call', () => {
  it('runs a workflow with a new PowerShell for every call (state kept by the host, here a state directory)', async () => {
    const s = installStandIn({ storage: 'directory' });
    const h = await open(s, 'process');
    try {
      await h.newVM({ name: 'web01' });
      await h.startVM(['web01']);
      const [cp] = await h.checkpointVM(['web01'], { snapshotName: 'base' });
      expect(cp).toMatchObject({ Name: 'base', VMName: 'web01', CheckpointType: 'Production' });
      await h.restoreVMSnapshot({ vmName: 'web01', name: 'base' });
      expect(names(await h.removeVMSnapshot({ vmNames: ['web01'] }))).toEqual(['base']);
      expect((await h.getVM(['web01']))[0]).toMatchObject({ State: 'Off', ParentSnapshotId: null, OperationalStatus: ['Ok'] });
      expect(h.runInfo).toMatchObject({ mode: 'process', ps: '5.1.20348.2849', edition: 'Desktop' });
      expect(h.runInfo.processes).toBe(h.calls);
      expect(s.invocations()).toHaveLength(h.calls);
    } finally {
      await h.close();
      s.remove();
    }
  });
});

const names = (xs: Array<{ Name: string }>): string[] => xs.map((x) => x.Name);

describe('session or process: measured against the stand-in', () => {
  it('times start-up, one call, and a group checkpoint of three VMs in each mode', async () => {
    const rows: Array<Record<string, string | number>> = [];
    const ms = (t0: number): number => Math.round(performance.now() - t0);
    for (const mode of ['session', 'process'] as const) {
      const s = installStandIn({ storage: 'directory' });
      try {
        let t0 = performance.now();
        const h = await open(s, mode);
        const openMs = ms(t0);
        const n = mode === 'session' ? 20 : 4;
        t0 = performance.now();
        for (let i = 0; i < n; i++) await h.getVM();
        const perCall = ms(t0) / n;
        let group = { ms: 0, calls: 0, processes: 0 };
        if (mode === 'session') {
          for (const v of ['a', 'b', 'c']) await h.newVM({ name: v });
          await h.startVM(['a', 'b']);
          const c0 = h.calls;
          const p0 = h.runInfo.processes;
          t0 = performance.now();
          await checkpointGroup(h, ['a', 'b', 'c']);
          group = { ms: ms(t0), calls: h.calls - c0, processes: h.runInfo.processes - p0 };
        }
        await h.close();
        rows.push({ mode, 'open (ms)': openMs, 'Get-VM call (ms)': Math.round(perCall * 10) / 10, 'checkpoint-group of 3 VMs (ms)': group.ms, 'calls in it': group.calls, 'processes in it': group.processes });
      } finally {
        s.remove();
      }
    }
    // A group checkpoint in process mode costs one process per call: estimated from the call above.
    const session = rows[0]!;
    const proc = rows[1]!;
    proc['checkpoint-group of 3 VMs (ms)'] = `~${Math.round(Number(proc['Get-VM call (ms)']) * Number(session['calls in it']))} (estimated)`;
    proc['calls in it'] = session['calls in it']!;
    proc['processes in it'] = session['calls in it']!;
    console.log('driver → stand-in PowerShell, one host:\n' + rows.map((r) => JSON.stringify(r)).join('\n'));
    expect(Number(session['Get-VM call (ms)'])).toBeLessThan(Number(proc['Get-VM call (ms)']) / 3);
  });
});

describe('PowerShell processes that misbehave', () => {
  it('a session whose process dies is replaced by the next call', async () => {
    const s = installStandIn({ storage: 'directory' });
    const h = await open(s, 'session');
    try {
      await h.newVM({ name: 'web01' });
      const [first] = s.invocations();
      process.kill(first!.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      expect((await h.getVM(['web01']))[0]!.Name).toBe('web01');
      expect(h.runInfo.processes).toBe(2);
    } finally {
      await h.close();
      s.remove();
    }
  });

  it('lines that are not answers are ignored; a PowerShell error on stderr becomes its typed error', async () => {
    const s = installStandIn();
    try {
      const noisy = script(s, 'noisy', `echo 'WARNING: something the profile printed'\necho '#< CLIXML'\nexec '${s.exe}' "$@"`);
      const h = await HyperVHost.open({ powershell: noisy });
      expect((await h.newVM({ name: 'web01' })).Name).toBe('web01');
      await h.close();
      const clixml = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'powershell', 'error-get-vm-not-recognized-clixml.json'), 'utf8')) as { text: string };
      fs.writeFileSync(path.join(s.dir, 'stderr.txt'), clixml.text);
      const broken = script(s, 'broken', `cat '${path.join(s.dir, 'stderr.txt')}' >&2\nexit 1`);
      for (const mode of ['session', 'process'] as const) {
        const e = await reject(HyperVHost.open({ powershell: broken, mode }));
        expect(e.code).toBe('UNSUPPORTED');
        expect(e.message).toMatch(/^Get-VM: The term 'Get-VM' is not recognized/);
      }
      const silent = script(s, 'silent', 'echo oops >&2\nexit 3');
      const e = await reject(HyperVHost.open({ powershell: silent, mode: 'process' }));
      expect([e.code, e.message]).toEqual(['IO', 'PowerShell exited with code 3 without answering: oops']);
    } finally {
      s.remove();
    }
  });

  it('a missing executable is NOT_FOUND; one that never answers is ended after the timeout', async () => {
    const s = installStandIn();
    try {
      for (const mode of ['session', 'process'] as const) {
        const e = await reject(HyperVHost.open({ powershell: path.join(s.dir, 'no-such-pwsh'), mode }));
        expect(e.code).toBe('NOT_FOUND');
      }
      const stuck = script(s, 'stuck', 'exec sleep 30');
      let e = await reject(HyperVHost.open({ powershell: stuck, mode: 'process', timeoutMs: 300 }));
      expect([e.code, e.message]).toEqual(['IO', 'PowerShell did not answer within 300 ms; it was ended']);
      e = await reject(HyperVHost.open({ powershell: stuck, mode: 'session', startTimeoutMs: 300 }));
      expect(e.code).toBe('IO');
      expect(e.message).toMatch(/did not start within/);
    } finally {
      s.remove();
    }
  });

  it('the stand-in itself refuses any script but the fixed one', () => {
    const s = installStandIn();
    try {
      const r = spawnSync(s.exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encodeCommand('Get-VM; Remove-VM -Name x')], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/refusing to run/);
      const r2 = spawnSync(s.exe, ['-Command', 'Get-VM'], { encoding: 'utf8' });
      expect(r2.status).toBe(1);
      expect(s.invocations().map((i) => [i.argsOk, i.scriptOk])).toEqual([[true, false], [false, false]]);
    } finally {
      s.remove();
    }
  });
});

describe('what only the simulator does', () => {
  it('guest I/O and the guest\'s production-checkpoint support are refused as UNSUPPORTED', async () => {
    const s = installStandIn();
    const h = await open(s, 'session');
    try {
      await h.newVM({ name: 'web01' });
      expect((await reject(h.writeGuest('web01', new Uint8Array(1), 0))).code).toBe('UNSUPPORTED');
      expect((await reject(h.readGuest('web01', 0, 1))).code).toBe('UNSUPPORTED');
      expect((await reject(h.newVM({ name: 'x', guestSupportsProductionCheckpoints: false }))).code).toBe('UNSUPPORTED');
      expect((await reject(h.setVM(['web01'], { guestSupportsProductionCheckpoints: true }))).code).toBe('UNSUPPORTED');
      // Integration services are sent (docs/real-host.md): a new VM with one disabled shows it so.
      await h.newVM({ name: 'y', disabledIntegrationServices: ['VSS'] });
      expect((await h.getVMIntegrationService('y', ['VSS'])).map((c) => [c.Name, c.Enabled])).toEqual([['VSS', false]]);
      // Import-VM keeps the exported name on a real host: --name is the simulator's (docs/real-host.md).
      const e = await reject(h.importVM('/exports/web01/Virtual Machines/X.vmcx', { name: 'other' }));
      expect([e.code, e.message]).toEqual(['UNSUPPORTED', "Import-VM: another name for the imported VM (--name); Hyper-V keeps the exported one (a real Hyper-V host: hvsim's simulator only; see docs/real-host.md)"]);
      // Every optional Host method the simulator has, but the group reports Hyper-V has no place for.
      const asHost: Host = h;
      const optional = [asHost.exportVM, asHost.importVM, asHost.removeVM, asHost.mergeVHD, asHost.getVMIntegrationService, asHost.setVMIntegrationService, asHost.waitVMGuest];
      expect(optional.map((f) => typeof f)).toEqual(Array(7).fill('function'));
      expect(asHost.recordGroupCheckpoint).toBeUndefined();
      expect(await h.now()).toBeGreaterThan(Date.UTC(2025, 0, 1));
    } finally {
      await h.close();
      s.remove();
    }
  });
});
