/**
 * The page's views and actions computed from a simulated host (docs/ui.md). Used by the web
 * server (server.ts, over the state directory) and by the static build (page/local-backend.ts,
 * in the browser over an in-memory store), so it touches no file system of its own: files are
 * reached through the simulator's DiskStore.
 */
import { HvsimError } from '../errors.js';
import type { Host, SnapshotRef, VMSnapshot } from '../host/host.js';
import { checkpointGroup, type GroupCheckpointReport } from '../host/group.js';
import { analyzeChain } from '../engine/analyze.js';
import { openLayer } from '../engine/chain.js';
import type { Simulator } from '../sim/simulator.js';
import { openChain, ownedFiles, planCleanup, removedBy } from '../sim/disk-tree.js';
import type { VmRecord } from '../sim/state.js';
import type { SavedVariables } from '../powershell/index.js';
import type { SnapshotPick, UiAction, UiActionResult, UiBlocks, UiDrive, UiFile, UiGroup, UiMerge, UiMergeStep, UiRunResult, UiState, UiVm } from './types.js';

/** The file name of a path (either separator). */
export function baseName(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}

/** Group checkpoints taken through a back end, by group id: their timelines (not kept in the state). */
export type GroupReports = Map<string, GroupCheckpointReport>;

function fileFacts(sim: Simulator, p: string): Pick<UiFile, 'sizeOnDisk' | 'virtualSize' | 'missing' | 'readOnly'> {
  const store = sim.storage.store;
  if (!store.exists(p)) return { sizeOnDisk: null, virtualSize: null, missing: true, readOnly: false };
  const readOnly = store.isReadOnly(p);
  try {
    const img = openLayer(store, p, false);
    try {
      const info = img.info();
      return { sizeOnDisk: info.FileSize, virtualSize: info.Size, missing: false, readOnly };
    } finally {
      img.close();
    }
  } catch {
    return { sizeOnDisk: null, virtualSize: null, missing: false, readOnly };
  }
}

function drivesOf(sim: Simulator, rec: VmRecord): UiDrive[] {
  return rec.drives.map((d, i) => {
    const owned = ownedFiles(rec, i);
    const chain = new Set<string>();
    for (let p: string | null = d.path; p !== null; p = d.files.find((f) => f.path === p)?.parent ?? null) {
      if (chain.has(p)) break;
      chain.add(p);
    }
    // Parents before children (a depth-first walk from the base), then anything unreachable.
    const ordered: typeof d.files = [];
    const visit = (parent: string | null): void => {
      for (const f of d.files.filter((x) => x.parent === parent && !ordered.includes(x))) {
        ordered.push(f);
        visit(f.path);
      }
    };
    visit(null);
    for (const f of d.files) if (!ordered.includes(f)) ordered.push(f);
    const files: UiFile[] = ordered.map((f) => ({
      path: f.path,
      name: baseName(f.path),
      parent: f.parent,
      ...fileFacts(sim, f.path),
      current: f.path === d.path,
      inCurrentChain: chain.has(f.path),
      checkpoints: rec.snapshots.filter((s) => s.drives[i] === f.path).map((s) => s.name),
      merging: !owned.has(f.path),
    }));
    return { index: i, path: d.path, files };
  });
}

function mergeOf(rec: VmRecord): UiVm['merge'] {
  if (rec.mergeUntil === null) return null;
  const steps: UiMergeStep[] = planCleanup(rec).map(({ drive, step }) => ({
    drive,
    kind: step.kind,
    removed: removedBy(step),
    into: step.kind === 'delete' ? null : step.kind === 'merge-into-child' ? step.child : step.base,
  }));
  return { until: rec.mergeUntil, steps };
}

/** The background merges running now (for the page's animation). */
export function mergesOf(sim: Simulator): UiMerge[] {
  const now = sim.clock.now();
  return sim.snapshotState().vms.flatMap((rec) => {
    const m = mergeOf(rec);
    return m ? [{ vmName: rec.name, vmId: rec.id, now, until: m.until, steps: m.steps }] : [];
  });
}

