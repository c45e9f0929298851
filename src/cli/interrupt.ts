/**
 * Interrupts (Ctrl-C = SIGINT, SIGTERM, SIGHUP) of a command that holds locks or draws a progress
 * bar: the terminal is put back, one line says what was interrupted and how to finish it, the locks
 * are released, and the status is 128 + the signal's number (130 for Ctrl-C).
 * - Long synchronous work (job.ts) runs in a worker thread, so the main thread sees the signal at
 *   once; the work stops at its next progress step, through its own finally blocks (temporaries
 *   removed, locks released, merge journals kept for resume-merge).
 * - Simulator commands stop at their next await, as after a kill (what they had not saved is not
 *   saved; the next command starts from what is on disk), with their locks released.
 * A second signal ends the process at once. Commands outside these keep the default (they hold
 * no lock and change no file).
 */
import { releaseAllLocks } from '../vhd/io/lock-file.js';
import { err } from './output.js';

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
export type InterruptSignal = keyof typeof SIGNALS;

/** The command was interrupted; `message` says what was interrupted and how to finish it. */
export class Interrupted extends Error {
  constructor(
    readonly signal: InterruptSignal,
    message: string,
  ) {
    super(message);
    this.name = 'Interrupted';
  }
  /** The exit status: 128 + the signal's number. */
  get status(): number {
    return 128 + SIGNALS[this.signal];
  }
}

/** Terminal state to put back on an interrupt (progress bars). */
const restorers = new Set<() => void>();

/** Register what puts the terminal back (a progress bar's stop); returns the unregistering. */
export function onInterruptRestore(fn: () => void): () => void {
  restorers.add(fn);
  return () => restorers.delete(fn);
}

let active = false;

/**
 * Run `fn` with the interrupts caught. With `onSignal` the first signal is passed to it (a job
 * stops its worker and `fn` rejects with Interrupted); otherwise, and on a second signal, the
 * process ends at once, saying `what()`.
 */
export async function catchInterrupts<T>(what: () => string, fn: () => Promise<T>, onSignal?: (signal: InterruptSignal) => void): Promise<T> {
  if (active) return fn(); // an outer call handles them
  active = true;
  let first: InterruptSignal | undefined;
  const handler = (signal: InterruptSignal): void => {
    if (first === undefined && onSignal) {
      first = signal;
      onSignal(signal);
      return;
    }
    for (const restore of restorers) restore();
    releaseAllLocks();
    err(`hvsim: interrupted: ${what()}\n`);
    process.exit(new Interrupted(first ?? signal, '').status);
  };
  const names = Object.keys(SIGNALS) as InterruptSignal[];
  for (const s of names) process.on(s, handler);
  try {
    return await fn();
  } finally {
    for (const s of names) process.off(s, handler);
    active = false;
  }
}

/** The signal with this number (as a job's worker reports it). */
export function signalByNumber(n: number): InterruptSignal {
  return (Object.keys(SIGNALS) as InterruptSignal[]).find((s) => SIGNALS[s] === n) ?? 'SIGINT';
}

export function signalNumber(s: InterruptSignal): number {
  return SIGNALS[s];
}
