/**
 * hvsim serve --stdio (src/cli/serve-stdio.ts), driven as the PowerShell module drives it: JSON
 * lines in, JSON lines out, one long-lived process. A malformed line gets an error answer and the
 * server goes on; each request takes and releases the state lock like one CLI command, so
 * `hvsim get-vm` runs between requests and waits (BUSY) while a request holds the lock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli, SIM_ENV } from '../helpers/cli.js';

interface Answer {
  id: unknown;
  events: Array<{ o?: { t: string[]; p: Record<string, unknown>; k: Record<string, string> }; w?: string; e?: { message: string; category: string; id: string; target: string; reason: string } }>;
  done?: boolean;
  confirm?: { target: string; action: string; description: string | null };
}

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

function tempRoot(): string {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-serve-'));
  roots.push(r);
  return path.join(r, 'state');
}

/** A server on `root`, with a line-by-line reader of its answers. */
function server(root: string): { send(v: unknown): void; sendRaw(line: string): void; next(): Promise<Answer>; end(): Promise<number | null>; pid: number } {
  const p = spawnCli(['serve', '--stdio'], { env: { ...SIM_ENV, HVSIM_ROOT: root } });
  const rl = readline.createInterface({ input: p.stdout });
  const lines = rl[Symbol.asyncIterator]();
  const done = collect(p);
  return {
    pid: p.pid!,
    send: (v) => p.stdin.write(JSON.stringify(v) + '\n'),
    sendRaw: (line) => p.stdin.write(line + '\n'),
    next: async () => {
      const r = await lines.next();
      if (r.done) throw new Error(`the server ended: ${(await done).stderr}`);
      return JSON.parse(r.value as string) as Answer;
    },
    end: async () => {
      p.stdin.end();
      return (await done).code;
    },
  };
}

/** Send one call and answer every confirmation with `yes`; the events of the whole call. */
async function call(s: ReturnType<typeof server>, id: number, cmdlet: string, params: Record<string, unknown>, yes = true): Promise<{ events: Answer['events']; confirms: Answer['confirm'][] }> {
  s.send({ id, cmdlet, params });
  const events: Answer['events'] = [];
  const confirms: Answer['confirm'][] = [];
  for (;;) {
    const a = await s.next();
    expect(a.id).toBe(id);
    events.push(...a.events);
    if (a.done) return { events, confirms };
    confirms.push(a.confirm);
    s.send({ id, confirm: yes });
  }
}

