/**
 * Simulator commands mirroring the Hyper-V cmdlets (new-vm … remove-vmsnapshot, guest I/O, group
 * checkpoints, demo). Thin: parse, open the host kept in the state directory (--root, HVSIM_ROOT,
 * default ./.hvsim; locked for the whole invocation), call, print. Lists are comma-separated;
 * `--json` prints Hyper-V's property names (lists as arrays, [] when empty); otherwise tables
 * like Format-Table. Warnings go to stderr as "WARNING: …".
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { ioBuffer, MiB } from '../../vhd/common/bytes.js';
import { HvsimError } from '../../errors.js';
import { CHECKPOINT_TYPES, type CheckpointType, type Host, type VirtualMachine, type VMSnapshot } from '../../host/host.js';
import { checkpointGroup, getGroups, removeGroup, restoreGroup, type GroupSelector } from '../../host/group.js';
import { hostMethod } from '../../host/messages.js';
import { Simulator } from '../../sim/simulator.js';
import { SNAPSHOT_VIEW, VM_VIEW, hostTime, inMiB } from '../../powershell/views.js';
import { parseList, parseOffset, parseSize } from '../options.js';
import { tableOfRows, out, toJson, type Row } from '../output.js';
import { openInput, openOutput, type Input } from '../stream.js';
import { withHost, type Globals, type HostPlace } from '../sim-host.js';
import { parseHostSpec } from '../../hyperv/host-spec.js';

const VM_COLUMNS = VM_VIEW.columns.map((c) => c.label);


function parseBool(v: string): boolean {
  if (/^(true|\$true|1)$/i.test(v)) return true;
  if (/^(false|\$false|0)$/i.test(v)) return false;
  throw new InvalidArgumentError('expected true or false');
}
const SNAPSHOT_COLUMNS = SNAPSHOT_VIEW.columns.map((c) => c.label);
/** Columns shown under another heading (CPUUsage(%), MemoryAssigned(M)), and how. */
const RELABELLED = VM_VIEW.columns.filter((c) => c.label !== c.property);

/** Table cells as PowerShell shows them (powershell/views.ts): memory in MiB, times in the host's locale. */
function displayRow(r: Row): Row {
  const d: Row = { ...r };
  for (const c of RELABELLED) if (typeof r[c.property] === 'number') d[c.label] = c.shown ? c.shown(r[c.property]) : r[c.property];
  if (typeof r.MemoryStartup === 'number') d['MemoryStartup(M)'] = inMiB(r.MemoryStartup);
  for (const k of ['CreationTime', 'FrozenAt', 'StartTime', 'EndTime']) if (k in r) d[k] = hostTime(r[k]);
  if (Array.isArray(r.HardDrives)) d.HardDrives = (r.HardDrives as Array<{ Path?: string }>).map((h) => h.Path ?? h);
  return d;
}

/** --property: the chosen columns, with each name spelled as the objects spell it. */
function pickColumns(requested: string[] | undefined, defaults: string[], sample: Row | undefined): string[] {
  if (!requested) return defaults;
  const known = sample ? Object.keys(displayRow(sample)) : defaults;
  return requested.map((p) => known.find((k) => k.toLowerCase() === p.toLowerCase()) ?? p);
}

function print(rows: Row[], o: { json?: boolean; property?: string[] }, defaults: string[]): void {
  if (o.json) {
    if (!o.property) return out(toJson(rows));
    const cols = pickColumns(o.property, defaults, rows[0]);
    return out(toJson(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])))));
  }
  if (rows.length === 0) return;
  out(tableOfRows(rows.map(displayRow), pickColumns(o.property, defaults, rows[0])));
}

/** Output of a state-changing command: nothing, unless --passthru or --json. */
function passthru(rows: Row[], o: { json?: boolean; passthru?: boolean }, defaults: string[]): void {
  if (o.json || o.passthru) print(rows, o, defaults);
}

const asRows = (x: Array<VirtualMachine | VMSnapshot | object>): Row[] => x as unknown as Row[];

function parseCheckpointType(v: string): CheckpointType {
  const t = CHECKPOINT_TYPES.find((c) => c.toLowerCase() === v.toLowerCase());
  if (!t) throw new InvalidArgumentError(`use one of ${CHECKPOINT_TYPES.join(', ')}`);
  return t;
}

function parseIndex(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('use a disk number: 0, 1, …');
  return n;
}

