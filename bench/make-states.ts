/**
 * Make the states of the CLI bench's state rows (bench/cli.ts, makeStates) under a folder, to time
 * or profile commands on them alone: `node --import tsx bench/make-states.ts DIR [BIN]` (after `npm
 * run build`; BIN: another build's entry) makes DIR/state10 and DIR/state1000 (HVSIM_ROOT for `hvsim get-vm --name vm0009` / `vm0999`,
 * with HVSIM_CLOCK=simulated as the bench runs them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeStates } from './cli.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: make-states.ts DIR');
fs.mkdirSync(dir, { recursive: true });
// The CLI entry npm run build makes, or another build's (an older one's bin.js) named second.
const bin = path.resolve(process.argv[3] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'bin.cjs'));
const { s10, s1000 } = makeStates(bin, path.resolve(dir));
console.log(`${s10}\n${s1000}`);
