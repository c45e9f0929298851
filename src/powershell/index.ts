/**
 * hvsim run: execute a PowerShell checkpoint script against a Host. A session keeps its variables
 * between scripts (like one PowerShell console), so the seed's steps can run one after another.
 * The whole script is parsed before anything runs: a syntax error throws ScriptSyntaxError and
 * nothing changes. A construct, cmdlet or parameter outside the subset throws UnsupportedError
 * when the statement using it runs (statements before it have run).
 */
import type { Host } from '../host/host.js';
import { formatWarning } from './format.js';
import { Interpreter, type RunResult, type SavedVariables, type SessionOptions } from './interpreter.js';
import { parseScript } from './parse.js';

export type { RunResult, SavedVariables, SessionOptions };
export { ScriptSyntaxError, UnsupportedError } from './errors.js';

export interface Session {
  /** Run a script; `args` are its command-line arguments (bound to its param(), else $args). */
  run(source: string, args?: string[]): Promise<RunResult>;
  /** The variables to continue with in a later session (see Interpreter.saveVariables). */
  saveVariables(): SavedVariables;
  loadVariables(saved: SavedVariables): void;
}

export function createSession(host: Host, options: SessionOptions): Session {
  const interp = new Interpreter(host, options);
  return {
    async run(source: string, args: string[] = []): Promise<RunResult> {
      const parsed = await parseScript(source);
      for (const w of parsed.warnings) options.stderr(formatWarning(w));
      return interp.run(parsed.body, parsed.lines, { def: parsed.def, args });
    },
    saveVariables: () => interp.saveVariables(),
    loadVariables: (saved) => interp.loadVariables(saved),
  };
}

/** Run one script in a new session. */
export function runScript(host: Host, source: string, options: SessionOptions): Promise<RunResult> {
  return createSession(host, options).run(source);
}
