/**
 * Runs ast.ts trees as PowerShell would: variables (one script scope), expressions, pipelines
 * (stage by stage; a stage after an empty one does not run), foreach/while/do/for/if (loops that
 * cannot end on a still clock are stopped), try/catch/finally
 * (catching terminating and statement-terminating errors), script blocks with $_,
 * cmdlet calls through cmdlet.ts binding, error records with -ErrorAction and
 * $ErrorActionPreference, -WhatIf/-Confirm. Output reaching the end of a top-level statement
 * goes through format.ts's Out-Default.
 */
import { randomUUID } from 'node:crypto';
import type { Host, HostFarm } from '../host/host.js';
import { HvsimError } from '../errors.js';
import type { BlockDef, CmdElement, CommandCall, Expr, Pipeline, Pos, Stmt } from './ast.js';
import { BindingError, bind, refuseUnsupported, resolveParam, type Bound, type CmdletContext, type CmdletDef, type ConfirmImpact, type RawArgs } from './cmdlet.js';
import { findCmdlet, refuseUnimplemented, splitModule } from './commands.js';
import { hostErrorKind, unreachableComputer } from './cmdlets/hyperv.js';
import { reachHosts } from '../host/farm.js';
import { CimSessions } from './cim-sessions.js';
import { ExitSignal, LoopSignal, PsRuntimeError, ReturnSignal, RunawayLoopError, StatementError, TerminatingError, UnsupportedError, UnsupportedMember } from './errors.js';
import { bindParams, bindPipelineItem, isSwitchArg, scriptArgs, type ArgItem } from './functions.js';
import { Scopes } from './scope.js';
import { asType, isOfType } from './types.js';
import { checkFormatWidth, checkSize, outOfMemory, range } from './limits.js';
import { blockDefOf, CALL_DEPTH_LIMIT, registerBlock, switchMatches } from './invoke.js';
import { OutDefaultWriter, formatError, formatWarning, writeItem } from './format.js';
import { CATEGORY_INFO_TYPE, ERROR_RECORD_TYPE, castTo, toBool, toNumber, toStr } from './convert.js';
import { getMember } from './members.js';
import { index, invokeMethod } from './methods.js';
import { arithmetic, compare, matchTable } from './operators.js';
import { isTextOperator, textOperator, unaryText } from './text.js';
import { automaticVariable, simulatedEnvironment, type SimEnvironment } from './environment.js';
import { NOT_HANDLED, psCmdletObject, dotnetInvoke, dotnetMember, fullTypeName, staticInvoke, staticMember, typeObject, type DotnetContext } from './statics.js';
import { functionInvocation, scriptName, scriptVariables, type Facilities, type ScriptInfo } from './windows.js';
import { ioStatic } from './cmdlets/files.js';
import { PsHashtable, PsObject, collapse, enumerate, isScriptBlock, type PsErrorCategory, type PsErrorRecord, type PsScriptBlock, type PsValue } from './value.js';
import { parseScript } from './parse.js';
import { BACKGROUND_JOB_START_MS, JobTable, deserialize, emptyResults, usingNames, type Job, type JobControl } from './jobs.js';

export interface SessionOptions {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Answer "Yes" to confirmation prompts (hvsim run --yes); otherwise the run is non-interactive. */
  yes?: boolean;
  /** Console width for tables (default 120). */
  width?: number;
  /** Refuse typographic look-alike quotes as PowerShell does (hvsim run --strict; docs/powershell.md). */
  strict?: boolean;
  /** The simulated host's files, outbox, event log and script input (windows.ts); none: those fail clearly. */
  facilities?: Facilities;
  /** The other simulated hosts -ComputerName and -CimSession reach (docs/powershell.md, "Several hosts"); none: only the session's host. */
  farm?: HostFarm;
  /** The text of a script file a script runs or dot-sources (`. .\lib.ps1`); none: refused. */
  readScript?(path: string): string;
}

export interface RunResult {
  /** 0, 1 after a terminating error, or the script's `exit N`. */
  exitCode: number;
  /** The error that ended the script, if one did. */
  terminatingError: PsErrorRecord | null;
  /** Every error record written (terminating or not), oldest first. */
  errors: PsErrorRecord[];
}

/** "Checkpoint-VM: text" → "text" (the host prefixes its messages with the cmdlet). */
export function stripCmdlet(message: string): string {
  return message.replace(/^[A-Z][A-Za-z]*-[A-Za-z]+: /, '');
}

/** A kept variable: JSON with dates and hashtables tagged. */
export type SavedValue = null | boolean | number | string | SavedValue[] | { date: string } | { hashtable: Array<[string, SavedValue]> };
export type SavedVariables = Record<string, SavedValue>;

function encodeValue(v: PsValue, depth = 0): SavedValue | undefined {
  if (depth > 16) return undefined;
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (v instanceof Date) return { date: v.toISOString() };
  if (Array.isArray(v)) {
    const items = v.map((x) => encodeValue(x, depth + 1));
    return items.every((x) => x !== undefined) ? (items as SavedValue[]) : undefined;
  }
  if (v instanceof PsHashtable) {
    const entries: Array<[string, SavedValue]> = [];
    for (const k of v.keys()) {
      const e = encodeValue(v.get(k) ?? null, depth + 1);
      if (e === undefined) return undefined;
      entries.push([k, e]);
    }
    return { hashtable: entries };
  }
  return undefined;
}

function decodeValue(v: unknown, depth = 0): PsValue | undefined {
  if (depth > 16) return undefined;
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => decodeValue(x, depth + 1));
    return items.every((x) => x !== undefined) ? (items as PsValue[]) : undefined;
  }
  if (typeof v === 'object') {
    const o = v as { date?: unknown; hashtable?: unknown };
    if (typeof o.date === 'string') {
      const d = new Date(o.date);
      return Number.isNaN(d.getTime()) ? undefined : d;
    }
    if (Array.isArray(o.hashtable)) {
      const h = new PsHashtable();
      for (const e of o.hashtable) {
        if (!Array.isArray(e) || typeof e[0] !== 'string') return undefined;
        const x = decodeValue(e[1], depth + 1);
        if (x === undefined) return undefined;
        h.set(e[0], x);
      }
      return h;
    }
  }
  return undefined;
}

/** An ErrorRecord as a script sees it ($Error[0], $_ in catch): "$_" is the message. */
function errorObject(r: PsErrorRecord): PsObject {
  return new PsObject(ERROR_RECORD_TYPE, [
    ['Exception', new PsObject(`System.${r.reason}`, [['Message', r.message]])],
    [
      'CategoryInfo',
      new PsObject(CATEGORY_INFO_TYPE, [
        ['Category', r.category],
        ['Activity', r.command ?? ''],
        ['Reason', r.reason],
        ['TargetName', r.targetName],
        ['TargetType', ''],
        ['Text', `${r.category}: (${r.targetName}:) [${r.command ?? ''}], ${r.reason}`],
      ]).hide(['Text']),
    ],
    ['FullyQualifiedErrorId', r.fullyQualifiedErrorId],
    ['TargetObject', r.targetName || null],
  ]);
}

