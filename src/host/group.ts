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
import { isLocalComputer, unknownHost } from './messages.js';

export interface GroupCheckpointOptions {
  snapshotName?: string;
  /** 'save' (default, the seed's way: pause, save, checkpoint, start) or 'pause' (no memory written to the VM's saved state). */
  mode?: 'save' | 'pause';
  groupId?: string;
}

export type { GroupCheckpointReport, GroupHostSkew, GroupMember, GroupStep } from './host.js';

export interface GroupSelector {
  groupId?: string;
  /** The group's checkpoint name (must identify one group). */
  snapshotName?: string;
  /** When given, must be exactly the group's VMs ("VM" or "HOST:VM", as checkpointGroup takes them). */
  vmNames?: string[];
}

export interface GroupRestoreReport {
  GroupId: string;
  SnapshotName: string;
  Members: Array<{ VMName: string; ComputerName: string; PriorState: VMState; SnapshotId: string; State: VMState }>;
}

export interface GroupRemoveReport {
  GroupId: string;
  SnapshotName: string;
  Removed: Array<{ VMName: string; ComputerName: string; SnapshotId: string; Name: string }>;
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
 * The hosts a group operation may reach: one host, or several (a farm: the first is the one a
 * name without "HOST:" is on). docs/hyperv.md, "Group checkpoints".
 */
export type GroupHosts = Host | readonly Host[];

/** One VM of a group: the host it is on and its name; `label` names it in messages and GroupMembers. */
interface Member {
  host: Host;
  name: string;
  /** host:name in lower case (names compare without regard to case). */
  key: string;
  /** The name, qualified "HOST:VM" when the group spans several hosts. */
  label: string;
}

const keyOf = (host: Host, name: string): string => `${host.computerName.toLowerCase()}:${name.toLowerCase()}`;

/** "HV02:db01" → ['HV02', 'db01']; a name without a host → [null, name] (a VM name has no ':'). */
export function splitMember(s: string): [string | null, string] {
  const i = s.indexOf(':');
  return i > 0 ? [s.slice(0, i), s.slice(i + 1)] : [null, s];
}

/** The host of that name among `hosts` (the first for none); an unknown host is Hyper-V's WinRM error. */
function hostNamed(hosts: readonly Host[], name: string | null): Host {
  if (name === null) return hosts[0]!;
  const h = hosts.find((x) => isLocalComputer(name, x.computerName));
  if (h === undefined) throw unknownHost(name, hosts.map((x) => x.computerName));
  return h;
}

const listOf = (hosts: GroupHosts): readonly Host[] => ('computerName' in hosts ? [hosts as Host] : (hosts as readonly Host[]));

/** Give each member its label: qualified when the members are on more than one host. */
function labelled(list: Array<{ host: Host; name: string }>): Member[] {
  const spans = new Set(list.map((m) => m.host.computerName.toLowerCase())).size > 1;
  return list.map((m) => ({ host: m.host, name: m.name, key: keyOf(m.host, m.name), label: spans ? `${m.host.computerName}:${m.name}` : m.name }));
}

/** The VMs named ("VM" or "HOST:VM", wildcards allowed) with their states, host by host. */
async function resolveMembers(hosts: readonly Host[], vmNames: string[]): Promise<{ members: Member[]; prior: Map<string, VMState> }> {
  const byHost: Array<{ host: Host; names: string[] }> = [];
  for (const n of vmNames) {
    const [hn, name] = splitMember(n);
    const host = hostNamed(hosts, hn);
    const entry = byHost.find((x) => x.host.computerName.toLowerCase() === host.computerName.toLowerCase());
    if (entry) entry.names.push(name);
    else byHost.push({ host, names: [name] });
  }
  const found: Array<{ host: Host; name: string; state: VMState }> = [];
  for (const { host, names } of byHost) for (const v of await host.getVM(names)) found.push({ host, name: v.Name, state: v.State });
  const members = labelled(found);
  return { members, prior: new Map(members.map((m, i) => [m.key, found[i]!.state] as const)) };
}

/**
 * Freeze the group: suspend every running guest, one after the other (Suspend-VM; the freeze
 * instants differ only by the pause cost), then save (Save-VM) the VMs whose prior state is in
 * `save`. `frozenAt` gets the instant each guest stopped (its host's clock).
 */
async function freeze(members: Member[], prior: Map<string, VMState>, run: StepRunner, save: readonly VMState[], frozenAt?: Map<string, number>): Promise<void> {
  for (const m of members) {
    if (prior.get(m.key) !== 'Running') continue;
    await run('Suspend-VM', m, async () => {
      frozenAt?.set(m.key, await m.host.now());
      await m.host.suspendVM([m.name]);
    });
  }
  for (const m of members) if (save.includes(prior.get(m.key)!)) await run('Save-VM', m, () => m.host.saveVM([m.name]));
}

/** Runs one step of a group operation for one VM (Progress.run, perhaps timed). */
type StepRunner = <T>(step: GroupStep['Step'], m: Member, fn: () => Promise<T>) => Promise<T>;

/**
 * Roll back, best effort: remove the checkpoints taken (`what` names them in the report), then
 * bring every VM back to its prior state. Returns what went wrong.
 */
async function rollBack(taken: Map<string, { m: Member; s: VMSnapshot }>, what: string, members: Member[], prior: Map<string, VMState>, problems: string[] = []): Promise<string[]> {
  for (const { m, s } of taken.values()) {
    try {
      await m.host.removeVMSnapshot({ vmNames: [m.name], id: s.Id }, { wait: true });
    } catch (r) {
      problems.push(`${what} ${s.Id} of '${m.label}' could not be removed: ${messageOf(r)}`);
    }
  }
  for (const m of members) {
    const p = await returnTo(m, prior.get(m.key)!);
    if (p) problems.push(p);
  }
  return problems;
}

/** Bring a VM from its current state back to `prior` (best effort; returns what went wrong). */
async function returnTo(m: Member, prior: VMState): Promise<string | undefined> {
  const { host, name } = m;
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
    return after && after.State !== prior ? `'${m.label}' is ${after.State}, was ${prior}` : undefined;
  } catch (e) {
    return `'${m.label}' could not return to ${prior}: ${messageOf(e)}`;
  }
}

