/**
 * Fault injection: "make operation X on VM Y fail" for testing workflows (docs/hyperv.md,
 * "Group checkpoints": failures mid-sequence must be testable per VM and per step). A fault is `OP:VM` or
 * `OP:VM:N` — fail the first (or the N-th) matching call, once. VM may use * and ? wildcards
 * (matched as VM names are, wildcard.ts). A faulted operation fails before it changes anything.
 */
import { HvsimError, invalidArgument } from '../errors.js';
import { cmdletOf } from './messages.js';
import { nameMatches } from './wildcard.js';

/** Operations that can be made to fail. */
export const FAULT_OPS = [
  'start', 'stop', 'turn-off', 'save', 'suspend', 'resume', 'checkpoint', 'restore', 'remove', 'rename', 'export', 'write', 'read', 'merge',
] as const;
export type FaultOp = (typeof FAULT_OPS)[number];

export interface FaultSpec {
  op: FaultOp;
  /** VM name pattern (case-insensitive, * and ? wildcards). */
  vm: string;
  /** Fail on this matching call (1 = the first). */
  nth: number;
}

const ALIASES: Record<string, FaultOp> = {
  'start-vm': 'start',
  'stop-vm': 'stop',
  'save-vm': 'save',
  'suspend-vm': 'suspend',
  pause: 'suspend',
  'resume-vm': 'resume',
  'checkpoint-vm': 'checkpoint',
  'restore-vmsnapshot': 'restore',
  'remove-vmsnapshot': 'remove',
  'rename-vmsnapshot': 'rename',
  'export-vmsnapshot': 'export',
  'write-vm': 'write',
  'read-vm': 'read',
  turnoff: 'turn-off',
};

/** Parse "checkpoint:web01" or "start:db*:2". */
export function parseFault(text: string): FaultSpec {
  const parts = text.split(':');
  const [rawOp, vm, nthText] = parts;
  const op = rawOp === undefined ? undefined : (ALIASES[rawOp.toLowerCase()] ?? rawOp.toLowerCase());
  if (parts.length < 2 || parts.length > 3 || !vm || !op || !(FAULT_OPS as readonly string[]).includes(op))
    throw invalidArgument(`bad fault "${text}": use OP:VM or OP:VM:N with OP one of ${FAULT_OPS.join(', ')}`);
  const nth = nthText === undefined ? 1 : Number(nthText);
  if (!Number.isInteger(nth) || nth < 1) throw invalidArgument(`bad fault "${text}": N must be a positive integer`);
  return { op: op as FaultOp, vm, nth };
}

interface Armed extends FaultSpec {
  seen: number;
  fired: boolean;
}

export class FaultPlan {
  private faults: Armed[];
  /** Faults that fired, in order (for reports and tests). */
  readonly fired: FaultSpec[] = [];

  constructor(specs: Array<FaultSpec | string> = []) {
    this.faults = specs.map((s) => ({ ...(typeof s === 'string' ? parseFault(s) : s), seen: 0, fired: false }));
  }

  add(spec: FaultSpec | string): void {
    this.faults.push({ ...(typeof spec === 'string' ? parseFault(spec) : spec), seen: 0, fired: false });
  }

  /** Throw FAULT_INJECTED when a fault for (op, vm) is due. */
  check(op: FaultOp, vmName: string): void {
    for (const f of this.faults) {
      if (f.fired || f.op !== op || !nameMatches(f.vm, vmName)) continue;
      f.seen++;
      if (f.seen === f.nth) {
        f.fired = true;
        this.fired.push({ op: f.op, vm: f.vm, nth: f.nth });
        throw new HvsimError('FAULT_INJECTED', `${cmdletOf(op)}: '${vmName}' failed: injected fault (${op}:${f.vm}${f.nth > 1 ? `:${f.nth}` : ''})`);
      }
    }
  }

  /** Every fault in the order added, with how many matching calls it has seen and whether it fired. */
  armed(): ReadonlyArray<Readonly<FaultSpec & { seen: number; fired: boolean }>> {
    return this.faults;
  }

  /** Faults not yet fired. */
  pending(): FaultSpec[] {
    return this.faults.filter((f) => !f.fired).map(({ op, vm, nth }) => ({ op, vm, nth }));
  }
}
