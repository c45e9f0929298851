/**
 * `hvsim demo`: the seed's workflow (test/fixtures/ps-scripts/seed-step1..4.ps1: pause and save a group of related
 * VMs, checkpoint them, start them again, later restore and remove the checkpoints) end to end on
 * a fresh host xHost16 with VMs SSTest1, V-2012R2-Test1 and v-2012R2-TW01, with each step's
 * confirmation tables, guest writes between the steps and a final check that every restored
 * disk holds exactly what it held at the checkpoint. A second part shows why group checkpoints
 * matter (paired-workload.ts). Output goes through a small interface the CLI renders; no console.
 * Imports: simulator, group, paired workload, storage, clock.
 */
import { createHash } from 'node:crypto';
import type { Host, VirtualMachine, VMSnapshot } from '../host/host.js';
import { Simulator, type SimulatorOptions } from './simulator.js';
import { checkpointGroup } from '../host/group.js';
import { PairedWorkload, checkPair, readAt, textBlock } from './paired-workload.js';
import { MemoryStorage } from './storage.js';
import { displayTime } from '../host/clock.js';
import { MiB } from '../vhd/common/bytes.js';

export interface DemoOutput {
  heading(text: string): void;
  /** The PowerShell line this step mirrors. */
  command(text: string): void;
  table(rows: Array<Record<string, unknown>>, columns: string[]): void;
  text(line: string): void;
}

export interface DemoCheck {
  VMName: string;
  Check: string;
  Ok: boolean;
  Detail: string;
}

export interface DemoResult {
  ok: boolean;
  checks: DemoCheck[];
}

export const DEMO_HOST = 'xHost16';
export const DEMO_VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];

/** Hash of a VM's whole disk (or a checkpoint's) as the guest sees it. */
async function diskHash(host: Host, vm: string, snapshot?: string): Promise<string> {
  const size = await host.diskSize(vm);
  const h = createHash('sha256');
  for (let off = 0; off < size; off += 16 * MiB) h.update(await readAt(host, vm, off, Math.min(16 * MiB, size - off), snapshot));
  return h.digest('hex');
}

/** What a guest writes: one 4 KiB block of text. */
function text(s: string): Uint8Array {
  return textBlock(s, 4096);
}

/** A file's name without its folder. */
const fileName = (p: string): string | undefined => p.split('/').pop();

/** A time to the second in the host's zone, then its milliseconds (freeze instants differ by less than a second). */
const instant = (isoTime: string, timeZone: string | undefined): string => `${displayTime(Date.parse(isoTime), timeZone)} +${Date.parse(isoTime) % 1000} ms`;

const vmRows = (vms: VirtualMachine[]): Array<Record<string, unknown>> => vms.map((v) => ({ ...v }));
const snapRows = (snaps: VMSnapshot[]): Array<Record<string, unknown>> => snaps.map((s) => ({ ...s }));