describe('hvsim serve --stdio', () => {
  it('answers many calls in one process: objects typed for PowerShell, confirmations asked back, warnings and error records', async () => {
    const root = tempRoot();
    const s = server(root);
    let r = await call(s, 1, 'New-VM', { Name: 'web01', MemoryStartupBytes: 512 * 1024 * 1024 });
    expect(r.confirms).toEqual([{ target: 'web01', action: 'New-VM', description: null }]);
    const vm = r.events[0]!.o!;
    expect(vm.t).toEqual(['Microsoft.HyperV.PowerShell.VirtualMachine', 'Microsoft.HyperV.PowerShell.VirtualMachineBase', 'System.Object']);
    expect(vm.p.Name).toBe('web01');
    expect(vm.p.State).toBe('Off');
    expect(vm.k).toMatchObject({ State: 'VMState', OperationalStatus: 'VMOperationalStatus[]', CheckpointType: 'CheckpointType', CreationTime: 'DateTime', Uptime: 'TimeSpan', Id: 'Guid', HardDrives: 'Object[]' });
    expect(Object.keys(vm.p)).not.toContain('MergeCompletionTime'); // hvsim's hidden extras stay hidden
    const drive = (vm.p.HardDrives as Array<{ t: string[]; k: Record<string, string> }>)[0]!;
    expect(drive.t[0]).toBe('Microsoft.HyperV.PowerShell.HardDiskDrive');
    expect(drive.k.ControllerType).toBe('ControllerType');

    // -WhatIf is the client's: answering No changes nothing
    r = await call(s, 2, 'Start-VM', { Name: ['web01'] }, false);
    expect(r.confirms).toHaveLength(1);
    expect(r.events).toEqual([]);
    r = await call(s, 3, 'Get-VM', { Name: ['web01'] });
    expect(r.events[0]!.o!.p.State).toBe('Off');

    // a piped VM object, by identity
    r = await call(s, 4, 'Checkpoint-VM', { VM: [{ $type: vm.t, Name: 'web01', Id: vm.p.Id }], SnapshotName: 'before', Passthru: true });
    expect(r.events.map((e) => e.o?.p.Name)).toEqual(['before']);
    expect(r.events[0]!.o!.k.SnapshotType).toBe('SnapshotType');

    // a missing VM: a non-terminating record per name, Hyper-V's id and category
    r = await call(s, 5, 'Get-VM', { Name: ['nope', 'web01'] });
    expect(r.events[0]!.e).toEqual({
      message: 'Hyper-V was unable to find a virtual machine with name "nope".',
      category: 'InvalidArgument',
      id: 'InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM',
      target: '',
      reason: 'VirtualizationException',
    });
    expect(r.events[1]!.o!.p.Name).toBe('web01');

    // -ComputerName naming another computer
    r = await call(s, 6, 'Get-VM', { ComputerName: ['elsewhere'] });
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.e).toMatchObject({ category: 'ConnectionError', id: 'HyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVM', target: 'elsewhere' });

    // Wait-VM: a guest that cannot answer is an InvalidOperation record (docs/hyperv.md, "Wait-VM")
    r = await call(s, 7, 'Wait-VM', { Name: ['web01'], For: 'IPAddress', Timeout: 5 });
    expect(r.events[0]!.e).toMatchObject({ category: 'InvalidOperation', id: 'InvalidOperation,Microsoft.HyperV.PowerShell.Commands.WaitVM' });
    expect(r.events[0]!.e!.message).toMatch(/timed out waiting for IPAddress/);
    // -CimSession takes CimSession objects (a string cannot be bound, as in PowerShell)
    r = await call(s, 8, 'Get-VM', { CimSession: ['x'] });
    expect(r.events[0]!.e).toMatchObject({ category: 'InvalidArgument', message: 'Cannot bind parameter \'CimSession\'. Cannot convert the "x" value of type "System.String" to type "Microsoft.Management.Infrastructure.CimSession".' });
    // what the simulator does not simulate is said so, as a record
    r = await call(s, 9, 'Set-VM', { Name: ['web01'], GuestControlledCacheTypes: true });
    expect(r.events[0]!.e).toMatchObject({ category: 'NotImplemented', message: 'Set-VM -GuestControlledCacheTypes is not simulated by hvsim.' });

    // told the client would say Yes silently, the server does not ask
    s.send({ id: 95, cmdlet: 'Checkpoint-VM', params: { Name: ['web01'], SnapshotName: 'quiet', Passthru: true }, confirm: true });
    const quiet = await s.next();
    expect(quiet).toMatchObject({ id: 95, done: true });
    expect(quiet.events.map((e) => e.o?.p.Name)).toEqual(['quiet']);

    // Get-VMHost (the real-host driver asks it first): the host's name and the folder of VM folders
    r = await call(s, 96, 'Get-VMHost', {});
    expect(r.events).toEqual([{ o: { t: ['Microsoft.HyperV.PowerShell.VMHost', 'System.Object'], p: { Name: expect.any(String), ComputerName: expect.any(String), VirtualMachinePath: path.join(root, 'vms'), VirtualHardDiskPath: path.join(root, 'vms') }, k: {} } }]);
    r = await call(s, 97, 'Get-VMHost', { ComputerName: ['elsewhere'] });
    expect(r.events[0]!.e).toMatchObject({ category: 'ConnectionError', id: 'HyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVMHost' });

    // the checkpoint alias
    r = await call(s, 10, 'Get-VMCheckpoint', { VMName: ['web01'] });
    expect(r.events.map((e) => e.o?.p.Name)).toEqual(['before', 'quiet']);
    expect(await s.end()).toBe(0);
  });

  it('answers a malformed line with an error record and goes on', async () => {
    const s = server(tempRoot());
    s.sendRaw('this is not JSON');
    let a = await s.next();
    expect(a).toMatchObject({ id: null, done: true });
    expect(a.events[0]!.e).toMatchObject({ id: 'HvsimProtocolError', category: 'InvalidArgument' });
    s.sendRaw('[1,2]');
    expect((await s.next()).events[0]!.e!.message).toBe('hvsim serve: a request must be a JSON object');
    s.send({ id: 'x', cmdlet: 'Get-VM', params: { Name: [{ nested: true }] } });
    a = await s.next();
    expect(a.id).toBe('x');
    expect(a.events[0]!.e!.id).toBe('HvsimProtocolError');
    s.send({ id: 3, cmdlet: 'Format-Disk', params: {} });
    expect((await s.next()).events[0]!.e!.message).toBe('hvsim serve: Format-Disk is not a Hyper-V cmdlet hvsim knows');
    s.send({ id: 4, cmdlet: 'Get-VM', params: { Nmae: 'x' } });
    expect((await s.next()).events[0]!.e).toMatchObject({ category: 'NotImplemented' });
    // a client that goes on without answering a confirmation: No, and its line is served next
    s.send({ id: 'nv', cmdlet: 'New-VM', params: { Name: 'x1' } });
    expect((await s.next()).confirm).toMatchObject({ target: 'x1' });
    s.send({ id: 'g', cmdlet: 'Get-VM', params: {} });
    expect(await s.next()).toEqual({ id: 'nv', events: [], done: true });
    expect(await s.next()).toEqual({ id: 'g', events: [], done: true });
    s.send({ id: 5, ping: true });
    expect(await s.next()).toEqual({ id: 5, events: [], done: true });
    s.send({ id: 6, cmdlet: 'Get-VM', params: {} });
    expect(await s.next()).toEqual({ id: 6, events: [], done: true });
    expect(await s.end()).toBe(0);
  });

  it('takes the state lock per request: the CLI runs between requests and is BUSY while one holds it', async () => {
    const root = tempRoot();
    const s = server(root);
    await call(s, 1, 'New-VM', { Name: 'web01' });
    // between requests the lock is free: another hvsim changes the state, the server sees it
    const cli = runCli(['start-vm', '--name', 'web01'], { env: { ...SIM_ENV, HVSIM_ROOT: root } });
    expect(cli.code).toBe(0);
    let r = await call(s, 2, 'Get-VM', { Name: ['web01'] });
    expect(r.events[0]!.o!.p.State).toBe('Running');

    // a request waiting for its confirmation holds the lock
    s.send({ id: 3, cmdlet: 'Stop-VM', params: { Name: ['web01'] } });
    expect((await s.next()).confirm).toMatchObject({ target: 'web01' });
    const busy = runCli(['get-vm', '--json'], { env: { ...SIM_ENV, HVSIM_ROOT: root, HVSIM_LOCK_TIMEOUT: '300' } });
    expect(busy.code).toBe(4);
    expect(busy.stderr).toMatch(/is in use by another hvsim invocation \(pid \d+\)/);
    s.send({ id: 3, confirm: true });
    expect((await s.next()).done).toBe(true);
    r = await call(s, 4, 'Get-VM', {});
    expect(r.events[0]!.o!.p.State).toBe('Off');
    expect(JSON.parse(runCli(['get-vm', '--json'], { env: { ...SIM_ENV, HVSIM_ROOT: root } }).stdout)[0].State).toBe('Off');
    expect(await s.end()).toBe(0);
  });

  it('New-VHD and Get-VHD (the real-host driver sends them): disks created and read by the engine, Hyper-V\'s names and error ids', async () => {
    const root = tempRoot();
    const s = server(root);
    try {
      const file = path.join(path.dirname(root), 'extra.vhdx');
      let r = await call(s, 1, 'New-VHD', { Path: [file], SizeBytes: 8 * 1024 * 1024, Dynamic: true });
      expect(r.events).toHaveLength(1);
      expect(r.events[0]!.o).toMatchObject({ t: ['Microsoft.Vhd.PowerShell.VirtualHardDisk', 'System.Object'], p: { Path: file, Size: 8 * 1024 * 1024, VhdFormat: 'VHDX', VhdType: 'Dynamic', Attached: false } });
      expect(fs.existsSync(file)).toBe(true);
      r = await call(s, 2, 'New-VHD', { Path: [file], SizeBytes: 8 * 1024 * 1024 });
      expect(r.events[0]!.e).toMatchObject({ id: expect.stringMatching(/,Microsoft\.Vhd\.PowerShell\.Cmdlets\.NewVHD$/), target: file });
      r = await call(s, 3, 'New-VHD', { Path: [file + '.x'], ParentPath: file });
      expect(r.events[0]!.e).toMatchObject({ category: 'NotImplemented', id: 'HvsimNotSimulated,Microsoft.Vhd.PowerShell.Cmdlets.NewVHD' });
      r = await call(s, 4, 'New-VM', { Name: 'web01', NewVHDPath: path.join(root, 'vms', 'web01', 'web01.vhdx'), NewVHDSizeBytes: 4 * 1024 * 1024 });
      const id = String(r.events.find((e) => e.o)!.o!.p.Id);
      r = await call(s, 5, 'Add-VMHardDiskDrive', { VMName: ['web01'], Path: file, Passthru: true });
      expect(r.events[0]!.o!.p).toMatchObject({ Path: file, ControllerLocation: 1 });
      r = await call(s, 6, 'Get-VHD', { VMId: [id] });
      expect(r.events.map((e) => [e.o!.p.Size, e.o!.p.Attached])).toEqual([[4 * 1024 * 1024, true], [8 * 1024 * 1024, true]]);
      r = await call(s, 7, 'Get-VHD', { Path: [file] });
      expect(r.events[0]!.o!.p).toMatchObject({ Path: file, Attached: true });
      r = await call(s, 8, 'Get-VHD', { VMId: ['00000000-0000-0000-0000-000000000001'] });
      expect(r.events[0]!.e).toMatchObject({ category: 'ObjectNotFound', id: 'ObjectNotFound,Microsoft.Vhd.PowerShell.Cmdlets.GetVHD' });
    } finally {
      expect(await s.end()).toBe(0);
    }
  });

  it("Merge-VHD (the interpreter's cmdlet): merges disk files, -Passthru writes the destination; a VM's disk is refused, a missing file ObjectNotFound", async () => {
    const root = tempRoot();
    const dir = path.dirname(root);
    const env = { env: { ...SIM_ENV, HVSIM_ROOT: root } };
    const base = path.join(dir, 'base.vhdx');
    const child = path.join(dir, 'child.avhdx');
    expect(runCli(['new-vhd', base, '--size', '4M'], env).code).toBe(0);
    expect(runCli(['new-vhd', child, '--parent', base], env).code).toBe(0);
    const s = server(root);
    try {
      let r = await call(s, 1, 'Merge-VHD', { Path: child, Passthru: true });
      expect(r.events).toHaveLength(1);
      expect(r.events[0]!.o).toMatchObject({ t: ['Microsoft.Vhd.PowerShell.VirtualHardDisk', 'System.Object'], p: { Path: base, VhdType: 'Dynamic', ParentPath: null, Attached: false } });
      expect(fs.existsSync(child)).toBe(false);
      await call(s, 2, 'New-VM', { Name: 'web01', NewVHDPath: path.join(root, 'vms', 'web01', 'web01.vhdx'), NewVHDSizeBytes: 4 * 1024 * 1024 });
      await call(s, 3, 'Checkpoint-VM', { Name: ['web01'], SnapshotName: 'a' });
      const current = String(JSON.parse(runCli(['get-vm', '--name', 'web01', '--json'], env).stdout)[0].HardDrives[0].Path);
      r = await call(s, 4, 'Merge-VHD', { Path: current });
      expect(r.events[0]!.e).toMatchObject({ category: 'InvalidOperation', id: 'InvalidOperation,Microsoft.Vhd.PowerShell.Cmdlets.MergeVHD' });
      expect(r.events[0]!.e!.message).toMatch(/is the current disk of the virtual machine 'web01' \(Off\).*offline operation/);
      expect(fs.existsSync(current)).toBe(true);
      r = await call(s, 5, 'Merge-VHD', { Path: path.join(dir, 'none.avhdx') });
      expect(r.events[0]!.e).toMatchObject({ category: 'ObjectNotFound', id: 'ObjectNotFound,Microsoft.Vhd.PowerShell.Cmdlets.MergeVHD' });
    } finally {
      expect(await s.end()).toBe(0);
    }
  });

  it('faults kept in the state directory fire once across requests (faults.json), counting the calls they have seen', async () => {
    const root = tempRoot();
    const s = server(root);
    try {
      await call(s, 1, 'New-VM', { Name: 'web01', NewVHDPath: path.join(root, 'vms', 'web01', 'web01.vhdx'), NewVHDSizeBytes: 4 * 1024 * 1024 });
      fs.writeFileSync(path.join(root, 'faults.json'), JSON.stringify(['checkpoint:web*:2']));
      let r = await call(s, 2, 'Checkpoint-VM', { Name: ['web01'], SnapshotName: 'a' });
      expect(r.events.filter((e) => e.e)).toEqual([]);
      expect(JSON.parse(fs.readFileSync(path.join(root, 'faults.json'), 'utf8'))).toEqual(['checkpoint:web*']);
      r = await call(s, 3, 'Checkpoint-VM', { Name: ['web01'], SnapshotName: 'b' });
      expect(r.events[0]!.e!.message).toBe("'web01' failed: injected fault (checkpoint:web*)");
      expect(fs.existsSync(path.join(root, 'faults.json'))).toBe(false);
      r = await call(s, 4, 'Checkpoint-VM', { Name: ['web01'], SnapshotName: 'c' });
      expect(r.events.filter((e) => e.e)).toEqual([]);
    } finally {
      expect(await s.end()).toBe(0);
    }
    fs.writeFileSync(path.join(root, 'faults.json'), '{"not":"a list"}');
    const bad = runCli(['get-vm'], { env: { ...SIM_ENV, HVSIM_ROOT: root } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/faults\.json: not a JSON array of faults/);
  });

  it('refuses to start without --stdio', () => {
    const r = runCli(['serve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('hvsim: serve needs --stdio (JSON lines on standard input and output)\n');
  });
});