function groupsOf(snaps: VMSnapshot[], reports: GroupReports): UiGroup[] {
  const byId = new Map<string, UiGroup>();
  for (const s of snaps) {
    if (s.GroupId === null) continue;
    let g = byId.get(s.GroupId);
    if (!g) {
      const r = reports.get(s.GroupId);
      g = {
        groupId: s.GroupId,
        snapshotName: s.Name,
        members: s.GroupMembers ?? [],
        created: [],
        timeline: r
          ? {
              start: r.StartTime,
              end: r.EndTime,
              skewMs: r.SkewMs,
              members: r.Members.map((m) => ({ vmName: m.VMName, priorState: m.PriorState, frozenAt: m.FrozenAt, state: m.State })),
            }
          : null,
      };
      byId.set(s.GroupId, g);
    }
    g.created.push({ vmName: s.VMName, time: s.CreationTime });
  }
  return [...byId.values()];
}

/**
 * Every view's data but the block maps. Checkpoints and disk files (each opened to read its sizes)
 * only for the VM `detail` names (default: the first), so that a host of many VMs stays quick to
 * show (bench/ui.ts).
 */
export async function uiState(sim: Simulator, reports: GroupReports, version: number, detail?: string): Promise<UiState> {
  const vms = await sim.getVM();
  const snaps = await sim.getVMSnapshot({ vmNames: [] });
  const state = sim.snapshotState();
  const shown = vms.find((v) => v.Name === detail) ?? vms[0];
  const out: UiVm[] = vms.map((vm) => {
    const rec = state.vms.find((r) => r.id === vm.Id);
    const own = snaps.filter((s) => s.VMId === vm.Id);
    return {
      vm,
      detail: vm === shown,
      snapshotCount: own.length,
      snapshots: vm === shown ? own : [],
      drives: rec && vm === shown ? drivesOf(sim, rec) : [],
      merge: rec ? mergeOf(rec) : null,
    };
  });
  return { computerName: sim.computerName, now: await sim.now(), clockMode: state.clockMode, vms: out, groups: groupsOf(snaps, reports), version };
}

/** Where each region of a VM's drive comes from, in `bins` slices. */
export async function uiBlocks(sim: Simulator, vmName: string, drive: number, bins = 256): Promise<UiBlocks> {
  const drives = await sim.getVMHardDiskDrive(vmName);
  const d = drives[drive];
  if (!d) throw new HvsimError('NOT_FOUND', `the virtual machine '${vmName}' has no drive ${drive}`);
  const chain = openChain(sim.storage.store, d.Path);
  try {
    const a = analyzeChain(chain, { bins });
    return {
      vmName,
      drive,
      virtualSize: a.virtualSize,
      binSize: a.map.binSize,
      layers: a.layers.map((l) => ({ path: l.path, name: baseName(l.path), sizeOnDisk: l.fileSize, suppliedBytes: l.suppliedBytes })),
      owner: a.map.owner,
      sources: a.map.sources,
      expectedProbes: a.expectedProbes,
      maxProbes: a.maxProbes,
    };
  } finally {
    chain.close();
  }
}

/** Most a write from the page may put down at once. */
export const MAX_WRITE = 64 * 1024 * 1024;

/** A recognisable fill for `length` bytes written at `offset` (not zeros, which would read as nothing). */
function fill(length: number, offset: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = ((offset + i) * 131 + 7) & 0xff || 1;
  return b;
}

function pickOf(a: SnapshotPick): { id: string } | { name: string } {
  return a.id !== undefined ? { id: a.id } : { name: a.name };
}

function ref(a: { vm: string } & SnapshotPick): SnapshotRef {
  return { vmName: a.vm, ...pickOf(a) };
}

function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof HvsimError) return { code: e.code, message: e.message };
  throw e;
}

/**
 * Run one action through the Host, as the CLI command of the same name does. A refused or failed
 * action leaves what the Host left (the CLI's behaviour); its error comes back in the result.
 */