/** The host a command acts on, then the farm's other hosts (group commands take HOST:VM names). */
function farmHosts(h: Host, place: HostPlace): Host[] {
  const others = (place.farm?.hosts() ?? []).filter((n) => n.toLowerCase() !== h.computerName.toLowerCase());
  return [h, ...others.flatMap((n) => place.farm?.host(n) ?? [])];
}

/** Checkpoints of each VM drawn as a tree with the "Now" position, like Hyper-V Manager. */
function renderTree(vms: VirtualMachine[], snaps: VMSnapshot[]): string {
  const lines: string[] = [];
  for (const vm of vms) {
    lines.push(vm.Name);
    const mine = snaps.filter((s) => s.VMId === vm.Id);
    const kids = (id: string | null): Array<{ label: string; id: string | null }> => [
      ...mine.filter((s) => s.ParentSnapshotId === id).map((s) => ({ label: s.Name, id: s.Id as string | null })),
      ...(vm.ParentSnapshotId === id ? [{ label: 'Now', id: '\u0000now' }] : []),
    ];
    const walk = (id: string | null, prefix: string): void => {
      const list = kids(id);
      list.forEach((k, i) => {
        const last = i === list.length - 1;
        lines.push(`${prefix}${last ? '└─ ' : '├─ '}${k.label}`);
        if (k.id !== '\u0000now') walk(k.id, prefix + (last ? '   ' : '│  '));
      });
    };
    walk(null, '');
  }
  return lines.join('\n') + '\n';
}

