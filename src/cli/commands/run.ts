/**
 * hvsim run FILE.ps1 … : PowerShell checkpoint scripts against the host (docs/powershell.md).
 * Files run in order in one session (variables carry over, like one console); `-` reads stdin.
 * With the simulator the session's plain variables are kept in the state directory, so the next
 * `hvsim run` continues it (the seed's steps run one at a time, with get-vm in between);
 * --new-session starts afresh.
 * Exit status: 0 when the scripts ran to the end (non-terminating errors included, as
 * powershell.exe -File), 1 after a terminating error, N for `exit N`, 2 when a script was refused
 * (syntax error or unsupported construct). --what-if runs on a throwaway copy of the state
 * directory and prints what would change.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { HvsimError } from '../../errors.js';
import type { Host, HostFarm, VirtualMachine, VMSnapshot } from '../../host/host.js';
import { parseHostSpec } from '../../hyperv/host-spec.js';
import { copyStateDirectory } from '../../sim/storage.js';
import { writeFileAtomic } from '../../vhd/io/node-file.js';
import type { SavedVariables, Session } from '../../powershell/index.js';

/** The interpreter, loaded only when a script runs (the other commands start without it). */
const powershell = (): Promise<typeof import('../../powershell/index.js')> => {
  keepWasmBaseline();
  return import('../../powershell/index.js');
};
import { err, out } from '../output.js';
import { keepWasmBaseline } from '../wasm-tiering.js';
import { commandIndex } from '../command-name.js';
import { stateRoot, withHost, type Globals } from '../sim-host.js';

interface RunOpts {
  whatIf?: boolean;
  yes?: boolean;
  strict?: boolean;
  /** --new-session: start without the variables kept from earlier runs. */
  newSession?: boolean;
  /** --pwsh: run the (one) script in real PowerShell with the hvsim module (commands/pwsh.ts). */
  pwsh?: boolean;
  /** --input FILE: the lines Read-Host reads. */
  input?: string;
}

/** The variables of the PowerShell session, kept in the state directory between runs. */
export const SESSION_FILE = 'powershell-session.json';

