/**
 * Opening the host a command acts on: the simulator kept in the state directory (--root,
 * HVSIM_ROOT, default ./.hvsim; locked for the whole invocation) or a real Hyper-V host
 * (--host hyperv[:COMPUTER]). Shared by the simulator commands and hvsim run.
 */
import * as os from 'node:os';
import type { Command } from 'commander';
import { HvsimError } from '../errors.js';
import { Simulator } from '../sim/simulator.js';
import { DirectoryStorage } from '../sim/storage.js';
import type { Host, HostWarning } from '../host/host.js';
import { parseHostSpec, withHyperVHost } from '../hyperv/index.js';
import { catchInterrupts } from './interrupt.js';

export interface Globals {
  root?: string;
  injectFault?: string[];
  computerName?: string;
  host?: string;
}

/** The state directory: --root, else HVSIM_ROOT, else ./.hvsim. */
export function stateRoot(g: Globals): string {
  return g.root ?? process.env.HVSIM_ROOT ?? '.hvsim';
}

/** Open the host for one invocation (lock held until the end), run, save, print warnings. */
export async function withHost<T>(cmd: Command, fn: (h: Host) => Promise<T>, overrides: Partial<Globals> = {}): Promise<T> {
  return withHostOf({ ...(cmd.optsWithGlobals() as Globals), ...overrides }, cmd.name(), fn);
}

const printWarning = (w: HostWarning): void => {
  process.stderr.write(`WARNING: ${w.Message}\n`);
};

/** What the CLI knows of the host beyond the Host interface: the simulator's folder of VM folders. */
export interface HostPlace {
  vmRoot?: string;
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
 * Open the simulator kept in `storage` with the options the globals and environment give
 * (HVSIM_START_TIME, HVSIM_COMPUTER_NAME, HVSIM_CLOCK); `storage` is closed if that fails.
 * Used by every simulator command and by hvsim ui (src/ui/server.ts) for each request.
 */
export function openSimulator(storage: DirectoryStorage, g: Globals): Simulator {
  try {
    const start = process.env.HVSIM_START_TIME ? Date.parse(process.env.HVSIM_START_TIME) : undefined;
    if (start !== undefined && Number.isNaN(start)) throw new HvsimError('INVALID_ARGUMENT', `HVSIM_START_TIME "${process.env.HVSIM_START_TIME}" is not a date`);
    const computerName = g.computerName ?? process.env.HVSIM_COMPUTER_NAME;
    return Simulator.open({
      storage,
      ...(computerName !== undefined ? { computerName } : {}),
      defaultComputerName: os.hostname(),
      faults: g.injectFault ?? [],
      clockMode: process.env.HVSIM_CLOCK === 'simulated' ? 'simulated' : 'wall',
      ...(start !== undefined ? { startTime: start } : {}),
    });
  } catch (e) {
    storage.close();
    throw e;
  }
}

async function withSimulator<T>(storage: DirectoryStorage, g: Globals, fn: (h: Host, place: HostPlace) => Promise<T>, onWarning: (w: HostWarning) => void): Promise<T> {
  const sim = openSimulator(storage, g);
  try {
    return await fn(yieldingHost(sim), { vmRoot: storage.vmRoot });
  } finally {
    for (const w of await sim.takeWarnings()) onWarning(w);
    sim.close();
  }
}

