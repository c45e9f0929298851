/**
 * Which simulated VM a disk file belongs to, for the disk commands that change files (merge-vhd,
 * write-vhd, convert-vhd, resume-merge, new-vhd --parent): Hyper-V's Merge-VHD and the VHD
 * cmdlets refuse a disk a virtual machine is using (docs/hyperv.md, "Merges": Merge-VHD
 * only on a chain no VM has attached). The records are read from state.json without taking the state lock and
 * without changing anything. Looked in: the state directories given (the CLI's --root, HVSIM_ROOT
 * or ./.hvsim) and every folder above the file that holds a state.json (a VM's disks live in
 * `<root>/vms/<VM>/Virtual Hard Disks/`). A disk attached from elsewhere (new-vm --vhd-path) to a
 * state directory that is neither is not found: docs/simulator.md says so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VMState } from '../host/host.js';
import { HvsimError } from '../errors.js';
import { MiB } from '../vhd/common/bytes.js';
import { inlineRecords } from './records.js';
import { validateState, type HostState } from './state.js';
import { STATE_FILE } from './storage.js';

/** Larger state.json files are not read here (a state of 1,000 VMs is a few MiB). */
const MAX_STATE_BYTES = 64 * MiB;

export interface DiskOwner {
  /** The state directory. */
  root: string;
  vmName: string;
  vmState: VMState;
  /** The file is the VM's current (writable) disk. */
  current: boolean;
  /** Names of the checkpoints whose content includes the file (its own frozen file or a descendant's). */
  checkpoints: string[];
}

/**
 * The state kept in `root`, or undefined when there is none (or a file of that name that is not
 * hvsim's). A damaged hvsim state is an error when `file` lies inside `root`: whether the file is
 * a VM's cannot be known, so it is left alone until the state is repaired.
 */
function readState(root: string, file: string): HostState | undefined {
  const stateFile = path.join(root, STATE_FILE);
  let parsed: unknown;
  try {
    const st = fs.statSync(stateFile);
    if (!st.isFile() || st.size > MAX_STATE_BYTES) return undefined;
    parsed = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined; // no state here, or not one hvsim can read: nobody's records
  }
  const o = parsed as Partial<HostState> | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.vms) || typeof o.version !== 'number') return undefined;
  try {
    // Version 2: each VM's drives and checkpoints are in its record file (records.ts).
    return validateState(inlineRecords(o as Record<string, unknown> & { vms: unknown[] }, root), stateFile);
  } catch (e) {
    if (!(e instanceof HvsimError) || !file.startsWith(root + path.sep)) return undefined;
    throw new HvsimError('INVALID_STATE', `${file} is in the state directory ${root}, which cannot be read (${e.message}); hvsim leaves its files alone until it is repaired`, { file });
  }
}

/** The state directories that may hold records of `file`: `roots`, then the folders above it. */
function candidateRoots(file: string, roots: readonly string[]): string[] {
  const out = roots.map((r) => path.resolve(r));
  for (let d = path.dirname(path.resolve(file)); ; d = path.dirname(d)) {
    if (!out.includes(d)) out.push(d);
    if (path.dirname(d) === d) break;
  }
  return out;
}

/** The VM of `state` (kept in `root`) whose records name the absolute path `abs`. */
export function ownerInState(state: HostState, root: string, abs: string): DiskOwner | undefined {
  for (const vm of state.vms) {
    for (let i = 0; i < vm.drives.length; i++) {
      const drive = vm.drives[i]!;
      const files = drive.files;
      if (!files.some((f) => f.path === abs)) continue;
      const parentOf = new Map(files.map((f) => [f.path, f.parent]));
      // The file is in the content of each checkpoint whose frozen file descends from it.
      const includes = (leaf: string | undefined): boolean => {
        for (let p: string | null | undefined = leaf, n = 0; p != null && n <= files.length; p = parentOf.get(p), n++) if (p === abs) return true;
        return false;
      };
      return {
        root,
        vmName: vm.name,
        vmState: vm.state,
        current: drive.path === abs,
        checkpoints: vm.snapshots.filter((s) => includes(s.drives[i])).map((s) => s.name),
      };
    }
  }
  return undefined;
}

/** The VM whose records name `file` (as a current disk, a checkpoint's or an ancestor of either). */
export function diskOwner(file: string, roots: readonly string[] = []): DiskOwner | undefined {
  const abs = path.resolve(file);
  for (const root of candidateRoots(abs, roots)) {
    const state = readState(root, abs);
    const o = state && ownerInState(state, root, abs);
    if (o) return o;
  }
  return undefined;
}

/**
 * What a command does to a file:
 * - write: changes its data (allowed on a VM's current disk while the VM is Off: no checkpoint
 *   includes it and no guest has it open);
 * - freeze: makes it a parent (allowed on a checkpoint's frozen file, never on a VM's current disk);
 * - merge: merges it, removes it or replaces it (never on a VM's file: Merge-VHD is offline only,
 *   "the virtual hard disk chain must not be attached when merge is initiated",
 *   https://learn.microsoft.com/powershell/module/hyper-v/merge-vhd).
 */
export type DiskChange = 'write' | 'freeze' | 'merge';

/** Whether `change` may be made to a file of VM owner `o`. */
export function changeAllowed(o: DiskOwner, change: DiskChange): boolean {
  if (change === 'write') return o.current && o.vmState === 'Off';
  if (change === 'freeze') return !o.current;
  return false;
}

/** Why a file of `o` is the VM's, in words ("is the current disk of the virtual machine 'A' (Off)"). */
export function ownerReason(o: DiskOwner): string {
  if (o.current) return `is the current disk of the virtual machine '${o.vmName}' (${o.vmState})`;
  if (o.checkpoints.length > 0)
    return `holds ${o.checkpoints.length === 1 ? 'checkpoint' : 'checkpoints'} ${o.checkpoints.map((c) => `'${c}'`).join(', ')} of the virtual machine '${o.vmName}'`;
  return `belongs to the virtual machine '${o.vmName}'`;
}
