/**
 * Power: Start-VM, Stop-VM (shut down, turn off, save), Suspend-VM, Resume-VM, Save-VM, and
 * waiting for a VM's merge. The transitions follow host/state-machine.ts; each moves the clock by
 * the cost model (host/clock.ts).
 */
import { HvsimError, invalidArgument } from '../errors.js';
import type { VirtualMachine, WaitGuestOptions, WaitVMFor } from '../host/host.js';
import { transferMs } from '../host/clock.js';
import { ALREADY_IN_STATE, transition, type PowerOp } from '../host/state-machine.js';
import { cmdletOf } from '../host/messages.js';
import { eachSelected } from '../host/selection.js';
import { fault, requireDisks, viewVM, warn, type SimContext } from './context.js';
import { openChain } from './disk-tree.js';
import { eachVM, resolveVMs } from './lookup.js';
import { settle, settleAll } from './merges.js';
import { servicesOf, type VmRecord } from './state.js';
import { automaticCheckpoint, dropAutomaticCheckpoints } from './checkpoints.js';

function power(ctx: SimContext, vm: VmRecord, op: PowerOp, cmdlet: string = cmdletOf(op)): VirtualMachine {
  fault(ctx, op, vm);
  const t = transition(op, vm.name, vm.state, cmdlet);
  if (t.kind === 'refused') throw t.error;
  if (t.kind === 'already') {
    warn(ctx, vm.name, `${cmdlet}: '${vm.name}': ${ALREADY_IN_STATE}`);
    return viewVM(ctx, vm);
  }
  const c = ctx.costs;
  const clock = ctx.clock;
  const from = vm.state;
  switch (op) {
    case 'start':
      // The guest runs only once booted (or once its memory is read back).
      clock.advance(from === 'Saved' ? c.saveBaseMs + transferMs(vm.memory, c.memoryRestoreBytesPerSec) : c.bootMs);
      vm.state = 'Running';
      vm.runningSince = clock.now();
      break;
    case 'resume':
      clock.advance(c.resumeMs);
      vm.state = 'Running';
      break;
    case 'suspend':
      vm.state = 'Paused';
      clock.advance(c.pauseMs);
      break;
    case 'save':
      // The guest stops at once (paused), then its memory is written.
      vm.state = 'Saved';
      vm.runningSince = null;
      clock.advance((from === 'Running' ? c.pauseMs : 0) + c.saveBaseMs + transferMs(vm.memory, c.memorySaveBytesPerSec));
      break;
    case 'stop':
    case 'turn-off':
      vm.state = 'Off';
      vm.runningSince = null;
      clock.advance(op === 'stop' ? c.shutdownMs : c.turnOffMs);
      break;
  }
  return viewVM(ctx, vm);
}

export function startVM(ctx: SimContext, names: string[]): VirtualMachine[] {
  return eachVM(ctx, names, 'start', (vm) => {
    if (vm.state !== 'Running') requireChains(ctx, vm);
    if (vm.state === 'Off' && vm.automaticCheckpointsEnabled === true && !vm.snapshots.some((s) => s.automatic === true)) automaticCheckpoint(ctx, vm);
    return power(ctx, vm, 'start');
  });
}

/** Start-VM: Hyper-V does not start a VM whose disk chain is broken, and names the file. */
function requireChains(ctx: SimContext, vm: VmRecord): void {
  requireDisks(ctx, vm, 'Start-VM');
  for (const d of vm.drives) {
    try {
      openChain(ctx.storage.store, d.path).close();
    } catch (e) {
      if (!(e instanceof HvsimError)) throw e;
      throw new HvsimError(e.code, `Start-VM: '${vm.name}' failed to start: ${e.message}`, { ...(e.file !== undefined ? { file: e.file } : {}), cause: e });
    }
  }
}

/** Stop-VM as `op` (shut down, turn off or save). */
export function stopVM(ctx: SimContext, names: string[], op: PowerOp): VirtualMachine[] {
  return eachVM(ctx, names, 'stop', (vm) => {
    const wasRunning = vm.state === 'Running';
    const v = power(ctx, vm, op, 'Stop-VM');
    if (op === 'stop' && wasRunning && vm.snapshots.some((s) => s.automatic === true)) {
      dropAutomaticCheckpoints(ctx, vm);
      return viewVM(ctx, vm);
    }
    return v;
  });
}

/** Suspend-VM, Resume-VM, Save-VM. */
export function powerVM(ctx: SimContext, names: string[], op: 'suspend' | 'resume' | 'save'): VirtualMachine[] {
  return eachVM(ctx, names, op, (vm) => power(ctx, vm, op));
}

/** Wait for each VM's background merge to finish. */
export function waitVM(ctx: SimContext, names: string[]): VirtualMachine[] {
  return eachVM(ctx, names, 'get', (vm) => {
    settle(ctx, vm);
    return viewVM(ctx, vm);
  });
}

/**
 * Why a simulated guest does not report `what` now, else null (docs/hyperv.md, "Wait-VM"). A
 * running guest always answers (docs/hyperv.md, "Integration services"); it has no network adapter
 * and nothing reboots it while a script waits, so IPAddress and Reboot never come.
 */
function guestWaitBlocker(vm: VmRecord, what: WaitVMFor): string | null {
  switch (what) {
    case 'Heartbeat':
      if (vm.state !== 'Running') return `it is ${vm.state}`;
      return servicesOf(vm).Heartbeat ? null : 'its Heartbeat integration service is disabled';
    case 'MemoryOperations':
      return vm.state === 'Running' ? null : `it is ${vm.state}`;
    case 'IPAddress':
      return 'a simulated VM has no network adapter, so its guest never reports an IP address';
    case 'Reboot':
      return 'nothing reboots a simulated guest while a script waits';
  }
}

/**
 * Wait-VM: the VMs whose guests report `for` are done at once; for the others simulated time runs
 * to the timeout (one wait for all of them, as the cmdlet waits for them together) and each fails.
 * Without a timeout the wait could never end (nothing changes a simulated VM while its script
 * waits), so it fails at once instead of hanging.
 */
export function waitVMGuest(ctx: SimContext, names: string[], opts: WaitGuestOptions = {}): VirtualMachine[] {
  const what = opts.for ?? 'Heartbeat';
  const limit = opts.timeoutSeconds !== undefined && opts.timeoutSeconds >= 0 ? opts.timeoutSeconds : null;
  if (limit !== null && !Number.isFinite(limit)) throw invalidArgument(`${cmdletOf('wait')}: -Timeout ${limit} is not a number of seconds`);
  const selected = resolveVMs(ctx, names, 'wait');
  if (limit !== null && selected.vms.some((vm) => guestWaitBlocker(vm, what) !== null)) {
    ctx.clock.advance(limit * 1000);
    settleAll(ctx);
  }
  return eachSelected(selected, (vm) => {
    const why = guestWaitBlocker(vm, what);
    if (why === null) return viewVM(ctx, vm);
    const wait = limit === null ? `the wait for ${what} would never end (give -Timeout to let simulated time pass)` : `timed out waiting for ${what}`;
    throw new HvsimError('INVALID_STATE', `${cmdletOf('wait')}: '${vm.name}': ${wait}: ${why}`);
  });
}
