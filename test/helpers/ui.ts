/** hvsim ui for the tests: the built CLI's server on a free port over a temporary state directory. */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnCli } from './cli.js';

export interface RunningUi {
  url: string;
  port: number;
  root: string;
  proc: ChildProcessWithoutNullStreams;
  /** Stop the server (SIGINT) and wait for it; its exit status. A state directory it made is removed. */
  stop(): Promise<number | null>;
}

/** Start `hvsim --root ROOT ui --port 0` and wait for the URL line. */
export async function startUi(opts: { root?: string; env?: Record<string, string | undefined>; args?: string[] } = {}): Promise<RunningUi> {
  const made = opts.root === undefined;
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-ui-'));
  const proc = spawnCli(['--root', root, ...(opts.args ?? []), 'ui', '--port', '0'], { env: { TZ: 'UTC', ...opts.env } });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /hvsim ui: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`hvsim ui exited ${code}: ${err}`)));
  });
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    root,
    proc,
    stop: async () => {
      const code = await new Promise<number | null>((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (c) => resolve(c));
        proc.kill('SIGINT');
      });
      if (made) fs.rmSync(root, { recursive: true, force: true });
      return code;
    },
  };
}