/** Largest difference between freeze instants (0 for fewer than two). */
const skewOf = (instants: number[]): number => (instants.length > 1 ? Math.max(...instants) - Math.min(...instants) : 0);

/**
 * Checkpoint the VMs as one group. `vmNames` are names on `hosts` (the first host), or "HOST:VM"
 * on another host of `hosts`: a group may span several hosts, and the report gives each host's
 * freeze skew besides the whole group's.
 */
export async function checkpointGroup(hosts: GroupHosts, vmNames: string[], opts: GroupCheckpointOptions = {}): Promise<GroupCheckpointReport> {
  const op = 'checkpoint-group';
  if (vmNames.length === 0) throw invalidArgument(`${op}: name at least one VM`);
  const mode = opts.mode ?? 'save';
  const groupId = opts.groupId ?? newGuid();
  const { members, prior } = await resolveMembers(listOf(hosts), vmNames);
  if (new Set(members.map((m) => m.key)).size !== members.length) throw invalidArgument(`${op}: a VM is named twice`);
  const first = members[0]!;
  const start = await first.host.now();
  const frozenAt = new Map<string, number>(members.map((m) => [m.key, start]));
  const taken = new Map<string, { m: Member; s: VMSnapshot }>();
  const at = new Progress(op, first.label);
  const labels = members.map((m) => m.label);
  // Each VM's steps with its host's clock before and after (the report's timeline).
  const steps = new Map<string, GroupStep[]>(members.map((m) => [m.key, []]));
  const timed: StepRunner = (step, m, fn) =>
    at.run(step, m.label, async () => {
      const t0 = await m.host.now();
      const r = await fn();
      steps.get(m.key)!.push({ Step: step, Start: iso(t0), End: iso(await m.host.now()) });
      return r;
    });
  try {
    // 1. Freeze every running guest, back to back; 2. save them (memory to disk) — slow, but the
    // guests are already frozen. (A VM the user had paused stays paused; one that was Saved or Off
    // is left as it is.)
    await freeze(members, prior, timed, mode === 'save' ? ['Running'] : [], frozenAt);
    // 3. Checkpoint each, linked by the group id.
    const snapshotName = opts.snapshotName;
    for (const m of members) {
      const [s] = await timed('Checkpoint-VM', m, () => m.host.checkpointVM([m.name], { ...(snapshotName !== undefined ? { snapshotName } : {}), groupId, groupMembers: labels }));
      if (!s) throw new HvsimError('INVALID_STATE', `Checkpoint-VM returned no checkpoint for '${m.label}'`);
      taken.set(m.key, { m, s });
    }
    // 4. Return each VM to its prior state.
    for (const m of members) {
      if (prior.get(m.key) !== 'Running') continue;
      if (mode === 'save') await timed('Start-VM', m, () => m.host.startVM([m.name]));
      else await timed('Resume-VM', m, () => m.host.resumeVM([m.name]));
    }
  } catch (e) {
    throw at.failed(e, await rollBack(taken, 'checkpoint', members, prior));
  }
  const end = await first.host.now();
  const after = new Map<string, VMState>();
  for (const m of members) after.set(m.key, (await m.host.getVM([m.name]))[0]?.State ?? prior.get(m.key)!);
  const running = members.filter((m) => prior.get(m.key) === 'Running');
  const hostNames = [...new Map(members.map((m) => [m.host.computerName.toLowerCase(), m.host.computerName])).values()];
  const report: GroupCheckpointReport = {
    GroupId: groupId,
    SnapshotName: taken.get(first.key)!.s.Name,
    StartTime: iso(start),
    EndTime: iso(end),
    DurationMs: end - start,
    SkewMs: skewOf(running.map((m) => frozenAt.get(m.key)!)),
    Hosts: hostNames.map((h) => {
      const mine = members.filter((m) => m.host.computerName.toLowerCase() === h.toLowerCase());
      return { ComputerName: h, VMNames: mine.map((m) => m.name), SkewMs: skewOf(mine.filter((m) => prior.get(m.key) === 'Running').map((m) => frozenAt.get(m.key)!)) };
    }),
    Members: members.map((m) => ({
      VMName: m.name,
      ComputerName: m.host.computerName,
      PriorState: prior.get(m.key)!,
      FrozenAt: iso(frozenAt.get(m.key)!),
      SnapshotId: taken.get(m.key)!.s.Id,
      SnapshotName: taken.get(m.key)!.s.Name,
      State: after.get(m.key)!,
      Steps: steps.get(m.key)!,
    })),
  };
  // Kept with the state (when the host keeps it) after the group is whole: a crash before this
  // loses only the timeline, never a checkpoint. (The simulator's hosts of one farm share one state.)
  await first.host.recordGroupCheckpoint?.(report);
  return report;
}

