// The built CLI (scripts/build-cli.mjs): bin.cjs compiles the bundle hvsim.cjs with the V8 code
// cache the build made (bench/README.md, "CLI start-up"). The cache must be one V8 takes; a damaged
// or missing one must only cost time (V8 does not check a cache's payload: bin.cjs keeps two copies
// and uses them only when they agree); without the bundle bin.cjs runs tsc's main.js.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliBin, runCli, SIM_ENV } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of the built dist/ (beside the original, so that its packages still resolve). */
function copyOfDist(): string {
  const built = path.dirname(path.dirname(path.dirname(cliBin())));
  const dir = fs.mkdtempSync(path.join(built, 'bundle-test-'));
  dirs.push(dir);
  fs.cpSync(path.join(built, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return path.join(dir, 'dist', 'cli', 'bin.cjs');
}

/** `get-vm` of a one-VM state through `bin` (stdout, stderr, status). */
function getVm(bin: string): { stdout: string; code: number | null } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-bundle-'));
  dirs.push(root);
  const env = { ...SIM_ENV, HVSIM_ROOT: root };
  expect(runCli(['new-vm', '--name', 'web01', '--disk-size', '1M'], { env, bin }).code).toBe(0);
  const r = runCli(['get-vm', '--name', 'web01'], { env, bin });
  expect(r.stderr).toBe('');
  return { stdout: r.stdout, code: r.code };
}

describe('the CLI bundle and its code cache', () => {
  it('V8 accepts the code cache the build wrote for hvsim.cjs (a plain node, as bin.cjs compiles it)', () => {
    const dir = path.dirname(cliBin());
    expect(fs.statSync(path.join(dir, 'hvsim.cjs.v8cache')).size).toBeGreaterThan(10_000);
    // The same compile as bin.cjs's: the source (CommonJS's wrapper function) as latin1, the cache (written twice).
    const check = `
      const fs = require('node:fs'), vm = require('node:vm');
      const file = process.argv[1];
      const src = fs.readFileSync(file, 'latin1');
      const both = fs.readFileSync(file + '.v8cache');
      const s = new vm.Script(src, { filename: file, cachedData: both.subarray(0, both.length / 2) });
      process.stdout.write(String(s.cachedDataRejected));`;
    const r = spawnSync(process.execPath, ['-e', check, path.join(dir, 'hvsim.cjs')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('false');
  });

  it('a damaged or missing cache changes nothing but the time: V8 refuses it and compiles the source', () => {
    const good = getVm(cliBin());
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('web01');
    const bin = copyOfDist();
    const cache = path.join(path.dirname(bin), 'hvsim.cjs.v8cache');
    const bytes = fs.readFileSync(cache);
    // Inside the payload of one copy (past V8's header of version, flags and lengths), then of both
    // in different places (what wear or a bad write does; the same change made to both is a
    // change to the program, like an edit of hvsim.cjs).
    const half = bytes.length / 2;
    for (let i = 4096; i < half; i += 997) bytes[i]! ^= 0xa5;
    fs.writeFileSync(cache, bytes);
    expect(getVm(bin)).toEqual(good);
    for (let i = half + 5000; i < bytes.length; i += 1009) bytes[i]! ^= 0x5a;
    fs.writeFileSync(cache, bytes);
    expect(getVm(bin)).toEqual(good);
    // V8 itself refuses a cache whose header does not fit (here: the magic number).
    const header = Buffer.from(fs.readFileSync(path.join(path.dirname(cliBin()), 'hvsim.cjs.v8cache')));
    header[0]! ^= 0xff;
    header[header.length / 2]! ^= 0xff;
    fs.writeFileSync(cache, header);
    expect(getVm(bin)).toEqual(good);
    fs.writeFileSync(cache, bytes.subarray(0, 100));
    expect(getVm(bin)).toEqual(good);
    fs.rmSync(cache);
    expect(getVm(bin)).toEqual(good);
  });

  it('without the bundle, bin.cjs runs the commands from tsc output (main.js)', () => {
    const good = getVm(cliBin());
    const bin = copyOfDist();
    fs.rmSync(path.join(path.dirname(bin), 'hvsim.cjs'));
    expect(getVm(bin)).toEqual(good);
  });
});
