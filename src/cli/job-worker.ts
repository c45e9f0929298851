/**
 * The worker thread of job.ts: runs one job, sends its progress (when a bar is drawn), and stops
 * at the first progress step after the main thread flags an interrupt, by throwing Interrupted
 * through the job's finally blocks.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { HvsimError, type HvsimErrorCode } from '../errors.js';
import { Chain } from '../engine/chain.js';
import { flatten, flattenFormatForPath } from '../engine/flatten.js';
import { resumeMerges } from '../engine/merge.js';
import { mergeVhd } from '../sim/merge-vhd.js';
import { diskOwner } from '../sim/owner.js';
import { NodeDiskStore } from '../engine/store.js';
import { makeWorkload, type MakeWorkloadOptions } from '../engine/workload.js';
import { Interrupted, signalByNumber } from './interrupt.js';

/** Called by a job as it advances; throws Interrupted once an interrupt is flagged. */
export type JobProgress = (done: number, total: number) => void;

/** The jobs: the engine calls of merge-vhd, convert-vhd, resume-merge and make-workload. */
const JOBS = {
  'merge-vhd': (a: { path: string; roots: string[]; destinationPath?: string; force?: boolean }, onProgress: JobProgress) =>
    mergeVhd(new NodeDiskStore(), a.path, (f) => diskOwner(f, a.roots), { onProgress, ...(a.destinationPath !== undefined ? { destinationPath: a.destinationPath } : {}), ...(a.force ? { force: true } : {}) }),
  'convert-vhd': (a: { src: string; dst: string; blockSize?: number }, onProgress: JobProgress) => {
    const store = new NodeDiskStore();
    const chain = Chain.open(a.src, { store });
    try {
      return flatten(store, chain, a.dst, flattenFormatForPath(a.dst), { onProgress, ...(a.blockSize !== undefined ? { blockSize: a.blockSize } : {}) });
    } finally {
      chain.close();
    }
  },
  'resume-merge': (a: { path: string }, onProgress: JobProgress) => resumeMerges(new NodeDiskStore(), a.path, { onProgress }),
  'make-workload': (a: Omit<MakeWorkloadOptions, 'onProgress'>, onProgress: JobProgress) => makeWorkload(new NodeDiskStore(), { ...a, onProgress }),
};

export type JobName = keyof typeof JOBS;
export type JobArgs<K extends JobName> = Parameters<(typeof JOBS)[K]>[0];
export type JobResult<K extends JobName> = ReturnType<(typeof JOBS)[K]>;
export type SentError =
  | { kind: 'hvsim'; code: HvsimErrorCode; message: string; file?: string; offset?: number; stack?: string }
  | { kind: 'other'; message: string; stack?: string; errno: { code?: string; path?: string; syscall?: string } };

export type JobReply =
  | { type: 'progress'; done: number; total: number }
  | { type: 'result'; result: unknown }
  | { type: 'interrupted'; detail?: string }
  | { type: 'error'; error: SentError };

function send(e: unknown): JobReply {
  if (e instanceof Interrupted) return { type: 'interrupted', ...(e.message ? { detail: e.message } : {}) };
  if (e instanceof HvsimError)
    return { type: 'error', error: { kind: 'hvsim', code: e.code, message: e.message, ...(e.file !== undefined ? { file: e.file } : {}), ...(e.offset !== undefined ? { offset: e.offset } : {}), ...(e.stack !== undefined ? { stack: e.stack } : {}) } };
  const x = e as NodeJS.ErrnoException;
  const errno = { ...(typeof x?.code === 'string' ? { code: x.code } : {}), ...(typeof x?.path === 'string' ? { path: x.path } : {}), ...(typeof x?.syscall === 'string' ? { syscall: x.syscall } : {}) };
  return { type: 'error', error: { kind: 'other', message: e instanceof Error ? e.message : String(e), ...(e instanceof Error && e.stack !== undefined ? { stack: e.stack } : {}), errno } };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const data = workerData as { name: JobName; args: never; stop: SharedArrayBuffer; progress: boolean };
  const stop = new Int32Array(data.stop);
  let last = 0;
  const progress: JobProgress = (done, total) => {
    const signal = Atomics.load(stop, 0);
    if (signal !== 0) throw new Interrupted(signalByNumber(signal), '');
    const now = Date.now();
    if (!data.progress || (now - last < 50 && done < total)) return;
    last = now;
    port.postMessage({ type: 'progress', done, total } satisfies JobReply);
  };
  let reply: JobReply;
  try {
    reply = { type: 'result', result: (JOBS[data.name] as (a: never, p: JobProgress) => unknown)(data.args, progress) };
  } catch (e) {
    reply = send(e);
  }
  port.postMessage(reply);
}