/** Whether `catch [type]` takes the record: [Exception] takes all, else the exception type by its name. */
function catches(type: string, r: PsErrorRecord): boolean {
  const short = type.split('.').pop()!.toLowerCase();
  return short === 'exception' || short === 'systemexception' || short === r.reason.toLowerCase();
}

/** The preference variable each common parameter of a script sets (functions.ts COMMON). */
const SCRIPT_PREFERENCES: Record<string, string> = {
  verbose: 'verbosepreference', vb: 'verbosepreference', debug: 'debugpreference', db: 'debugpreference',
  erroraction: 'erroractionpreference', ea: 'erroractionpreference', warningaction: 'warningpreference', wa: 'warningpreference',
  informationaction: 'informationpreference', whatif: 'whatifpreference', wi: 'whatifpreference',
};

const IMPACT_RANK: Record<string, number> = { none: 0, low: 1, medium: 2, high: 3 };

/** A statement's output as a value (collapsed), and whether there was none. */
const written = (outs: PsValue[]): { value: PsValue; nothing: boolean } => ({ value: collapse(outs), nothing: outs.length === 0 });

/** Iterations a while/do/for loop may run while the host's clock stands still before hvsim stops it. */
export const LOOP_LIMIT = 100_000;

export class Interpreter {
  private readonly vars = new Scopes();
  private lines: string[] = [];
  private readonly written: PsErrorRecord[] = [];
  /** $Error, oldest first: the records written and those caught by a catch block. */
  private readonly errorLog: PsErrorRecord[] = [];
  /** The errors whose catch blocks are running, innermost last (a bare `throw` rethrows it). */
  private readonly handling: PsErrorRecord[] = [];
  /** How many try blocks are running: inside one, statement-terminating errors go to catch. */
  private tryDepth = 0;
  /** The running top-level statement's output and the console it goes to (see body). */
  private console: { out: PsValue[]; writer: OutDefaultWriter } | null = null;
  /** The simulated host's environment ($env:X). */
  readonly env: SimEnvironment;
  /** Type constraints of variables assigned as [type]$x = … (lower-case name → type). */
  private readonly constraints = new Map<string, string>();
  /** Error records written so far (for $?), and whether the last simple statement succeeded. */
  private failures = 0;
  private lastOk = true;
  /** The script running (its real path; $PSScriptRoot, $PSCommandPath, $MyInvocation). */
  script: ScriptInfo = { path: null };
  readonly dotnet: DotnetContext;
  /** New-CimSession's sessions (cmdlets/cim.ts): they last as long as this session. */
  private readonly cimSessions = new CimSessions();
  /** The session's background jobs (jobs.ts). */
  readonly jobs: JobTable;
  /** In a Start-Job runspace: the caller's values of its $using: variables (lower-case names). */
  private usingValues: Map<string, PsValue> | null = null;
  /** The innermost statement running (where $PSCmdlet.ShouldProcess's errors point). */
  private currentPos: Pos = { line: 1, column: 1, length: 1 };

  constructor(readonly host: Host, private readonly opts: SessionOptions) {
    this.jobs = new JobTable(host);
    this.vars.set('erroractionpreference', 'Continue');
    this.vars.set('warningpreference', 'Continue');
    this.vars.set('confirmpreference', 'High');
    this.vars.set('whatifpreference', false);
    this.env = simulatedEnvironment(host.computerName);
    this.dotnet = {
      now: () => host.now(),
      computerName: host.computerName,
      env: this.env,
      sendMail: async (m) => {
        if (!opts.facilities) throw new PsRuntimeError('hvsim run has no simulated outbox here (the simulator keeps one in its state directory)', 'InvalidOperation', 'SmtpException');
        await opts.facilities.sendMail(m, await host.now());
      },
      ioStatic: async (type, name, args) => (opts.facilities ? ioStatic(opts.facilities, await host.now(), type, name, args) : NOT_HANDLED),
      shouldProcess: (command, target, action, description) => {
        const def: CmdletDef = { name: command, className: command, params: [], run: async () => {}, confirmImpact: 'Medium' };
        const c: CommandCall = { kind: 'command', name: command, elements: [], pos: this.currentPos };
        return this.shouldProcess(def, c, undefined, undefined, target, action, description);
      },
      write: (stream, text) => {
        if (stream === 'warning') {
          if (!['silentlycontinue', 'ignore'].includes(toStr(this.vars.get('warningpreference') ?? '').toLowerCase())) this.opts.stdout(formatWarning(text));
        } else if (['continue', 'stop', 'inquire'].includes(toStr(this.vars.get('verbosepreference') ?? '').toLowerCase())) this.opts.stdout(`VERBOSE: ${text}\n`);
      },
    };
  }

  /** The session's options (cmdlets reach the facilities through them). */
  get options(): SessionOptions {
    return this.opts;
  }

  private get width(): number {
    return this.opts.width ?? 120;
  }

  /**
   * Run a parsed script's statements in this session (variables persist between calls). As with
   * powershell.exe -File, the whole script's output goes through one Out-Default: a table stays
   * open across statements, and objects of another type later on come out as lists.
   */
  async run(body: Stmt[], lines: string[], script?: { def: BlockDef; args: string[] }): Promise<RunResult> {
    this.lines = lines;
    const before = this.written.length;
    const writer = new OutDefaultWriter(this.width);
    const result = (exitCode: number, t: PsErrorRecord | null): RunResult => {
      this.opts.stdout(writer.end());
      return { exitCode, terminatingError: t, errors: this.written.slice(before) };
    };
    const steps: Array<() => Promise<void>> = [];
    const def = script?.def;
    if (def && (def.params !== null || (script?.args.length ?? 0) > 0 || def.begin || def.process)) {
      // the script's parameters, then begin/process/end (about_Scripts)
      steps.push(() => this.bindScript(def, script!.args));
      if (def.begin) steps.push(...def.begin.map((s) => (): Promise<void> => this.exec(s, this.console!.out)));
      if (def.process) steps.push(...def.process.map((s) => (): Promise<void> => this.exec(s, this.console!.out)));
    }
    steps.push(...body.map((s) => (): Promise<void> => this.exec(s, this.console!.out)));
    // -Verbose, -WhatIf … given to the script set preferences in the script's scope only: the
    // session (kept between runs) gets its own back when the script ends
    const given = new Set((script?.args ?? []).map((w) => SCRIPT_PREFERENCES[/^-([a-z]+)(:.*)?$/i.exec(w)?.[1]?.toLowerCase() ?? '']).filter((n) => n !== undefined));
    const saved = [...given].map((n) => [n, this.vars.get(n)] as const);
    try {
      return await this.runSteps(steps, writer, result);
    } finally {
      for (const [n, v] of saved) {
        if (v === undefined) this.vars.delete(n);
        else this.vars.set(n, v);
      }
    }
  }

