/**
 * New-VHD and Get-VHD for hvsim serve (serve-stdio.ts): the two VHD cmdlets the real-host driver
 * sends (src/hyperv/driver.ts: `New-VHD -Path -SizeBytes -Dynamic` before attaching a new disk,
 * `Get-VHD -VMId` for a disk's size), so that the driver runs against real PowerShell with the
 * hvsim module (docs/real-host.md). They are not VM cmdlets: the interpreter (src/powershell) has
 * neither, and the disk files are the engine's (`hvsim new-vhd` / `get-vhd` do the same on files).
 * Parameter names, sets and objects are those of Microsoft's VHD cmdlets
 * (https://learn.microsoft.com/powershell/module/hyper-v/new-vhd, …/get-vhd): objects are
 * `Microsoft.Vhd.PowerShell.VirtualHardDisk`, errors `<category>,Microsoft.Vhd.PowerShell.Cmdlets.NewVHD`.
 * Each call takes the state directory's lock as one command does (withHostOf).
 */
import { HvsimError } from '../errors.js';
import type { Host } from '../host/host.js';
import { openLayer } from '../engine/chain.js';
import { createBaseDisk } from '../engine/layers.js';
import { NodeDiskStore } from '../engine/store.js';
import { HOST_ERROR_CATEGORY, unreachableComputer, VHD_TYPE, vhdProperties } from '../powershell/cmdlets/hyperv.js';
import { reachHosts } from '../host/farm.js';
import { stripCmdlet } from '../powershell/interpreter.js';
import type { VhdInfo } from '../vhd/disk.js';
import { withHostOf, type Globals } from './sim-host.js';
import type { ServeError, ServeEvent } from './serve-protocol.js';

const CLASS = { 'New-VHD': 'Microsoft.Vhd.PowerShell.Cmdlets.NewVHD', 'Get-VHD': 'Microsoft.Vhd.PowerShell.Cmdlets.GetVHD' } as const;
type VhdCmdlet = keyof typeof CLASS;

/** The parameters each cmdlet takes here; the others of Microsoft's sets are refused as not simulated. */
const PARAMS: Readonly<Record<VhdCmdlet, readonly string[]>> = {
  'New-VHD': ['Path', 'SizeBytes', 'Dynamic', 'Fixed', 'BlockSizeBytes', 'LogicalSectorSizeBytes', 'PhysicalSectorSizeBytes', 'ComputerName'],
  'Get-VHD': ['Path', 'VMId', 'ComputerName'],
};

export const isVhdCmdlet = (name: string): VhdCmdlet | undefined => (Object.keys(CLASS) as VhdCmdlet[]).find((k) => k.toLowerCase() === name.toLowerCase());

const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** A parameter by name, case-insensitively (PowerShell's binding; the module sends the declared spelling). */
function param(params: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(params).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : params[k];
}

function vhdObject(info: VhdInfo, computerName: string, attached: boolean): ServeEvent {
  return { o: { t: [VHD_TYPE, 'System.Object'], p: vhdProperties(info, computerName, attached), k: {} } };
}

/** One New-VHD or Get-VHD call. */
export async function serveVhd(g: Globals, cmdlet: VhdCmdlet, params: Record<string, unknown>, emit: (ev: ServeEvent) => void): Promise<void> {
  const className = CLASS[cmdlet];
  const error = (message: string, category: string, target = '', reason = 'VirtualizationException'): void => {
    const e: ServeError = { message, category, id: `${category},${className}`, target, reason };
    emit({ e });
  };
  const hostError = (e: unknown, target: string): void => {
    if (!(e instanceof HvsimError)) throw e;
    error(stripCmdlet(e.message), HOST_ERROR_CATEGORY[e.code] ?? 'NotSpecified', target);
  };
  const extra = Object.keys(params).find((k) => !PARAMS[cmdlet].some((p) => p.toLowerCase() === k.toLowerCase()));
  if (extra !== undefined) {
    emit({ e: { message: `${cmdlet} -${extra} is not simulated by hvsim.`, category: 'NotImplemented', id: `HvsimNotSimulated,${className}`, target: '', reason: 'NotSupportedException' } });
    return;
  }
  await withHostOf(g, `hvsim serve: ${cmdlet}`, async (first: Host, place) => {
    // The simulated hosts share one file system (docs/simulator.md, "Several hosts"): the file is
    // the same whichever host is named; ComputerName is the host's.
    const names = param(params, 'ComputerName');
    const r = reachHosts(first, place.farm, names === undefined ? undefined : list(names).map(String));
    for (const n of r.unknown) {
      emit({ e: unreachableComputer(n, r.simulated, className) });
      return;
    }
    const host = r.hosts[0] ?? first;
    const store = new NodeDiskStore();
    const attachedFiles = async (): Promise<Set<string>> => new Set((await host.getVM()).flatMap((v) => v.HardDrives.map((d) => store.absolutePath(d.Path))));
    const info = (file: string): VhdInfo => {
      const img = openLayer(store, file, false);
      try {
        return img.info();
      } finally {
        img.close();
      }
    };
    if (cmdlet === 'New-VHD') {
      const size = param(params, 'SizeBytes');
      const fixed = param(params, 'Fixed') === true;
      if (param(params, 'Dynamic') === true && fixed) return error('Parameter set cannot be resolved using the specified named parameters.', 'InvalidArgument', '', 'ParameterBindingException');
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) return error('Cannot validate argument on parameter \'SizeBytes\'. A positive whole number of bytes is required.', 'InvalidArgument', '', 'ParameterBindingException');
      const num = (name: string): number | undefined => {
        const v = param(params, name);
        return typeof v === 'number' ? v : undefined;
      };
      const block = num('BlockSizeBytes');
      const logical = num('LogicalSectorSizeBytes');
      const physical = num('PhysicalSectorSizeBytes');
      for (const file of list(param(params, 'Path')).map(String)) {
        try {
          const p = createBaseDisk(store, file, {
            virtualSize: size,
            ...(fixed ? { type: 'Fixed' as const } : {}),
            ...(block !== undefined ? { blockSize: block } : {}),
            ...(logical !== undefined ? { logicalSectorSize: logical } : {}),
            ...(physical !== undefined ? { physicalSectorSize: physical } : {}),
          });
          emit(vhdObject(info(p), host.computerName, false));
        } catch (e) {
          hostError(e, file);
        }
      }
      return;
    }
    const attached = await attachedFiles();
    const ids = list(param(params, 'VMId')).map((x) => String(x).toLowerCase());
    if (ids.length > 0) {
      const vms = await host.getVM();
      for (const id of ids) {
        const vm = vms.find((v) => v.Id.toLowerCase() === id);
        if (!vm) {
          error(`Hyper-V was unable to find a virtual machine with ID "${id}".`, 'ObjectNotFound', id);
          continue;
        }
        for (const d of vm.HardDrives) {
          try {
            emit(vhdObject(info(d.Path), host.computerName, true));
          } catch (e) {
            hostError(e, d.Path);
          }
        }
      }
      return;
    }
    for (const file of list(param(params, 'Path')).map(String)) {
      try {
        emit(vhdObject(info(file), host.computerName, attached.has(store.absolutePath(file))));
      } catch (e) {
        hostError(e, file);
      }
    }
  });
}
