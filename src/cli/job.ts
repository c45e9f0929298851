/**
 * The long synchronous work of a command (a merge, a conversion, a read or write of a whole disk)
 * runs in a worker thread (job-worker.ts), so that the main thread sees an interrupt at once
 * (interrupt.ts) and the worker stops at its next progress step, through its finally blocks.
 * Arguments, progress, results and errors cross as plain data. A loop of the CLI's own (read-vhd,
 * write-vhd) runs in the main thread instead and lets signals in between its chunks (runSteps).
 */
import { Worker } from 'node:worker_threads';
import { HvsimError } from '../errors.js';
import { catchInterrupts, Interrupted, signalByNumber, signalNumber, type InterruptSignal } from './interrupt.js';
import { progressBar } from './progress.js';
import type { JobArgs, JobName, JobReply, JobResult, SentError } from './job-worker.js';

export interface JobOptions {
  /** Label of the progress bar (drawn on a terminal only). */
  progress?: string;
  /** The interrupt line: what was interrupted and how to finish it (`detail`: the job's own words). */
  interrupted: (detail: string | undefined) => string;
}

/** The error a worker sent, as the main thread's own. */
function revive(e: SentError): Error {
  const err = e.kind === 'hvsim' ? new HvsimError(e.code, e.message, { ...(e.file !== undefined ? { file: e.file } : {}), ...(e.offset !== undefined ? { offset: e.offset } : {}) }) : Object.assign(new Error(e.message), e.errno);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/** Run job `name` in a worker thread; its result, or its error (Interrupted after a signal). */
export async function runJob<K extends JobName>(name: K, args: JobArgs<K>, opts: JobOptions): Promise<JobResult<K>> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const bar = opts.progress !== undefined ? progressBar(opts.progress) : undefined;
  const worker = new Worker(new URL('./job-worker.js', import.meta.url), { workerData: { name, args, stop: stop.buffer, progress: bar?.onProgress !== undefined } });
  const done = new Promise<JobResult<K>>((resolve, reject) => {
    worker.on('message', (m: JobReply) => {
      if (m.type === 'progress') bar?.onProgress?.(m.done, m.total);
      else if (m.type === 'result') resolve(m.result as JobResult<K>);
      else if (m.type === 'interrupted') reject(new Interrupted(signalByNumber(Atomics.load(stop, 0)), opts.interrupted(m.detail)));
      else reject(revive(m.error));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`${name} ended without an answer (worker exit ${code})`)));
  });
  try {
    return await catchInterrupts(() => opts.interrupted(undefined), () => done, (signal) => Atomics.store(stop, 0, signalNumber(signal)));
  } finally {
    bar?.stop();
    await worker.terminate();
  }
}

/** Between two chunks of a runSteps loop: shows progress, lets a signal in, throws Interrupted after one. */
export type Step = (done: number, total: number) => Promise<void>;

/**
 * Run a chunked loop of the main thread that awaits `step` after each chunk. With `blocking` (it
 * reads stdin or writes stdout, which may block for ever, and no signal handler can run then) the
 * signals keep their default: the process ends at once, and its lock is taken over by the next command.
 */
export async function runSteps<T>(fn: (step: Step) => Promise<T>, opts: JobOptions & { blocking?: boolean }): Promise<T> {
  if (opts.blocking) return fn(async () => {});
  let signal: InterruptSignal | undefined;
  const bar = opts.progress !== undefined ? progressBar(opts.progress) : undefined;
  const step: Step = async (done, total) => {
    bar?.onProgress?.(done, total);
    await new Promise((resolve) => setImmediate(resolve)); // a signal's handler runs here
    if (signal !== undefined) throw new Interrupted(signal, '');
  };
  try {
    return await catchInterrupts(() => opts.interrupted(undefined), () => fn(step), (s) => void (signal = s));
  } catch (e) {
    throw e instanceof Interrupted ? new Interrupted(e.signal, opts.interrupted(e.message || undefined)) : e;
  } finally {
    bar?.stop();
  }
}
