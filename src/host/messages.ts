/**
 * Hyper-V's wording for the errors every host raises, with hvsim's error codes (docs/hyperv.md,
 * "Error texts"): messages start with the cmdlet, as PowerShell shows them, and a cmdlet applied
 * to several VMs reports each VM's failure on its own line.
 */
import { HvsimError } from '../errors.js';

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
  wait: 'Wait-VM',
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
  'remove-vm': 'Remove-VM',
  'export-vm': 'Export-VM',
  import: 'Import-VM',
  'get-integration': 'Get-VMIntegrationService',
  'enable-integration': 'Enable-VMIntegrationService',
  'disable-integration': 'Disable-VMIntegrationService',
};

/** The cmdlet an operation belongs to, or the operation's own name. */
export function cmdletOf(op: string): string {
  return CMDLET[op] ?? op;
}

/** Hyper-V's not-found text for VMs. */
export function vmNotFound(op: string, name: string): HvsimError {
  return new HvsimError('NOT_FOUND', `${cmdletOf(op)}: Hyper-V was unable to find a virtual machine with name "${name}".`);
}

/** Not-found text for checkpoints of one VM (the VM's wording, applied to checkpoints). */
export function snapshotNotFound(op: string, vmName: string, name: string): HvsimError {
  return new HvsimError('NOT_FOUND', `${cmdletOf(op)}: Hyper-V was unable to find a checkpoint with name "${name}" for virtual machine "${vmName}".`);
}

/** Not-found text for a checkpoint name that matched nothing on any of the VMs (Get-VMSnapshot, Remove-VMSnapshot). */
export function checkpointNameNotFound(op: string, name: string): HvsimError {
  return new HvsimError('NOT_FOUND', `${cmdletOf(op)}: Hyper-V was unable to find a checkpoint with name "${name}".`);
}

/** Several per-VM failures as one error (the first one's code; one line each). */
export function combine(errors: HvsimError[]): HvsimError {
  if (errors.length === 1) return errors[0]!;
  return new HvsimError(errors[0]!.code, errors.map((x) => x.message).join('\n'));
}

/** Raise the per-VM failures gathered by a cmdlet, if any (its non-terminating errors, together). */
export function throwGathered(errors: HvsimError[]): void {
  if (errors.length > 0) throw combine(errors);
}

/**
 * A computer hvsim does not simulate, named by -ComputerName, -CimSession or --computer-name: the
 * text of the error Hyper-V's cmdlets give for a name that does not resolve (a ConnectionError,
 * id HyperVCommunicationError; docs/hyperv.md, "Several hosts"), with the hosts hvsim has.
 */
export function remoteComputerMessage(name: string, simulated: readonly string[]): string {
  const hosts = simulated.map((h) => `'${h}'`).join(', ');
  return (
    `The operation on computer '${name}' failed: The WinRM client cannot process the request because the server name cannot be resolved. ` +
    `(hvsim simulates the host${simulated.length > 1 ? 's' : ''} ${hosts}; hvsim new-vm --computer-name ${name} adds that host)`
  );
}

/** Whether a computer name is `current` itself ('.', localhost or its name). */
export const isLocalComputer = (name: string, current: string): boolean => name === '.' || name.toLowerCase() === 'localhost' || name.toLowerCase() === current.toLowerCase();

/** An unknown host as an error (the CLI's --computer-name). */
export function unknownHost(name: string, simulated: readonly string[]): HvsimError {
  return new HvsimError('NOT_FOUND', remoteComputerMessage(name, simulated));
}

/** A Host method only some hosts have (the optional ones of host.ts): its absence is UNSUPPORTED. */
export function hostMethod<F>(f: F | undefined, cmdlet: string): F {
  if (f === undefined) throw new HvsimError('UNSUPPORTED', `${cmdlet}: this host does not support it (docs/real-host.md)`);
  return f;
}
