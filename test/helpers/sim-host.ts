/**
 * The simulated host tests build: simHost (in memory, or on the storage given) and memoryHost (in
 * memory, with the disk store at hand to delete, damage or copy its files). Kept free of vitest:
 * the stand-in PowerShell (fake-powershell.ts) runs outside it.
 */
import { Simulator, type SimulatorOptions } from '../../src/sim/simulator.js';
import { MemoryStorage } from '../../src/sim/storage.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { MiB } from '../../src/vhd/common/bytes.js';

/** The seed's moment (2014-09-21 19:37:31 UTC): where simulated time starts unless a test says otherwise. */
export const SEED_START_ISO = '2014-09-21T19:37:31Z';
export const SIM_START = Date.parse(SEED_START_ISO);

/** Defaults: simulated clock from SIM_START, checkpoint names in UTC, 8 MiB disks. */
export const SIM_DEFAULTS = { startTime: SIM_START, clockMode: 'simulated', timeZone: 'UTC', defaultDiskSize: 8 * MiB } as const satisfies SimulatorOptions;

/** A new simulated host (in memory unless `opts.storage`); `opts` override the defaults. */
export function simHost(opts: SimulatorOptions = {}): Simulator {
  return Simulator.open({ ...SIM_DEFAULTS, ...opts });
}

export interface MemoryHost {
  h: Simulator;
  storage: MemoryStorage;
  store: MemoryDiskStore;
}

/** simHost in memory, with its storage and disk store; `vmRoot` is where VM folders go (MemoryStorage's default otherwise). */
export function memoryHost(opts: Omit<SimulatorOptions, 'storage'> & { store?: MemoryDiskStore; vmRoot?: string } = {}): MemoryHost {
  const { store = new MemoryDiskStore(), vmRoot, ...rest } = opts;
  const storage = new MemoryStorage(store, vmRoot);
  return { h: simHost({ ...rest, storage }), storage, store };
}
