/**
 * Batch runner for test/reliability/mishap.test.ts: runs many hvsim invocations one after the
 * other in ONE Node process, each through the built CLI's main() (the code bin.cjs runs), so that
 * hundreds of matrix cells cost one process start instead of hundreds. test/helpers/mishap.ts
 * transpiles this file and starts it with plain node (as root or, through setpriv, as an
 * unprivileged user).
 *
 *   node runner.mjs MAIN_JS JOBS_JSON [sync]
 *
 * For each job: chdir, set its environment, capture what main() writes to descriptors 1 and 2
 * (src/cli/output.ts writes them with fs.writeSync: the runner replaces that function, through
 * node:fs's CommonJS exports and syncBuiltinESMExports, for the job's time) and what goes through
 * process.stdout.write and process.stderr.write, record the exit code main() returns and anything
 * thrown past it.
 * Protocol on fd 3, one JSON object a line: {i, start} before job i, {i, result} after it.
 * With `sync`, the runner first writes {i, ready} and waits for a line on stdin, so two runners
 * can start the same job at the same moment (two invocations at once).
 */
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { JobResult, RunnerJob } from './mishap.js';

const [mainJs, jobsFile, mode] = process.argv.slice(2);
if (!mainJs || !jobsFile) throw new Error('usage: runner MAIN_JS JOBS_JSON [sync]');
const cli = (await import(pathToFileURL(mainJs).href)) as { main(argv: string[]): Promise<number> };
const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8')) as RunnerJob[];

const CAP = 64 * 1024;
const send = (o: object): void => {
  fs.writeSync(3, JSON.stringify(o) + '\n');
};

let uncaught: string | undefined;
const note = (e: unknown): void => {
  uncaught = (uncaught ? uncaught + '\n' : '') + (e instanceof Error ? (e.stack ?? e.message) : String(e));
};
process.on('uncaughtException', note);
process.on('unhandledRejection', note);

/** Block until the parent writes a line on stdin. */
function waitForGo(): void {
  const b = Buffer.alloc(1);
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(0, b, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      continue;
    }
    if (n === 0) process.exit(0); // the parent went away
    if (b[0] === 0x0a) return;
  }
}

const fsExports = createRequire(import.meta.url)('node:fs') as typeof fs;
const realWriteSync = fsExports.writeSync;
const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);
const text = (chunk: unknown): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));

for (const [i, job] of jobs.entries()) {
  if (mode === 'sync') {
    send({ i, ready: true });
    waitForGo();
  }
  send({ i, start: true });
  const savedEnv = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(job.env ?? {})) {
    savedEnv.set(k, process.env[k]);
    process.env[k] = v;
  }
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: unknown): boolean => {
    if (stdout.length < CAP) stdout += text(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown): boolean => {
    if (stderr.length < CAP) stderr += text(chunk);
    return true;
  }) as typeof process.stderr.write;
  // writeSync(fd, buffer, offset?, length?) as writeAllSync calls it, or (fd, string).
  fsExports.writeSync = ((fd: number, data: string | Uint8Array, offset?: number, length?: number, ...rest: unknown[]): number => {
    if (fd !== 1 && fd !== 2) return (realWriteSync as (...a: unknown[]) => number)(fd, data, offset, length, ...rest);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data.subarray(offset ?? 0, (offset ?? 0) + (length ?? data.length - (offset ?? 0)));
    if (fd === 1 && stdout.length < CAP) stdout += text(bytes);
    if (fd === 2 && stderr.length < CAP) stderr += text(bytes);
    return bytes.length;
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
  process.exitCode = undefined;
  uncaught = undefined;
  const t0 = performance.now();
  let code: number | null = null;
  try {
    process.chdir(job.cwd);
    code = await cli.main(job.args);
  } catch (e) {
    note(e);
  }
  // Let anything the command left pending (a stream error, a rejected promise) surface now.
  await new Promise((r) => setImmediate(r));
  process.stdout.write = realOut;
  process.stderr.write = realErr;
  fsExports.writeSync = realWriteSync;
  syncBuiltinESMExports();
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.exitCode = undefined;
  const result: JobResult = { code, stdout, stderr, ms: Math.round(performance.now() - t0), ...(uncaught !== undefined ? { uncaught } : {}) };
  send({ i, result });
}
process.exit(0);
