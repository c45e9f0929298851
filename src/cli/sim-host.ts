/**
 * Opening the host a command acts on: the simulator kept in the state directory (--root,
 * HVSIM_ROOT, default ./.hvsim; locked for the whole invocation) or a real Hyper-V host
 * (--host hyperv[:COMPUTER]). Shared by the simulator commands and hvsim run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { HvsimError } from '../errors.js';
import { err } from './output.js';
import { Simulator } from '../sim/simulator.js';
import { DirectoryStorage } from '../sim/storage.js';
import type { Host, HostFarm, HostWarning } from '../host/host.js';
import { parseHostSpec } from '../hyperv/host-spec.js';
import { catchInterrupts } from './interrupt.js';
import { parseFault } from '../host/faults.js';
import { writeFileAtomic } from '../vhd/io/node-file.js';

export interface Globals {
  root?: string;
  injectFault?: string[];
  computerName?: string;
  host?: string;
  /** Add --computer-name to the state's hosts when it is not one (new-vm: docs/simulator.md, "Several hosts"). */
  addHost?: boolean;
}

/** The state directory: --root, else HVSIM_ROOT, else ./.hvsim. */
export function stateRoot(g: Globals): string {
  return g.root ?? process.env.HVSIM_ROOT ?? '.hvsim';
}

/** Open the host for one invocation (lock held until the end), run, save, print warnings. */
export async function withHost<T>(cmd: Command, fn: (h: Host, place: HostPlace) => Promise<T>, overrides: Partial<Globals> = {}): Promise<T> {
  return withHostOf({ ...(cmd.optsWithGlobals() as Globals), ...overrides }, cmd.name(), fn);
}

const printWarning = (w: HostWarning): void => {
  err(`WARNING: ${w.Message}\n`);
};

/** What the CLI knows of the host beyond the Host interface: the simulator's folder of VM folders. */
export interface HostPlace {
  vmRoot?: string;
  /** The state's other simulated hosts (-ComputerName, -CimSession, HOST:VM); none on a real host. */
  farm?: HostFarm;
  /** The folder of each simulated host's VM folders (the first host's is vmRoot). */
  vmRootOf?: (computerName: string) => string | undefined;
}

/**
 * withHost for given options: `what` names the operation in an interrupt's message; the host's
 * warnings left when `fn` ends go to `onWarning` (default: stderr). hvsim serve calls it once per
 * request, so each request takes and releases the lock as one command does.
 */
export async function withHostOf<T>(g: Globals, what: string, fn: (h: Host, place: HostPlace) => Promise<T>, onWarning: (w: HostWarning) => void = printWarning): Promise<T> {
  const spec = parseHostSpec(g.host);
  if (spec.kind === 'hyperv') {
    if (g.injectFault?.length || g.computerName !== undefined) throw new HvsimError('INVALID_ARGUMENT', '--inject-fault and --computer-name are for the simulator; with --host hyperv:COMPUTER name the real host');
    const { withHyperVHost } = await import('../hyperv/index.js');
    return withHyperVHost(spec, (h) => fn(h, {}), onWarning);
  }
  const storage = new DirectoryStorage(stateRoot(g));
  // Interrupted at an await: ends there, as after a kill, with the lock released (interrupt.ts).
  return catchInterrupts(() => `${what}; ${storage.root} keeps what it had done (see hvsim get-vm)`, () => withSimulator(storage, g, fn, onWarning));
}

/**
 * The host, letting signals in after each call: a script polling the simulator (whose calls do
 * not wait) would otherwise run on microtasks only, and an interrupt's handler would never run.
 */
function yieldingHost(h: Host): Host {
  return new Proxy(h, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        const r: unknown = v.apply(target, args);
        return r instanceof Promise ? r.then((x: unknown) => new Promise((resolve) => setImmediate(resolve, x))) : r;
      };
    },
  });
}

/**
 * Faults kept in the state directory (docs/simulator.md, "Faults kept in the state directory"):
 * `faults.json`, a JSON array of --inject-fault specs ("checkpoint:web01", "start:db*:2"), armed
 * for every invocation on that directory until they fire; each invocation writes back the ones
 * still pending (counting the calls they have seen), and removes the file when none is left.
 * This is how a long-lived client (hvsim serve, whose every request is one invocation) gets a
 * fault that fires once.
 */
export const FAULTS_FILE = 'faults.json';

function keptFaults(storage: DirectoryStorage): string[] {
  const file = path.join(storage.root, FAULTS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new HvsimError('INVALID_ARGUMENT', `${file}: not a JSON array of faults ("op:vm" or "op:vm:n")`, { file });
  for (const f of list) parseFault(f);
  return list;
}

/** Write back the kept faults (the first `count` of the plan) that have not fired. */
function keepFaults(storage: DirectoryStorage, sim: Simulator, count: number): void {
  if (count === 0) return;
  const file = path.join(storage.root, FAULTS_FILE);
  const left = sim.faults
    .armed()
    .slice(0, count)
    .filter((f) => !f.fired)
    .map((f) => `${f.op}:${f.vm}${f.nth - f.seen > 1 ? `:${f.nth - f.seen}` : ''}`);
  if (left.length === 0) fs.rmSync(file, { force: true });
  else writeFileAtomic(file, JSON.stringify(left) + '\n');
}

/**
 * Open the simulator kept in `storage` with the options the globals and environment give
 * (HVSIM_START_TIME, HVSIM_COMPUTER_NAME, HVSIM_CLOCK) and the faults kept in it (first) and
 * given by --inject-fault; `storage` is closed if that fails.
 * Used by every simulator command and by hvsim ui (src/ui/server.ts) for each request.
 */
export function openSimulator(storage: DirectoryStorage, g: Globals, kept: string[] = []): Simulator {
  try {
    const start = process.env.HVSIM_START_TIME ? Date.parse(process.env.HVSIM_START_TIME) : undefined;
    if (start !== undefined && Number.isNaN(start)) throw new HvsimError('INVALID_ARGUMENT', `HVSIM_START_TIME "${process.env.HVSIM_START_TIME}" is not a date`);
    const computerName = g.computerName ?? process.env.HVSIM_COMPUTER_NAME;
    return Simulator.open({
      storage,
      ...(computerName !== undefined ? { computerName } : {}),
      ...(g.addHost ? { addHost: true } : {}),
      defaultComputerName: os.hostname(),
      faults: [...kept, ...(g.injectFault ?? [])],
      clockMode: process.env.HVSIM_CLOCK === 'simulated' ? 'simulated' : 'wall',
      ...(start !== undefined ? { startTime: start } : {}),
    });
  } catch (e) {
    storage.close();
    throw e;
  }
}

async function withSimulator<T>(storage: DirectoryStorage, g: Globals, fn: (h: Host, place: HostPlace) => Promise<T>, onWarning: (w: HostWarning) => void): Promise<T> {
  let kept: string[];
  try {
    kept = keptFaults(storage);
  } catch (e) {
    storage.close();
    throw e;
  }
  const sim = openSimulator(storage, g, kept);
  try {
    const farm: HostFarm = {
      hosts: () => sim.hosts(),
      host: (name) => {
        const h = sim.host(name);
        return h === undefined ? undefined : yieldingHost(h);
      },
    };
    return await fn(yieldingHost(sim), { vmRoot: storage.vmRoot, farm, vmRootOf: (name) => sim.host(name)?.vmFolder });
  } finally {
    for (const w of await sim.takeWarnings()) onWarning(w);
    try {
      keepFaults(storage, sim, kept.length);
    } finally {
      sim.close();
    }
  }
}

