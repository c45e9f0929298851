/**
 * Cmdlet definitions and PowerShell's parameter binding: names, aliases and unique prefixes,
 * switches and -Name:value, positions per parameter set, pipeline input by value (chosen by the
 * object's type), mandatory parameters, and the common parameters.
 */
import type { Host, HostFarm } from '../host/host.js';
import type { CimSessions } from './cim-sessions.js';
import type { Pos } from './ast.js';
import { PsObject, isScriptBlock, type PsScriptBlock, type PsValue } from './value.js';
import { isPrimitive, toNumber, toStr } from './convert.js';
import { UnsupportedError } from './errors.js';
import { HV, INTEGRATION_TYPE, SNAPSHOT_TYPE, VM_TYPE } from './views.js';
import type { Facilities } from './windows.js';
import type { JobControl } from './jobs.js';

export type ParamType =
  | 'string' | 'string[]' | 'switch' | 'int' | 'bool' | 'object' | 'object[]' | 'scriptblock'
  | 'vm' | 'vm[]' | 'snapshot' | 'snapshot[]' | 'vmbase' | 'integration[]';

export interface ParamDef {
  name: string;
  type: ParamType;
  aliases?: string[];
  position?: number;
  /** Parameter sets it belongs to; undefined = all. */
  sets?: string[];
  /** Accepts pipeline input by value. */
  pipeline?: boolean;
  mandatory?: boolean;
  /** Allowed values (case-insensitive; bound as spelled here). */
  values?: readonly string[];
  /** A real parameter hvsim does not implement: the run stops with this explanation. */
  unsupported?: string;
  /** Smallest value allowed (int; PowerShell's ValidateRange). */
  min?: number;
  /** Takes every remaining positional argument (Write-Host's -Object). */
  remaining?: boolean;
}

export type ConfirmImpact = 'High' | 'Medium' | 'Low';

export interface Bound {
  set: string;
  has(name: string): boolean;
  get(name: string): PsValue | undefined;
  str(name: string): string | undefined;
  strs(name: string): string[] | undefined;
  flag(name: string): boolean;
  objs(name: string): PsObject[] | undefined;
  block(name: string): PsScriptBlock | undefined;
}

/** What a running cmdlet can do besides reading its parameters. */
export interface CmdletContext {
  readonly host: Host;
  readonly command: string;
  emit(v: PsValue): void;
  /** A non-terminating error (HvsimError or text); with -ErrorAction Stop it ends the script. */
  error(e: unknown, targetName?: string): void;
  warn(text: string): void;
  writeHost(text: string): void;
  /** -WhatIf / -Confirm / ConfirmImpact: whether to go ahead. */
  shouldProcess(target: string, operation?: string, description?: string): boolean;
  /**
   * -ComputerName / -CimSession: the hosts the names reach (src/host/farm.ts; none given: `host`
   * alone), with Hyper-V's WinRM error written for each name no simulated host has.
   */
  computers(names: string[] | undefined): Host[];
  /** The other simulated hosts (-ComputerName, New-CimSession), when there is a farm. */
  readonly farm?: HostFarm | undefined;
  /** The session's CIM sessions (New-CimSession; cmdlets/cim.ts); none outside hvsim run. */
  readonly cimSessions?: CimSessions | undefined;
  /** Print the host's pending warnings. */
  flushWarnings(): Promise<void>;
  /** A variable of the script ($VerbosePreference …), when the context can read them. */
  variable?(name: string): PsValue | undefined;
  /** Set a variable in the caller's scope (Tee-Object -Variable). */
  setVariable?(name: string, value: PsValue): void;
  readonly width: number;
  /** The simulated host's files, outbox, event log, script input (none on a real host). */
  readonly facilities?: Facilities | undefined;
  /** The session's jobs (jobs.ts), for the job cmdlets. */
  readonly jobs?: JobControl | undefined;
}