  private async runSteps(steps: Array<() => Promise<void>>, writer: OutDefaultWriter, result: (exitCode: number, t: PsErrorRecord | null) => RunResult): Promise<RunResult> {
    for (const step of steps) {
      const out: PsValue[] = [];
      this.console = { out, writer };
      try {
        await step();
      } catch (e) {
        this.flush(writer, out);
        if (e instanceof TerminatingError) {
          const r = result(1, e.record);
          this.opts.stderr(formatError(e.record));
          return r;
        }
        if (e instanceof ExitSignal) return result(e.code, null);
        if (e instanceof ReturnSignal) return result(0, null);
        if (e instanceof StatementError) {
          // a script parameter that does not bind ends the script (pwsh -File exits 1)
          const r = result(1, e.record);
          this.opts.stderr(formatError(e.record));
          return r;
        }
        // refused at run time: what ran before is printed, then the refusal
        if (e instanceof UnsupportedError) this.opts.stdout(writer.end());
        throw e;
      }
      this.flush(writer, out);
    }
    return result(0, null);
  }

  /**
   * The statements of a foreach/if/try body. At the top level their output reaches the console
   * statement by statement, as in PowerShell, so it stays in order with Write-Host's.
   */
  private async body(stmts: Stmt[], out: PsValue[]): Promise<void> {
    for (const b of stmts) {
      await this.exec(b, out);
      if (this.console?.out === out) this.flush(this.console.writer, out.splice(0));
    }
  }

  /** Out-Default: Format-* output as it is, everything else through the default views. */
  private flush(writer: OutDefaultWriter, items: PsValue[]): void {
    for (const v of items) {
      const text = writeItem(writer, v);
      if (text) this.opts.stdout(text);
    }
  }

  /**
   * The session's variables that a later run can continue with (hvsim run keeps them in the state
   * directory, like one console kept open): strings, numbers, booleans, $null, dates, and arrays
   * and hashtables of those. Objects from cmdlets are not kept (they are snapshots of a host that
   * moves on); automatic variables ($_, $Error) never are.
   */
  saveVariables(): SavedVariables {
    const out: SavedVariables = {};
    for (const [k, v] of this.vars) {
      if (k === '_' || k === 'psitem') continue;
      const enc = encodeValue(v);
      if (enc !== undefined) out[k] = enc;
    }
    return out;
  }

  /** Restore what saveVariables() returned (entries that do not decode are ignored). */
  loadVariables(saved: SavedVariables): void {
    for (const [k, v] of Object.entries(saved)) {
      const dec = decodeValue(v);
      if (dec !== undefined && /^[a-z_][a-z0-9_]*$/i.test(k) && !['true', 'false', 'null', '_', 'psitem', 'error'].includes(k)) this.vars.set(k, dec);
    }
  }

  // ------------------------------------------------------------ errors

  record(command: string | null, pos: Pos, message: string, category: PsErrorCategory, fqid: string, reason: string, targetName = ''): PsErrorRecord {
    return {
      command,
      message,
      category,
      targetName,
      reason,
      fullyQualifiedErrorId: fqid,
      line: pos.line,
      column: pos.column,
      lineText: this.lines[pos.line - 1] ?? '',
      extentLength: pos.length,
    };
  }

  private errorAction(explicit: string | undefined): string {
    return (explicit ?? toStr(this.vars.get('erroractionpreference') ?? 'Continue')).toLowerCase();
  }

  /** Write a non-terminating error record, or end the script if the action is Stop. */
  private writeError(rec: PsErrorRecord, explicit?: string): void {
    this.failures++;
    const action = this.errorAction(explicit);
    if (action === 'stop') throw new TerminatingError(rec);
    if (action === 'ignore') return;
    this.written.push(rec);
    this.errorLog.push(rec);
    if (action !== 'silentlycontinue') this.opts.stderr(formatError(rec));
  }

  /** A statement-terminating error: the statement ends, the script goes on (unless Stop). */
  private statementFailed(rec: PsErrorRecord): void {
    if (this.errorAction(undefined) === 'stop' || this.tryDepth > 0) throw new TerminatingError(rec);
    this.writeError(rec);
  }

  /** $Error: newest first, caught errors included. */
  private errorVariable(): PsValue {
    return [...this.errorLog].reverse().map(errorObject);
  }

  // ------------------------------------------------------------ statements

  async exec(s: Stmt, out: PsValue[]): Promise<void> {
    const failures = this.failures;
    this.currentPos = s.pos;
    try {
      await this.execInner(s, out);
      // $?: whether the last pipeline or assignment wrote no error (about_Automatic_Variables)
      if (s.kind === 'pipeline' || s.kind === 'assign') this.lastOk = this.failures === failures;
    } catch (e) {
      this.lastOk = false;
      if (e instanceof StatementError) return this.statementFailed(e.record);
      if (e instanceof PsRuntimeError) return this.statementFailed(this.record(null, s.pos, e.message, e.category, e.errorId, e.reason ?? 'RuntimeException'));
      if (e instanceof UnsupportedMember) throw new UnsupportedError(s.pos.line, e.what);
      if (e instanceof RangeError && /call stack/i.test(e.message))
        throw new TerminatingError(this.record(null, s.pos, 'The script failed due to call depth overflow.', 'InvalidOperation', 'CallDepthOverflow', 'ScriptCallDepthException'));
      // JavaScript ran out of room for a string or an array: PowerShell's failed allocation
      if (e instanceof RangeError && /Invalid (string|array|typed array) length|Array buffer allocation/i.test(e.message)) {
        const oom = outOfMemory();
        return this.statementFailed(this.record(null, s.pos, oom.message, 'NotSpecified' as PsErrorCategory, oom.errorId, 'OutOfMemoryException'));
      }
      throw e;
    }
  }

  private async execInner(s: Stmt, out: PsValue[]): Promise<void> {
    switch (s.kind) {
      case 'pipeline': {
        const only = s.elements[0];
        // `$i++` as a statement writes nothing
        if (s.elements.length === 1 && only?.kind === 'expr' && only.expr.kind === 'incdec') await this.eval(only.expr);
        else await this.pipeline(s, null, out);
        return;
      }
      case 'assign': {
        const { value, nothing } = s.value.kind === 'pipeline' ? await this.outputOf(s.value) : written(await this.statements([s.value]));
        if (s.constraint !== undefined && s.target.kind === 'var') {
          // [int]$n = '5': converted now, and on every later assignment
          this.constraints.set(s.target.name.toLowerCase(), s.constraint);
        }
        await this.assign(s.target, s.op, value);
        // a pipeline that wrote nothing leaves AutomationNull, not $null (Scopes.setEmpty)
        if (nothing && s.op === '=' && s.target.kind === 'var' && s.constraint === undefined && this.vars.get(s.target.name) === null && !/^env:/i.test(s.target.name)) this.vars.setEmpty(s.target.name);
        return;
      }
      case 'try':
        return this.tryStmt(s, out);
      case 'foreach':
        for (const item of enumerate(await this.valueOf(s.iterable))) {
          this.vars.set(s.variable.toLowerCase(), item);
          if (await this.loopPass(s.body, out, s.label)) break;
        }
        return;
      case 'while': {
        const tick = await this.watchLoop(s.pos);
        while (toBool(await this.valueOf(s.cond))) {
          if (await this.loopPass(s.body, out, s.label)) break;
          await tick();
        }
        return;
      }
      case 'do': {
        const tick = await this.watchLoop(s.pos);
        // continue goes on to the condition, as in PowerShell
        while (!(await this.loopPass(s.body, out, s.label)) && toBool(await this.valueOf(s.cond)) !== s.until) await tick();
        return;
      }
      case 'for': {
        if (s.init) await this.exec(s.init, out);
        const tick = await this.watchLoop(s.pos);
        while (s.cond === null || toBool(await this.valueOf(s.cond))) {
          if (await this.loopPass(s.body, out, s.label)) break;
          if (s.step) await this.exec(s.step, out);
          await tick();
        }
        return;
      }
      case 'loopControl':
        throw new LoopSignal(s.word, s.label);
      case 'unsupported':
        throw new UnsupportedError(s.pos.line, s.what);
      case 'function':
        this.vars.setFunction({ name: s.name, def: s.def });
        return;
      case 'return':
        if (s.value) await this.pipeline(s.value, null, out);
        throw new ReturnSignal();
      case 'switch':
        return this.switchStmt(s, out);
      case 'if':
        for (const c of s.clauses) {
          if (toBool(await this.valueOf(c.cond))) {
            await this.body(c.body, out);
            return;
          }
        }
        await this.body(s.elseBody ?? [], out);
        return;
      case 'exit':
        throw new ExitSignal(s.value ? toNumber(await this.valueOf(s.value)) : 0);
      case 'throw': {
        // a bare `throw` in a catch block rethrows the error being handled (about_Throw)
        const handling = this.handling[this.handling.length - 1];
        if (!s.value && handling) throw new TerminatingError(handling);
        const v = s.value ? await this.valueOf(s.value) : null;
        const msg = v === null ? 'ScriptHalted' : toStr(v);
        throw new TerminatingError(this.record(null, s.pos, msg, 'OperationStopped', msg, 'RuntimeException', msg));
      }
    }
  }