export async function runAction(host: Host, a: UiAction, opts: { exportRoot: string; reports: GroupReports }): Promise<UiActionResult> {
  const lines: string[] = [];
  try {
    switch (a.op) {
      case 'new-vm': {
        const vm = await host.newVM({
          name: a.name,
          ...(a.diskSize !== undefined ? { diskSize: a.diskSize } : {}),
          ...(a.checkpointType !== undefined ? { checkpointType: a.checkpointType as NonNullable<Parameters<Host['newVM']>[0]['checkpointType']> } : {}),
        });
        lines.push(`${vm.Name}: created (${vm.State})`);
        break;
      }
      case 'power': {
        const vms =
          a.kind === 'start' ? await host.startVM(a.vms)
          : a.kind === 'save' ? await host.stopVM(a.vms, { save: true })
          : a.kind === 'turnoff' ? await host.stopVM(a.vms, { turnOff: true })
          : a.kind === 'stop' ? await host.stopVM(a.vms)
          : a.kind === 'pause' ? await host.suspendVM(a.vms)
          : await host.resumeVM(a.vms);
        for (const vm of vms) lines.push(`${vm.Name}: ${vm.State}`);
        break;
      }
      case 'checkpoint': {
        const snaps = await host.checkpointVM(a.vms, a.snapshotName !== undefined && a.snapshotName !== '' ? { snapshotName: a.snapshotName } : {});
        for (const s of snaps) lines.push(`${s.VMName}: checkpoint '${s.Name}' created`);
        break;
      }
      case 'checkpoint-group': {
        const r = await checkpointGroup(host, a.vms, a.snapshotName !== undefined && a.snapshotName !== '' ? { snapshotName: a.snapshotName } : {});
        opts.reports.set(r.GroupId, r);
        lines.push(`group '${r.SnapshotName}' of ${r.Members.length} VMs, freeze skew ${r.SkewMs} ms`);
        break;
      }
      case 'apply': {
        const s = await host.restoreVMSnapshot(ref(a));
        lines.push(`${a.vm}: applied '${s.Name}'`);
        break;
      }
      case 'remove': {
        const removed = await host.removeVMSnapshot({ vmNames: [a.vm], ...pickOf(a) }, { includeAllChildSnapshots: a.subtree, wait: false });
        for (const s of removed) lines.push(`${a.vm}: checkpoint '${s.Name}' removed`);
        break;
      }
      case 'rename': {
        const s = await host.renameVMSnapshot(ref(a), a.newName);
        lines.push(`${a.vm}: checkpoint renamed to '${s.Name}'`);
        break;
      }
      case 'export': {
        const r = await host.exportVMSnapshot(ref(a), `${opts.exportRoot}/${a.vm}`);
        for (const p of r.HardDrives) lines.push(`${a.vm}: '${r.SnapshotName}' exported to ${p}`);
        break;
      }
      case 'write': {
        if (!Number.isSafeInteger(a.offset) || a.offset < 0) throw new HvsimError('INVALID_ARGUMENT', `offset ${a.offset} is not a byte offset`);
        const data = a.text !== undefined && a.text !== '' ? new TextEncoder().encode(a.text) : fill(a.length, a.offset);
        if (!Number.isSafeInteger(data.length) || data.length <= 0 || data.length > MAX_WRITE)
          throw new HvsimError('INVALID_ARGUMENT', `length ${data.length} must be between 1 and ${MAX_WRITE} bytes`);
        await host.writeGuest(a.vm, data, a.offset, a.drive);
        lines.push(`${a.vm}: wrote ${data.length} bytes at offset ${a.offset}`);
        break;
      }
    }
  } catch (e) {
    return { ok: false, lines, error: errorOf(e), warnings: (await host.takeWarnings()).map((w) => w.Message) };
  }
  return { ok: true, lines, warnings: (await host.takeWarnings()).map((w) => w.Message) };
}

/**
 * Run PowerShell as `hvsim run` does (src/powershell): one session whose variables carry over
 * (`vars` in, the new ones out); output and errors in the order PowerShell prints them.
 */
export async function runPowerShell(host: Host, source: string, vars: SavedVariables): Promise<UiRunResult & { vars: SavedVariables }> {
  const ps = await import('../powershell/index.js');
  let output = '';
  const session = ps.createSession(host, { stdout: (t) => (output += t), stderr: (t) => (output += t), yes: false });
  session.loadVariables(vars);
  let exitCode = 0;
  try {
    exitCode = (await session.run(source)).exitCode;
  } catch (e) {
    if (e instanceof ps.UnsupportedError || e instanceof ps.ScriptSyntaxError) {
      output += `hvsim: ${e.message}\n`;
      exitCode = 2;
    } else if (e instanceof HvsimError) {
      output += `hvsim: ${e.message}\n`;
      exitCode = 1;
    } else throw e;
  }
  for (const w of await host.takeWarnings()) output += `WARNING: ${w.Message}\n`;
  return { output, exitCode, vars: session.saveVariables() };
}
