/**
 * Integration services of simulated VMs: Get-, Enable- and Disable-VMIntegrationService
 * (docs/hyperv.md, "Integration services"). A VM record without the field (states written before
 * it existed) has the defaults.
 */
import type { VMIntegrationComponent } from '../host/host.js';
import { BACKUP_SERVICE, pickIntegrationServices, productionBlocker, type IntegrationServiceName } from '../host/integration.js';
import type { SimContext } from './context.js';
import { vmByName } from './lookup.js';
import { hostOf, servicesOf, type VmRecord } from './state.js';

/** Why a checkpoint of `vm` taken now cannot be a production one, else null (the one rule: src/host/integration.ts). */
export function vmProductionBlocker(vm: VmRecord): string | null {
  return productionBlocker(vm.state, vm.guestSupportsProduction, servicesOf(vm)[BACKUP_SERVICE]);
}

function view(ctx: SimContext, vm: VmRecord, name: IntegrationServiceName): VMIntegrationComponent {
  const enabled = servicesOf(vm)[name];
  const running = vm.state === 'Running';
  return {
    VMName: vm.name,
    VMId: vm.id,
    Name: name,
    Enabled: enabled,
    PrimaryStatusDescription: running ? 'OK' : null,
    // Only Heartbeat reports the guest's own health (the Microsoft example's second column).
    SecondaryStatusDescription: running && enabled && name === 'Heartbeat' ? 'OK' : null,
    ComputerName: hostOf(ctx.state, vm),
  };
}

export function getVMIntegrationService(ctx: SimContext, vmName: string, names: string[] | undefined): VMIntegrationComponent[] {
  const vm = vmByName(ctx, vmName, 'get-integration');
  return pickIntegrationServices('get-integration', vm.name, names).map((s) => view(ctx, vm, s));
}

export function setVMIntegrationService(ctx: SimContext, vmName: string, names: string[], enabled: boolean): VMIntegrationComponent[] {
  const op = enabled ? 'enable-integration' : 'disable-integration';
  const vm = vmByName(ctx, vmName, op);
  const picked = pickIntegrationServices(op, vm.name, names);
  const services = servicesOf(vm);
  for (const s of picked) services[s] = enabled;
  vm.integrationServices = services;
  return picked.map((s) => view(ctx, vm, s));
}