/** A group's checkpoint with the VM it belongs to. */
interface GroupSnap {
  m: Member;
  s: VMSnapshot;
}

/** The checkpoints of one group on any of the hosts (and the group's recorded members). */
async function resolveGroup(hosts: readonly Host[], sel: GroupSelector, op: string, opts: { incompleteOk?: boolean } = {}): Promise<{ groupId: string; snaps: GroupSnap[]; members: string[] }> {
  if (sel.groupId === undefined && sel.snapshotName === undefined) throw invalidArgument(`${op}: give the group's id or its checkpoint name`);
  let groupId = sel.groupId?.toLowerCase();
  if (groupId === undefined) {
    const ids = new Set<string>();
    for (const h of hosts) for (const s of await h.getVMSnapshot({ vmNames: ['*'], name: sel.snapshotName! })) if (s.GroupId !== null) ids.add(s.GroupId);
    if (ids.size === 0) throw new HvsimError('NOT_FOUND', `${op}: no group checkpoint is named "${sel.snapshotName}"`);
    if (ids.size > 1) throw invalidArgument(`${op}: ${ids.size} groups have checkpoints named "${sel.snapshotName}" (${[...ids].join(', ')}); give --group-id`);
    groupId = [...ids][0]!;
  }
  const found: Array<{ host: Host; name: string; s: VMSnapshot }> = [];
  for (const h of hosts) for (const s of await h.getVMSnapshot({ vmNames: ['*'], groupId })) found.push({ host: h, name: s.VMName, s });
  if (found.length === 0) throw new HvsimError('NOT_FOUND', `${op}: no checkpoint belongs to the group ${groupId}`);
  const ms = labelled(found);
  const snaps = found.map((f, i) => ({ m: ms[i]!, s: f.s }));
  const members = found.find((f) => f.s.GroupMembers)?.s.GroupMembers ?? ms.map((m) => m.label);
  const have = new Set(snaps.flatMap(({ m }) => [m.name.toLowerCase(), m.key]));
  const missing = members.filter((n) => !have.has(n.toLowerCase()));
  if (missing.length > 0 && opts.incompleteOk !== true)
    throw new HvsimError('INVALID_STATE', `${op}: the group ${groupId} is incomplete: ${missing.map((n) => `'${n}'`).join(', ')} no longer ${missing.length > 1 ? 'have' : 'has'} its checkpoint, so the set cannot be restored to one consistent point`);
  if (sel.vmNames !== undefined) {
    const want = (await resolveMembers(hosts, sel.vmNames)).members.map((m) => m.key).sort();
    const got = snaps.map(({ m }) => m.key).sort();
    if (want.join('\n') !== got.join('\n')) throw invalidArgument(`${op}: the group ${groupId} is the VMs ${members.join(', ')}, not ${sel.vmNames.join(', ')}`);
  }
  const perVm = new Map<string, number>();
  for (const { m } of snaps) perVm.set(m.key, (perVm.get(m.key) ?? 0) + 1);
  for (const { m } of snaps) if (perVm.get(m.key)! > 1) throw new HvsimError('CORRUPT', `${op}: '${m.label}' has ${perVm.get(m.key)} checkpoints of group ${groupId}`, { reason: 'CHECKPOINT_GROUP' });
  return { groupId, snaps, members };
}