/** The session's variables kept in `root` (none: a new session); hvsim ui's PowerShell pane shares them. */
export function loadSession(root: string | undefined): SavedVariables {
  if (root === undefined) return {};
  try {
    const v = JSON.parse(fs.readFileSync(path.join(root, SESSION_FILE), 'utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as SavedVariables) : {};
  } catch {
    return {}; // none yet, or unreadable: start a new session
  }
}

export function saveSession(root: string, vars: SavedVariables): void {
  writeFileAtomic(path.join(root, SESSION_FILE), JSON.stringify(vars, null, 1) + '\n');
}

/** --input FILE: its lines, for Read-Host (- reads stdin). */
function readInput(file: string): string[] {
  if (file !== '-' && !fs.existsSync(file)) throw new HvsimError('NOT_FOUND', `${file}: no such file (--input)`, { file });
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function readScript(file: string): string {
  if (file === '-') return fs.readFileSync(0, 'utf8');
  if (!fs.existsSync(file)) throw new HvsimError('NOT_FOUND', `${file}: no such file`, { file });
  return fs.readFileSync(file, 'utf8');
}

/** Run the scripts in one session; the exit status of the run. */
/**
 * A script file a script runs or dot-sources (`. .\\lib.ps1`): relative to the current folder, \ read
 * as /. A drive path (C:\\…) is the simulated host's and is not read from this machine.
 */
function readDotSourced(file: string): string {
  if (/^[A-Za-z]:[\\/]|^\\\\/.test(file)) throw new HvsimError('NOT_FOUND', `${file}: not a file on this machine`);
  return fs.readFileSync(path.resolve(file.replace(/\\/g, '/')), 'utf8');
}

/** A script to run and the arguments it gets. */
interface ScriptRun {
  file: string;
  source: string;
  args?: string[];
}

/**
 * `hvsim run a.ps1 b.ps1 -VMName web01 7`: the leading operands naming scripts (the first one,
 * then those ending in .ps1, or - for stdin) are the files; from the first other word on, the
 * words are the last script's arguments (`-Name value`, `-Switch`, `-Name:value`, positional).
 */
export function splitScriptArgs(words: string[]): { files: string[]; args: string[] } {
  let i = 1;
  while (i < words.length && (words[i] === '-' || (/\.ps1$/i.test(words[i]!) && !words[i]!.startsWith('-')))) i++;
  return { files: words.slice(0, i), args: words.slice(i) };
}

const RUN_OPTIONS = new Set(['--what-if', '--yes', '--new-session', '--pwsh', '--strict']);
/** hvsim run's options that take a value. */
const RUN_VALUE_OPTIONS = new Set(['--input']);

/**
 * `hvsim run s.ps1 -VMName web01`: a `--` before the script's arguments, so that commander does not
 * read them as hvsim's own options (-VMName would be -V, --version). Other command lines are
 * returned as they are.
 */
export function protectScriptArgs(argv: string[]): string[] {
  let i = commandIndex(argv);
  if (argv[i] !== 'run') return argv;
  i++;
  while (i < argv.length && argv[i]!.startsWith('--') && argv[i] !== '--') i += RUN_VALUE_OPTIONS.has(argv[i]!) ? 2 : 1;
  if (i >= argv.length || argv[i] === '--') return argv;
  const { files, args } = splitScriptArgs(argv.slice(i));
  // hvsim run's own options written after the files stay hvsim's (hvsim run s.ps1 --yes)
  const own: string[] = [];
  while (args.length && (RUN_OPTIONS.has(args[0]!) || RUN_VALUE_OPTIONS.has(args[0]!))) {
    const o = args.shift()!;
    own.push(o);
    if (RUN_VALUE_OPTIONS.has(o) && args.length) own.push(args.shift()!);
  }
  if (args.length === 0 || args[0] === '--') return [...argv.slice(0, i + files.length), ...own, ...args];
  return [...argv.slice(0, i + files.length), ...own, '--', ...args];
}

async function runAll(h: Host, scripts: ScriptRun[], o: RunOpts, keep: { load?: string; save?: string }, farm?: HostFarm): Promise<number> {
  const { createSession, Facilities } = await powershell();
  // the simulated host's files, outbox and event log live in its state directory (docs/powershell.md)
  const input = o.input === undefined ? null : readInput(o.input);
  const facilities = keep.load !== undefined ? new Facilities(keep.load, input) : undefined;
  const session = createSession(h, {
    stdout: out,
    stderr: err,
    yes: o.yes === true,
    strict: o.strict === true,
    readScript: readDotSourced,
    ...(facilities ? { facilities } : {}),
    ...(farm ? { farm } : {}),
  });
  if (!o.newSession) session.loadVariables(loadSession(keep.load));
  try {
    return await runScripts(session, scripts);
  } finally {
    if (keep.save !== undefined) saveSession(keep.save, session.saveVariables());
  }
}

async function runScripts(session: Session, scripts: ScriptRun[]): Promise<number> {
  const { ScriptSyntaxError, UnsupportedError } = await powershell();
  for (const s of scripts) {
    try {
      const r = await session.run(s.source, { ...(s.file === '-' ? {} : { file: s.file }), args: s.args ?? [] });
      if (r.exitCode !== 0) return r.exitCode;
    } catch (e) {
      if (e instanceof UnsupportedError || e instanceof ScriptSyntaxError) {
        err(`hvsim: ${s.file === '-' ? 'stdin' : s.file}: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }
  return 0;
}

interface HostPicture {
  vms: VirtualMachine[];
  snaps: VMSnapshot[];
}

async function picture(h: Host): Promise<HostPicture> {
  return { vms: await h.getVM(), snaps: await h.getVMSnapshot({ vmNames: [] }) };
}

/** What changed between two pictures, one line each (VMs by Id, checkpoints by Id). */
export function describeChanges(before: HostPicture, after: HostPicture): string[] {
  const lines: string[] = [];
  const vmById = (list: VirtualMachine[], id: string): VirtualMachine | undefined => list.find((v) => v.Id === id);
  for (const v of after.vms) {
    const old = vmById(before.vms, v.Id);
    if (!old) lines.push(`VM "${v.Name}": created (${v.State})`);
    else if (old.State !== v.State) lines.push(`VM "${v.Name}": ${old.State} -> ${v.State}`);
  }
  for (const v of before.vms) if (!vmById(after.vms, v.Id)) lines.push(`VM "${v.Name}": removed`);
  for (const s of after.snaps) {
    const old = before.snaps.find((x) => x.Id === s.Id);
    if (!old) lines.push(`checkpoint "${s.Name}" of "${s.VMName}": created`);
    else if (old.Name !== s.Name) lines.push(`checkpoint "${old.Name}" of "${s.VMName}": renamed to "${s.Name}"`);
  }
  for (const s of before.snaps) if (!after.snaps.some((x) => x.Id === s.Id)) lines.push(`checkpoint "${s.Name}" of "${s.VMName}": removed`);
  return lines;
}

/** Run on a copy of the state directory, print the changes, delete the copy. */
async function whatIf(cmd: Command, scripts: ScriptRun[], o: RunOpts): Promise<number> {
  const g = cmd.optsWithGlobals() as Globals;
  if (parseHostSpec(g.host).kind !== 'sim') throw new HvsimError('INVALID_ARGUMENT', 'run --what-if works on the simulator only (it copies the state directory)');
  const root = stateRoot(g);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-what-if-'));
  const copy = path.join(tmp, 'state');
  try {
    if (fs.existsSync(root)) copyStateDirectory(root, copy);
    return await withHost(
      cmd,
      async (h, place) => {
        const before = await picture(h);
        const code = await runAll(h, scripts, o, { load: copy }, place.farm);
        const changes = describeChanges(before, await picture(h));
        out(`\nWhat if (hvsim run --what-if; ${root} was not changed):\n`);
        out(changes.length ? changes.map((l) => `  ${l}\n`).join('') : '  nothing would change\n');
        return code;
      },
      { root: copy },
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run PowerShell checkpoint scripts (Hyper-V cmdlets, pipelines, foreach/if) against the host; see docs/powershell.md')
    .argument('<files...>', 'script files, run in order in one session (variables carry over); - reads stdin; words after the last .ps1 file are its arguments (-VMName web01 -Days 7)')
    .allowUnknownOption()
    .option('--what-if', 'run against a throwaway copy of the state directory and print what would change')
    .option('--yes', 'answer Yes to confirmation prompts (Restore-VMSnapshot); without it the run is non-interactive')
    .option('--strict', 'refuse typographic look-alike quotes (″ « » …) as PowerShell does, instead of replacing them with a warning')
    .option('--input <file>', 'lines for Read-Host, one answer a line (without it Read-Host fails, as in powershell -NonInteractive)')
    .option('--new-session', 'forget the variables kept from earlier runs (the session continues by default, like one console)')
    .option('--pwsh', 'run FILE in PowerShell 7 (pwsh) with the hvsim module, the other arguments passed to it (after -- if they start with -)')
    .action(async (files: string[], o: RunOpts, cmd: Command) => {
      if (o.pwsh) {
        if (o.whatIf || o.yes || o.newSession) throw new HvsimError('INVALID_ARGUMENT', 'run --pwsh takes no --what-if, --yes or --new-session (the script runs in PowerShell: use -WhatIf and -Confirm there)');
        const { runPwsh } = await import('./pwsh.js');
        const code = runPwsh(cmd.optsWithGlobals() as Globals, files[0]!, files.slice(1));
        if (code !== 0) process.exitCode = code;
        return;
      }
      const split = splitScriptArgs(files);
      const scripts: ScriptRun[] = split.files.map((file) => ({ file, source: readScript(file) }));
      scripts[scripts.length - 1]!.args = split.args;
      const g = cmd.optsWithGlobals() as Globals;
      // The session's variables live in the simulator's state directory (not with a real host).
      const root = parseHostSpec(g.host).kind === 'sim' ? stateRoot(g) : undefined;
      const code = o.whatIf ? await whatIf(cmd, scripts, o) : await withHost(cmd, (h, place) => runAll(h, scripts, o, { ...(root !== undefined ? { load: root, save: root } : {}) }, place.farm));
      if (code !== 0) process.exitCode = code;
    });
}
