/**
 * VM power states and the transitions the Hyper-V cmdlets make, with Hyper-V's wording for
 * refusals (docs/hyperv.md, "Power states", "State/operation matrix"). Pure: no I/O, no clock.
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
import type { VMState } from './host.js';
import { cmdletOf } from './messages.js';

export type PowerOp = 'start' | 'stop' | 'turn-off' | 'save' | 'suspend' | 'resume';

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
  const cmdlet = cmdletName ?? cmdletOf(op);
  const verb = op in TABLE ? 'failed to change state.' : 'failed.';
  return new HvsimError(
    'INVALID_STATE',
    `${cmdlet}: '${vmName}' ${verb} ${WRONG_STATE} (State: ${from}${detail ? `; ${detail}` : ''})`,
  );
}

/**
 * Remove-VM takes a VM that is Off or Saved (docs/hyperv.md, "Export and import": whether Hyper-V
 * turns a running one off itself is unverified, so every host refuses it).
 */
export function refuseRemoveRunning(vmName: string, state: VMState): void {
  if (state === 'Running' || state === 'Paused') throw wrongState('remove-vm', vmName, state, 'turn it off first (Stop-VM -TurnOff)');
}

/** Whether a VM in this state has memory/device state a standard checkpoint keeps. */
export function hasRuntimeState(state: VMState): boolean {
  return state === 'Running' || state === 'Paused' || state === 'Saved';
}
