/**
 * The CLI over several simulated hosts (docs/simulator.md, "Several hosts"): new-vm --computer-name
 * adds a host, hosts lists them, get-vm shows ComputerName, a host the state does not have is
 * Hyper-V's WinRM error, checkpoint-group / restore-group take HOST:VM and report each host's
 * freeze skew, and hvsim run reaches every host with -ComputerName.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { collect, okStdout, runCli, spawnCli, SIM_ENV, type CliResult } from '../helpers/cli.js';

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-cli-hosts-'));
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const hv = (root: string, args: string[], input?: string): CliResult => runCli(args, { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root }, ...(input !== undefined ? { input } : {}) });
const ok = (root: string, args: string[], input?: string): string => okStdout(args, hv(root, args, input));
const lines = (s: string): string[] => s.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);

describe('several simulated hosts from the CLI', () => {
  it('new-vm --computer-name adds a host; commands pick one with --computer-name; groups span hosts', () => {
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    ok(root, ['--computer-name', 'HV01', 'new-vm', '--name', 'web01', '--disk-size', '8M']);
    ok(root, ['new-vm', '--computer-name', 'HV02', '--name', 'db01', '--disk-size', '8M']);
    ok(root, ['new-vm', '--computer-name', 'HV02', '--name', 'web01', '--disk-size', '8M']);
    expect(lines(ok(root, ['hosts']))).toEqual(['ComputerName VMs Running VMNames', '------------ --- ------- -------', 'HV01         1   0       {web01}', 'HV02         2   0       {db01, web01}']);
    expect(lines(ok(root, ['--computer-name', 'hv02', 'get-vm', '--property', 'ComputerName,Name']))).toEqual(['ComputerName Name', '------------ ----', 'HV02         db01', 'HV02         web01']);
    // With several hosts, get-vm's table says which host it shows.
    expect(lines(ok(root, ['get-vm']))[0]).toMatch(/^ComputerName Name +State/);
    // A host the state does not have: Hyper-V's WinRM error, exit 3.
    const other = hv(root, ['--computer-name', 'HV03', 'start-vm', '--name', 'web01']);
    expect([other.code, other.stderr]).toEqual([3, "hvsim: The operation on computer 'HV03' failed: The WinRM client cannot process the request because the server name cannot be resolved. (hvsim simulates the hosts 'HV01', 'HV02'; hvsim new-vm --computer-name HV03 adds that host)\n"]);

    ok(root, ['start-vm', '--name', 'web01']);
    ok(root, ['--computer-name', 'HV02', 'start-vm', '--name', 'db01,web01']);
    const rep = JSON.parse(ok(root, ['checkpoint-group', '--name', 'web01,HV02:db01,HV02:web01', '--snapshot-name', 'g1', '--json'])) as {
      SkewMs: number;
      Hosts: Array<{ ComputerName: string; SkewMs: number; VMNames: string[] }>;
      Members: Array<{ ComputerName: string; VMName: string }>;
    };
    expect(rep.Members.map((m) => `${m.ComputerName}:${m.VMName}`)).toEqual(['HV01:web01', 'HV02:db01', 'HV02:web01']);
    expect(rep.Hosts.map((x) => [x.ComputerName, x.VMNames, x.SkewMs])).toEqual([['HV01', ['web01'], 0], ['HV02', ['db01', 'web01'], 50]]);
    expect(rep.SkewMs).toBe(100);
    // The table's report: each host's skew on its own line.
    const restored = lines(ok(root, ['restore-group', '--snapshot-name', 'g1']));
    expect(restored[0]).toMatch(/^ComputerName VMName PriorState State +SnapshotId$/);
    expect(restored.slice(2).map((l) => l.split(/ +/).slice(0, 4).join(' '))).toEqual(['HV01 web01 Running Saved', 'HV02 db01 Running Saved', 'HV02 web01 Running Saved']);
    expect(lines(ok(root, ['get-group']))[2]).toContain('{HV01:web01, HV02:db01, HV02:web01}');
    ok(root, ['remove-group', '--snapshot-name', 'g1']);
    ok(root, ['start-vm', '--name', 'web01']);
    ok(root, ['--computer-name', 'HV02', 'start-vm', '--name', 'db01,web01']);
    const text = ok(root, ['checkpoint-group', '--name', 'HV01:web01,HV02:db01', '--snapshot-name', 'g2']);
    expect(text).toMatch(/\n {2}HV01: freeze skew 0 ms \(web01\)\n {2}HV02: freeze skew 0 ms \(db01\)\n$/);

    // hvsim run: -ComputerName reaches both hosts.
    const out = ok(root, ['run', '-'], "Get-VM -ComputerName HV01,HV02 | ForEach-Object { $_.ComputerName + ':' + $_.Name }\n$s = New-CimSession HV02\n(Get-VMSnapshot -CimSession $s -VMName db01).Name\n");
    expect(out).toBe('HV01:web01\nHV02:db01\nHV02:web01\ng2\n');
  });
});

describe('hvsim serve (the pwsh module\'s server) over several hosts', () => {
  it('-ComputerName reaches each host, objects and CimSessions act on their computer, an unknown one is the WinRM error', async () => {
    const root = fs.mkdtempSync(path.join(work, 'serve-'));
    ok(root, ['--computer-name', 'HV01', 'new-vm', '--name', 'web01', '--disk-size', '8M']);
    ok(root, ['new-vm', '--computer-name', 'HV02', '--name', 'web01', '--disk-size', '8M']);
    const p = spawnCli(['serve', '--stdio'], { env: { ...SIM_ENV, HVSIM_ROOT: root } });
    const it = readline.createInterface({ input: p.stdout })[Symbol.asyncIterator]();
    const done = collect(p);
    type Ev = { o?: { p: Record<string, unknown> }; e?: { message: string; id: string; category: string } };
    const call = async (id: number, cmdlet: string, params: Record<string, unknown>): Promise<Ev[]> => {
      p.stdin.write(JSON.stringify({ id, cmdlet, params, confirm: true }) + '\n');
      const events: Ev[] = [];
      for (;;) {
        const r = await it.next();
        const a = JSON.parse(r.value as string) as { events: Ev[]; done?: boolean };
        events.push(...a.events);
        if (a.done) return events;
      }
    };
    try {
      const both = await call(1, 'Get-VM', { ComputerName: ['HV01', 'HV02', 'HV09'] });
      expect(both.filter((e) => e.o).map((e) => e.o!.p.ComputerName)).toEqual(['HV01', 'HV02']);
      expect(both.find((e) => e.e)!.e).toMatchObject({ category: 'ConnectionError', id: 'HyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVM' });
      // A VM object of HV02 (as the module sends it: type names, identity, ComputerName) acts on HV02.
      const vm = { $type: ['Microsoft.HyperV.PowerShell.VirtualMachine'], Name: 'web01', ComputerName: 'HV02' };
      const snap = await call(2, 'Checkpoint-VM', { VM: [vm], SnapshotName: 'onHV02', Passthru: true });
      expect(snap.map((e) => e.o?.p.ComputerName)).toEqual(['HV02']);
      const session = { $type: ['Microsoft.Management.Infrastructure.CimSession'], ComputerName: 'HV02' };
      const viaSession = await call(3, 'Get-VMSnapshot', { CimSession: [session], VMName: ['web01'] });
      expect(viaSession.map((e) => [e.o?.p.ComputerName, e.o?.p.Name])).toEqual([['HV02', 'onHV02']]);
      expect(await call(4, 'Get-VMSnapshot', { VMName: ['web01'] })).toEqual([]);
      // Get-VMHost (the real-host driver's first question): each host with its own folder of VM folders.
      const hostsSeen = await call(5, 'Get-VMHost', { ComputerName: ['HV01', 'HV02'] });
      expect(hostsSeen.map((e) => [e.o?.p.Name, e.o?.p.VirtualMachinePath])).toEqual([['HV01', path.join(root, 'vms')], ['HV02', path.join(root, 'hosts', 'HV02')]]);
    } finally {
      p.stdin.end();
      await done;
    }
  });
});