/** The seed's workflow on `sim` (which must not have these VMs yet). */
export async function runSeedDemo(sim: Simulator, out: DemoOutput): Promise<DemoCheck[]> {
  const vms = DEMO_VMS;
  const checks: DemoCheck[] = [];
  out.heading(`0. A fresh host ${sim.computerName} with three running VMs`);
  out.command(`$HVHost = "${sim.computerName}"; $VMs = ${vms.map((v) => `"${v}"`).join(',')}`);
  for (const v of vms) await sim.newVM({ name: v });
  await sim.startVM(vms);
  for (const v of vms) {
    await sim.writeGuest(v, text(`${v}: system files, written before the checkpoint`), 0);
    await sim.writeGuest(v, text(`${v}: application data, version 1`), 8 * MiB);
  }
  out.table(vmRows(await sim.getVM(vms)), ['Name', 'State', 'CPUUsage(%)', 'MemoryAssigned(M)', 'Uptime', 'Status', 'Version']);

  out.heading('1. Pause and save');
  out.command('Stop-VM -Name $VMs -Save');
  await sim.stopVM(vms, { save: true });
  out.command('Get-VM -ComputerName $HVHost -Name $VMs | Select VMName,State,ComputerName | FT -AutoSize');
  out.table(vmRows(await sim.getVM(vms)), ['VMName', 'State', 'ComputerName']);

  out.heading('2. Checkpoint');
  out.command('Checkpoint-VM -ComputerName $HVHost -Name $VMs');
  const snaps = await sim.checkpointVM(vms);
  out.command('Get-VMSnapshot -ComputerName $HVHost -VMName $VMs | Select VMName, Name, ComputerName | FT -AutoSize');
  out.table(snapRows(await sim.getVMSnapshot({ vmNames: vms })), ['VMName', 'Name', 'ComputerName']);
  const atCheckpoint = new Map<string, string>();
  for (const v of vms) atCheckpoint.set(v, await diskHash(sim, v));

  out.heading('3. Restart');
  out.command('Start-VM -ComputerName $HVHost -Name $VMs');
  await sim.startVM(vms);
  out.command('Get-VM -ComputerName $HVHost -Name $VMs | Select VMName, State, ComputerName | FT -AutoSize');
  out.table(vmRows(await sim.getVM(vms)), ['VMName', 'State', 'ComputerName']);
  out.text('The guests keep working: each overwrites its application data and adds a log.');
  for (const v of vms) {
    await sim.writeGuest(v, text(`${v}: application data, version 2 (after the checkpoint)`), 8 * MiB);
    await sim.writeGuest(v, text(`${v}: log written after the checkpoint`), 16 * MiB);
  }
  const files = vms.map((v) => ({ VMName: v, Files: sim.diskFiles(v)[0]!.map((f) => `${fileName(f.path)}${f.readOnly ? ' (read-only)' : ''}`) }));
  out.text('Disk files: each checkpoint froze the .vhdx and writes now go to a new .avhdx beside it.');
  out.table(files, ['VMName', 'Files']);
  for (const v of vms) {
    const now = await diskHash(sim, v);
    const cp = await diskHash(sim, v, snaps.find((s) => s.VMName === v)!.Name);
    checks.push({ VMName: v, Check: 'checkpoint content unchanged by later writes', Ok: cp === atCheckpoint.get(v) && now !== cp, Detail: `checkpoint ${cp.slice(0, 12)}, now ${now.slice(0, 12)}` });
  }

  out.heading('Eventually: restore the group to the checkpoint');
  out.command('Stop-VM -Name $VMs -Save; Get-VMSnapshot -VMName $VMs | Restore-VMSnapshot -Confirm:$false');
  await sim.stopVM(vms, { save: true });
  for (const s of snaps) await sim.restoreVMSnapshot({ vmName: s.VMName, id: s.Id });
  out.command('Get-VM -ComputerName $HVHost -Name $VMs | Select VMName, State, ParentSnapshotName | FT -AutoSize');
  out.table(vmRows(await sim.getVM(vms)), ['VMName', 'State', 'ParentSnapshotName']);
  for (const v of vms) {
    const h = await diskHash(sim, v);
    checks.push({ VMName: v, Check: 'restored disk holds exactly its checkpoint content', Ok: h === atCheckpoint.get(v), Detail: h.slice(0, 12) });
  }
  out.command('Start-VM -ComputerName $HVHost -Name $VMs');
  await sim.startVM(vms);
  for (const v of vms) await sim.writeGuest(v, text(`${v}: application data, version 3 (after the restore)`), 8 * MiB);
  const beforeRemove = new Map<string, string>();
  for (const v of vms) beforeRemove.set(v, await diskHash(sim, v));

  out.heading('4. Remove all checkpoints');
  out.command('Remove-VMSnapshot -ComputerName $HVHost -VMName $VMs -IncludeAllChildSnapshots');
  await sim.removeVMSnapshot({ vmNames: vms }, { includeAllChildSnapshots: true });
  out.command('Get-VMSnapshot -ComputerName $HVHost -VMName $VMs | Select VMName, Name, ComputerName | FT -AutoSize');
  const left = await sim.getVMSnapshot({ vmNames: vms });
  if (left.length === 0) out.text('<no output>');
  else out.table(snapRows(left), ['VMName', 'Name', 'ComputerName']);
  out.table(vms.map((v) => ({ VMName: v, Files: sim.diskFiles(v)[0]!.map((f) => fileName(f.path)) })), ['VMName', 'Files']);
  for (const v of vms) {
    const fl = sim.diskFiles(v)[0]!;
    const h = await diskHash(sim, v);
    checks.push({ VMName: v, Check: 'no checkpoints left', Ok: left.every((s) => s.VMName !== v), Detail: `${left.filter((s) => s.VMName === v).length} left` });
    checks.push({ VMName: v, Check: 'single base .vhdx again', Ok: fl.length === 1 && fl[0]!.path.endsWith(`/${v}.vhdx`) && fl[0]!.parent === null, Detail: fl.map((f) => fileName(f.path)).join(', ') });
    checks.push({ VMName: v, Check: 'merge kept the current content', Ok: h === beforeRemove.get(v), Detail: h.slice(0, 12) });
  }
  return checks;
}

