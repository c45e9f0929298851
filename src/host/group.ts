/**
 * Simultaneous checkpoints of a group of related VMs (docs/hyperv.md, "Group checkpoints"; the seed's
 * workflow as one operation), written against the Host interface only so that it runs unchanged
 * over the simulator and over a real-Hyper-V driver.
 *
 * checkpoint-group: freeze every running VM (Suspend-VM, one after the other: the freeze instants
 * differ only by the pause cost), save them (Save-VM) unless mode 'pause', checkpoint each with one
 * group id, then return each VM to the state it had. All or nothing: if any step fails, the
 * checkpoints already taken are removed and every VM is brought back to its prior state.
 * restore-group / remove-group act on exactly the set that carries a group id.
 */
import { HvsimError, invalidArgument } from '../errors.js';
import type { GroupCheckpointReport, GroupStep, Host, VMSnapshot, VMState } from './host.js';
import { newGuid } from '../vhd/common/guid.js';

export interface GroupCheckpointOptions {
  snapshotName?: string;
  /** 'save' (default, the seed's way: pause, save, checkpoint, start) or 'pause' (no memory written to the VM's saved state). */
  mode?: 'save' | 'pause';
  groupId?: string;
}

export type { GroupCheckpointReport, GroupMember, GroupStep } from './host.js';

export interface GroupSelector {
  groupId?: string;
  /** The group's checkpoint name (must identify one group). */
  snapshotName?: string;
  /** When given, must be exactly the group's VMs. */
  vmNames?: string[];
}

export interface GroupRestoreReport {
  GroupId: string;
  SnapshotName: string;
  Members: Array<{ VMName: string; PriorState: VMState; SnapshotId: string; State: VMState }>;
}

export interface GroupRemoveReport {
  GroupId: string;
  SnapshotName: string;
  Removed: Array<{ VMName: string; SnapshotId: string; Name: string }>;
}