  /** One pass of a loop's body; true when it ended with `break`. A labelled signal for an outer loop goes on. */
  private async loopPass(body: Stmt[], out: PsValue[], label: string | undefined): Promise<boolean> {
    try {
      await this.body(body, out);
      return false;
    } catch (e) {
      if (!(e instanceof LoopSignal) || !e.stopsAt(label)) throw e;
      return e.word === 'break';
    }
  }

  // ------------------------------------------------------------ functions, script blocks, switch

  private bindTarget(): { set(name: string, v: PsValue): void; eval(e: Expr): Promise<PsValue> } {
    return { set: (n, v) => void this.vars.set(n, v), eval: (e) => this.eval(e) };
  }

  private bindFailure(name: string, e: BindingError, pos: Pos): StatementError {
    return new StatementError(this.record(name || null, e.pos ?? pos, e.message, e.category, name ? `${e.errorId},${name}` : e.errorId, 'ParameterBindingException'));
  }

  /** The script's own param(): the command line's words, bound as PowerShell binds a script's arguments. */
  private async bindScript(def: BlockDef, words: string[]): Promise<void> {
    const pos = { line: 1, column: 1, length: 1 };
    try {
      const r = await bindParams(def, scriptArgs(words, def, pos), false, this.bindTarget());
      this.vars.set('psboundparameters', r.bound);
      this.vars.set('args', r.rest);
      if (def.advanced) this.vars.set('pscmdlet', psCmdletObject(scriptName(this.script)));
    } catch (e) {
      if (!(e instanceof BindingError)) throw e;
      throw this.bindFailure('', e, pos);
    }
  }

  /**
   * Call a function, script block or script file: a child scope (the caller's with `.`), the
   * arguments bound, then begin, process once per pipeline object ($_), end. Without a process
   * block the body runs once and `$input` holds the pipeline input. `return` ends the block.
   */
  private async invokeBlock(name: string, def: BlockDef, args: ArgItem[], input: PsValue[] | null, out: PsValue[], dot: boolean, pos: Pos): Promise<void> {
    if (this.vars.depth >= CALL_DEPTH_LIMIT)
      throw new TerminatingError(this.record(null, pos, 'The script failed due to call depth overflow.', 'InvalidOperation', 'CallDepthOverflow', 'ScriptCallDepthException'));
    await this.vars.within(dot, async () => {
      const target = this.bindTarget();
      let r;
      try {
        r = await bindParams(def, args, input !== null, target);
      } catch (e) {
        if (!(e instanceof BindingError)) throw e;
        throw this.bindFailure(name, e, pos);
      }
      this.vars.set('local:psboundparameters', r.bound);
      this.vars.set('local:args', r.rest);
      if (def.advanced) this.vars.set('local:pscmdlet', psCmdletObject(name));
      // in a function, $MyInvocation.MyCommand is the function (about_Automatic_Variables)
      if (name !== '') this.vars.set('local:myinvocation', functionInvocation(name));
      const run = async (stmts: Stmt[] | null): Promise<void> => {
        if (!stmts) return;
        try {
          await this.body(stmts, out);
        } catch (e) {
          if (!(e instanceof ReturnSignal)) throw e;
        }
      };
      await run(def.begin);
      if (def.process) {
        for (const item of input ?? [undefined]) {
          if (item !== undefined) {
            this.vars.set('local:_', item);
            this.vars.set('local:psitem', item);
            try {
              await bindPipelineItem(r.pipelineParams, item, target, r.bound);
            } catch (e) {
              if (!(e instanceof BindingError)) throw e;
              this.writeError(this.bindFailure(name, e, pos).record);
              continue;
            }
          }
          await run(def.process);
        }
      } else {
        this.vars.set('local:input', input ?? []);
        const last = input?.[input.length - 1];
        if (last !== undefined && r.pipelineParams.length) await bindPipelineItem(r.pipelineParams, last, target, r.bound);
      }
      await run(def.end);
    });
  }

  /** A call's arguments for a function: `-Name value`, `-Switch`, `-Name:value`, positional values. */
  private async argItems(def: BlockDef, els: CmdElement[]): Promise<ArgItem[]> {
    const out: ArgItem[] = [];
    for (let i = 0; i < els.length; i++) {
      const el = els[i]!;
      if (el.kind === 'arg') out.push({ kind: 'positional', value: await this.eval(el.value), pos: el.pos });
      else if (el.kind === 'splat') continue; // expanded before (expandSplats)
      else if (el.value) out.push({ kind: 'named', name: el.name, value: await this.eval(el.value), pos: el.pos });
      else {
        const next = els[i + 1];
        if (!isSwitchArg(def, el.name) && next?.kind === 'arg') {
          out.push({ kind: 'named', name: el.name, value: await this.eval(next.value), pos: el.pos });
          i++;
        } else out.push({ kind: 'named', name: el.name, value: undefined, pos: el.pos });
      }
    }
    return out;
  }

  /** @name: a hashtable's entries become -Key:value, an array's items positional arguments (about_Splatting). */
  private expandSplats(els: CmdElement[]): CmdElement[] {
    const out: CmdElement[] = [];
    for (const el of els) {
      if (el.kind !== 'splat') {
        out.push(el);
        continue;
      }
      const v = this.variable(el.name);
      const konst = (value: PsValue): Expr => ({ kind: 'const', value, pos: el.pos });
      if (v instanceof PsHashtable) for (const k of v.keys()) out.push({ kind: 'param', name: k, value: konst(v.get(k) ?? null), pos: el.pos });
      else for (const x of enumerate(v)) out.push({ kind: 'arg', value: konst(x), pos: el.pos });
    }
    return out;
  }

