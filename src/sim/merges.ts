/**
 * Merges in simulated time (docs/simulator.md): removing checkpoints changes the tree at once and
 * merges the disks "in the background" — the VM reports MergingDisks until the clock passes the
 * merge's cost, and the files change when it does (or at once when the caller waits). Anything
 * that changes a VM's disk tree first waits for that VM's merge (beforeTreeChange).
 */
import { HvsimError } from '../errors.js';
import { applyStep, executeStep, hasMerge, missingFiles, nextCleanupStep, ownedFiles, planCleanup, stepCost } from './disk-tree.js';
import { fault, persist, requireDisks, touch, warn, type SimContext } from './context.js';
import type { VmRecord } from './state.js';

/** Finish every VM's background merge whose time has passed. */
export function settleAll(ctx: SimContext): void {
  for (const vm of ctx.state.vms) if (vm.mergeUntil !== null && vm.mergeUntil <= ctx.clock.now()) mergeOrRetryLater(ctx, vm, () => runCleanup(ctx, vm));
}

/**
 * Run a VM's merge. One that fails (disk full, an I/O error) stays pending, as its journal and
 * records say: the command asked for goes on with a warning (Get-VM shows the VM still merging)
 * and the next command retries. An injected fault (a simulated crash) still ends the command.
 */
function mergeOrRetryLater(ctx: SimContext, vm: VmRecord, merge: () => void): void {
  try {
    merge();
  } catch (e) {
    if (!(e instanceof HvsimError) || e.code === 'FAULT_INJECTED') throw e;
    warn(ctx, vm.name, `'${vm.name}': merging the disks failed and will be retried by the next command: ${e.message}`);
  }
}

/** Wait for this VM's background merge (the clock moves to its end) and finish it. */
export function settle(ctx: SimContext, vm: VmRecord): void {
  if (vm.mergeUntil === null) return;
  ctx.clock.advanceTo(vm.mergeUntil);
  runCleanup(ctx, vm);
}

/**
 * Before a command changes a VM's disk tree: its disk files must all be there (`cmdlet` names the
 * command in the refusal), and its background merge finishes first.
 */
export function beforeTreeChange(ctx: SimContext, vm: VmRecord, cmdlet: string): void {
  requireDisks(ctx, vm, cmdlet);
  settle(ctx, vm);
}

/** Bring the VM's disk trees to their minimal form now (the time was accounted for already). */
function runCleanup(ctx: SimContext, vm: VmRecord): void {
  touch(ctx, vm); // a background merge changes the VM's files, named or not
  // A missing file stops the merge: it waits (MergingDisks, Degraded) until the file is back.
  if (missingFiles(ctx.storage.store, vm).length > 0) return;
  for (let i = 0; i < vm.drives.length; i++) {
    for (;;) {
      const step = nextCleanupStep(vm.drives[i]!.files, ownedFiles(vm, i));
      if (!step) break;
      const leafIsCheckpoint = step.kind === 'merge-down' && vm.drives[i]!.path !== step.leaf;
      if (step.kind !== 'delete') fault(ctx, 'merge', vm);
      // The step is durable before any file changes: after a crash it is what proves that its
      // files are gone because hvsim merged them (reconcileDrives).
      vm.pendingStep = { drive: i, step };
      persist(ctx);
      executeStep(ctx.storage.store, step, leafIsCheckpoint);
      applyStep(vm, i, step);
      vm.pendingStep = null;
      persist(ctx);
    }
  }
  vm.mergeUntil = null;
}

/**
 * After the tree changed: deletions happen now; if merges are needed they run in the
 * background until now + their cost (or now, when `wait`).
 */
export function scheduleCleanup(ctx: SimContext, vm: VmRecord, wait: boolean): void {
  const plan = planCleanup(vm);
  if (plan.length === 0) return;
  const cost = plan.reduce((t, p) => t + stepCost(ctx.storage.store, p.step, ctx.costs), 0);
  if (!hasMerge(plan)) {
    runCleanup(ctx, vm);
    ctx.clock.advance(cost);
    return;
  }
  vm.mergeUntil = ctx.clock.now() + cost;
  persist(ctx);
  // The tree has changed already (the checkpoint is gone, as in Hyper-V, where the merge follows).
  if (wait) mergeOrRetryLater(ctx, vm, () => settle(ctx, vm));
}