/** Sequential checkpoints of running VMs vs one group checkpoint, with a two-tier workload. */
export async function runConsistencyDemo(sim: Simulator, out: DemoOutput): Promise<DemoCheck[]> {
  const app = 'app01';
  const db = 'db01';
  const checks: DemoCheck[] = [];
  out.heading('Why simultaneous checkpoints matter: an app tier and its database');
  await sim.newVM({ name: app });
  await sim.newVM({ name: db });
  const wl = new PairedWorkload(sim, { app, db, intervalMs: 100 });
  wl.start();
  try {
    await sim.startVM([app, db]);
    await sim.advance(5000);
    out.text(`Both guests commit one order (app01) and its row (db01) every ${wl.intervalMs} ms while both run.`);

    out.command(`Checkpoint-VM -Name ${app},${db} -SnapshotName sequential   # running VMs, one after the other`);
    const seq = await sim.checkpointVM([app, db], { snapshotName: 'sequential' });
    const seqCheck = await checkPair(sim, app, db, { app: 'sequential', db: 'sequential' });
    out.table(seq.map((s) => ({ VMName: s.VMName, Name: s.Name, CheckpointType: s.CheckpointType, CreationTime: instant(s.CreationTime, sim.timeZone) })), ['VMName', 'Name', 'CheckpointType', 'CreationTime']);
    out.table([{ Checkpoints: 'sequential', ...seqCheck }], ['Checkpoints', 'AppRecords', 'DbRecords', 'Consistent', 'Detail']);
    checks.push({ VMName: `${app}+${db}`, Check: 'sequential checkpoints of running VMs disagree', Ok: !seqCheck.Consistent, Detail: seqCheck.Detail });

    await sim.advance(3000);
    out.command(`hvsim checkpoint-group --name ${app},${db} --snapshot-name group   # pause all, save, checkpoint, start`);
    const rep = await checkpointGroup(sim, [app, db], { snapshotName: 'group' });
    out.table(rep.Members.map((m) => ({ ...m, FrozenAt: instant(m.FrozenAt, sim.timeZone) })), ['VMName', 'PriorState', 'FrozenAt', 'SnapshotName', 'State']);
    out.text(`Group ${rep.GroupId}: freeze skew ${rep.SkewMs} ms, ${rep.DurationMs} ms in all.`);
    const grpCheck = await checkPair(sim, app, db, { app: 'group', db: 'group' });
    out.table([{ Checkpoints: 'group', ...grpCheck }], ['Checkpoints', 'AppRecords', 'DbRecords', 'Consistent', 'Detail']);
    checks.push({ VMName: `${app}+${db}`, Check: 'group checkpoint is consistent', Ok: grpCheck.Consistent && grpCheck.AppRecords > 0, Detail: grpCheck.Detail });
  } finally {
    wl.stop();
  }
  return checks;
}

/** Both parts on a fresh in-memory host named xHost16. */
export async function runDemo(out: DemoOutput, opts: SimulatorOptions = {}): Promise<DemoResult> {
  const sim = Simulator.open({ storage: new MemoryStorage(), computerName: DEMO_HOST, ...opts });
  try {
    const checks = [...(await runSeedDemo(sim, out)), ...(await runConsistencyDemo(sim, out))];
    out.heading('Checks');
    out.table(checks.map((c) => ({ ...c, Ok: c.Ok ? 'ok' : 'FAILED' })), ['VMName', 'Check', 'Ok', 'Detail']);
    return { ok: checks.every((c) => c.Ok), checks };
  } finally {
    sim.close();
  }
}