export interface GroupInfo {
  GroupId: string;
  SnapshotName: string;
  CreationTime: string;
  VMNames: string[];
  /** VMs of the group whose checkpoint no longer exists. */
  Missing: string[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Where a group operation is (the step and the VM), so that a failure names them. */
class Progress {
  private step = 'start';
  constructor(
    private readonly op: string,
    private vm: string,
  ) {}

  /** Run one step for one VM. */
  run<T>(step: string, vm: string, fn: () => Promise<T>): Promise<T> {
    this.step = step;
    this.vm = vm;
    return fn();
  }

  /** The failure of the current step, with the rollback's own failures. */
  failed(cause: unknown, rollback: string[]): HvsimError {
    const code = cause instanceof HvsimError ? cause.code : 'INVALID_STATE';
    const tail = rollback.length === 0 ? 'rolled back: no checkpoint was kept and every VM is back in its prior state.' : `ROLLBACK INCOMPLETE: ${rollback.join('; ')}`;
    return new HvsimError(code, `${this.op}: failed at ${this.step} of '${this.vm}': ${messageOf(cause)} — ${tail}`, { cause });
  }
}

/**
 * Freeze the group: suspend every running guest, one after the other (Suspend-VM; the freeze
 * instants differ only by the pause cost), then save (Save-VM) the VMs whose prior state is in
 * `save`. `frozenAt` gets the instant each guest stopped.
 */
async function freeze(host: Host, names: string[], prior: Map<string, VMState>, run: StepRunner, save: readonly VMState[], frozenAt?: Map<string, number>): Promise<void> {
  for (const n of names) {
    if (prior.get(n) !== 'Running') continue;
    await run('Suspend-VM', n, async () => {
      frozenAt?.set(n, await host.now());
      await host.suspendVM([n]);
    });
  }
  for (const n of names) if (save.includes(prior.get(n)!)) await run('Save-VM', n, () => host.saveVM([n]));
}

/** Runs one step of a group operation for one VM (Progress.run, perhaps timed). */
type StepRunner = <T>(step: GroupStep['Step'], vm: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Roll back, best effort: remove the checkpoints taken (`what` names them in the report), then
 * bring every VM back to its prior state. Returns what went wrong.
 */
async function rollBack(host: Host, taken: Map<string, VMSnapshot>, what: string, names: string[], prior: Map<string, VMState>, problems: string[] = []): Promise<string[]> {
  for (const [n, s] of taken) {
    try {
      await host.removeVMSnapshot({ vmNames: [n], id: s.Id }, { wait: true });
    } catch (r) {
      problems.push(`${what} ${s.Id} of '${n}' could not be removed: ${messageOf(r)}`);
    }
  }
  for (const n of names) {
    const p = await returnTo(host, n, prior.get(n)!);
    if (p) problems.push(p);
  }
  return problems;
}

/** Bring a VM from its current state back to `prior` (best effort; returns what went wrong). */
async function returnTo(host: Host, name: string, prior: VMState): Promise<string | undefined> {
  try {
    const [vm] = await host.getVM([name]);
    if (!vm || vm.State === prior) return undefined;
    if (prior === 'Running') {
      if (vm.State === 'Paused') await host.resumeVM([name]);
      else if (vm.State === 'Saved' || vm.State === 'Off') await host.startVM([name]);
    } else if (prior === 'Paused') {
      if (vm.State === 'Running') await host.suspendVM([name]);
      else if (vm.State === 'Saved') {
        await host.startVM([name]);
        await host.suspendVM([name]);
      }
    } else if (prior === 'Saved') {
      if (vm.State === 'Running' || vm.State === 'Paused') await host.saveVM([name]);
    }
    const [after] = await host.getVM([name]);
    return after && after.State !== prior ? `'${name}' is ${after.State}, was ${prior}` : undefined;
  } catch (e) {
    return `'${name}' could not return to ${prior}: ${messageOf(e)}`;
  }
}

export async function checkpointGroup(host: Host, vmNames: string[], opts: GroupCheckpointOptions = {}): Promise<GroupCheckpointReport> {
  const op = 'checkpoint-group';
  if (vmNames.length === 0) throw invalidArgument(`${op}: name at least one VM`);
  const mode = opts.mode ?? 'save';
  const groupId = opts.groupId ?? newGuid();
  const vms = await host.getVM(vmNames);
  const names = vms.map((v) => v.Name);
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) throw invalidArgument(`${op}: a VM is named twice`);
  const prior = new Map(vms.map((v) => [v.Name, v.State] as const));
  const start = await host.now();
  const frozenAt = new Map<string, number>(names.map((n) => [n, start]));
  const taken = new Map<string, VMSnapshot>();
  const at = new Progress(op, names[0]!);
  // Each VM's steps with the host's clock before and after (the report's timeline).
  const steps = new Map<string, GroupStep[]>(names.map((n) => [n, []]));
  const timed: StepRunner = (step, vm, fn) =>
    at.run(step, vm, async () => {
      const t0 = await host.now();
      const r = await fn();
      steps.get(vm)!.push({ Step: step, Start: iso(t0), End: iso(await host.now()) });
      return r;
    });
  try {
    // 1. Freeze every running guest, back to back; 2. save them (memory to disk) — slow, but the
    // guests are already frozen. (A VM the user had paused stays paused; one that was Saved or Off
    // is left as it is.)
    await freeze(host, names, prior, timed, mode === 'save' ? ['Running'] : [], frozenAt);
    // 3. Checkpoint each, linked by the group id.
    const snapshotName = opts.snapshotName;
    for (const n of names) {
      const [s] = await timed('Checkpoint-VM', n, () => host.checkpointVM([n], { ...(snapshotName !== undefined ? { snapshotName } : {}), groupId, groupMembers: names }));
      if (!s) throw new HvsimError('INVALID_STATE', `Checkpoint-VM returned no checkpoint for '${n}'`);
      taken.set(n, s);
    }
    // 4. Return each VM to its prior state.
    for (const n of names) {
      if (prior.get(n) !== 'Running') continue;
      if (mode === 'save') await timed('Start-VM', n, () => host.startVM([n]));
      else await timed('Resume-VM', n, () => host.resumeVM([n]));
    }
  } catch (e) {
    throw at.failed(e, await rollBack(host, taken, 'checkpoint', names, prior));
  }
  const end = await host.now();
  const after = await host.getVM(names);
  const running = names.filter((n) => prior.get(n) === 'Running').map((n) => frozenAt.get(n)!);
  const skew = running.length > 1 ? Math.max(...running) - Math.min(...running) : 0;
  const report: GroupCheckpointReport = {
    GroupId: groupId,
    SnapshotName: taken.get(names[0]!)!.Name,
    StartTime: iso(start),
    EndTime: iso(end),
    DurationMs: end - start,
    SkewMs: skew,
    Members: names.map((n) => ({
      VMName: n,
      PriorState: prior.get(n)!,
      FrozenAt: iso(frozenAt.get(n)!),
      SnapshotId: taken.get(n)!.Id,
      SnapshotName: taken.get(n)!.Name,
      State: after.find((v) => v.Name === n)?.State ?? prior.get(n)!,
      Steps: steps.get(n)!,
    })),
  };
  // Kept with the state (when the host keeps it) after the group is whole: a crash before this
  // loses only the timeline, never a checkpoint.
  await host.recordGroupCheckpoint?.(report);
  return report;
}

/** The checkpoints of one group (and the group's recorded members). */
async function resolveGroup(host: Host, sel: GroupSelector, op: string): Promise<{ groupId: string; snaps: VMSnapshot[]; members: string[] }> {
  if (sel.groupId === undefined && sel.snapshotName === undefined) throw invalidArgument(`${op}: give the group's id or its checkpoint name`);
  let groupId = sel.groupId?.toLowerCase();
  if (groupId === undefined) {
    const hits = (await host.getVMSnapshot({ vmNames: sel.vmNames ?? ['*'], name: sel.snapshotName! })).filter((s) => s.GroupId !== null);
    const ids = [...new Set(hits.map((s) => s.GroupId!))];
    if (ids.length === 0) throw new HvsimError('NOT_FOUND', `${op}: no group checkpoint is named "${sel.snapshotName}"`);
    if (ids.length > 1) throw invalidArgument(`${op}: ${ids.length} groups have checkpoints named "${sel.snapshotName}" (${ids.join(', ')}); give --group-id`);
    groupId = ids[0]!;
  }
  const snaps = await host.getVMSnapshot({ vmNames: ['*'], groupId });
  if (snaps.length === 0) throw new HvsimError('NOT_FOUND', `${op}: no checkpoint belongs to the group ${groupId}`);
  const members = snaps.find((s) => s.GroupMembers)?.GroupMembers ?? snaps.map((s) => s.VMName);
  const have = new Set(snaps.map((s) => s.VMName.toLowerCase()));
  const missing = members.filter((m) => !have.has(m.toLowerCase()));
  if (missing.length > 0)
    throw new HvsimError('INVALID_STATE', `${op}: the group ${groupId} is incomplete: ${missing.map((m) => `'${m}'`).join(', ')} no longer ${missing.length > 1 ? 'have' : 'has'} its checkpoint, so the set cannot be restored to one consistent point`);
  if (sel.vmNames !== undefined) {
    const want = (await host.getVM(sel.vmNames)).map((v) => v.Name.toLowerCase()).sort();
    const got = members.map((m) => m.toLowerCase()).sort();
    if (want.join('\n') !== got.join('\n')) throw invalidArgument(`${op}: the group ${groupId} is the VMs ${members.join(', ')}, not ${sel.vmNames.join(', ')}`);
  }
  const perVm = new Map<string, number>();
  for (const s of snaps) perVm.set(s.VMName, (perVm.get(s.VMName) ?? 0) + 1);
  for (const [vm, n] of perVm) if (n > 1) throw new HvsimError('CORRUPT', `${op}: '${vm}' has ${n} checkpoints of group ${groupId}`, { reason: 'CHECKPOINT_GROUP' });
  return { groupId, snaps, members };
}

/**
 * Restore every VM of a group to its group checkpoint, all or nothing: the running VMs are frozen
 * and saved first, a safety checkpoint of each VM's current state is taken ("Create Checkpoint and
 * Apply"), and if any restore fails the VMs already restored go back to their safety checkpoint.
 * The safety checkpoints are removed at the end. Each VM ends in its checkpoint's state.
 */
export async function restoreGroup(host: Host, sel: GroupSelector): Promise<GroupRestoreReport> {
  const op = 'restore-group';
  const { groupId, snaps } = await resolveGroup(host, sel, op);
  const names = snaps.map((s) => s.VMName);
  const prior = new Map((await host.getVM(names)).map((v) => [v.Name, v.State] as const));
  const safety = new Map<string, VMSnapshot>();
  const restored: string[] = [];
  const at = new Progress(op, names[0]!);
  const safetyName = `hvsim safety before ${op} ${groupId}`;
  try {
    await freeze(host, names, prior, (step, vm, fn) => at.run(step, vm, fn), ['Running', 'Paused']);
    for (const n of names) {
      const [s] = await at.run('Checkpoint-VM (safety checkpoint)', n, () => host.checkpointVM([n], { snapshotName: safetyName }));
      if (s) safety.set(n, s);
    }
    for (const s of snaps) {
      await at.run('Restore-VMSnapshot', s.VMName, () => host.restoreVMSnapshot({ vmName: s.VMName, id: s.Id }));
      restored.push(s.VMName);
    }
  } catch (e) {
    const problems: string[] = [];
    for (const n of restored) {
      const s = safety.get(n);
      try {
        if (s) await host.restoreVMSnapshot({ vmName: n, id: s.Id });
      } catch (r) {
        problems.push(`'${n}' could not go back to its safety checkpoint ${s?.Id}: ${messageOf(r)}`);
      }
    }
    throw at.failed(e, await rollBack(host, safety, 'safety checkpoint', names, prior, problems));
  }
  for (const [n, s] of safety) await host.removeVMSnapshot({ vmNames: [n], id: s.Id }, { wait: true });
  const after = await host.getVM(names);
  return {
    GroupId: groupId,
    SnapshotName: snaps[0]!.Name,
    Members: snaps.map((s) => ({ VMName: s.VMName, PriorState: prior.get(s.VMName)!, SnapshotId: s.Id, State: after.find((v) => v.Name === s.VMName)?.State ?? 'Off' })),
  };
}

/**
 * Remove exactly the group's checkpoints (with their subtrees when asked). Checked before anything
 * is removed; a removal cannot be undone, so a failure part-way reports what was removed.
 */
export async function removeGroup(host: Host, sel: GroupSelector, opts: { includeAllChildSnapshots?: boolean; wait?: boolean } = {}): Promise<GroupRemoveReport> {
  const op = 'remove-group';
  const { groupId, snaps } = await resolveGroup(host, sel, op);
  const removed: GroupRemoveReport['Removed'] = [];
  for (const s of snaps) {
    try {
      await host.removeVMSnapshot({ vmNames: [s.VMName], id: s.Id }, { includeAllChildSnapshots: opts.includeAllChildSnapshots ?? false, wait: opts.wait ?? true });
      removed.push({ VMName: s.VMName, SnapshotId: s.Id, Name: s.Name });
    } catch (e) {
      const done = removed.length ? `already removed: ${removed.map((r) => `'${r.VMName}'`).join(', ')}` : 'nothing was removed';
      const left = snaps.filter((x) => !removed.some((r) => r.SnapshotId === x.Id)).map((x) => `'${x.VMName}'`).join(', ');
      throw new HvsimError(e instanceof HvsimError ? e.code : 'INVALID_STATE', `${op}: failed at Remove-VMSnapshot of '${s.VMName}': ${messageOf(e)} — ${done}; still there: ${left}`, { cause: e });
    }
  }
  return { GroupId: groupId, SnapshotName: snaps[0]!.Name, Removed: removed };
}

/** The groups found among the VMs' checkpoints. */
export async function getGroups(host: Host, vmNames: string[] = ['*']): Promise<GroupInfo[]> {
  const snaps = (await host.getVMSnapshot({ vmNames })).filter((s) => s.GroupId !== null);
  const byId = new Map<string, VMSnapshot[]>();
  for (const s of snaps) byId.set(s.GroupId!, [...(byId.get(s.GroupId!) ?? []), s]);
  return [...byId.entries()].map(([id, list]) => {
    const members = list.find((s) => s.GroupMembers)?.GroupMembers ?? list.map((s) => s.VMName);
    const times = list.map((s) => Date.parse(s.CreationTime));
    return {
      GroupId: id,
      SnapshotName: list[0]!.Name,
      CreationTime: iso(Math.min(...times)),
      VMNames: members,
      Missing: members.filter((m) => !list.some((s) => s.VMName.toLowerCase() === m.toLowerCase())),
    };
  });
}
