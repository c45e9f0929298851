/**
 * The CLI's --host option: `--host hyperv` and `--host hyperv:COMPUTER` run every host command
 * through the driver (here against the stand-in PowerShell named by HVSIM_POWERSHELL, keeping its
 * host in a state directory since each invocation starts its own PowerShell); the default stays
 * the simulator; bad values and simulator-only options are refused. Runs the CLI from source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { installStandIn, type StandIn } from '../helpers/fake-powershell.setup.js';
import { okStdout, runCliAsync, type CliResult } from '../helpers/cli.js';

const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'src', 'cli', 'bin.ts');
const TSX = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs');

let s: StandIn;
let work: string;

/** The CLI from source (tsx), its host the stand-in PowerShell; NODE_OPTIONS cleared. */
function hv(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const env = { HVSIM_POWERSHELL: s.exe, HVSIM_ROOT: path.join(work, 'sim'), HVSIM_CLOCK: 'simulated', TZ: 'UTC', ...extra, NODE_OPTIONS: undefined };
  return runCliAsync(args, { bin: BIN, nodeArgs: ['--import', TSX], cwd: work, env });
}

async function ok(args: string[], extra: Record<string, string> = {}): Promise<string> {
  return okStdout(args, await hv(args, extra));
}

beforeAll(() => {
  s = installStandIn({ storage: 'directory' });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-cli-host-'));
});

afterAll(() => {
  s.remove();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('hvsim --host hyperv', () => {
  it('runs the host commands through the driver, group checkpoints included', async () => {
    const vm = JSON.parse(await ok(['--host', 'hyperv', 'new-vm', '--name', 'web01', '--notes', "it's $(x)", '--json'])) as Array<Record<string, unknown>>;
    expect(vm[0]).toMatchObject({ Name: 'web01', State: 'Off', ComputerName: 'xHost16', Notes: "it's $(x)" });
    await ok(['--host', 'hyperv', 'new-vm', '--name', 'db01']);
    await ok(['--host', 'hyperv', 'start-vm', '--name', 'web01,db01']);
    const table = await ok(['--host', 'hyperv', 'get-vm']);
    expect(table.split('\n')[0]).toMatch(/^Name\s+State\s+CPUUsage\(%\)\s+MemoryAssigned\(M\)\s+Uptime\s+Status\s+Version/);
    expect(table).toMatch(/web01\s+Running\s+0\s+1024/);
    const rep = JSON.parse(await ok(['--host', 'hyperv', 'checkpoint-group', '--name', 'web01,db01', '--snapshot-name', 'BeforeDsc', '--json'])) as { GroupId: string; Members: Array<{ State: string }> };
    expect(rep.Members.map((m) => m.State)).toEqual(['Running', 'Running']);
    const snaps = JSON.parse(await ok(['--host', 'hyperv', 'get-vmsnapshot', '--vm-name', '*', '--json'])) as Array<Record<string, unknown>>;
    expect(snaps.map((x) => [x.VMName, x.Name, x.GroupId])).toEqual([
      ['web01', 'BeforeDsc', rep.GroupId],
      ['db01', 'BeforeDsc', rep.GroupId],
    ]);
    const r = await hv(['--host', 'hyperv', 'start-vm', '--name', 'web01']);
    expect(r.stderr).toBe("WARNING: Start-VM: 'web01': The virtual machine is already in the specified state.\n");
    // One process per call works the same.
    const groups = JSON.parse(await ok(['--host', 'hyperv', 'get-group', '--json'], { HVSIM_POWERSHELL_MODE: 'process' })) as Array<{ GroupId: string }>;
    expect(groups.map((g) => g.GroupId)).toEqual([rep.GroupId]);
    // The simulator (the default) has none of this.
    const before = s.invocations().length;
    expect(JSON.parse(await ok(['get-vm', '--json']))).toEqual([]);
    expect(s.invocations().length).toBe(before);
  }, 180_000); // some 25 CLI processes, each through the stand-in: about a minute on a busy machine

  it('hyperv:COMPUTER passes -ComputerName; errors keep Hyper-V\'s message and the exit codes', async () => {
    const [named, other, missing, bogus, fault] = await Promise.all([
      hv(['--host', 'hyperv:xHost16', 'get-vm', '--json']),
      hv(['--host', 'hyperv:OTHERHOST', 'get-vm']),
      hv(['--host', 'hyperv', 'get-vm', '--name', 'nope']),
      hv(['--host', 'vmware', 'get-vm']),
      hv(['--host', 'hyperv', '--inject-fault', 'checkpoint:web01', 'get-vm']),
    ]);
    expect(named.code).toBe(0);
    expect(Array.isArray(JSON.parse(named.stdout))).toBe(true);
    expect([other.code, other.stderr]).toEqual([3, 'hvsim: Get-VMHost: Hyper-V was unable to find the computer "OTHERHOST". (stand-in)\n']);
    expect([missing.code, missing.stderr]).toEqual([3, 'hvsim: Get-VM: Hyper-V was unable to find a virtual machine with name "nope".\n']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/--host "vmware": use sim, hyperv or hyperv:COMPUTER/);
    expect(fault.code).toBe(2);
    const sent = s.requests().flatMap((q) => q.steps).filter((x) => 'c' in x && x.c === 'Get-VMHost');
    expect(sent.map((x) => ('p' in x ? x.p?.ComputerName : undefined))).toEqual(expect.arrayContaining(['xHost16', 'OTHERHOST', undefined]));
  });
});