export interface CmdletDef {
  name: string;
  /** The .NET class in FullyQualifiedErrorId (Microsoft.HyperV.PowerShell.Commands.CheckpointVM). */
  className: string;
  params: ParamDef[];
  /** Parameter sets, the default first (none: one unnamed set). */
  sets?: string[];
  confirmImpact?: ConfirmImpact;
  /** Gets all pipeline input at once (Sort-Object, Format-Table…) instead of once per object. */
  collect?: boolean;
  /** The exception type in CategoryInfo (VirtualizationException for Hyper-V). */
  reason?: string;
  run(ctx: CmdletContext, b: Bound, input: PsValue[]): Promise<void>;
}

export const COMMON_PARAMS: ParamDef[] = [
  { name: 'ErrorAction', aliases: ['ea'], type: 'string', values: ['Continue', 'Stop', 'SilentlyContinue', 'Ignore'] },
  { name: 'WarningAction', aliases: ['wa'], type: 'string', values: ['Continue', 'Stop', 'SilentlyContinue', 'Ignore'] },
  { name: 'Verbose', aliases: ['vb'], type: 'switch' },
  { name: 'Debug', aliases: ['db'], type: 'switch' },
  { name: 'ErrorVariable', aliases: ['ev'], type: 'string', unsupported: '-ErrorVariable is' },
  { name: 'WarningVariable', aliases: ['wv'], type: 'string', unsupported: '-WarningVariable is' },
  { name: 'OutVariable', aliases: ['ov'], type: 'string', unsupported: '-OutVariable is' },
  { name: 'OutBuffer', aliases: ['ob'], type: 'int', unsupported: '-OutBuffer is' },
  { name: 'PipelineVariable', aliases: ['pv'], type: 'string', unsupported: '-PipelineVariable is' },
  { name: 'InformationAction', aliases: ['infa'], type: 'string', unsupported: '-InformationAction is' },
  { name: 'InformationVariable', aliases: ['iv'], type: 'string', unsupported: '-InformationVariable is' },
];

export const SHOULD_PROCESS_PARAMS: ParamDef[] = [
  { name: 'WhatIf', aliases: ['wi'], type: 'switch' },
  { name: 'Confirm', aliases: ['cf'], type: 'switch' },
];

/** Every parameter a cmdlet takes, common ones included. */
export function allParams(def: CmdletDef): ParamDef[] {
  return [...def.params, ...COMMON_PARAMS, ...(def.confirmImpact ? SHOULD_PROCESS_PARAMS : [])];
}

/** Binding failures, worded as PowerShell's ParameterBindingException. */
export class BindingError extends Error {
  /** Where the offending argument or parameter is, when known (the error record marks it). */
  pos: Pos | undefined;
  constructor(message: string, readonly errorId: string, readonly category: 'InvalidArgument' | 'InvalidOperation' = 'InvalidArgument') {
    super(message);
    this.name = 'BindingError';
  }
}

/** A parameter hvsim refuses (ParamDef.unsupported) stops the run, naming the line and the cmdlet. */
export function refuseUnsupported(def: CmdletDef, p: ParamDef, line: number): void {
  if (p.unsupported) throw new UnsupportedError(line, `${p.unsupported} (on ${def.name})`);
}

/** -Name: exact name or alias, else a unique prefix (PowerShell's rule). */
export function resolveParam(def: CmdletDef, written: string): ParamDef {
  const params = allParams(def);
  const w = written.toLowerCase();
  const exact = params.find((p) => p.name.toLowerCase() === w || p.aliases?.some((a) => a.toLowerCase() === w));
  if (exact) return exact;
  const hits = params.filter((p) => p.name.toLowerCase().startsWith(w) || p.aliases?.some((a) => a.toLowerCase().startsWith(w)));
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) throw new BindingError(`A parameter cannot be found that matches parameter name '${written}'.`, 'NamedParameterNotFound');
  throw new BindingError(
    `Parameter cannot be processed because the parameter name '${written}' is ambiguous. Possible matches include: ${hits.map((h) => `-${h.name}`).join(' ')}.`,
    'AmbiguousParameter',
  );
}

const isType = (v: PsValue, t: string): v is PsObject => v instanceof PsObject && v.typeNames.includes(t);