  /** `& x` / `. x`: a script block, a command named by a string, or a script file. */
  private async callTarget(c: CommandCall, input: PsValue[] | null, out: PsValue[]): Promise<PsValue[]> {
    const dot = c.call === '.';
    const t = await this.eval(c.target!);
    if (isScriptBlock(t)) {
      const def = blockDefOf(t);
      if (!def) throw new UnsupportedError(c.pos.line, 'invoking this script block with & or . is');
      await this.invokeBlock('', def, await this.argItems(def, c.elements), input, out, dot, c.pos);
      return out;
    }
    const name = toStr(t);
    if (/\.ps1$/i.test(name) || /[\\/]/.test(name)) {
      if (!this.opts.readScript) throw new UnsupportedError(c.pos.line, 'running a script file is');
      let text: string;
      try {
        text = this.opts.readScript(name);
      } catch {
        const msg = `The term '${name}' is not recognized as a name of a cmdlet, function, script file, or executable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`;
        throw new StatementError(this.record(name, c.pos, msg, 'ObjectNotFound', 'CommandNotFoundException', 'CommandNotFoundException', name));
      }
      const parsed = await parseScript(text);
      const saved = this.lines;
      this.lines = parsed.lines;
      try {
        await this.invokeBlock('', parsed.def, await this.argItems(parsed.def, c.elements), input, out, dot, c.pos);
      } finally {
        this.lines = saved;
      }
      return out;
    }
    return this.command({ kind: 'command', name, elements: c.elements, pos: c.pos }, input, out);
  }

  /** switch: each item against the clauses in order; break leaves the switch, continue goes to the next item. */
  private async switchStmt(s: Extract<Stmt, { kind: 'switch' }>, out: PsValue[]): Promise<void> {
    const v = await this.valueOf(s.value);
    const items = v === null ? [null] : enumerate(v);
    const saved = [this.vars.get('_'), this.vars.get('psitem')];
    const clause = async (body: Stmt[]): Promise<'break' | 'continue' | null> => {
      try {
        await this.body(body, out);
        return null;
      } catch (e) {
        if (!(e instanceof LoopSignal) || !e.stopsAt(s.label)) throw e;
        return e.word;
      }
    };
    try {
      items: for (const item of items) {
        this.vars.set('_', item);
        this.vars.set('psitem', item);
        let matched = false;
        for (const cl of s.clauses) {
          if (cl.cond === 'default') continue;
          let hit: boolean;
          if (cl.cond.kind === 'block') hit = toBool(collapse(await this.makeBlock(cl.cond).invoke(item)));
          else {
            const m = switchMatches(s.mode, s.caseSensitive, item, await this.eval(cl.cond));
            if (m instanceof PsHashtable) this.vars.set('matches', m);
            hit = m !== false;
          }
          if (!hit) continue;
          matched = true;
          const r = await clause(cl.body);
          if (r === 'break') break items;
          if (r === 'continue') continue items;
        }
        const d = s.clauses.find((c) => c.cond === 'default');
        if (!matched && d && (await clause(d.body)) === 'break') break;
      }
    } finally {
      this.vars.set('_', saved[0] ?? null);
      this.vars.set('psitem', saved[1] ?? null);
    }
  }

  /**
   * A while/do/for loop's watchdog, called after each iteration: it counts the iterations since the
   * host's clock last moved and stops the script after LOOP_LIMIT of them. On the simulator the
   * clock moves only through Start-Sleep and host operations, so a loop polling without them
   * could never see a change (and would hang).
   */
  private async watchLoop(pos: Pos): Promise<() => Promise<void>> {
    let last = await this.host.now();
    let still = 0;
    return async () => {
      const now = await this.host.now();
      if (now !== last) {
        last = now;
        still = 0;
      } else if (++still >= LOOP_LIMIT) {
        const msg = `the loop at line ${pos.line} ran ${LOOP_LIMIT} times without waiting; hvsim stops it`;
        throw new RunawayLoopError(this.record(null, pos, msg, 'OperationStopped', 'RunawayLoop', 'RuntimeException'));
      }
    };
  }

  /**
   * try/catch/finally: a terminating error in the body (a statement-terminating one too: see
   * statementFailed) runs the first catch whose types match, with $_ the error record; `exit`
   * passes through; finally always runs.
   */
  private async tryStmt(s: Extract<Stmt, { kind: 'try' }>, out: PsValue[]): Promise<void> {
    try {
      this.tryDepth++;
      try {
        await this.body(s.body, out);
      } finally {
        this.tryDepth--;
      }
    } catch (e) {
      if (!(e instanceof TerminatingError) || e instanceof RunawayLoopError) throw e;
      const clause = s.catches.find((c) => c.types.length === 0 || c.types.some((t) => catches(t, e.record)));
      if (!clause) throw e;
      this.errorLog.push(e.record);
      const saved = [this.vars.get('_'), this.vars.get('psitem')];
      this.vars.set('_', errorObject(e.record));
      this.vars.set('psitem', this.vars.get('_')!);
      this.handling.push(e.record);
      try {
        await this.body(clause.body, out);
      } finally {
        this.handling.pop();
        this.vars.set('_', saved[0] ?? null);
        this.vars.set('psitem', saved[1] ?? null);
      }
    } finally {
      if (s.finallyBody) await this.body(s.finallyBody, out);
    }
  }

  /** A pipeline used as a value: a lone expression keeps its value (arrays stay arrays). */
  private async valueOf(p: Pipeline): Promise<PsValue> {
    return (await this.outputOf(p)).value;
  }

  /** valueOf, and whether the pipeline wrote nothing at all (AutomationNull: Scopes.setEmpty). */
  private async outputOf(p: Pipeline): Promise<{ value: PsValue; nothing: boolean }> {
    const only = p.elements[0];
    if (p.elements.length === 1 && only?.kind === 'expr') return { value: await this.eval(only.expr), nothing: only.expr.kind === 'var' && this.vars.isEmpty(only.expr.name) };
    return written(await this.pipeline(p, null));
  }

  private async assign(target: Expr, op: '=' | '+=' | '-=', value: PsValue): Promise<void> {
    const combine = async (): Promise<PsValue> => {
      if (op === '=') return value;
      const cur = await this.eval(target);
      checkSize(op === '+=' ? '+' : '-', cur, value);
      return arithmetic(op === '+=' ? '+' : '-', cur, value);
    };
    if (target.kind === 'var') {
      const name = target.name.toLowerCase();
      // `$null = …` is PowerShell's way to discard a value (it was evaluated already).
      if (name === 'null') return;
      if (['true', 'false', '_', 'psitem', 'error', '?', 'pid', 'host', 'psversiontable', 'home', 'pshome'].includes(name)) throw new PsRuntimeError(`Cannot overwrite variable ${target.name} because it is read-only or constant.`, 'InvalidOperation', 'VariableNotWritable');
      if (name.startsWith('env:')) {
        // $env:X = …: the simulated environment; $null or '' removes the variable
        const v = await combine();
        if (v === null || toStr(v) === '') this.env.delete(target.name.slice(4));
        else this.env.set(target.name.slice(4), toStr(v));
        return;
      }
      const type = this.constraints.get(name);
      const v = await combine();
      this.vars.set(name, type === undefined ? v : castTo(type, v));
      return;
    }
    if (target.kind === 'member') {
      const obj = await this.eval(target.target);
      const v = await combine();
      if (obj instanceof PsObject) obj.set(target.name, v);
      else if (obj instanceof PsHashtable) obj.set(target.name, v);
      else throw new PsRuntimeError(`The property '${target.name}' cannot be found on this object. Verify that the property exists and can be set.`, 'InvalidOperation', 'PropertyAssignmentException');
      return;
    }
    if (target.kind === 'index') {
      const obj = await this.eval(target.target);
      const key = await this.eval(target.index);
      const v = await combine();
      if (obj instanceof PsHashtable) obj.set(toStr(key), v);
      else if (Array.isArray(obj)) {
        const i = toNumber(key);
        if (i < 0 || i >= obj.length) throw new PsRuntimeError('Index was outside the bounds of the array.', 'InvalidOperation', 'IndexOutOfRange');
        obj[i] = v;
      } else throw new PsRuntimeError('Unable to index into an object of this type.', 'InvalidOperation', 'CannotIndex');
    }
  }

