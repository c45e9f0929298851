/**
 * hvsim run through the built CLI: scripts from files (several in one session) and stdin, the
 * state kept for the other commands, --what-if leaving the state directory byte-for-byte
 * unchanged, exit statuses, errors on stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { okStdout, runCli, SIM_ENV, type CliResult } from '../helpers/cli.js';

const VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];
const SEED = (n: number): string => path.join(__dirname, '..', 'fixtures', 'ps-scripts', `seed-step${n}.ps1`);
let work: string;

function hv(root: string, args: string[], input?: string): CliResult {
  return runCli(args, { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root }, input });
}

function ok(root: string, args: string[], input?: string): string {
  return okStdout(args, hv(root, args, input));
}

/** A state directory with the seed's three running VMs on xHost16. */
function seedRoot(): string {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  for (const v of VMS) ok(root, ['--computer-name', 'xHost16', 'new-vm', '--name', v, '--disk-size', '8M']);
  ok(root, ['start-vm', '--name', VMS.join(',')]);
  return root;
}

/** Every file under dir with its SHA-256. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const json = (s: string): Array<Record<string, unknown>> => JSON.parse(s) as Array<Record<string, unknown>>;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-cli-run-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('hvsim run', () => {
  it('runs the seed steps from files, one session across files, state kept for the other commands', () => {
    const root = seedRoot();
    const r = hv(root, ['--computer-name', 'xHost16', 'run', SEED(1), SEED(2)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('WARNING: line 3: replaced the typographic quote ″ with " (PowerShell would refuse this line; hvsim run --strict does)\n');
    // --strict: PowerShell does not take ″ as a quote, so the step does not parse there; nothing runs
    const strict = hv(seedRoot(), ['--computer-name', 'xHost16', 'run', '--strict', SEED(1)]);
    expect([strict.code, strict.stdout]).toEqual([2, '']);
    expect(strict.stderr).toMatch(/^hvsim: .*seed-step1\.ps1: line 3: /);
    expect(strict.stderr).not.toContain('WARNING');
    expect(r.stdout).toMatch(/VMName\s+State\s+ComputerName\n-+ +-+ +-+\nSSTest1\s+Saved\s+xHost16/);
    expect(r.stdout).toMatch(/VMName\s+Name\s+ComputerName\n/);
    expect(json(ok(root, ['get-vm', '--json'])).map((v) => v.State)).toEqual(['Saved', 'Saved', 'Saved']);
    expect(json(ok(root, ['get-vmsnapshot', '--vm-name', VMS.join(','), '--json']))).toHaveLength(3);
    // a new session: $HVHost and $VMs are not defined, so -Name $null fails to bind
    const alone = hv(root, ['run', '--new-session', SEED(3)]);
    expect(alone.code).toBe(0);
    expect(alone.stderr).toContain('Start-VM :');
    expect(json(ok(root, ['get-vm', '--json'])).map((v) => v.State)).toEqual(['Saved', 'Saved', 'Saved']);
  });

  it('runs the seed one step per invocation, inspected in between: the session (its variables) continues', () => {
    const root = seedRoot();
    const states = (): unknown[] => json(ok(root, ['get-vm', '--json'])).map((v) => v.State);
    const step = (n: number): CliResult => {
      const r = hv(root, ['--computer-name', 'xHost16', 'run', SEED(n)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain(' : '); // no error records
      return r;
    };
    expect(step(1).stdout).toMatch(/SSTest1\s+Saved\s+xHost16/);
    expect(states()).toEqual(['Saved', 'Saved', 'Saved']);
    expect(step(2).stdout).toMatch(/SSTest1\s+SSTest1 - \(9\/21\/2014 - [0-9:]+ PM\)\s+xHost16/);
    expect(json(ok(root, ['get-vmsnapshot', '--vm-name', VMS.join(','), '--json']))).toHaveLength(3);
    expect(step(3).stdout).toMatch(/SSTest1\s+Running\s+xHost16/);
    expect(states()).toEqual(['Running', 'Running', 'Running']);
    // Step 4 removes every checkpoint; its confirmation table is empty, as in the seed ("no output").
    expect(step(4).stdout.trim()).toBe('');
    expect(json(ok(root, ['get-vmsnapshot', '--vm-name', VMS.join(','), '--json']))).toHaveLength(0);
    // What is kept: plain values, not objects from cmdlets; --what-if keeps nothing.
    ok(root, ['run', '-'], '$n = 3; $when = Get-Date; $vm = Get-VM SSTest1; $t = @{ a = 1 }\n');
    hv(root, ['run', '--what-if', '-'], '$n = 99\n');
    const kept = hv(root, ['run', '-'], 'Write-Output "$n $($t.a) $($when.Year) [$vm] $($VMs.Count)"\n');
    expect(kept.stdout).toBe('3 1 2014 [] 3\n');
  });

  it('reads the script from stdin with -', () => {
    const root = seedRoot();
    const r = hv(root, ['run', '-'], 'Checkpoint-VM -Name SSTest1 -SnapshotName fromStdin -Passthru | Select VMName, Name | FT -AutoSize\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/VMName\s+Name\s*\n-+ +-+\s*\nSSTest1 fromStdin/);
    expect(json(ok(root, ['get-vmsnapshot', '--vm-name', 'SSTest1', '--json'])).map((s) => s.Name)).toEqual(['fromStdin']);
  });

  it('--what-if runs on a throwaway copy, prints the changes, and leaves the state directory byte-for-byte unchanged', () => {
    const root = seedRoot();
    const before = digest(root);
    const r = hv(root, ['run', '--what-if', SEED(1), SEED(2)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('VM "SSTest1": Running -> Saved');
    expect(r.stdout).toMatch(/checkpoint "SSTest1 - \(9\/21\/2014 - [^"]+\)" of "SSTest1": created/);
    expect(digest(root)).toEqual(before);
    expect(json(ok(root, ['get-vm', '--json'])).map((v) => v.State)).toEqual(['Running', 'Running', 'Running']);
    const none = hv(root, ['run', '--what-if', '-'], 'Get-VM | Out-Null\n');
    expect(none.stdout).toContain('nothing would change');
  });

  it('--what-if with merges and restores: the differencing disks of the real state stay untouched', () => {
    const root = seedRoot();
    ok(root, ['write-vm', '--name', 'SSTest1', '--offset', '0', '--text', 'one']);
    ok(root, ['checkpoint-vm', '--name', 'SSTest1', '--snapshot-name', 'a']);
    ok(root, ['write-vm', '--name', 'SSTest1', '--offset', '0', '--text', 'two']);
    ok(root, ['checkpoint-vm', '--name', 'SSTest1', '--snapshot-name', 'b']);
    ok(root, ['write-vm', '--name', 'SSTest1', '--offset', '0', '--text', 'six']);
    const before = digest(root);
    const r = hv(root, ['run', '--what-if', '-'], 'Restore-VMSnapshot a SSTest1 -Confirm:$false\nRemove-VMSnapshot -VMName SSTest1 -Name b\nStart-VM SSTest1\nRemove-VMSnapshot -VMName SSTest1\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('checkpoint "a" of "SSTest1": removed');
    expect(r.stdout).toContain('checkpoint "b" of "SSTest1": removed');
    expect(digest(root)).toEqual(before);
    expect(ok(root, ['read-vm', '--name', 'SSTest1', '--length', '3'])).toBe('six');
  });

  it('--what-if copies disks a VM uses from outside the state directory: they stay untouched too', () => {
    const root = seedRoot();
    const outside = fs.mkdtempSync(path.join(work, 'outside-'));
    const disk = path.join(outside, 'data.vhdx');
    ok(root, ['new-vhd', disk, '--size', '8M']);
    ok(root, ['new-vm', '--name', 'ext', '--vhd-path', disk]);
    ok(root, ['start-vm', '--name', 'ext']);
    ok(root, ['write-vm', '--name', 'ext', '--offset', '0', '--text', 'kept']);
    const before = { state: digest(root), outside: digest(outside) };
    const r = hv(root, ['run', '--what-if', '-'], 'Checkpoint-VM ext one\nStop-VM ext -TurnOff\nRemove-VMSnapshot -VMName ext\nCheckpoint-VM ext two\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('checkpoint "two" of "ext": created');
    expect(digest(root)).toEqual(before.state);
    expect(digest(outside)).toEqual(before.outside);
    expect(fs.readdirSync(outside)).toEqual(['data.vhdx']);
  });

  it('exit statuses: 0 with non-terminating errors, 1 on a terminating error, N for exit N', () => {
    const root = seedRoot();
    const soft = hv(root, ['run', '-'], 'Checkpoint-VM -Name DC01\nCheckpoint-VM SSTest1 after\n');
    expect(soft.code).toBe(0);
    expect(soft.stderr).toContain('Checkpoint-VM : Hyper-V was unable to find a virtual machine with name "DC01".');
    expect(soft.stderr).toContain('FullyQualifiedErrorId : ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM');
    const hard = hv(root, ['run', '-'], "$ErrorActionPreference = 'Stop'\nCheckpoint-VM -Name DC01\nCheckpoint-VM SSTest1 never\n");
    expect(hard.code).toBe(1);
    expect(hv(root, ['run', '-'], 'exit 5\n').code).toBe(5);
    expect(json(ok(root, ['get-vmsnapshot', '--vm-name', 'SSTest1', '--json'])).map((s) => s.Name)).toEqual(['after']);
  });

  it('an unsupported construct: exit 2 when its line runs, named on stderr with its line; what ran before stays', () => {
    const root = seedRoot();
    const script = path.join(work, 'bad.ps1');
    fs.writeFileSync(script, "Stop-VM -Name SSTest1 -Save\nif ($false) { trap { 1 } }\ntrap { 'never' }\nCheckpoint-VM SSTest1 never\n");
    const r = hv(root, ['run', script]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`hvsim: ${script}: line 3: trap statements are not supported by hvsim run\n`);
    expect(json(ok(root, ['get-vm', '--name', 'SSTest1', '--json']))[0]!.State).toBe('Saved');
    expect(json(ok(root, ['get-vmsnapshot', '--vm-name', 'SSTest1', '--json'])).map((s) => s.Name)).not.toContain('never');
  });

  it('script arguments: the words after the last .ps1 file are its arguments (named, switch, positional)', () => {
    const root = seedRoot();
    const script = path.join(work, 'args.ps1');
    fs.writeFileSync(script, "param([Parameter(Mandatory)][string]$VMName, [int]$Days = 7, [switch]$Force)\n\"vm=$VMName days=$Days force=$Force\"\n");
    let r = hv(root, ['run', script, '-VMName', 'SSTest1', '-Days', '3', '-Force']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'vm=SSTest1 days=3 force=True\n', '']);
    r = hv(root, ['run', script, 'SSTest1', '9']);
    expect(r.stdout).toBe('vm=SSTest1 days=9 force=False\n');
    r = hv(root, ['run', script]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing mandatory parameters: VMName.');
  });

  it('a syntax error: exit 2 before anything runs', () => {
    const root = seedRoot();
    const script = path.join(work, 'bad-syntax.ps1');
    fs.writeFileSync(script, 'Stop-VM -Name SSTest1 -Save\n$x = (1 +\n');
    const r = hv(root, ['run', script]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line [23]: syntax error/);
    expect(json(ok(root, ['get-vm', '--name', 'SSTest1', '--json']))[0]!.State).toBe('Running');
  });

  it('a missing script file is exit 3', () => {
    const root = seedRoot();
    const r = hv(root, ['run', path.join(work, 'nope.ps1')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nope.ps1: no such file');
  });
});
