#!/usr/bin/env node
import * as v8 from 'node:v8';
import { VERSION } from './version.js';

// hvsim run's PowerShell grammar is a 1 MB WebAssembly module. Node 20's V8 also compiles all of
// it with TurboFan in the background, and a process cannot exit until that is done (~7 s of CPU
// here); the baseline (Liftoff) code parses a script in milliseconds, so a short-lived CLI keeps it.
v8.setFlagsFromString('--liftoff-only');

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // What commander prints for .version(VERSION), without loading the commands (bench/README.md,
  // "CLI start-up"): the bundle keeps them in a chunk of their own (scripts/build-cli.mjs).
  process.stdout.write(`${VERSION}\n`);
} else {
  void import('./main.js')
    .then(({ main }) => main(argv))
    .then((code) => {
      process.exitCode = code;
    });
}