export function registerVmCommands(program: Command): void {
  const list = (flags: string, desc: string): Option => new Option(flags, desc).argParser(parseList);
  const jsonOpt = (): Option => new Option('--json', "print objects as JSON with Hyper-V's property names");
  const passOpt = (): Option => new Option('--passthru', 'print the objects acted on');

  program
    .command('new-vm')
    .description('create a VM with a new dynamic VHDX (default 64 MiB) or an existing disk (New-VM)')
    .requiredOption('--name <name>', 'VM name')
    .option('--memory <size>', 'startup memory (default 1G)', parseSize)
    .option('--disk-size <size>', 'size of the new disk (default 64M)', parseSize)
    .option('--vhd-path <file>', 'attach this existing disk instead (e.g. one written by export-vmsnapshot)')
    .option('--checkpoint-type <type>', `${CHECKPOINT_TYPES.join('|')} (default Production)`, parseCheckpointType)
    .option('--notes <text>', 'notes')
    .addOption(list('--disable-integration-service <names>', "integration services to turn off, comma-separated (e.g. VSS, alias 'Backup (volume shadow copy)': production checkpoints then fall back to standard)"))
    .addOption(jsonOpt())
    .action(async (o: { name: string; memory?: number; diskSize?: number; vhdPath?: string; checkpointType?: CheckpointType; notes?: string; disableIntegrationService?: string[]; json?: boolean }, cmd: Command) => {
      if (o.diskSize !== undefined && o.vhdPath !== undefined) throw new HvsimError('INVALID_ARGUMENT', 'new-vm: use --disk-size or --vhd-path, not both');
      const vm = await withHost(cmd, (h) =>
        h.newVM({
          name: o.name,
          ...(o.memory !== undefined ? { memory: o.memory } : {}),
          ...(o.diskSize !== undefined ? { diskSize: o.diskSize } : {}),
          ...(o.vhdPath !== undefined ? { vhdPath: o.vhdPath } : {}),
          ...(o.checkpointType !== undefined ? { checkpointType: o.checkpointType } : {}),
          ...(o.notes !== undefined ? { notes: o.notes } : {}),
          ...(o.disableIntegrationService !== undefined ? { disabledIntegrationServices: o.disableIntegrationService } : {}),
        }),
        // New-VM on a host the state does not have yet adds it (docs/simulator.md, "Several hosts").
        { addHost: true },
      );
      print(asRows([vm]), o, VM_COLUMNS);
    });

  program
    .command('set-vm')
    .description('change VM settings (Set-VM)')
    .addOption(list('--name <list>', 'VM names').makeOptionMandatory())
    .option('--checkpoint-type <type>', CHECKPOINT_TYPES.join('|'), parseCheckpointType)
    .option('--notes <text>', 'notes')
    .option('--memory <size>', 'startup memory (VM must be Off)', parseSize)
    .option('--snapshot-file-location <dir>', "where new checkpoints' configuration and state files go")
    .option('--smart-paging-file-path <dir>', 'the smart paging folder (kept as a setting)')
    .option('--automatic-checkpoints-enabled <bool>', 'true|false: start-vm of an Off VM takes a checkpoint first', parseBool)
    .addOption(passOpt())
    .addOption(jsonOpt())
    .action(async (o: { name: string[]; checkpointType?: CheckpointType; notes?: string; memory?: number; snapshotFileLocation?: string; smartPagingFilePath?: string; automaticCheckpointsEnabled?: boolean; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const vms = await withHost(cmd, (h) =>
        h.setVM(o.name, {
          ...(o.checkpointType !== undefined ? { checkpointType: o.checkpointType } : {}),
          ...(o.notes !== undefined ? { notes: o.notes } : {}),
          ...(o.memory !== undefined ? { memory: o.memory } : {}),
          ...(o.snapshotFileLocation !== undefined ? { snapshotFileLocation: o.snapshotFileLocation } : {}),
          ...(o.smartPagingFilePath !== undefined ? { smartPagingFilePath: o.smartPagingFilePath } : {}),
          ...(o.automaticCheckpointsEnabled !== undefined ? { automaticCheckpointsEnabled: o.automaticCheckpointsEnabled } : {}),
        }),
      );
      passthru(asRows(vms), o, VM_COLUMNS);
    });

  program
    .command('get-vm')
    .description('list VMs (Get-VM); wildcards allowed')
    .addOption(list('--name <list>', 'VM names (default: all)'))
    .addOption(list('--property <list>', 'columns to show, like Select-Object (e.g. VMName,State,ComputerName)'))
    .addOption(jsonOpt())
    .action(async (o: { name?: string[]; property?: string[]; json?: boolean }, cmd: Command) => {
      const { vms, several } = await withHost(cmd, async (h, place) => ({ vms: await h.getVM(o.name), several: (place.farm?.hosts().length ?? 1) > 1 }));
      // With several simulated hosts, which one is shown (docs/simulator.md, "Several hosts").
      print(asRows(vms), o, several ? ['ComputerName', ...VM_COLUMNS] : VM_COLUMNS);
    });

  program
    .command('hosts')
    .description('list the simulated hosts of the state (new-vm --computer-name NAME adds one); the first is the one commands act on without --computer-name')
    .addOption(jsonOpt())
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const rows = await withHost(cmd, async (h, place) => {
        const farm = place.farm ?? { hosts: () => [h.computerName], host: () => h };
        const list: Row[] = [];
        for (const name of farm.hosts()) {
          const vms = await (farm.host(name) ?? h).getVM();
          list.push({ ComputerName: name, VMs: vms.length, Running: vms.filter((v) => v.State === 'Running').length, VMNames: vms.map((v) => v.Name) });
        }
        return list;
      });
      print(rows, o, ['ComputerName', 'VMs', 'Running', 'VMNames']);
    });

  const power = (name: string, desc: string, run: (h: Host, names: string[], o: Record<string, unknown>) => Promise<VirtualMachine[]>, extra?: (c: Command) => Command): void => {
    let c = program.command(name).description(desc).addOption(list('--name <list>', 'VM names').makeOptionMandatory());
    if (extra) c = extra(c);
    c.addOption(passOpt())
      .addOption(jsonOpt())
      .action(async (o: Record<string, unknown> & { name: string[]; json?: boolean; passthru?: boolean }, cmd: Command) => {
        const vms = await withHost(cmd, (h) => run(h, o.name, o));
        passthru(asRows(vms), o, VM_COLUMNS);
      });
  };
  power('start-vm', 'start VMs (Start-VM): Off → Running, Saved → Running', (h, n) => h.startVM(n));
  power(
    'stop-vm',
    'shut down VMs (Stop-VM); --save saves them, --turn-off pulls the power',
    (h, n, o) => h.stopVM(n, { save: o.save === true, turnOff: o.turnOff === true }),
    (c) => c.option('--save', 'save the VM state (Stop-VM -Save)').option('--turn-off', 'turn off (Stop-VM -TurnOff)').option('--force', 'accepted for compatibility'),
  );
  power('suspend-vm', 'pause VMs (Suspend-VM)', (h, n) => h.suspendVM(n));
  power('resume-vm', 'resume paused VMs (Resume-VM)', (h, n) => h.resumeVM(n));
  power('save-vm', 'save VMs (Save-VM)', (h, n) => h.saveVM(n));
  power('wait-vm', 'wait until background merges of the VMs have finished (simulated time passes)', (h, n) => h.waitVM(n));

  program
    .command('checkpoint-vm')
    .description("checkpoint VMs (Checkpoint-VM), of the type set by each VM's CheckpointType")
    .addOption(list('--name <list>', 'VM names').makeOptionMandatory())
    .option('--snapshot-name <name>', 'checkpoint name (default: "VM - (M/D/YYYY - h:mm:ss AM)")')
    .addOption(passOpt())
    .addOption(jsonOpt())
    .action(async (o: { name: string[]; snapshotName?: string; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const snaps = await withHost(cmd, (h) => h.checkpointVM(o.name, o.snapshotName !== undefined ? { snapshotName: o.snapshotName } : {}));
      passthru(asRows(snaps), o, SNAPSHOT_COLUMNS);
    });

  program
    .command('get-vmsnapshot')
    .description("list VMs' checkpoints (Get-VMSnapshot)")
    .addOption(list('--vm-name <list>', 'VM names').makeOptionMandatory())
    .option('--name <name>', 'checkpoint name (wildcards allowed)')
    .option('--id <guid>', 'checkpoint Id')
    .option('--child-of <name>', 'immediate children of this checkpoint')
    .option('--parent-of <name>', 'the parent of this checkpoint (or of the VM, given its name)')
    .option('--group-id <guid>', 'checkpoints of this group')
    .option('--tree', 'draw the checkpoint tree with the Now position')
    .addOption(list('--property <list>', 'columns to show'))
    .addOption(jsonOpt())
    .action(async (o: { vmName: string[]; name?: string; id?: string; childOf?: string; parentOf?: string; groupId?: string; tree?: boolean; property?: string[]; json?: boolean }, cmd: Command) => {
      await withHost(cmd, async (h) => {
        const snaps = await h.getVMSnapshot({
          vmNames: o.vmName,
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.id !== undefined ? { id: o.id } : {}),
          ...(o.childOf !== undefined ? { childOf: o.childOf } : {}),
          ...(o.parentOf !== undefined ? { parentOf: o.parentOf } : {}),
          ...(o.groupId !== undefined ? { groupId: o.groupId } : {}),
        });
        if (o.tree && !o.json) out(renderTree(await h.getVM(o.vmName), snaps));
        else print(asRows(snaps), o, SNAPSHOT_COLUMNS);
      });
    });

  program
    .command('restore-vmsnapshot')
    .description('apply a checkpoint (Restore-VMSnapshot): the current state is discarded; the VM ends Saved (standard) or Off (production)')
    .requiredOption('--vm-name <name>', 'VM name')
    .requiredOption('--name <name>', 'checkpoint name or Id')
    .addOption(passOpt())
    .addOption(jsonOpt())
    .action(async (o: { vmName: string; name: string; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const s = await withHost(cmd, (h) => h.restoreVMSnapshot({ vmName: o.vmName, name: o.name }));
      passthru(asRows([s]), o, SNAPSHOT_COLUMNS);
    });

  program
    .command('remove-vmsnapshot')
    .description("delete checkpoints (Remove-VMSnapshot); all of each VM's without --name; disks merge in the background")
    .addOption(list('--vm-name <list>', 'VM names').makeOptionMandatory())
    .option('--name <name>', 'checkpoint name (wildcards allowed) or Id')
    .option('--include-all-child-snapshots', 'remove the whole subtree ("Delete Checkpoint Subtree")')
    .option('--no-wait', 'return while the merge runs (the VM shows MergingDisks; see wait-vm)')
    .addOption(passOpt())
    .addOption(jsonOpt())
    .action(async (o: { vmName: string[]; name?: string; includeAllChildSnapshots?: boolean; wait: boolean; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const id = o.name !== undefined && /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(o.name) ? o.name : undefined;
      const removed = await withHost(cmd, (h) =>
        h.removeVMSnapshot(
          { vmNames: o.vmName, ...(id !== undefined ? { id } : o.name !== undefined ? { name: o.name } : {}) },
          { includeAllChildSnapshots: o.includeAllChildSnapshots === true, wait: o.wait },
        ),
      );
      passthru(asRows(removed), o, SNAPSHOT_COLUMNS);
    });

  program
    .command('rename-vmsnapshot')
    .description('rename a checkpoint (Rename-VMSnapshot)')
    .requiredOption('--vm-name <name>', 'VM name')
    .requiredOption('--name <name>', 'checkpoint name or Id')
    .requiredOption('--new-name <name>', 'new name (1 to 100 characters)')
    .addOption(passOpt())
    .addOption(jsonOpt())
    .action(async (o: { vmName: string; name: string; newName: string; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const s = await withHost(cmd, (h) => h.renameVMSnapshot({ vmName: o.vmName, name: o.name }, o.newName));
      passthru(asRows([s]), o, SNAPSHOT_COLUMNS);
    });

  program
    .command('export-vmsnapshot')
    .description('write a checkpoint as standalone disks under DIR/<VM>/Virtual Hard Disks (Export-VMSnapshot); attach with new-vm --vhd-path')
    .requiredOption('--vm-name <name>', 'VM name')
    .requiredOption('--name <name>', 'checkpoint name or Id')
    .requiredOption('--path <dir>', 'destination folder')
    .addOption(jsonOpt())
    .action(async (o: { vmName: string; name: string; path: string; json?: boolean }, cmd: Command) => {
      const r = await withHost(cmd, (h) => h.exportVMSnapshot({ vmName: o.vmName, name: o.name }, o.path));
      if (o.json) out(toJson([r]));
      else out(tableOfRows([{ ...r, HardDrives: r.HardDrives }], ['VMName', 'SnapshotName', 'HardDrives']));
    });

  program
    .command('export-vm')
    .description("write a VM's current state in Hyper-V's export layout under DIR/<VM> (Export-VM); import with import-vm")
    .addOption(list('--name <list>', 'VM names').makeOptionMandatory())
    .requiredOption('--path <dir>', 'destination folder')
    .addOption(jsonOpt())
    .action(async (o: { name: string[]; path: string; json?: boolean }, cmd: Command) => {
      const rs = await withHost(cmd, async (h) => {
        const exportVM = hostMethod(h.exportVM, 'Export-VM').bind(h);
        const done = [];
        for (const n of o.name) done.push(await exportVM(n, o.path));
        return done;
      });
      if (o.json) out(toJson(rs));
      else out(tableOfRows(rs.map((r) => ({ ...r })), ['VMName', 'Path', 'HardDrives']));
    });

  program
    .command('import-vm')
    .description("register an export (the path of its Virtual Machines\\<VMId>.vmcx) in place, or copy it (Import-VM)")
    .requiredOption('--path <file>', "the export's .vmcx file")
    .option('--copy', 'copy the files instead of registering them in place')
    .option('--generate-new-id', 'give the VM a new Id (with --copy), to import the same export again')
    .option('--vhd-destination-path <dir>', 'with --copy: where the disks go')
    .option('--virtual-machine-path <dir>', "with --copy: where the VM's folder is made")
    .option('--snapshot-file-path <dir>', "with --copy: the VM's SnapshotFileLocation")
    .option('--name <name>', "hvsim: the imported VM's name (VM names are unique on a simulated host)")
    .addOption(jsonOpt())
    .action(async (o: { path: string; copy?: boolean; generateNewId?: boolean; vhdDestinationPath?: string; virtualMachinePath?: string; snapshotFilePath?: string; name?: string; json?: boolean }, cmd: Command) => {
      const vm = await withHost(cmd, (h) =>
        hostMethod(h.importVM, 'Import-VM').call(h, o.path, {
          ...(o.copy ? { copy: true } : {}),
          ...(o.generateNewId ? { generateNewId: true } : {}),
          ...(o.vhdDestinationPath !== undefined ? { vhdDestinationPath: o.vhdDestinationPath } : {}),
          ...(o.virtualMachinePath !== undefined ? { virtualMachinePath: o.virtualMachinePath } : {}),
          ...(o.snapshotFilePath !== undefined ? { snapshotFilePath: o.snapshotFilePath } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
        }),
      );
      print(asRows([vm]), o, VM_COLUMNS);
    });

  program
    .command('remove-vm')
    .description('unregister VMs (Remove-VM); their disk files stay')
    .addOption(list('--name <list>', 'VM names').makeOptionMandatory())
    .addOption(passOpt())
    .addOption(jsonOpt())
    .action(async (o: { name: string[]; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const vms = await withHost(cmd, (h) => hostMethod(h.removeVM, 'Remove-VM').call(h, o.name));
      passthru(asRows(vms), o, VM_COLUMNS);
    });

  program
    .command('get-vmharddiskdrive')
    .description("a VM's (or a checkpoint's) disks (Get-VMHardDiskDrive)")
    .requiredOption('--vm-name <name>', 'VM name')
    .option('--snapshot <name>', 'the disks a checkpoint recorded')
    .addOption(jsonOpt())
    .action(async (o: { vmName: string; snapshot?: string; json?: boolean }, cmd: Command) => {
      const d = await withHost(cmd, (h) => h.getVMHardDiskDrive(o.vmName, o.snapshot));
      print(asRows(d), o, ['VMName', 'ControllerType', 'ControllerNumber', 'ControllerLocation', 'Path']);
    });

  program
    .command('add-vmharddiskdrive')
    .description('attach another disk, new (--size) or existing (--path), to a VM without checkpoints (Add-VMHardDiskDrive)')
    .requiredOption('--vm-name <name>', 'VM name')
    .option('--path <file>', 'existing disk')
    .option('--size <size>', 'size of a new dynamic VHDX (default 64M)', parseSize)
    .addOption(jsonOpt())
    .action(async (o: { vmName: string; path?: string; size?: number; json?: boolean }, cmd: Command) => {
      const d = await withHost(cmd, (h) => h.addVMHardDiskDrive(o.vmName, { ...(o.path !== undefined ? { path: o.path } : {}), ...(o.size !== undefined ? { size: o.size } : {}) }));
      print(asRows([d]), o, ['VMName', 'ControllerType', 'ControllerNumber', 'ControllerLocation', 'Path']);
    });

  program
    .command('write-vm')
    .description('the guest of a running VM writes its disk (from --input FILE, --text, or stdin), streamed in 16 MiB chunks')
    .addHelpText(
      'after',
      "\nA file's range is checked against the disk before anything is written. stdin's size is not known: stdin that\n" +
        'runs past the end of the disk fails before the 16 MiB chunk that would overflow, and the chunks before it stay\n' +
        'written (the error says how many bytes, from --offset).\n',
    )
    .requiredOption('--name <name>', 'VM name')
    .requiredOption('--offset <n>', 'byte offset on the virtual disk', parseOffset)
    .option('--input <file>', 'data to write')
    .option('--text <text>', 'write this text (UTF-8)')
    .option('--disk <n>', 'disk number (default 0)', parseIndex, 0)
    .action(async (o: { name: string; offset: number; input?: string; text?: string; disk: number }, cmd: Command) => {
      if (o.input !== undefined && o.text !== undefined) throw new HvsimError('INVALID_ARGUMENT', 'write-vm: use --input or --text, not both');
      await withHost(cmd, async (h) => {
        if (o.text !== undefined) return h.writeGuest(o.name, new TextEncoder().encode(o.text), o.offset, o.disk);
        const size = await h.diskSize(o.name, o.disk);
        const input = openInput(o.input);
        try {
          if (input.size !== undefined && o.offset + input.size > size) throw pastTheEnd('Write-VM', input.size, o.offset, size, o);
          await writeGuestStream(h, o, input, size);
        } finally {
          input.close();
        }
      });
    });

  program
    .command('read-vm')
    .description("read a VM's disk as its guest sees it, or a checkpoint's content (--snapshot) without restoring it; streamed in 16 MiB chunks")
    .requiredOption('--name <name>', 'VM name')
    .option('--snapshot <name>', 'checkpoint name or Id')
    .option('--offset <n>', 'first byte', parseOffset, 0)
    .option('--length <n>', 'bytes (default: to the end of the disk)', parseOffset)
    .option('--output <file>', 'write here instead of stdout (whole or not at all: a failed read leaves no file, or the old one)')
    .option('--disk <n>', 'disk number (default 0)', parseIndex, 0)
    .action(async (o: { name: string; snapshot?: string; offset: number; length?: number; output?: string; disk: number }, cmd: Command) => {
      await withHost(cmd, async (h) => {
        const size = await h.diskSize(o.name, o.disk);
        if (o.offset > size) throw new HvsimError('INVALID_ARGUMENT', `Read-VM: offset ${o.offset} is past the end of the ${size}-byte disk ${o.disk} of '${o.name}'`);
        const length = o.length ?? size - o.offset;
        if (o.offset + length > size) throw pastTheEnd('Read-VM', length, o.offset, size, o);
        await readGuestStream(h, o, length);
      });
    });

  program
    .command('checkpoint-group')
    .description('checkpoint related VMs at one instant: pause all, save, checkpoint each (one group id), return each to its prior state; all or nothing')
    .addOption(list('--name <list>', 'VM names; HOST:VM for a VM on another simulated host (e.g. web01,HV02:db01)').makeOptionMandatory())
    .option('--snapshot-name <name>', 'checkpoint name (default: each VM\'s default name)')
    .addOption(new Option('--mode <mode>', 'save (default) or pause (no saved state)').choices(['save', 'pause']).default('save'))
    .addOption(jsonOpt())
    .action(async (o: { name: string[]; snapshotName?: string; mode: 'save' | 'pause'; json?: boolean }, cmd: Command) => {
      const r = await withHost(cmd, (h, place) => checkpointGroup(farmHosts(h, place), o.name, { mode: o.mode, ...(o.snapshotName !== undefined ? { snapshotName: o.snapshotName } : {}) }));
      if (o.json) return out(toJson(r));
      const several = (r.Hosts?.length ?? 1) > 1;
      out(tableOfRows(r.Members.map((m) => displayRow({ ...m, FrozenAt: m.FrozenAt })), [...(several ? ['ComputerName'] : []), 'VMName', 'PriorState', 'FrozenAt', 'SnapshotName', 'State']));
      out(`GroupId ${r.GroupId}: freeze skew ${r.SkewMs} ms; ${r.DurationMs} ms in all\n`);
      if (several) for (const x of r.Hosts!) out(`  ${x.ComputerName}: freeze skew ${x.SkewMs} ms (${x.VMNames.join(', ')})\n`);
    });

  const groupSel = (c: Command): Command =>
    c
      .option('--group-id <guid>', 'the group')
      .option('--snapshot-name <name>', "the group's checkpoint name")
      .addOption(list('--name <list>', 'VM names, HOST:VM on another host (must be exactly the group)'));
  const selector = (o: { groupId?: string; snapshotName?: string; name?: string[] }): GroupSelector => ({
    ...(o.groupId !== undefined ? { groupId: o.groupId } : {}),
    ...(o.snapshotName !== undefined ? { snapshotName: o.snapshotName } : {}),
    ...(o.name !== undefined ? { vmNames: o.name } : {}),
  });

  groupSel(program.command('restore-group').description("restore every VM of a group checkpoint, all or nothing (each ends in its checkpoint's state)"))
    .addOption(jsonOpt())
    .action(async (o: { groupId?: string; snapshotName?: string; name?: string[]; json?: boolean }, cmd: Command) => {
      const r = await withHost(cmd, (h, place) => restoreGroup(farmHosts(h, place), selector(o)));
      if (o.json) return out(toJson(r));
      out(tableOfRows(r.Members, [...(new Set(r.Members.map((m) => m.ComputerName)).size > 1 ? ['ComputerName'] : []), 'VMName', 'PriorState', 'State', 'SnapshotId']));
    });

  groupSel(program.command('remove-group').description("remove exactly a group's checkpoints"))
    .option('--include-all-child-snapshots', 'with their subtrees')
    .option('--no-wait', 'return while the merges run')
    .addOption(jsonOpt())
    .action(async (o: { groupId?: string; snapshotName?: string; name?: string[]; includeAllChildSnapshots?: boolean; wait: boolean; json?: boolean }, cmd: Command) => {
      const r = await withHost(cmd, (h, place) => removeGroup(farmHosts(h, place), selector(o), { includeAllChildSnapshots: o.includeAllChildSnapshots === true, wait: o.wait }));
      if (o.json) return out(toJson(r));
      out(tableOfRows(r.Removed, [...(new Set(r.Removed.map((m) => m.ComputerName)).size > 1 ? ['ComputerName'] : []), 'VMName', 'Name', 'SnapshotId']));
    });

  program
    .command('get-group')
    .description('list group checkpoints')
    .addOption(list('--name <list>', 'VM names (default: all)'))
    .addOption(jsonOpt())
    .action(async (o: { name?: string[]; json?: boolean }, cmd: Command) => {
      const groups = await withHost(cmd, (h, place) => getGroups(farmHosts(h, place), o.name ?? ['*']));
      if (o.json) return out(toJson(groups));
      if (groups.length) out(tableOfRows(groups.map((g) => displayRow({ ...g })), ['GroupId', 'SnapshotName', 'CreationTime', 'VMNames', 'Missing']));
    });

  program
    .command('demo')
    .description("run the seed's workflow end to end on a fresh in-memory host xHost16, then show why group checkpoints matter")
    .action(async (_o: object, cmd: Command) => {
      if (parseHostSpec((cmd.optsWithGlobals() as Globals).host).kind !== 'sim') throw new HvsimError('INVALID_ARGUMENT', 'demo runs on a fresh in-memory simulated host only; drop --host');
      // Loaded when it runs: it needs node:crypto, which costs every other command's start-up.
      const { runDemo } = await import('../../sim/demo.js');
      const r = await runDemo({
        heading: (t) => out(`\n== ${t}\n`),
        command: (t) => out(`PS> ${t}\n`),
        table: (rows, cols) => out(rows.length ? '\n' + tableOfRows(rows.map(displayRow), cols) + '\n' : ''),
        text: (t) => out(`${t}\n`),
      });
      out(r.ok ? '\nAll checks passed.\n' : '\nSOME CHECKS FAILED.\n');
      if (!r.ok) process.exitCode = 1;
    });

  program
    .command('remove-orphans')
    .description("delete the files in the VMs' disk folders that are named like checkpoint disks but that no VM or checkpoint uses (every command lists them as a warning); --what-if only lists them")
    .option('--what-if', 'list what would be deleted, delete nothing')
    .action(async (o: { whatIf?: boolean }, cmd: Command) => {
      const removed = await withHost(cmd, (h) => {
        if (!(h instanceof Simulator)) throw new HvsimError('INVALID_ARGUMENT', 'remove-orphans: only for the simulator\'s state directory; drop --host');
        return h.removeOrphans({ whatIf: o.whatIf === true });
      });
      // -WhatIf's wording (docs/powershell.md).
      for (const f of removed) out(o.whatIf ? `What if: Performing the operation "Remove File" on target "${f}".\n` : `Removed ${f}\n`);
      if (removed.length === 0) out('no orphaned files\n');
    });
}

/** Guest I/O goes through the host a chunk at a time (the simulator reopens the chain per call). */
const GUEST_CHUNK = 16 * MiB;

/** The simulator answers at once: let a signal's handler run between chunks (interrupt.ts). */
function betweenChunks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The error the host gives for a guest range past the end of the disk, given before any I/O. */
function pastTheEnd(cmdlet: string, length: number, offset: number, size: number, o: { name: string; disk: number }): HvsimError {
  return new HvsimError('INVALID_ARGUMENT', `${cmdlet}: ${length} bytes at offset ${offset} run past the end of the ${size}-byte disk ${o.disk} of '${o.name}'`);
}

/**
 * write-vm: `input` into the guest's disk from `o.offset`, a chunk per host call. Empty input still
 * makes one (empty) call, so that the host's rules (a running VM, the offset) apply.
 */
async function writeGuestStream(h: Host, o: { name: string; offset: number; disk: number }, input: Input, size: number): Promise<void> {
  const buf = ioBuffer(Math.min(GUEST_CHUNK, input.size ?? GUEST_CHUNK));
  let pos = o.offset;
  for (let first = true; ; first = false) {
    const n = input.read(buf);
    if (n === 0 && !first) return;
    if (pos + n > size) {
      const written = pos - o.offset;
      throw new HvsimError('INVALID_ARGUMENT', `Write-VM: the input runs past the end of the ${size}-byte disk ${o.disk} of '${o.name}': ${written} bytes at offset ${o.offset} were written, nothing after them`);
    }
    await h.writeGuest(o.name, buf.subarray(0, n), pos, o.disk);
    pos += n;
    if (n < buf.length) return;
    await betweenChunks();
  }
}

/**
 * read-vm: `length` bytes from `o.offset` to `o.output` or stdout, a chunk per host call. The
 * first chunk is read before the output is opened, so that an unknown VM, checkpoint or disk
 * creates no file; a failure later removes what was written.
 */
async function readGuestStream(h: Host, o: { name: string; snapshot?: string; offset: number; output?: string; disk: number }, length: number): Promise<void> {
  const opts = { drive: o.disk, ...(o.snapshot !== undefined ? { snapshot: o.snapshot } : {}) };
  const read = (done: number): Promise<Uint8Array> => h.readGuest(o.name, o.offset + done, Math.min(GUEST_CHUNK, length - done), opts);
  let part = await read(0);
  const sink = openOutput(o.output);
  try {
    for (let done = 0; ; ) {
      sink.write(part);
      done += part.length;
      if (done >= length) break;
      await betweenChunks();
      part = await read(done);
    }
    sink.finish();
  } catch (e) {
    sink.discard();
    throw e;
  }
}
