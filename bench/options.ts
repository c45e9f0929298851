/**
 * Command-line options and the fixed settings of the bench (bench/README.md).
 *
 * --quick (fewer runs), --keep (leave the temporary files), --no-qemu, --no-merge, --no-sim,
 * --no-cli, --out DIR (default bench/results), --tmp DIR (default: a new folder in os.tmpdir()).
 */
import * as path from 'node:path';
import { here } from './engine.js';

/** Chain depths measured; the chains nest (depth 8 is opened from workload-08.avhdx). */
export const DEPTHS = [0, 1, 2, 4, 8, 16, 32, 64];
export const MAX_DEPTH = DEPTHS[DEPTHS.length - 1]!;
/** Running VMs per checkpoint bench on the simulator. */
export const VM_COUNTS = [1, 2, 5, 10, 20, 50, 100];

export interface Options {
  quick: boolean;
  /** Interleaved measurement rounds (medians over these). */
  runs: number;
  /** Chain opens per depth, spread over the rounds. */
  openRuns: number;
  /** Checkpoint-group runs per VM count. */
  groupRuns: number;
  /** Whole CLI processes per row. */
  cliRuns: number;
  outDir: string;
  /** Folder for the workload; undefined: a new folder in os.tmpdir(). */
  tmp: string | undefined;
  keep: boolean;
  qemu: boolean;
  merge: boolean;
  sim: boolean;
  cli: boolean;
}

export function parseOptions(argv: string[]): Options {
  const flag = (f: string): boolean => argv.includes(f);
  const opt = (f: string): string | undefined => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = flag('--quick');
  const tmp = opt('--tmp');
  return {
    quick,
    runs: quick ? 3 : 7,
    openRuns: quick ? 6 : 21,
    groupRuns: quick ? 1 : 3,
    cliRuns: quick ? 3 : 7,
    outDir: path.resolve(opt('--out') ?? path.join(here, 'results')),
    tmp: tmp ? path.resolve(tmp) : undefined,
    keep: flag('--keep'),
    qemu: !flag('--no-qemu'),
    merge: !flag('--no-merge'),
    sim: !flag('--no-sim'),
    cli: !flag('--no-cli'),
  };
}
