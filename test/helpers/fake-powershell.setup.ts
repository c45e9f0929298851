/**
 * Test-side helpers for the stand-in PowerShell (fake-powershell.ts): write an executable
 * launcher (a shell script named pwsh, or another name) into a temporary folder together with the
 * stand-in's configuration, read what it logged, arm faults in its simulator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Request } from '../../src/hyperv/request.js';
import type { StandInConfig } from './fake-powershell.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const FAKE = path.join(here, 'fake-powershell.ts');
const TSX = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs');

export const MiB = 1024 * 1024;
export const START = Date.UTC(2024, 0, 2, 9, 0, 0);

export const DEFAULT_CONFIG: StandInConfig = {
  computerName: 'xHost16',
  startTime: START,
  timeZone: 'UTC',
  defaultDiskSize: 4 * MiB,
  tickMs: 1000,
  style: '5.1',
  storage: 'memory',
};

export interface StandIn {
  /** The folder with the launcher, configuration and logs. */
  dir: string;
  /** The launcher: give it as HVSIM_POWERSHELL (or put `dir` on PATH). */
  exe: string;
  config: StandInConfig;
  /** Every request the stand-in received, decoded (strings untagged), in order. */
  requests(): Request[];
  /** Every start: its arguments, and whether they (and the encoded script) were exactly hvsim's. */
  invocations(): Array<{ pid: number; argv: string[]; argsOk: boolean; scriptOk: boolean }>;
  /** Make operations fail in the stand-in's simulator ("checkpoint:web01", as --inject-fault). */
  addFaults(specs: string[]): void;
  /** Start the next request on a new, empty host (faults and logs are kept). */
  reset(): void;
  remove(): void;
}

function readJsonl<T>(file: string): T[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as T);
  } catch {
    return [];
  }
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function installStandIn(config: Partial<StandInConfig> = {}, name = 'pwsh'): StandIn {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-standin-'));
  const cfg: StandInConfig = { ...DEFAULT_CONFIG, ...config };
  fs.writeFileSync(path.join(dir, 'standin.json'), JSON.stringify(cfg, null, 1));
  const exe = path.join(dir, name);
  fs.writeFileSync(
    exe,
    ['#!/bin/sh', `HVSIM_STANDIN_ROOT=${q(dir)}`, 'export HVSIM_STANDIN_ROOT', 'unset NODE_OPTIONS', `exec ${q(process.execPath)} --import ${q(TSX)} ${q(FAKE)} "$@"`, ''].join('\n'),
  );
  fs.chmodSync(exe, 0o755);
  return {
    dir,
    exe,
    config: cfg,
    requests: () => readJsonl<{ request: Request }>(path.join(dir, 'requests.jsonl')).map((x) => x.request),
    invocations: () => readJsonl(path.join(dir, 'invocations.jsonl')),
    addFaults(specs) {
      const f = path.join(dir, 'faults.json');
      let list: string[] = [];
      try {
        list = JSON.parse(fs.readFileSync(f, 'utf8')) as string[];
      } catch {
        list = [];
      }
      fs.writeFileSync(f, JSON.stringify([...list, ...specs]));
    },
    reset() {
      fs.writeFileSync(path.join(dir, 'reset'), '');
      fs.rmSync(path.join(dir, 'faults.json'), { force: true });
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
