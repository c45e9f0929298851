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

/**
 * The host the real-world scripts (test/fixtures/ps-scripts/real) expect: HV1 with web01 (Running),
 * db01 (Off), app01 (Running); web01 "Before update" taken on Jan 15 2024, db01 "Before patch" on
 * Jan 18, web01 "Before deploy" on Jan 24; now is Jan 25. In memory unless `opts.storage`.
 */
export async function realScriptsHost(opts: SimulatorOptions = {}): Promise<Simulator> {
  const DAY = 86_400_000;
  const h = simHost({ computerName: 'HV1', startTime: Date.UTC(2024, 0, 15, 9, 0, 0), ...opts });
  for (const [n, running] of [['web01', true], ['db01', false], ['app01', true]] as const) {
    await h.newVM({ name: n, checkpointType: 'Standard' });
    if (running) await h.startVM([n]);
  }
  await h.checkpointVM(['web01'], { snapshotName: 'Before update' });
  await h.advance(3 * DAY);
  await h.checkpointVM(['db01'], { snapshotName: 'Before patch' });
  await h.advance(6 * DAY);
  await h.checkpointVM(['web01'], { snapshotName: 'Before deploy' });
  await h.advance(DAY);
  return h;
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
