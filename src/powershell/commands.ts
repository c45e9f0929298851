/**
 * The command table of hvsim run: cmdlets by name and alias, and the real cmdlets hvsim does not
 * implement (they stop the run when a call to one is reached).
 */
import type { CommandCall } from './ast.js';
import type { CmdletDef } from './cmdlet.js';
import { HYPERV_ALIASES, HYPERV_CMDLETS } from './cmdlets/hyperv.js';
import { UTILITY_ALIASES, UTILITY_CMDLETS } from './cmdlets/utility.js';
import { STREAM_CMDLETS } from './cmdlets/streams.js';
import { UnsupportedError } from './errors.js';
import { FILE_ALIASES, FILE_CMDLETS } from './cmdlets/files.js';
import { WINDOWS_ALIASES, WINDOWS_CMDLETS, moduleOf } from './cmdlets/windows.js';
import { CIM_ALIASES, CIM_CMDLETS } from './cmdlets/cim.js';
import { JOB_ALIASES, JOB_CMDLETS } from './cmdlets/jobs.js';

const BY_NAME = new Map<string, CmdletDef>();
for (const c of [...HYPERV_CMDLETS, ...UTILITY_CMDLETS, ...STREAM_CMDLETS, ...FILE_CMDLETS, ...WINDOWS_CMDLETS, ...CIM_CMDLETS, ...JOB_CMDLETS]) BY_NAME.set(c.name.toLowerCase(), c);
const ALIASES: Record<string, string> = { ...HYPERV_ALIASES, ...UTILITY_ALIASES, ...FILE_ALIASES, ...WINDOWS_ALIASES, ...CIM_ALIASES, ...JOB_ALIASES };

/** "Hyper-V\Get-VM" → ['Hyper-V', 'Get-VM']; a name without a module → [null, name]. */
export function splitModule(name: string): [string | null, string] {
  const slash = name.lastIndexOf('\\');
  return slash >= 0 ? [name.slice(0, slash), name.slice(slash + 1)] : [null, name];
}

export function findCmdlet(name: string): CmdletDef | undefined {
  // Hyper-V\Get-VM: a module-qualified name finds the cmdlet only in its own module (about_Command_Precedence)
  const [module, command] = splitModule(name);
  if (module !== null) {
    const def = BY_NAME.get(command.toLowerCase());
    return def && moduleOf(def).toLowerCase() === module.toLowerCase() ? def : undefined;
  }
  const n = name.toLowerCase();
  return BY_NAME.get(n) ?? BY_NAME.get(ALIASES[n]?.toLowerCase() ?? '');
}

/** FailoverClusters cmdlets a Hyper-V script may reach: the simulator models no failover cluster (WHY). */
const CLUSTER_CMDLETS = [
  'Get-Cluster', 'Get-ClusterNode', 'Get-ClusterGroup', 'Get-ClusterResource', 'Get-ClusterSharedVolume', 'Move-ClusterVirtualMachineRole',
  'Move-ClusterGroup', 'Add-ClusterVirtualMachineRole', 'Remove-ClusterGroup', 'Start-ClusterGroup', 'Stop-ClusterGroup', 'Test-Cluster',
];

/** Real cmdlets a checkpoint script may use that hvsim run does not implement. */
const KNOWN_UNSUPPORTED = [
  'Compare-VM', 'Rename-VM', 'Move-VM', 'Restart-VM', 'Remove-VMSavedState',
  'Get-VHD', 'New-VHD', 'Set-VHD', 'Resize-VHD', 'Convert-VHD', 'Mount-VHD', 'Dismount-VHD', 'Test-VHD', 'Optimize-VHD',
  'Remove-VMHardDiskDrive', 'Set-VMHardDiskDrive', 'Get-VMNetworkAdapter',
  'Get-VMHost', 'Set-VMHost', 'Get-VMProcessor', 'Set-VMProcessor', 'Get-VMMemory', 'Set-VMMemory',
  'New-PSSession', 'Get-Credential',
  ...CLUSTER_CMDLETS,
  'Write-Information',
  'Add-Member', 'Get-Member', 'Set-Variable', 'Get-Variable',
  'Get-Process', 'Get-WmiObject', 'Get-CimInstance', 'Get-Random',
  'Invoke-Expression', 'Out-GridView', 'Format-Wide', 'Format-Custom', 'Select-String',
].map((n) => n.toLowerCase());
const UNSUPPORTED_ALIASES: Record<string, string> = { iex: 'Invoke-Expression', gm: 'Get-Member', fw: 'Format-Wide', ogv: 'Out-GridView', sls: 'Select-String' };

/** Why a refused cmdlet is refused, when it is not obvious. */
const WHY: Record<string, string> = {
  ...Object.fromEntries(CLUSTER_CMDLETS.map((n) => [n.toLowerCase(), ' (module FailoverClusters: the simulator models no failover cluster — its hosts are stand-alone; use -ComputerName to reach each host)'])),
  'get-process': ' (the simulated host runs no programs)',
  'get-random': ' (a run of hvsim is reproducible; .NET\'s seeded generator is not reproduced, so -SetSeed would not give PowerShell\'s numbers)',
  'get-wmiobject': ' (WMI classes are not simulated; Get-VM and the simulated environment ($env:, [Environment]) give what hvsim models)',
  'get-ciminstance': ' (CIM classes are not simulated; Get-VM and the simulated environment ($env:, [Environment]) give what hvsim models)',
};

/**
 * A real cmdlet hvsim does not implement stops the run when the call is reached (not before: a
 * branch that never runs does not refuse the script), naming the line and the cmdlet.
 */
export function refuseUnimplemented(c: CommandCall): void {
  const name = splitModule(c.name)[1];
  const lower = name.toLowerCase();
  const real = UNSUPPORTED_ALIASES[lower] ?? (KNOWN_UNSUPPORTED.includes(lower) ? name : undefined);
  if (real !== undefined) throw new UnsupportedError(c.pos.line, `the cmdlet ${real}${WHY[real.toLowerCase()] ?? ''} is`);
}
