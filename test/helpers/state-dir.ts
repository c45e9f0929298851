/**
 * The whole state a state directory holds (state.json's index with each VM's record file read
 * into it: src/sim/records.ts), for tests that look at or edit what a command saved.
 */
import * as path from 'node:path';
import { readStateDirectory, writeStateDirectory } from '../../src/sim/records.js';
import type { HostState } from '../../src/sim/state.js';

/** `where`: the state directory, or its state.json. */
const rootOf = (where: string): string => (path.basename(where) === 'state.json' ? path.dirname(where) : where);

/** The whole state kept in `where` (throws when it has none). */
export function readState(where: string): HostState {
  const s = readStateDirectory(rootOf(where));
  if (s === undefined) throw new Error(`${where}: no state.json`);
  return s;
}

/** Replace the state kept in `where` by `state`, written whole (as a hand edit would; hvsim's next save splits it again). */
export function writeState(where: string, state: HostState): void {
  writeStateDirectory(rootOf(where), state);
}
