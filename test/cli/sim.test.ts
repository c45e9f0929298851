/**
 * The simulator through the built CLI (node dist/cli/bin.cjs): the seed's workflow end to end,
 * output formats (tables, --json with Hyper-V's names, [] when empty), exit codes, state kept
 * between invocations, concurrent invocations, fault injection, group commands and the demo.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { okStdout, runCli, runCliAsync, SIM_ENV, type CliOptions, type CliResult } from '../helpers/cli.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];
const LIST = VMS.join(',');
let work: string;

function opts(root: string, extra: Record<string, string>): CliOptions {
  return { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root, ...extra } };
}

function hv(root: string, args: string[], extra: Record<string, string> = {}): CliResult {
  return runCli(args, opts(root, extra));
}

function hvAsync(root: string, args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  return runCliAsync(args, opts(root, extra));
}

/** Run and require success. */
function ok(root: string, args: string[], extra: Record<string, string> = {}): string {
  return okStdout(args, hv(root, args, extra));
}

function newRoot(): string {
  return fs.mkdtempSync(path.join(work, 'root-'));
}

const lines = (s: string): string[] => s.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-cli-sim-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the seed workflow through the CLI', () => {
  it('pause and save, checkpoint, restart, restore, remove all — with confirmation tables', () => {
    const root = newRoot();
    for (const v of VMS) ok(root, ['--computer-name', 'xHost16', 'new-vm', '--name', v, '--disk-size', '8M']);
    ok(root, ['start-vm', '--name', LIST]);
    for (const v of VMS) ok(root, ['write-vm', '--name', v, '--offset', '0', '--text', `${v} before the checkpoint`]);
    // The disks start blank, so what each one holds is known exactly.
    const SIZE = 8 * 1024 * 1024;
    const expected = (writes: Array<[number, string]>): Buffer => {
      const b = Buffer.alloc(SIZE);
      for (const [off, t] of writes) b.write(t, off);
      return b;
    };

    // 1. Pause and save
    expect(ok(root, ['stop-vm', '--name', LIST, '--save'])).toBe('');
    expect(lines(ok(root, ['get-vm', '--computer-name', 'xHost16', '--name', LIST, '--property', 'VMName,State,ComputerName']))).toEqual([
      'VMName         State ComputerName',
      '------         ----- ------------',
      'SSTest1        Saved xHost16',
      'V-2012R2-Test1 Saved xHost16',
      'v-2012R2-TW01  Saved xHost16',
    ]);

    // 2. Checkpoint (prints nothing, like the cmdlet)
    expect(ok(root, ['checkpoint-vm', '--computer-name', 'xHost16', '--name', LIST])).toBe('');
    const snapTable = lines(ok(root, ['get-vmsnapshot', '--computer-name', 'xHost16', '--vm-name', LIST, '--property', 'VMName,Name,ComputerName']));
    expect(snapTable[0]).toMatch(/^VMName +Name +ComputerName$/);
    expect(snapTable.slice(2).map((l) => l.split(/ {2,}|(?<=\)) /)[0])).toEqual(VMS.map((v) => expect.stringMatching(new RegExp(`^${v}`))));
    for (const [i, v] of VMS.entries()) expect(snapTable[i + 2]).toMatch(new RegExp(`^${v} +${v} - \\(9/21/2014 - 7:\\d\\d:\\d\\d PM\\) +xHost16$`));
    const atCheckpoint = VMS.map((v) => expected([[0, `${v} before the checkpoint`]]));

    // 3. Restart
    ok(root, ['start-vm', '--computer-name', 'xHost16', '--name', LIST]);
    expect(lines(ok(root, ['get-vm', '--name', LIST, '--property', 'VMName,State,ComputerName'])).slice(2).map((l) => l.split(/ +/)[1])).toEqual(['Running', 'Running', 'Running']);
    for (const v of VMS) ok(root, ['write-vm', '--name', v, '--offset', '0', '--text', `${v} AFTER the checkpoint`]);
    expect(ok(root, ['read-vm', '--name', 'SSTest1', '--length', '23'])).toBe('SSTest1 AFTER the check');
    expect(ok(root, ['read-vm', '--name', 'SSTest1', '--length', '25', '--snapshot', 'SSTest1*'])).toBe('SSTest1 before the checkp');
    // Files like Hyper-V's: the .vhdx frozen, an .avhdx beside it.
    const dir = path.join(root, 'vms', 'SSTest1', 'Virtual Hard Disks');
    const names = fs.readdirSync(dir).sort();
    expect(names.length).toBe(2);
    expect(names[0]).toBe('SSTest1.vhdx');
    expect(names[1]).toMatch(/^SSTest1_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\.avhdx$/);
    expect(lines(ok(root, ['get-vmsnapshot', '--vm-name', 'SSTest1', '--tree']))).toEqual(['SSTest1', expect.stringMatching(/^└─ SSTest1 - \(/), '   └─ Now']);

    // Restore the group to the checkpoint: every disk holds exactly what it held then.
    ok(root, ['stop-vm', '--name', LIST, '--save']);
    for (const v of VMS) ok(root, ['restore-vmsnapshot', '--vm-name', v, '--name', `${v} - *`]);
    const restored = JSON.parse(ok(root, ['get-vm', '--name', LIST, '--json'])) as Array<{ State: string; ParentSnapshotName: string }>;
    expect(restored.map((v) => v.State)).toEqual(['Saved', 'Saved', 'Saved']);
    VMS.forEach((v, i) => expect(hv(root, ['read-vm', '--name', v]).bytes.equals(atCheckpoint[i]!)).toBe(true));
    ok(root, ['start-vm', '--name', LIST]);
    for (const v of VMS) ok(root, ['write-vm', '--name', v, '--offset', '5M', '--text', `${v} after the restore`]);
    const current = VMS.map((v) => expected([[0, `${v} before the checkpoint`], [5 * 1024 * 1024, `${v} after the restore`]]));

    // 4. Remove all checkpoints
    expect(ok(root, ['remove-vmsnapshot', '--computer-name', 'xHost16', '--vm-name', LIST, '--include-all-child-snapshots'])).toBe('');
    expect(ok(root, ['get-vmsnapshot', '--computer-name', 'xHost16', '--vm-name', LIST, '--property', 'VMName,Name,ComputerName'])).toBe('');
    expect(JSON.parse(ok(root, ['get-vmsnapshot', '--vm-name', LIST, '--json']))).toEqual([]);
    for (const v of VMS) expect(fs.readdirSync(path.join(root, 'vms', v, 'Virtual Hard Disks'))).toEqual([`${v}.vhdx`]);
    VMS.forEach((v, i) => expect(hv(root, ['read-vm', '--name', v]).bytes.equals(current[i]!)).toBe(true));
    // The base file is an ordinary writable dynamic VHDX again (get-vhd from the disk commands).
    const info = JSON.parse(ok(root, ['get-vhd', path.join(root, 'vms', 'SSTest1', 'Virtual Hard Disks', 'SSTest1.vhdx'), '--json'])) as { VhdType: string; ParentPath: string | null };
    expect([info.VhdType, info.ParentPath]).toEqual(['Dynamic', null]);
  }, 120_000);
});