  // ------------------------------------------------------------ pipelines and commands

  /** Run a pipeline; `input` null means the first stage gets no pipeline input. */
  /**
   * Run a pipeline stage by stage. With `sink`, the last stage writes into it as it goes, so what
   * it wrote before a terminating error is kept, as PowerShell's streaming keeps it.
   */
  async pipeline(p: Pipeline, input: PsValue[] | null, sink?: PsValue[]): Promise<PsValue[]> {
    let data = input;
    for (const [i, el] of p.elements.entries()) {
      const last = i === p.elements.length - 1;
      if (el.kind === 'expr') {
        if (i > 0) throw new UnsupportedError(el.pos.line, 'an expression after | (PowerShell allows expressions only as the first element of a pipeline) is');
        // an expression's value is enumerated; $null is one item ($null | % { } runs once, @($null).Count is 1)
        const v = await this.eval(el.expr);
        // AutomationNull (a variable assigned from a pipeline that wrote nothing) is no item at all
        data = el.expr.kind === 'var' && this.vars.isEmpty(el.expr.name) ? [] : v === null ? [null] : enumerate(v);
      } else data = await this.command(el, data, last ? sink : undefined);
    }
    if (sink && (p.elements.length === 0 || p.elements[p.elements.length - 1]!.kind === 'expr')) sink.push(...(data ?? []));
    return data ?? [];
  }

  private async command(c: CommandCall, input: PsValue[] | null, sink?: PsValue[]): Promise<PsValue[]> {
    if (c.elements.some((e) => e.kind === 'splat')) c = { ...c, elements: this.expandSplats(c.elements) };
    if (c.target) return this.callTarget(c, input, sink ?? []);
    // Module\Command (Hyper-V\Get-VM) finds only that module's cmdlet (commands.ts findCmdlet); a script's functions have no module
    const fn = splitModule(c.name)[0] !== null ? undefined : this.vars.getFunction(c.name);
    if (fn) {
      const out = sink ?? [];
      await this.invokeBlock(fn.name, fn.def, await this.argItems(fn.def, c.elements), input, out, false, c.pos);
      return out;
    }
    const def = findCmdlet(c.name);
    if (!def) {
      refuseUnimplemented(c);
      const msg = `The term '${c.name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`;
      // the position marks the command name only, as PowerShell's does
      const namePos = { ...c.pos, length: Math.min(c.name.length, c.pos.length) };
      throw new StatementError(this.record(c.name, namePos, msg, 'ObjectNotFound', 'CommandNotFoundException', 'CommandNotFoundException', c.name));
    }
    const raw = await this.rawArgs(def, c);
    const explicitEa = raw.named.find((n) => n.param.name === 'ErrorAction');
    const ea = explicitEa ? toStr(explicitEa.value) : undefined;
    const out: PsValue[] = sink ?? [];
    const ctx = this.context(def, c, raw, ea, out);
    if (raw.named.some((n) => n.param.name === 'AsJob' && n.value === true)) return this.asJob(def, c, raw, ea, input, out);
    if (this.jobs.size > 0) ctx.flushWarnings = this.afterCommand(ctx.flushWarnings);
    if (input === null || def.collect) {
      await def.run(ctx, this.bindOrFail(def, c, raw), input ?? []);
      await ctx.flushWarnings();
      return out;
    }
    for (const item of input) {
      let b: Bound;
      try {
        b = bind(def, raw, { value: item });
      } catch (e) {
        if (!(e instanceof BindingError)) throw e;
        this.writeError(this.bindingRecord(def, c, e, toStr(item)), ea);
        continue;
      }
      await def.run(ctx, b, [item]);
      await ctx.flushWarnings();
    }
    return out;
  }

  private bindOrFail(def: CmdletDef, c: CommandCall, raw: RawArgs): Bound {
    try {
      return bind(def, raw);
    } catch (e) {
      if (!(e instanceof BindingError)) throw e;
      throw new StatementError(this.bindingRecord(def, c, e));
    }
  }

  /** A binding failure of `def` at `c` as PowerShell's ParameterBindingException record. */
  private bindingRecord(def: CmdletDef, c: CommandCall, e: BindingError, target?: string): PsErrorRecord {
    return this.record(def.name, e.pos ?? c.pos, e.message, e.category, `${e.errorId},${def.className}`, 'ParameterBindingException', target);
  }

  /** Evaluate the call's arguments: named (switches take no argument), then positional. */
  private async rawArgs(def: CmdletDef, c: CommandCall): Promise<RawArgs> {
    const raw: RawArgs = { named: [], positional: [] };
    const els = c.elements;
    for (let i = 0; i < els.length; i++) {
      const el = els[i]!;
      if (el.kind === 'arg') {
        raw.positional.push(await this.eval(el.value));
        continue;
      }
      if (el.kind === 'splat') continue; // expanded before (expandSplats)
      let param;
      try {
        param = resolveParam(def, el.name);
      } catch (e) {
        if (!(e instanceof BindingError)) throw e;
        e.pos ??= el.pos; // the unknown -Parameter itself
        throw new StatementError(this.bindingRecord(def, c, e));
      }
      refuseUnsupported(def, param, el.pos.line);
      let value: PsValue;
      let valuePos: Pos | undefined = el.value?.pos;
      if (el.value) value = await this.eval(el.value);
      else if (param.type === 'switch') value = true;
      else {
        const next = els[i + 1];
        if (!next || next.kind !== 'arg') {
          const msg = `Missing an argument for parameter '${param.name}'. Specify a parameter of type '${param.type === 'string[]' ? 'System.String[]' : 'System.String'}' and try again.`;
          throw new StatementError(this.bindingRecord(def, c, new BindingError(msg, 'MissingArgument')));
        }
        value = await this.eval(next.value);
        valuePos = next.pos;
        i++;
      }
      if (raw.named.some((n) => n.param === param)) {
        const msg = `Cannot bind parameter because parameter '${param.name}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, "-parameter value1,value2,value3".`;
        throw new StatementError(this.bindingRecord(def, c, new BindingError(msg, 'ParameterAlreadyBound')));
      }
      raw.named.push({ param, value, written: el.name, ...(valuePos ? { pos: valuePos } : {}) });
    }
    return raw;
  }

