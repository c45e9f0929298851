#!/usr/bin/env node
import * as v8 from 'node:v8';
import { main } from './main.js';

// hvsim run's PowerShell grammar is a 1 MB WebAssembly module. Node 20's V8 also compiles all of
// it with TurboFan in the background, and a process cannot exit until that is done (~7 s of CPU
// here); the baseline (Liftoff) code parses a script in milliseconds, so a short-lived CLI keeps it.
v8.setFlagsFromString('--liftoff-only');

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
