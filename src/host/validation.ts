/**
 * Checks of the arguments every host makes before it acts: VM and checkpoint names, startup
 * memory, checkpoint types (docs/hyperv.md, "Checkpoint types", "Limits"), and the defaults of a
 * new VM. Pure: no host state.
 */
import { GiB, MiB } from '../vhd/common/bytes.js';
import { invalidArgument } from '../errors.js';
import { CHECKPOINT_TYPES, type CheckpointType } from './host.js';
import { cmdletOf } from './messages.js';
import { findVMNamed } from './selection.js';

/** Longest VM or checkpoint name (Msvm_VirtualSystemSettingData.ElementName). */
export const MAX_NAME_LENGTH = 100;
/** Smallest startup memory hvsim accepts. */
export const MIN_MEMORY = 32 * MiB;
/** A new VM's startup memory when none is given. */
export const DEFAULT_MEMORY = 1 * GiB;
/** The size of a new VM's disk when none is given. */
export const DEFAULT_DISK_SIZE = 64 * MiB;

/** Characters Windows refuses in file names (a VM's name becomes a folder and a disk file name). */
const BAD_NAME = /[\\/:*?"<>|\u0000-\u001f]/;

/** New-VM: 1 to 100 characters, usable as a Windows file name. */
export function validateVMName(name: string): void {
  if (name.trim().length === 0 || name.length > MAX_NAME_LENGTH || BAD_NAME.test(name) || name === '.' || name === '..' || /[. ]$/.test(name))
    throw invalidArgument(`New-VM: "${name}" is not a valid virtual machine name (1 to ${MAX_NAME_LENGTH} characters, none of \\ / : * ? " < > |, not ending in a dot or space)`);
}

/**
 * A simulated host's name: a NetBIOS or DNS name (letters, digits, '-', '.', '_'; 1 to 255
 * characters; not starting or ending with '.' or '-'), so that it is a valid folder name and a
 * "HOST:VM" pair splits at its ':' (docs/simulator.md, "Several hosts").
 */
export function validateComputerName(name: string): void {
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,253}[A-Za-z0-9_])?$/.test(name) || name.toLowerCase() === 'localhost')
    throw invalidArgument(`"${name}" is not a valid computer name for a simulated host (letters, digits, '-', '.', '_'; not starting or ending with '.' or '-'; not localhost)`);
}

/** Checkpoint names: 1 to 100 characters, not blank. */
export function validateSnapshotName(name: string, cmdlet: string): void {
  if (name.trim().length === 0) throw invalidArgument(`${cmdlet}: the checkpoint name cannot be empty or blank.`);
  if (name.length > MAX_NAME_LENGTH)
    throw invalidArgument(`${cmdlet}: the checkpoint name is ${name.length} characters long; it may not exceed ${MAX_NAME_LENGTH} characters.`);
}

/** A Set-VM -CheckpointType value; Set-VM's message lists the values. */
export function validateCheckpointType(type: CheckpointType | undefined, op: 'new' | 'set'): void {
  if (type === undefined || CHECKPOINT_TYPES.includes(type)) return;
  const values = op === 'set' ? ` (use ${CHECKPOINT_TYPES.join(', ')})` : '';
  throw invalidArgument(`${cmdletOf(op)}: unknown checkpoint type "${String(type)}"${values}`);
}

/** New-VM's startup memory: a whole number of bytes, at least 32 MiB. */
export function validateMemory(memory: number): void {
  if (!Number.isSafeInteger(memory) || memory < MIN_MEMORY) throw invalidArgument(`New-VM: memory must be at least 32 MiB`);
}

/** New-VM: a name already used on the host (names compare case-insensitively). */
export function refuseTakenVMName(name: string, names: readonly string[], computerName: string): void {
  if (findVMNamed(names, name, (n) => n) !== undefined) throw invalidArgument(`New-VM: a virtual machine named "${name}" already exists on ${computerName}`);
}
