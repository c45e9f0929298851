/**
 * VM power states and the transitions the Hyper-V cmdlets make, with Hyper-V's wording for
 * refusals (docs/hyperv.md, "Power states", "State/operation matrix"). Pure: no I/O, no clock.
 * Imports: host types, errors.
 *
 *   Start-VM    Off → Running (boot), Saved → Running (resume from saved memory)
 *   Stop-VM     Running → Off (guest shutdown)
 *   -TurnOff    Running | Paused | Saved → Off (Saved: the saved state is discarded)
 *   -Save       Running | Paused → Saved
 *   Save-VM     Running | Paused → Saved
 *   Suspend-VM  Running → Paused
 *   Resume-VM   Paused → Running
 * A request for the state the VM is already in succeeds with Hyper-V's warning
 * "The virtual machine is already in the specified state."; anything else is refused.
 */
import { HvsimError } from '../errors.js';
import type { VMSnapshot, VMState } from './host.js';
import { hasWildcard } from './faults.js';

export type PowerOp = 'start' | 'stop' | 'turn-off' | 'save' | 'suspend' | 'resume';

/** The cmdlet each operation belongs to (error messages start with it, like PowerShell's). */
export const CMDLET: Record<string, string> = {
  new: 'New-VM',
  set: 'Set-VM',
  start: 'Start-VM',
  stop: 'Stop-VM',
  'turn-off': 'Stop-VM',
  save: 'Save-VM',
  suspend: 'Suspend-VM',
  resume: 'Resume-VM',
  checkpoint: 'Checkpoint-VM',
  restore: 'Restore-VMSnapshot',
  remove: 'Remove-VMSnapshot',
  rename: 'Rename-VMSnapshot',
  export: 'Export-VMSnapshot',
  write: 'Write-VM',
  read: 'Read-VM',
  'add-disk': 'Add-VMHardDiskDrive',
  get: 'Get-VM',
  'get-snapshot': 'Get-VMSnapshot',
};

const TABLE: Record<PowerOp, Partial<Record<VMState, VMState>>> = {
  start: { Off: 'Running', Saved: 'Running' },
  stop: { Running: 'Off' },
  'turn-off': { Running: 'Off', Paused: 'Off', Saved: 'Off' },
  save: { Running: 'Saved', Paused: 'Saved' },
  suspend: { Running: 'Paused' },
  resume: { Paused: 'Running' },
};

/** The state each operation aims for (used to recognise "already in the specified state"). */
const TARGET: Record<PowerOp, VMState> = {
  start: 'Running',
  stop: 'Off',
  'turn-off': 'Off',
  save: 'Saved',
  suspend: 'Paused',
  resume: 'Running',
};

export const ALREADY_IN_STATE = 'The virtual machine is already in the specified state.';
export const WRONG_STATE = 'The operation cannot be performed while the virtual machine is in its current state.';

export type Transition = { kind: 'change'; to: VMState } | { kind: 'already' } | { kind: 'refused'; error: HvsimError };

/** `cmdlet` names the cmdlet in messages when it is not op's own (Stop-VM -Save is a save). */
export function transition(op: PowerOp, vmName: string, from: VMState, cmdlet?: string): Transition {
  const to = TABLE[op][from];
  if (to !== undefined) return { kind: 'change', to };
  if (TARGET[op] === from) return { kind: 'already' };
  return { kind: 'refused', error: wrongState(op, vmName, from, undefined, cmdlet) };
}

/** "Start-VM: 'web01' failed to change state. The operation cannot be performed while …" */
export function wrongState(op: string, vmName: string, from: VMState, detail?: string, cmdletName?: string): HvsimError {
  const cmdlet = cmdletName ?? CMDLET[op] ?? op;
  const verb = op in TABLE ? 'failed to change state.' : 'failed.';
  return new HvsimError(
    'INVALID_STATE',
    `${cmdlet}: '${vmName}' ${verb} ${WRONG_STATE} (State: ${from}${detail ? `; ${detail}` : ''})`,
  );
}

/** Hyper-V's not-found text for VMs. */
export function vmNotFound(op: string, name: string): HvsimError {
  return new HvsimError('NOT_FOUND', `${CMDLET[op] ?? op}: Hyper-V was unable to find a virtual machine with name "${name}".`);
}

/** Not-found text for checkpoints (the VM's wording, applied to checkpoints). */
export function snapshotNotFound(op: string, vmName: string, name: string): HvsimError {
  return new HvsimError('NOT_FOUND', `${CMDLET[op] ?? op}: Hyper-V was unable to find a checkpoint with name "${name}" for virtual machine "${vmName}".`);
}

/** Whether a VM in this state has memory/device state a standard checkpoint keeps. */
export function hasRuntimeState(state: VMState): boolean {
  return state === 'Running' || state === 'Paused' || state === 'Saved';
}

/** Several per-VM failures as one error (the first one's code; one line each). */
export function combine(errors: HvsimError[]): HvsimError {
  if (errors.length === 1) return errors[0]!;
  return new HvsimError(errors[0]!.code, errors.map((x) => x.message).join('\n'));
}

/**
 * Get-VMSnapshot over VMs already resolved (simulator and real-host driver alike): each VM's
 * failure is gathered with the resolution's `errors` into one error, and a plain name that
 * matched nothing is Hyper-V's not-found.
 */
export function gatherSnapshots<V>(vms: V[], errors: HvsimError[], name: string | undefined, each: (vm: V) => VMSnapshot[]): VMSnapshot[] {
  const out: VMSnapshot[] = [];
  for (const vm of vms) {
    try {
      out.push(...each(vm));
    } catch (e) {
      if (e instanceof HvsimError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length > 0) throw combine(errors);
  if (out.length === 0 && name !== undefined && !hasWildcard(name) && vms.length > 0)
    throw new HvsimError('NOT_FOUND', `Get-VMSnapshot: Hyper-V was unable to find a checkpoint with name "${name}".`);
  return out;
}