describe('CLI behaviour', () => {
  it('JSON with Hyper-V property names, exit codes, warnings and errors on stderr', () => {
    const root = newRoot();
    const vm = JSON.parse(ok(root, ['new-vm', '--name', 'web01', '--disk-size', '8M', '--json'])) as Array<Record<string, unknown>>;
    expect(Array.isArray(vm)).toBe(true);
    for (const k of ['VMName', 'Name', 'State', 'Status', 'ComputerName', 'Id', 'CheckpointType', 'ParentSnapshotId', 'ParentSnapshotName', 'OperationalStatus', 'HardDrives'])
      expect(vm[0]).toHaveProperty(k);
    expect(vm[0]!.CheckpointType).toBe('Production');
    expect(JSON.parse(ok(root, ['get-vmsnapshot', '--vm-name', 'web01', '--json']))).toEqual([]);
    expect(JSON.parse(ok(root, ['get-vm', '--name', 'nomatch*', '--json']))).toEqual([]);
    const missing = hv(root, ['get-vm', '--name', 'DC01']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('hvsim: Get-VM: Hyper-V was unable to find a virtual machine with name "DC01".\n');
    expect(missing.stdout).toBe('');
    const wrong = hv(root, ['suspend-vm', '--name', 'web01']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("Suspend-VM: 'web01' failed to change state. The operation cannot be performed while the virtual machine is in its current state.");
    const already = hv(root, ['stop-vm', '--name', 'web01']);
    expect(already.code).toBe(0);
    expect(already.stderr).toBe("WARNING: Stop-VM: 'web01': The virtual machine is already in the specified state.\n");
    ok(root, ['set-vm', '--name', 'web01', '--checkpoint-type', 'disabled']);
    const disabled = hv(root, ['checkpoint-vm', '--name', 'web01']);
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toContain("Checkpoint operation for 'web01' failed.");
    const usage = hv(root, ['set-vm', '--name', 'web01', '--checkpoint-type', 'Sometimes']);
    expect(usage.code).toBe(2);
    ok(root, ['set-vm', '--name', 'web01', '--checkpoint-type', 'Standard']);
    const snap = JSON.parse(ok(root, ['checkpoint-vm', '--name', 'web01', '--snapshot-name', 'first', '--json'])) as Array<Record<string, unknown>>;
    expect(snap.map((s) => [s.VMName, s.Name, s.SnapshotType, s.ParentSnapshotName])).toEqual([['web01', 'first', 'Standard', null]]);
    const table = lines(ok(root, ['get-vmsnapshot', '--vm-name', 'web01']));
    expect(table[0]).toMatch(/^VMName +Name +SnapshotType +CreationTime +ParentSnapshotName$/);
    expect(table[2]).toMatch(/^web01 +first +Standard +9\/21\/2014 7:\d\d:\d\d PM$/);
    ok(root, ['rename-vmsnapshot', '--vm-name', 'web01', '--name', 'first', '--new-name', 'gold']);
    expect(JSON.parse(ok(root, ['get-vmsnapshot', '--vm-name', 'web01', '--property', 'Name', '--json']))).toEqual([{ Name: 'gold' }]);
    const defaults = lines(ok(root, ['get-vm']));
    expect(defaults[0]).toMatch(/^Name +State +CPUUsage\(%\) +MemoryAssigned\(M\) +Uptime +Status +Version$/);
  });

  it('state persists between invocations; --no-wait leaves a merge running in simulated time', () => {
    const root = newRoot();
    ok(root, ['new-vm', '--name', 'a', '--disk-size', '8M', '--checkpoint-type', 'Standard']);
    ok(root, ['start-vm', '--name', 'a']);
    ok(root, ['checkpoint-vm', '--name', 'a', '--snapshot-name', 'c1']);
    const input = path.join(root, 'input.bin');
    fs.writeFileSync(input, Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) & 0xff)));
    ok(root, ['write-vm', '--name', 'a', '--offset', '0', '--input', input]);
    const tooBig = hv(root, ['write-vm', '--name', 'a', '--offset', '6M', '--input', input]);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toBe("hvsim: Write-VM: 3145728 bytes at offset 6291456 run past the end of the 8388608-byte disk 0 of 'a'\n");
    const state = JSON.parse(fs.readFileSync(path.join(root, 'state.json'), 'utf8')) as { clock: number; vms: Array<{ name: string }> };
    expect(state.vms.map((v) => v.name)).toEqual(['a']);
    ok(root, ['remove-vmsnapshot', '--vm-name', 'a', '--no-wait']);
    const merging = JSON.parse(ok(root, ['get-vm', '--name', 'a', '--json'])) as Array<{ OperationalStatus: string[]; Status: string }>;
    expect(merging[0]!.OperationalStatus).toEqual(['Ok', 'MergingDisks']);
    expect(lines(ok(root, ['get-vm', '--name', 'a']))[2]).toContain('Merging disks');
    expect(fs.readdirSync(path.join(root, 'vms', 'a', 'Virtual Hard Disks')).length).toBe(2);
    const waited = JSON.parse(ok(root, ['wait-vm', '--name', 'a', '--json'])) as Array<{ OperationalStatus: string[] }>;
    expect(waited[0]!.OperationalStatus).toEqual(['Ok']);
    expect(fs.readdirSync(path.join(root, 'vms', 'a', 'Virtual Hard Disks'))).toEqual(['a.vhdx']);
    const head = fs.readFileSync(input).subarray(0, 4096);
    expect(hv(root, ['read-vm', '--name', 'a', '--length', '4096']).bytes.equals(head)).toBe(true);
    const later = JSON.parse(fs.readFileSync(path.join(root, 'state.json'), 'utf8')) as { clock: number };
    expect(later.clock).toBeGreaterThan(state.clock);
    // A host name the state does not have is refused (new-vm --computer-name adds one: test/cli/hosts.test.ts).
    const other = hv(root, ['--computer-name', 'otherhost', 'get-vm']);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain("The operation on computer 'otherhost' failed: The WinRM client cannot process the request because the server name cannot be resolved. (hvsim simulates the host '");
  });

  it('concurrent invocations queue on the lock and never lose or corrupt state', async () => {
    const root = newRoot();
    ok(root, ['new-vm', '--name', 'a', '--disk-size', '8M', '--checkpoint-type', 'Standard']);
    ok(root, ['new-vm', '--name', 'b', '--disk-size', '8M', '--checkpoint-type', 'Standard']);
    ok(root, ['start-vm', '--name', 'a,b']);
    const runs = await Promise.all([
      ...[1, 2, 3].map((i) => hvAsync(root, ['checkpoint-vm', '--name', 'a', '--snapshot-name', `a${i}`])),
      ...[1, 2, 3].map((i) => hvAsync(root, ['write-vm', '--name', 'b', '--offset', `${i}M`, '--text', `b${i}`])),
      hvAsync(root, ['checkpoint-vm', '--name', 'b', '--snapshot-name', 'b-cp']),
    ]);
    for (const r of runs) expect(r.stderr).toBe('');
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    const snaps = JSON.parse(ok(root, ['get-vmsnapshot', '--vm-name', 'a,b', '--json'])) as Array<{ VMName: string; Name: string }>;
    expect(snaps.filter((s) => s.VMName === 'a').map((s) => s.Name).sort()).toEqual(['a1', 'a2', 'a3']);
    for (const i of [1, 2, 3]) expect(ok(root, ['read-vm', '--name', 'b', '--offset', `${i}M`, '--length', '2'])).toBe(`b${i}`);
    expect(fs.existsSync(path.join(root, 'lock'))).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.includes('.tmp'))).toEqual([]);

    // A holder that does not go away: BUSY (exit 4) after the wait.
    fs.writeFileSync(path.join(root, 'lock'), `${process.pid}\n${os.hostname()}\nnow\n`);
    const busy = hv(root, ['get-vm'], { HVSIM_LOCK_TIMEOUT: '300' });
    fs.unlinkSync(path.join(root, 'lock'));
    expect(busy.code).toBe(4);
    expect(busy.stderr).toContain(`is in use by another hvsim invocation (pid ${process.pid})`);
  }, 60_000);

  it('group commands, fault injection and export/clone', () => {
    const root = newRoot();
    for (const v of ['web', 'db']) ok(root, ['new-vm', '--name', v, '--disk-size', '8M']);
    ok(root, ['start-vm', '--name', 'web,db']);
    ok(root, ['write-vm', '--name', 'db', '--offset', '0', '--text', 'rows v1']);
    // A fault at the checkpoint of the second VM: nothing is kept, both run again.
    const failed = hv(root, ['--inject-fault', 'checkpoint:db', 'checkpoint-group', '--name', 'web,db', '--snapshot-name', 'g1']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("checkpoint-group: failed at Checkpoint-VM of 'db'");
    expect(failed.stderr).toContain('rolled back');
    expect(ok(root, ['get-vmsnapshot', '--vm-name', 'web,db'])).toBe('');
    expect(JSON.parse(ok(root, ['get-vm', '--json'])).map((v: { State: string }) => v.State)).toEqual(['Running', 'Running']);

    const rep = JSON.parse(ok(root, ['checkpoint-group', '--name', 'web,db', '--snapshot-name', 'g1', '--json'])) as { GroupId: string; SkewMs: number; Members: Array<{ VMName: string; State: string }> };
    expect(rep.SkewMs).toBe(50);
    expect(rep.Members.map((m) => [m.VMName, m.State])).toEqual([['web', 'Running'], ['db', 'Running']]);
    const human = ok(root, ['get-group']);
    expect(human).toContain(rep.GroupId);
    ok(root, ['write-vm', '--name', 'db', '--offset', '0', '--text', 'rows v2']);
    const restored = JSON.parse(ok(root, ['restore-group', '--snapshot-name', 'g1', '--json'])) as { Members: Array<{ State: string }> };
    expect(restored.Members.map((m) => m.State)).toEqual(['Saved', 'Saved']);
    expect(ok(root, ['read-vm', '--name', 'db', '--length', '7'])).toBe('rows v1');
    const exp = JSON.parse(ok(root, ['export-vmsnapshot', '--vm-name', 'db', '--name', 'g1', '--path', path.join(root, 'export'), '--json'])) as Array<{ HardDrives: string[] }>;
    ok(root, ['new-vm', '--name', 'db-clone', '--vhd-path', exp[0]!.HardDrives[0]!]);
    expect(ok(root, ['read-vm', '--name', 'db-clone', '--length', '7'])).toBe('rows v1');
    const removed = JSON.parse(ok(root, ['remove-group', '--group-id', rep.GroupId, '--json'])) as { Removed: unknown[] };
    expect(removed.Removed.length).toBe(2);
    expect(JSON.parse(ok(root, ['get-group', '--json']))).toEqual([]);
    expect(hv(root, ['--inject-fault', 'nonsense', 'get-vm']).code).toBe(2);
  });

  it('hvsim demo runs the seed workflow on a fresh in-memory host and passes its checks', () => {
    const r = runCli(['demo'], { cwd: work, env: { TZ: 'UTC' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PS> Stop-VM -Name $VMs -Save');
    expect(r.stdout).toMatch(/SSTest1 +Saved xHost16/);
    expect(r.stdout).toMatch(/V-2012R2-Test1 +V-2012R2-Test1 - \(\d+\/\d+\/\d{4} - \d+:\d\d:\d\d [AP]M\) xHost16/);
    expect(r.stdout).toContain('<no output>');
    expect(r.stdout).toMatch(/sequential +\d+ +\d+ +false/);
    expect(r.stdout).toMatch(/group +(\d+) +\1 +true/);
    expect(r.stdout).toContain('All checks passed.');
    expect(r.stdout).not.toContain('FAILED');
    expect(fs.existsSync(path.join(work, '.hvsim'))).toBe(false);
  }, 60_000);
});