/** Whether `v` can bind to a parameter of type `t` (strict for objects, as PowerShell's by-type binding). */
export function accepts(t: ParamType, v: PsValue): boolean {
  const list = Array.isArray(v) ? v : [v];
  switch (t) {
    case 'string':
    case 'int':
      return !Array.isArray(v) && (isPrimitive(v) || v instanceof Date || v === null);
    case 'string[]':
      return list.every((x) => isPrimitive(x) || x instanceof Date);
    case 'bool':
    case 'switch':
      return typeof v === 'boolean' || typeof v === 'number';
    case 'vm':
      return !Array.isArray(v) && isType(v, VM_TYPE);
    case 'vm[]':
      return list.length > 0 && list.every((x) => isType(x, VM_TYPE));
    case 'snapshot':
      return !Array.isArray(v) && isType(v, SNAPSHOT_TYPE);
    case 'snapshot[]':
      return list.length > 0 && list.every((x) => isType(x, SNAPSHOT_TYPE));
    case 'vmbase':
      return !Array.isArray(v) && (isType(v, VM_TYPE) || isType(v, SNAPSHOT_TYPE));
    case 'integration[]':
      return list.length > 0 && list.every((x) => isType(x, INTEGRATION_TYPE));
    case 'scriptblock':
      return isScriptBlock(v);
    case 'object':
    case 'object[]':
      return true;
  }
}

const NET_TYPE: Record<ParamType, string> = {
  string: 'System.String', 'string[]': 'System.String[]', switch: 'System.Management.Automation.SwitchParameter', int: 'System.Int64', bool: 'System.Boolean',
  object: 'System.Object', 'object[]': 'System.Object[]', scriptblock: 'System.Management.Automation.ScriptBlock',
  vm: `${VM_TYPE}`, 'vm[]': `${VM_TYPE}[]`, snapshot: SNAPSHOT_TYPE, 'snapshot[]': `${SNAPSHOT_TYPE}[]`, vmbase: `${HV}.VirtualMachineBase`, 'integration[]': `${INTEGRATION_TYPE}[]`,
};

/** Convert a value for a parameter (after `accepts`), or throw PowerShell's binding error. */
function convert(p: ParamDef, v: PsValue): PsValue {
  if (!accepts(p.type, v)) {
    const shown = Array.isArray(v) ? 'System.Object[]' : toStr(v);
    throw new BindingError(
      `Cannot bind parameter '${p.name}'. Cannot convert the "${shown}" value to type "${NET_TYPE[p.type]}".`,
      'CannotConvertArgumentNoMessage',
    );
  }
  if (p.type === 'string') return p.values ? oneOf(p, toStr(v)) : toStr(v);
  if (p.type === 'string[]') return (Array.isArray(v) ? v : [v]).map(toStr);
  if (p.type === 'int') {
    let n: number;
    try {
      n = toNumber(v);
    } catch {
      // ParameterBinderBase: the conversion's message inside "Cannot bind parameter …"
      throw new BindingError(
        `Cannot bind parameter '${p.name}'. Cannot convert value "${toStr(v)}" to type "System.Int32". Error: "Input string was not in a correct format."`,
        'CannotConvertArgumentNoMessage',
      );
    }
    if (p.min !== undefined && n < p.min)
      throw new BindingError(
        `Cannot validate argument on parameter '${p.name}'. The ${toStr(v)} argument is less than the minimum allowed range of ${p.min}. Supply an argument that is greater than or equal to ${p.min} and then try the command again.`,
        'ParameterArgumentValidationError',
      );
    return n;
  }
  if (p.type === 'bool' || p.type === 'switch') return typeof v === 'number' ? v !== 0 : v;
  return v;
}

function oneOf(p: ParamDef, v: string): string {
  const hit = p.values!.find((x) => x.toLowerCase() === v.toLowerCase());
  if (!hit)
    throw new BindingError(
      `Cannot validate argument on parameter '${p.name}'. The argument "${v}" does not belong to the set "${p.values!.join(',')}" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.`,
      'ParameterArgumentValidationError',
    );
  return hit;
}

export interface RawArgs {
  /** pos: the argument's position in the script (for error records). */
  named: Array<{ param: ParamDef; value: PsValue; written: string; pos?: Pos }>;
  positional: PsValue[];
}

const inSet = (p: ParamDef, set: string): boolean => p.sets === undefined || p.sets.includes(set);