  private context(def: CmdletDef, c: CommandCall, raw: RawArgs, ea: string | undefined, out: PsValue[]): CmdletContext {
    const named = (n: string): PsValue | undefined => raw.named.find((x) => x.param.name === n)?.value;
    const wa = named('WarningAction');
    const quietWarnings = ['silentlycontinue', 'ignore'].includes(toStr(wa !== undefined ? wa : (this.vars.get('warningpreference') ?? '')).toLowerCase());
    // The console host writes warnings with its other host output, to stdout when redirected
    // (ConsoleHostUserInterface.WriteWarningLine); only error records go to stderr.
    const warn = (text: string): void => {
      if (!quietWarnings) this.opts.stdout(formatWarning(text));
    };
    return {
      host: this.host,
      command: def.name,
      width: this.width,
      facilities: this.opts.facilities,
      emit: (v) => out.push(v),
      error: (e, target) => {
        for (const rec of this.errorRecords(def, c.pos, e, target)) this.writeError(rec, ea);
      },
      warn,
      writeHost: (t) => this.opts.stdout(t),
      shouldProcess: (target, operation, description) => this.shouldProcess(def, c, named('WhatIf'), named('Confirm'), target, operation, description),
      computers: (names) => this.computers(def, c, names, ea),
      farm: this.opts.farm,
      cimSessions: this.cimSessions,
      variable: (n) => this.vars.get(n),
      jobs: this.jobControl(),
      setVariable: (n, v) => void this.vars.set(n.toLowerCase(), v),
      flushWarnings: async () => {
        for (const w of await this.host.takeWarnings()) warn(stripCmdlet(w.Message));
      },
    };
  }

  /** Records for a cmdlet failure; a host error listing several VMs gives one record per line. */
  private errorRecords(def: CmdletDef, pos: Pos, e: unknown, target = ''): PsErrorRecord[] {
    if (e instanceof StatementError || e instanceof TerminatingError) return [e.record];
    if (e instanceof UnsupportedError) throw e;
    // a PowerShell-shaped failure of a cmdlet (cmdlets/files.ts): errorId is the FullyQualifiedErrorId
    if (e instanceof PsRuntimeError) return [this.record(def.name, pos, e.message, e.category, e.errorId, e.reason ?? 'RuntimeException', target)];
    if (!(e instanceof HvsimError) && typeof e !== 'string') throw e;
    const { category, errorId } = hostErrorKind(e, def);
    const text = typeof e === 'string' ? e : e.message;
    const reason = def.reason ?? 'VirtualizationException';
    return text.split('\n').map((line) => this.record(def.name, pos, stripCmdlet(line), category, errorId, reason, target));
  }

  private shouldProcess(def: CmdletDef, c: CommandCall, whatIf: PsValue | undefined, confirm: PsValue | undefined, target: string, operation?: string, description?: string): boolean {
    const text = description ?? `Performing the operation "${operation ?? def.name}" on target "${target}".`;
    if (whatIf !== undefined ? whatIf === true : toBool(this.vars.get('whatifpreference') ?? false)) {
      this.opts.stdout(`What if: ${text}\n`);
      return false;
    }
    const impact: ConfirmImpact = def.confirmImpact ?? 'Medium';
    const pref = toStr(this.vars.get('confirmpreference') ?? 'High').toLowerCase();
    const prompt = confirm !== undefined ? confirm === true : IMPACT_RANK[impact.toLowerCase()]! >= (IMPACT_RANK[pref] ?? 3) && pref !== 'none';
    if (!prompt || this.opts.yes) return true;
    const msg =
      'Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. ' +
      `(hvsim run cannot ask "${text}"; pass -Confirm:$false in the script, or run with --yes)`;
    throw new StatementError(this.record(def.name, c.pos, msg, 'InvalidOperation', `InvalidOperation,${def.className}`, 'PSInvalidOperationException', target));
  }

  /** The hosts -ComputerName reaches (host/farm.ts), with an error for each name no simulated host has. */
  private computers(def: CmdletDef, c: CommandCall, names: string[] | undefined, ea: string | undefined): Host[] {
    const r = reachHosts(this.host, this.opts.farm, names);
    for (const n of r.unknown) {
      const u = unreachableComputer(n, r.simulated, def.className);
      this.writeError(this.record(def.name, c.pos, u.message, u.category, u.id, u.reason, u.target), ea);
    }
    return r.hosts;
  }

  // ------------------------------------------------------------ jobs (jobs.ts)

  /** After a cmdlet ran with jobs in the session: the job objects follow the clock it moved. */
  private afterCommand(flush: () => Promise<void>): () => Promise<void> {
    return async () => {
      await flush();
      await this.jobs.sync();
    };
  }

  private jobControl(): JobControl {
    return { table: this.jobs, startScript: (sb, args, name) => this.startScriptJob(sb, args, name) };
  }

  /** $using:x: the caller's value, in a Start-Job runspace; elsewhere PowerShell's error. */
  private usingVariable(name: string): PsValue {
    if (this.usingValues === null)
      throw new PsRuntimeError(
        'A Using variable cannot be retrieved. A Using variable can be used only with Invoke-Command, Start-Job, or InlineScript in the script workflow. When it is used with Invoke-Command, the Using variable is valid only if the script block is invoked on a remote computer.',
        'InvalidOperation',
        'UsingWithoutInvokeCommand',
      );
    return this.usingValues.get(name) ?? null;
  }

  /**
   * Start-Job: the script block runs in a runspace of its own (a new Interpreter: none of the
   * caller's variables or functions; $using: values and -ArgumentList are what it gets), on the
   * same host; its output comes back deserialized (jobs.ts deserialize).
   */
  private async startScriptJob(sb: PsScriptBlock, args: PsValue[], name: string | undefined): Promise<Job> {
    const def = blockDefOf(sb);
    if (!def) throw new PsRuntimeError('Start-Job: this script block cannot run as a job', 'InvalidOperation', 'CannotRunScriptBlock');
    const using = new Map<string, PsValue>();
    for (const n of usingNames(def)) using.set(n, this.variable(n));
    const runspaceId = randomUUID();
    return this.jobs.start('BackgroundJob', name, sb.text, BACKGROUND_JOB_START_MS, async () => {
      const r = emptyResults();
      const child = new Interpreter(this.host, { ...this.opts, stdout: (t) => void r.hostText.push(t), stderr: () => undefined, readScript: undefined });
      child.lines = this.lines;
      child.script = this.script;
      child.usingValues = using;
      const pos = { line: 0, column: 0, length: 0 };
      try {
        await child.invokeBlock('', def, args.map((value) => ({ kind: 'positional' as const, value, pos })), null, r.output, false, pos);
      } catch (e) {
        if (e instanceof TerminatingError) {
          r.failed = true;
          r.reason = e.record;
        } else if (e instanceof StatementError) child.written.push(e.record);
        else if (!(e instanceof ExitSignal || e instanceof ReturnSignal)) throw e;
      }
      r.errors.push(...child.written);
      r.output = r.output.map((v) => deserialize(v, runspaceId));
      return r;
    });
  }

