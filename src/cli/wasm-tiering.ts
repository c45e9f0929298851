import * as v8 from 'node:v8';

/**
 * hvsim run's PowerShell grammar is a 1 MB WebAssembly module. Node 20's V8 also compiles all of it
 * with TurboFan in the background, and a process cannot exit until that is done (~7 s of CPU here);
 * the baseline (Liftoff) code parses a script in milliseconds, so the CLI keeps to it. Called by the
 * commands that load the grammar, before they do (bench/README.md, "CLI start-up": node:v8 alone
 * costs a command ~10 ms to load, so the others never import it).
 */
export function keepWasmBaseline(): void {
  v8.setFlagsFromString('--liftoff-only');
}
