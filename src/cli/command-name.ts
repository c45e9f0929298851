/**
 * Where the command's name is in hvsim's argument list: after the global options (and the value
 * each of those that takes one). Used to load only the command that runs (main.ts) and to find
 * `hvsim run`'s script arguments (commands/run.ts).
 */

/** hvsim's global options that take a value (they may come before the command). */
export const GLOBAL_VALUE_OPTIONS: ReadonlySet<string> = new Set(['--root', '--inject-fault', '--computer-name', '--host']);

/** The index of the command's name in `argv` (argv.length when there is none). */
export function commandIndex(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) i += GLOBAL_VALUE_OPTIONS.has(argv[i]!) ? 2 : 1;
  return Math.min(i, argv.length);
}