  /**
   * A cmdlet called with -AsJob: it runs as a job (one per pipeline object), in the background on
   * the simulated clock; its output, errors and warnings are kept for Receive-Job; the job object
   * is what the call writes.
   */
  private async asJob(def: CmdletDef, c: CommandCall, raw: RawArgs, ea: string | undefined, input: PsValue[] | null, out: PsValue[]): Promise<PsValue[]> {
    const command = (this.lines[c.pos.line - 1] ?? '').slice(c.pos.column - 1, c.pos.column - 1 + c.pos.length);
    const runOne = async (item: PsValue | undefined): Promise<void> => {
      const job = await this.jobs.start('BackgroundJob', undefined, command, 0, async () => {
        const r = emptyResults();
        const base = this.context(def, c, raw, ea, r.output);
        const records = (e: unknown, target?: string): void => void r.errors.push(...this.errorRecords(def, c.pos, e, target));
        const ctx: CmdletContext = {
          ...base,
          error: records,
          warn: (t) => void r.hostText.push(formatWarning(t)),
          writeHost: (t) => void r.hostText.push(t),
          flushWarnings: async () => {
            for (const w of await this.host.takeWarnings()) r.hostText.push(formatWarning(stripCmdlet(w.Message)));
          },
        };
        try {
          const b = item === undefined ? bind(def, raw) : bind(def, raw, { value: item });
          await def.run(ctx, b, item === undefined ? [] : [item]);
          await ctx.flushWarnings();
        } catch (e) {
          if (e instanceof BindingError) r.errors.push(this.bindingRecord(def, c, e, item === undefined ? undefined : toStr(item)));
          else if (e instanceof StatementError || e instanceof TerminatingError || e instanceof PsRuntimeError || e instanceof HvsimError) {
            records(e);
            r.failed = true;
          } else throw e;
        }
        r.failed ||= r.errors.length > 0;
        return r;
      });
      out.push(job.object);
    };
    if (input === null || def.collect) await runOne(undefined);
    else for (const item of input) await runOne(item);
    await this.jobs.sync();
    return out;
  }

  // ------------------------------------------------------------ expressions

  private makeBlock(e: Extract<Expr, { kind: 'block' }>): PsScriptBlock {
    return registerBlock({
      kind: 'scriptblock',
      text: e.text,
      invoke: async (item: PsValue): Promise<PsValue[]> => {
        const saved = [this.vars.get('_'), this.vars.get('psitem')];
        this.vars.set('_', item);
        this.vars.set('psitem', item);
        const out: PsValue[] = [];
        try {
          for (const s of e.body) await this.exec(s, out);
        } finally {
          this.vars.set('_', saved[0] ?? null);
          this.vars.set('psitem', saved[1] ?? null);
        }
        return out;
      },
    }, e.def);
  }

  private async statements(body: Stmt[]): Promise<PsValue[]> {
    const out: PsValue[] = [];
    for (const s of body) await this.exec(s, out);
    return out;
  }

  private variable(name: string): PsValue {
    const key = name.toLowerCase();
    if (key === 'true') return true;
    if (key === 'false') return false;
    if (key === 'null') return null;
    if (key === 'error') return this.errorVariable();
    if (key.startsWith('env:')) return this.env.get(name.slice(4)) ?? null;
    if (key.startsWith('using:')) return this.usingVariable(key.slice(6));
    if (key === '?') return this.lastOk;
    const own = this.vars.get(key);
    if (own !== undefined) return own;
    return scriptVariables(key, this.script, this.opts.facilities?.location ?? null) ?? automaticVariable(key, this.env) ?? null;
  }

  async eval(e: Expr): Promise<PsValue> {
    switch (e.kind) {
      case 'const':
        return e.value;
      case 'string': {
        let s = '';
        for (const p of e.parts) s += typeof p === 'string' ? p : toStr(await this.eval(p));
        return s;
      }
      case 'var':
        return this.variable(e.name);
      case 'array': {
        const out: PsValue[] = [];
        for (const x of e.items) out.push(await this.eval(x));
        return out;
      }
      case 'arrayExpr':
        return this.statements(e.body);
      case 'subExpr':
        return collapse(await this.statements(e.body));
      case 'paren':
        return this.valueOf(e.pipeline);
      case 'hash': {
        const h = new PsHashtable();
        for (const x of e.entries) h.set(x.key, await this.valueOf(x.value));
        return h;
      }
      case 'block':
        return this.makeBlock(e);
      case 'member': {
        const target = await this.eval(e.target);
        const special = dotnetMember(target, e.name);
        return special !== NOT_HANDLED ? special : getMember(target, e.name);
      }
      case 'invoke': {
        const target = await this.eval(e.target);
        const args: PsValue[] = [];
        for (const a of e.args) args.push(await this.eval(a));
        const special = await dotnetInvoke(target, e.name, args, this.dotnet);
        return special !== NOT_HANDLED ? special : invokeMethod(target, e.name, args);
      }
      case 'typeLit':
        return typeObject(fullTypeName(e.type));
      case 'static': {
        if (e.args === null) return staticMember(e.type, e.name, this.dotnet);
        const args: PsValue[] = [];
        for (const a of e.args) args.push(await this.eval(a));
        return staticInvoke(e.type, e.name, args, this.dotnet);
      }
      case 'index':
        return index(await this.eval(e.target), await this.eval(e.index));
      case 'unary':
        return this.unary(e.op, await this.eval(e.operand));
      case 'cast':
        return castTo(e.type, await this.eval(e.operand));
      case 'incdec': {
        const old = this.variable(e.name);
        const next = toNumber(old) + (e.op === '++' ? 1 : -1);
        await this.assign({ kind: 'var', name: e.name, pos: e.pos }, '=', next);
        return e.prefix ? next : old;
      }
      case 'binary':
        return this.binary(e.op, e.left, e.right);
    }
  }

  private unary(op: string, v: PsValue): PsValue {
    if (op === '-not' || op === '!') return !toBool(v);
    if (op === '-') return -toNumber(v);
    if (op === '+') return toNumber(v);
    if (op === '-join' || op === '-split') return unaryText(op, v);
    return [v];
  }

  private async binary(op: string, l: Expr, r: Expr): Promise<PsValue> {
    if (op === '-and') return toBool(await this.eval(l)) ? toBool(await this.eval(r)) : false;
    if (op === '-or') return toBool(await this.eval(l)) ? true : toBool(await this.eval(r));
    const left = await this.eval(l);
    const right = await this.eval(r);
    if (op === '..') return range(left, right);
    if (op === '-xor') return toBool(left) !== toBool(right);
    if (op === '-is' || op === '-isnot') return isOfType(left, toStr(right)) === (op === '-is');
    if (op === '-as') return asType(left, toStr(right));
    if (op === '-f' && typeof left === 'string') checkFormatWidth(left);
    checkSize(op, left, right);
    if (op.length === 1) return arithmetic(op, left, right);
    if (isTextOperator(op)) return textOperator(op, left, right);
    const m = /^-([ci]?)match$/.exec(op);
    if (m && !Array.isArray(left)) {
      // a scalar -match sets $Matches
      const table = matchTable(left, right, m[1] === 'c');
      if (table) this.vars.set('matches', table);
      return table !== null;
    }
    return compare(op, left, right);
  }
}

export type { CmdletContext };