/**
 * Restore every VM of a group to its group checkpoint, all or nothing: the running VMs are frozen
 * and saved first, a safety checkpoint of each VM's current state is taken ("Create Checkpoint and
 * Apply"), and if any restore fails the VMs already restored go back to their safety checkpoint.
 * The safety checkpoints are removed at the end. Each VM ends in its checkpoint's state. The
 * group's VMs may be on any of `hosts`.
 */
export async function restoreGroup(hosts: GroupHosts, sel: GroupSelector): Promise<GroupRestoreReport> {
  const op = 'restore-group';
  const { groupId, snaps } = await resolveGroup(listOf(hosts), sel, op);
  const members = snaps.map(({ m }) => m);
  const prior = new Map<string, VMState>();
  for (const m of members) prior.set(m.key, (await m.host.getVM([m.name]))[0]!.State);
  const safety = new Map<string, { m: Member; s: VMSnapshot }>();
  const restored: Member[] = [];
  const at = new Progress(op, members[0]!.label);
  const safetyName = `hvsim safety before ${op} ${groupId}`;
  try {
    await freeze(members, prior, (step, m, fn) => at.run(step, m.label, fn), ['Running', 'Paused']);
    for (const m of members) {
      const [s] = await at.run('Checkpoint-VM (safety checkpoint)', m.label, () => m.host.checkpointVM([m.name], { snapshotName: safetyName }));
      if (s) safety.set(m.key, { m, s });
    }
    for (const { m, s } of snaps) {
      await at.run('Restore-VMSnapshot', m.label, () => m.host.restoreVMSnapshot({ vmName: m.name, id: s.Id }));
      restored.push(m);
    }
  } catch (e) {
    const problems: string[] = [];
    for (const m of restored) {
      const s = safety.get(m.key)?.s;
      try {
        if (s) await m.host.restoreVMSnapshot({ vmName: m.name, id: s.Id });
      } catch (r) {
        problems.push(`'${m.label}' could not go back to its safety checkpoint ${s?.Id}: ${messageOf(r)}`);
      }
    }
    throw at.failed(e, await rollBack(safety, 'safety checkpoint', members, prior, problems));
  }
  for (const { m, s } of safety.values()) await m.host.removeVMSnapshot({ vmNames: [m.name], id: s.Id }, { wait: true });
  const out: GroupRestoreReport['Members'] = [];
  for (const { m, s } of snaps)
    out.push({ VMName: m.name, ComputerName: m.host.computerName, PriorState: prior.get(m.key)!, SnapshotId: s.Id, State: (await m.host.getVM([m.name]))[0]?.State ?? 'Off' });
  return { GroupId: groupId, SnapshotName: snaps[0]!.s.Name, Members: out };
}

