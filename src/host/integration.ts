/**
 * Integration services (Get-, Enable-, Disable-VMIntegrationService; docs/hyperv.md, "Integration
 * services"): the services a VM is offered, their default Enabled states, how a -Name picks them,
 * and the one rule that decides whether a checkpoint can be a production checkpoint.
 */
import { HvsimError } from '../errors.js';
import { cmdletOf } from './messages.js';
import type { VMState } from './host.js';
import { nameHasWildcard, nameMatches } from './wildcard.js';

/**
 * The services of a Windows Server 2016+ host, as Get-VMIntegrationService names them (the
 * Msvm_*Component classes' Name; "Manage Hyper-V integration services", learn.microsoft.com).
 */
export const INTEGRATION_SERVICES = ['Guest Service Interface', 'Heartbeat', 'Key-Value Pair Exchange', 'Shutdown', 'Time Synchronization', 'VSS'] as const;
export type IntegrationServiceName = (typeof INTEGRATION_SERVICES)[number];

/** The backup service production checkpoints need (Hyper-V Manager calls it "Backup (volume shadow copy)"). */
export const BACKUP_SERVICE: IntegrationServiceName = 'VSS';

/**
 * hvsim also accepts Hyper-V Manager's label of the backup service as a -Name (a real host knows
 * only the name its version lists: docs/hyperv.md, "Integration services").
 */
const LABELS: Readonly<Record<string, IntegrationServiceName>> = { 'backup (volume shadow copy)': 'VSS' };

/** A new VM's services: all offered but Guest Service Interface ("Manage Hyper-V integration services"). */
export function defaultIntegrationServices(): Record<IntegrationServiceName, boolean> {
  return { 'Guest Service Interface': false, Heartbeat: true, 'Key-Value Pair Exchange': true, Shutdown: true, 'Time Synchronization': true, VSS: true };
}

/**
 * The services `patterns` pick (wildcards * and ?, as for VM names), in the host's order; a plain name that is no
 * service is an error naming it (hvsim's text: Hyper-V's is not documented).
 */
export function pickIntegrationServices(op: string, vmName: string, patterns: readonly string[] | undefined): IntegrationServiceName[] {
  return pickServices(op, vmName, patterns, INTEGRATION_SERVICES);
}

/**
 * The same rule over the services a host offers (`offered`, in its order: a real host lists its
 * own, src/hyperv): exact names case-insensitively, Hyper-V Manager's label of the backup service
 * for `VSS`, wildcards over the names.
 */
export function pickServices<T extends string>(op: string, vmName: string, patterns: readonly string[] | undefined, offered: readonly T[]): T[] {
  if (patterns === undefined) return [...offered];
  const picked = new Set<T>();
  const exact = (name: string): T | undefined => offered.find((s) => s.toLowerCase() === name.toLowerCase());
  for (const p of patterns) {
    if (nameHasWildcard(p)) {
      for (const s of offered) if (nameMatches(p, s)) picked.add(s);
      continue;
    }
    const label = LABELS[p.toLowerCase()];
    const s = exact(p) ?? (label !== undefined ? exact(label) : undefined);
    if (s === undefined)
      throw new HvsimError('NOT_FOUND', `${cmdletOf(op)}: The virtual machine '${vmName}' has no integration service named '${p}' (the services are: ${offered.join(', ')}).`);
    picked.add(s);
  }
  return offered.filter((s) => picked.has(s));
}

/**
 * Whether a checkpoint taken now can be a production checkpoint (docs/hyperv.md, "Checkpoint
 * types"): an Off VM has nothing to quiesce; a running one needs a guest with VSS support and the
 * backup (VSS) integration service enabled; a Saved or Paused guest cannot quiesce. The reason
 * it cannot, else null.
 */
export function productionBlocker(state: VMState, guestSupportsProduction: boolean, backupEnabled: boolean): string | null {
  if (state === 'Off') return null;
  if (state !== 'Running') return `the guest is not running: State ${state}`;
  if (!backupEnabled) return 'the Backup (volume shadow copy) integration service is disabled';
  if (!guestSupportsProduction) return 'the guest has no Backup (VSS) integration service';
  return null;
}
