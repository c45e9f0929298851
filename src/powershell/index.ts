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
import { checkRequires } from './requires.js';
export { Facilities } from './windows.js';

export type { RunResult, SavedVariables, SessionOptions };
export { ScriptSyntaxError, UnsupportedError } from './errors.js';

export interface Session {
  /** Run a script: `file` is its real path ($PSScriptRoot, $PSCommandPath; absent for stdin), `args` its command-line arguments (bound to its param(), else $args). */
  run(source: string, opts?: { file?: string; args?: string[] }): Promise<RunResult>;
  /** The variables to continue with in a later session (see Interpreter.saveVariables). */
  saveVariables(): SavedVariables;
  loadVariables(saved: SavedVariables): void;
}

export function createSession(host: Host, options: SessionOptions): Session {
  // while Start-Transcript runs, console output goes into the transcript too
  const fac = options.facilities;
  const teed: SessionOptions = fac
    ? {
        ...options,
        stdout: (t) => {
          options.stdout(t);
          fac.transcribe(t);
        },
        stderr: (t) => {
          options.stderr(t);
          fac.transcribe(t);
        },
      }
    : options;
  const interp = new Interpreter(host, teed);
  return {
    async run(source: string, opts: { file?: string; args?: string[] } = {}): Promise<RunResult> {
      const file = opts.file;
      checkRequires(source, file);
      const parsed = await parseScript(source, options.strict === true);
      interp.script = { path: file ?? null };
      for (const w of parsed.warnings) options.stderr(formatWarning(w));
      const result = await interp.run(parsed.body, parsed.lines, { def: parsed.def, args: opts.args ?? [] });
      // jobs still running go on while the console stays open: the next command comes after them (jobs.ts)
      await interp.jobs.settle();
      return result;
    },
    saveVariables: () => interp.saveVariables(),
    loadVariables: (saved) => interp.loadVariables(saved),
  };
}

/** Run one script in a new session. */
export function runScript(host: Host, source: string, options: SessionOptions): Promise<RunResult> {
  return createSession(host, options).run(source);
}