class BoundValues implements Bound {
  constructor(readonly set: string, private readonly values: Map<string, PsValue>) {}
  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }
  get(name: string): PsValue | undefined {
    return this.values.get(name.toLowerCase());
  }
  str(name: string): string | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : toStr(v);
  }
  strs(name: string): string[] | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    return (Array.isArray(v) ? v : [v]).map(toStr);
  }
  flag(name: string): boolean {
    return this.get(name) === true;
  }
  objs(name: string): PsObject[] | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    return (Array.isArray(v) ? v : [v]).filter((x): x is PsObject => x instanceof PsObject);
  }
  block(name: string): PsScriptBlock | undefined {
    const v = this.get(name);
    return isScriptBlock(v) ? v : undefined;
  }
}

/**
 * Bind named and positional arguments, plus one pipeline object when `piped` is given. Returns
 * the parameter set chosen and the converted values.
 */
export function bind(def: CmdletDef, raw: RawArgs, piped?: { value: PsValue }): Bound {
  const sets = def.sets ?? ['__AllParameterSets'];
  const named = new Map<string, PsValue>();
  for (const n of raw.named) {
    try {
      named.set(n.param.name.toLowerCase(), convert(n.param, n.value));
    } catch (e) {
      if (e instanceof BindingError) e.pos ??= n.pos;
      throw e;
    }
  }
  const candidates = sets.filter((s) => raw.named.every((n) => !def.params.includes(n.param) || inSet(n.param, s)));
  if (candidates.length === 0) throw new BindingError('Parameter set cannot be resolved using the specified named parameters.', 'AmbiguousParameterSet');
  let lastError: BindingError | null = null;
  for (const set of candidates) {
    try {
      const values = new Map(named);
      bindPositional(def, set, raw.positional, values);
      if (piped && !bindPiped(def, set, piped.value, values)) continue;
      checkMandatory(def, set, values);
      return new BoundValues(set, values);
    } catch (e) {
      if (!(e instanceof BindingError)) throw e;
      lastError ??= e;
    }
  }
  if (lastError) throw lastError;
  throw new BindingError(
    'The input object cannot be bound to any parameters for the command either because the command does not take pipeline input or the input and its properties do not match any of the parameters that take pipeline input.',
    'InputObjectNotBound',
  );
}

function bindPositional(def: CmdletDef, set: string, args: PsValue[], values: Map<string, PsValue>): void {
  const slots = def.params
    .filter((p) => p.position !== undefined && inSet(p, set) && !values.has(p.name.toLowerCase()))
    .sort((a, b) => a.position! - b.position!);
  let i = 0;
  for (const p of slots) {
    if (i >= args.length) return;
    if (p.remaining) {
      values.set(p.name.toLowerCase(), convert(p, args.length - i === 1 ? args[i]! : args.slice(i)));
      i = args.length;
      return;
    }
    if (!accepts(p.type, args[i]!)) continue;
    values.set(p.name.toLowerCase(), convert(p, args[i]!));
    i++;
  }
  if (i < args.length) throw new BindingError(`A positional parameter cannot be found that accepts argument '${toStr(args[i]!)}'.`, 'PositionalParameterNotFound');
}

function bindPiped(def: CmdletDef, set: string, v: PsValue, values: Map<string, PsValue>): boolean {
  for (const p of def.params) {
    if (!p.pipeline || !inSet(p, set) || values.has(p.name.toLowerCase())) continue;
    if (p.type !== 'object' && p.type !== 'object[]' && !accepts(p.type, v)) continue;
    values.set(p.name.toLowerCase(), convert(p, v));
    return true;
  }
  return false;
}

function checkMandatory(def: CmdletDef, set: string, values: Map<string, PsValue>): void {
  const missing = def.params.filter((p) => p.mandatory && inSet(p, set) && !values.has(p.name.toLowerCase()));
  if (missing.length)
    throw new BindingError(`Cannot process command because of one or more missing mandatory parameters: ${missing.map((p) => p.name).join(' ')}.`, 'MissingMandatoryParameter');
}

/** Whether any parameter of the cmdlet takes pipeline input. */
export function takesPipeline(def: CmdletDef): boolean {
  return def.params.some((p) => p.pipeline);
}
