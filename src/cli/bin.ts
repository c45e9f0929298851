#!/usr/bin/env node
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vm from 'node:vm';
import { VERSION } from './version.js';

type Main = (argv: string[]) => Promise<number>;

/*
 * The entry of the command line, built as CommonJS (dist/cli/bin.cjs, scripts/build-cli.mjs, where
 * import.meta.url becomes this file's URL in dist/): Node's ES module loader would cost ~10 ms of
 * every start. Run from source (tsx), it finds no bundle beside it and imports main.ts.
 */

/**
 * The commands: the bundle hvsim.cjs beside this file (scripts/build-cli.mjs), compiled with the
 * V8 code cache the build made for it (bench/README.md, "CLI start-up"); V8 checks the cache
 * against the source, its own version and the flags, and compiles from source when it does not
 * fit. Without the bundle (tsc's output alone), main.js.
 */
async function loadMain(): Promise<{ main: Main; saveCache?: () => void }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, 'hvsim.cjs');
  let source: string;
  try {
    // esbuild writes ASCII (non-ASCII characters escaped), so latin1 decodes it exactly and faster.
    source = fs.readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return (await import('./main.js')) as { main: Main };
  }
  const cacheFile = `${file}.v8cache`;
  const cachedData = readCodeCache(cacheFile);
  // The file is a function expression, CommonJS's module wrapper around the bundle.
  const script = new vm.Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as { main?: Main } };
  (script.runInThisContext() as (...a: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, here);
  const main = module.exports.main;
  if (typeof main !== 'function') throw new Error(`${file}: not hvsim's bundle (no main)`);
  // The build's warm-up run (scripts/build-cli.mjs) writes the cache after a command, so that it
  // holds the functions that command compiled, not only the top level.
  const out = process.env.HVSIM_WRITE_CODE_CACHE;
  return out ? { main, saveCache: () => writeCodeCache(out, script.createCachedData()) } : { main };
}

/*
 * The cache file holds V8's cache twice. V8 checks a cache's header (its version, the flags, the
 * source's length, the payload's length) but a release build does not check the payload, and
 * damaged bytecode would run: the cache is used only when its two copies agree (a memcmp, where a
 * checksum would cost a module load or milliseconds of JavaScript at every start).
 */
function readCodeCache(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const half = size / 2;
    if (!Number.isInteger(half) || half === 0) return undefined;
    const data = Buffer.allocUnsafe(half);
    if (fs.readSync(fd, data, 0, half, 0) !== half) return undefined;
    // The second copy is compared a piece at a time: memory first touched costs page faults.
    const piece = Buffer.allocUnsafe(Math.min(half, 64 * 1024));
    for (let at = 0; at < half; at += piece.length) {
      const n = Math.min(piece.length, half - at);
      if (fs.readSync(fd, piece, 0, n, half + at) !== n || piece.compare(data, at, at + n, 0, n) !== 0) return undefined;
    }
    return data;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function writeCodeCache(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([data, data]));
  fs.renameSync(tmp, file);
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // What commander prints for .version(VERSION), without loading the commands.
  process.stdout.write(`${VERSION}\n`);
} else {
  void loadMain().then(async ({ main, saveCache }) => {
    process.exitCode = await main(argv);
    saveCache?.();
  });
}