/**
 * Remove exactly the group's checkpoints (with their subtrees when asked). Checked before anything
 * is removed; a removal cannot be undone, so a failure part-way reports what was removed.
 */
export async function removeGroup(hosts: GroupHosts, sel: GroupSelector, opts: { includeAllChildSnapshots?: boolean; wait?: boolean } = {}): Promise<GroupRemoveReport> {
  const op = 'remove-group';
  // An incomplete group (a removal stopped part-way: a full disk) is removed too: the rerun finishes it.
  const { groupId, snaps } = await resolveGroup(listOf(hosts), sel, op, { incompleteOk: true });
  const removed: GroupRemoveReport['Removed'] = [];
  for (const { m, s } of snaps) {
    try {
      await m.host.removeVMSnapshot({ vmNames: [m.name], id: s.Id }, { includeAllChildSnapshots: opts.includeAllChildSnapshots ?? false, wait: opts.wait ?? true });
      removed.push({ VMName: m.name, ComputerName: m.host.computerName, SnapshotId: s.Id, Name: s.Name });
    } catch (e) {
      const done = removed.length ? `already removed: ${removed.map((r) => `'${r.VMName}'`).join(', ')}` : 'nothing was removed';
      const left = snaps.filter((x) => !removed.some((r) => r.SnapshotId === x.s.Id)).map((x) => `'${x.m.label}'`).join(', ');
      throw new HvsimError(e instanceof HvsimError ? e.code : 'INVALID_STATE', `${op}: failed at Remove-VMSnapshot of '${m.label}': ${messageOf(e)} — ${done}; still there: ${left}`, { cause: e });
    }
  }
  return { GroupId: groupId, SnapshotName: snaps[0]!.s.Name, Removed: removed };
}

/** The groups found among the VMs' checkpoints (on every host of `hosts`). */
export async function getGroups(hosts: GroupHosts, vmNames: string[] = ['*']): Promise<GroupInfo[]> {
  const list = listOf(hosts);
  // Each host's own names ("HOST:VM"; a plain name is the first host's), '*' on every host.
  const asked = new Map<Host, string[]>();
  for (const n of vmNames) {
    const [hn, name] = splitMember(n);
    for (const h of hn === null && name === '*' ? list : [hostNamed(list, hn)]) asked.set(h, [...(asked.get(h) ?? []), name]);
  }
  const found: Array<{ host: Host; name: string; s: VMSnapshot }> = [];
  for (const [h, names] of asked) for (const s of await h.getVMSnapshot({ vmNames: names })) if (s.GroupId !== null) found.push({ host: h, name: s.VMName, s });
  const byId = new Map<string, Array<{ host: Host; name: string; s: VMSnapshot }>>();
  for (const f of found) byId.set(f.s.GroupId!, [...(byId.get(f.s.GroupId!) ?? []), f]);
  return [...byId.entries()].map(([id, list]) => {
    const ms = labelled(list);
    const members = list.find((f) => f.s.GroupMembers)?.s.GroupMembers ?? ms.map((m) => m.label);
    const have = new Set(ms.flatMap((m) => [m.name.toLowerCase(), m.key]));
    const times = list.map((f) => Date.parse(f.s.CreationTime));
    return {
      GroupId: id,
      SnapshotName: list[0]!.s.Name,
      CreationTime: iso(Math.min(...times)),
      VMNames: members,
      Missing: members.filter((n) => !have.has(n.toLowerCase())),
    };
  });
}
