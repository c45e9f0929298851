/**
 * Parameter binding for scripts, functions and script blocks (about_Functions_Advanced_Parameters):
 * named arguments by name, alias or unique prefix, switches, positional arguments (by Position, or
 * in declaration order when no parameter has one), type conversion, defaults evaluated in the new
 * scope (so they can use earlier parameters), Mandatory (non-interactive: missing is an error),
 * ValidateSet / ValidateNotNullOrEmpty / ValidateRange, the common parameters of an advanced
 * function, and $args for what a simple function does not bind. Errors are PowerShell's
 * ParameterBindingException texts (BindingError, cmdlet.ts).
 */
import type { BlockDef, Expr, ParamDecl, Pos } from './ast.js';
import { BindingError } from './cmdlet.js';
import { castTo, knownCast, toBool, toNumber, toStr } from './convert.js';
import { PsHashtable, PsObject, type PsValue } from './value.js';

/** An argument as written at the call: `-Name value`, `-Switch`, or a positional value. */
export type ArgItem = { kind: 'named'; name: string; value: PsValue | undefined; pos: Pos } | { kind: 'positional'; value: PsValue; pos?: Pos };

/** Common parameters of an advanced function and the preference variable each sets in its scope. */
const COMMON: Record<string, { name: string; variable?: string; switch?: boolean }> = {
  verbose: { name: 'Verbose', variable: 'verbosepreference', switch: true },
  vb: { name: 'Verbose', variable: 'verbosepreference', switch: true },
  debug: { name: 'Debug', variable: 'debugpreference', switch: true },
  db: { name: 'Debug', variable: 'debugpreference', switch: true },
  erroraction: { name: 'ErrorAction', variable: 'erroractionpreference' },
  ea: { name: 'ErrorAction', variable: 'erroractionpreference' },
  warningaction: { name: 'WarningAction', variable: 'warningpreference' },
  wa: { name: 'WarningAction', variable: 'warningpreference' },
  informationaction: { name: 'InformationAction', variable: 'informationpreference' },
  whatif: { name: 'WhatIf', variable: 'whatifpreference', switch: true },
  confirm: { name: 'Confirm', switch: true },
  errorvariable: { name: 'ErrorVariable' },
  warningvariable: { name: 'WarningVariable' },
  outvariable: { name: 'OutVariable' },
};

export type Resolved = { decl: ParamDecl } | { common: (typeof COMMON)[string] } | null;

/** `-written` against the declared parameters (exact name or alias, else a unique prefix), then the common ones. */
export function resolveArg(def: BlockDef, written: string): Resolved {
  const w = written.toLowerCase();
  const params = def.params ?? [];
  const exact = params.find((p) => p.name.toLowerCase() === w || p.aliases.some((a) => a.toLowerCase() === w));
  if (exact) return { decl: exact };
  if (def.advanced && COMMON[w]) return { common: COMMON[w] };
  const hits = params.filter((p) => p.name.toLowerCase().startsWith(w));
  if (hits.length === 1) return { decl: hits[0]! };
  if (hits.length > 1)
    throw new BindingError(
      `Parameter cannot be processed because the parameter name '${written}' is ambiguous. Possible matches include: ${hits.map((h) => `-${h.name}`).join(' ')}.`,
      'AmbiguousParameter',
    );
  if (def.advanced) {
    const common = Object.entries(COMMON).filter(([k]) => k.startsWith(w));
    if (common.length > 0 && new Set(common.map(([, c]) => c.name)).size === 1) return { common: common[0]![1] };
  }
  return null;
}

/** Whether `-written` takes no value (a switch): then the next argument is not its value. */
export function isSwitchArg(def: BlockDef, written: string): boolean {
  let r: Resolved;
  try {
    r = resolveArg(def, written);
  } catch {
    return false;
  }
  if (!r) return !def.advanced; // a simple function's unknown -Name goes to $args as text
  return 'decl' in r ? r.decl.type === 'switch' : r.common.switch === true;
}

const NET_NAMES: Record<string, string> = {
  int: 'System.Int32', int32: 'System.Int32', long: 'System.Int64', int64: 'System.Int64', double: 'System.Double', string: 'System.String',
  bool: 'System.Boolean', datetime: 'System.DateTime', decimal: 'System.Decimal',
};

/** The value a parameter holds for `v` (its type's conversion), or PowerShell's transformation error. */
export function convertParam(p: ParamDecl, v: PsValue): PsValue {
  const t = p.type;
  if (t === null || t === 'object' || t === 'psobject') return v;
  if (t === 'switch' || t === 'switchparameter') return toBool(v);
  if (!knownCast(t)) return v;
  try {
    return castTo(t, v);
  } catch (e) {
    const inner = e instanceof Error ? e.message : String(e);
    const msg = /^Cannot convert/.test(inner)
      ? inner
      : `Cannot convert value "${toStr(v)}" to type "${NET_NAMES[t] ?? t}". Error: "${inner}"`;
    throw new BindingError(`Cannot process argument transformation on parameter '${p.name}'. ${msg}`, 'ParameterArgumentTransformationError');
  }
}

/** A parameter's value when nothing binds it and it has no default. */
function unboundValue(p: ParamDecl): PsValue {
  switch (p.type) {
    case 'switch':
    case 'switchparameter':
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'int':
    case 'int32':
    case 'long':
    case 'int64':
    case 'double':
    case 'decimal':
      return 0;
    default:
      return null;
  }
}

async function validate(p: ParamDecl, v: PsValue, evalExpr: (e: Expr) => Promise<PsValue>): Promise<void> {
  const fail = (text: string): never => {
    throw new BindingError(`Cannot validate argument on parameter '${p.name}'. ${text}`, 'ParameterArgumentValidationError');
  };
  const items = Array.isArray(v) ? v : [v];
  if (p.notNullOrEmpty) {
    if (v === null) fail('The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.');
    if (v === '' || (Array.isArray(v) && v.length === 0)) fail('The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.');
  }
  if (p.validateSet) {
    for (const x of items) {
      const s = toStr(x);
      if (!p.validateSet.some((a) => a.toLowerCase() === s.toLowerCase()))
        fail(`The argument "${s}" does not belong to the set "${p.validateSet.join(',')}" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.`);
    }
  }
  if (p.range) {
    const min = toNumber(await evalExpr(p.range[0]));
    const max = toNumber(await evalExpr(p.range[1]));
    for (const x of items) {
      const n = toNumber(x);
      if (n < min) fail(`The ${toStr(x)} argument is less than the minimum allowed range of ${min}. Supply an argument that is greater than or equal to ${min} and then try the command again.`);
      if (n > max) fail(`The ${toStr(x)} argument is greater than the maximum allowed range of ${max}. Supply an argument that is less than or equal to ${max} and then try the command again.`);
    }
  }
}

export interface BindTarget {
  /** Set a variable in the new scope. */
  set(name: string, v: PsValue): void;
  /** Evaluate a default or a ValidateRange bound, in the new scope. */
  eval(e: Expr): Promise<PsValue>;
}

export interface BindResult {
  /** $PSBoundParameters. */
  bound: PsHashtable;
  /** $args: what a simple function did not bind. */
  rest: PsValue[];
  /** Parameters left for pipeline input (bound per item). */
  pipelineParams: ParamDecl[];
}

/**
 * Bind `args` to `def`'s parameters into the new scope. `piped`: the call has pipeline input, so
 * a mandatory parameter taking it is not missing.
 */
export async function bindParams(def: BlockDef, args: ArgItem[], piped: boolean, target: BindTarget): Promise<BindResult> {
  const params = def.params ?? [];
  const values = new Map<ParamDecl, PsValue>();
  const bound = new PsHashtable();
  const rest: PsValue[] = [];
  const positional: PsValue[] = [];
  for (const a of args) {
    if (a.kind === 'positional') {
      positional.push(a.value);
      continue;
    }
    const r = resolveArg(def, a.name);
    if (r === null) {
      if (def.advanced) throw withPos(new BindingError(`A parameter cannot be found that matches parameter name '${a.name}'.`, 'NamedParameterNotFound'), a.pos);
      rest.push(`-${a.name}`);
      if (a.value !== undefined) rest.push(a.value);
      continue;
    }
    if ('common' in r) {
      const c = r.common;
      const v = a.value === undefined ? true : a.value;
      if (c.variable) target.set(`local:${c.variable}`, c.switch ? (toBool(v) ? (c.name === 'WhatIf' ? true : 'Continue') : c.name === 'WhatIf' ? false : 'SilentlyContinue') : toStr(v));
      bound.set(c.name, v);
      continue;
    }
    const p = r.decl;
    if (values.has(p)) throw withPos(new BindingError(`Cannot bind parameter because parameter '${p.name}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, "-parameter value1,value2,value3".`, 'ParameterAlreadyBound'), a.pos);
    if (a.value === undefined && p.type !== 'switch') {
      throw withPos(new BindingError(`Missing an argument for parameter '${p.name}'. Specify a parameter of type '${netType(p)}' and try again.`, 'MissingArgument'), a.pos);
    }
    values.set(p, convertParam(p, a.value === undefined ? true : a.value));
  }
  // positional: by Position when any parameter has one, else every non-switch parameter in order
  const explicit = params.some((p) => p.position !== null);
  const slots = params
    .filter((p) => !values.has(p) && p.type !== 'switch' && (explicit ? p.position !== null : true))
    .sort((a, b) => (explicit ? a.position! - b.position! : 0));
  let i = 0;
  for (const p of slots) {
    if (i >= positional.length) break;
    values.set(p, convertParam(p, positional[i++]!));
  }
  if (i < positional.length) {
    if (def.advanced) throw new BindingError(`A positional parameter cannot be found that accepts argument '${toStr(positional[i]!)}'.`, 'PositionalParameterNotFound');
    rest.push(...positional.slice(i));
  }
  const missing = params.filter((p) => p.mandatory && !values.has(p) && !(piped && (p.fromPipeline || p.fromPipelineByName)));
  if (missing.length) throw new BindingError(`Cannot process command because of one or more missing mandatory parameters: ${missing.map((p) => p.name).join(' ')}.`, 'MissingMandatoryParameter');
  for (const [p, v] of values) await validate(p, v, target.eval);
  // declared order: a default may use the parameters before it
  for (const p of params) {
    if (values.has(p)) {
      target.set(`local:${p.name}`, values.get(p)!);
      bound.set(p.name, values.get(p)!);
    } else target.set(`local:${p.name}`, p.default ? convertParam(p, await target.eval(p.default)) : unboundValue(p));
  }
  const pipelineParams = piped ? params.filter((p) => (p.fromPipeline || p.fromPipelineByName) && !values.has(p)) : [];
  return { bound, rest, pipelineParams };
}

/** Bind one pipeline object to the parameters that take it (by value, else by property name). */
export async function bindPipelineItem(params: ParamDecl[], item: PsValue, target: BindTarget, bound: PsHashtable): Promise<void> {
  for (const p of params) {
    let v: PsValue | undefined;
    if (p.fromPipeline) v = item;
    else if (item instanceof PsObject || item instanceof PsHashtable) {
      for (const n of [p.name, ...p.aliases]) {
        const x = item.get(n);
        if (x !== undefined) {
          v = x;
          break;
        }
      }
    }
    if (v === undefined) continue;
    const c = convertParam(p, v);
    await validate(p, c, target.eval);
    target.set(`local:${p.name}`, c);
    bound.set(p.name, c);
  }
}

function netType(p: ParamDecl): string {
  if (p.type === null) return 'System.Object';
  return NET_NAMES[p.type] ?? (p.type.endsWith('[]') ? `System.${cap(p.type.slice(0, -2))}[]` : p.type);
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function withPos(e: BindingError, pos: Pos): BindingError {
  e.pos = pos;
  return e;
}

/**
 * Command-line words of `hvsim run script.ps1 -VMName web01 -Days 7` as arguments: `-Name` is a
 * parameter name (`-Name:value` carries its value), anything else a string value.
 */
export function scriptArgs(words: string[], def: BlockDef, pos: Pos): ArgItem[] {
  const out: ArgItem[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const m = /^-([A-Za-z_][\w-]*)(:(.*))?$/s.exec(w);
    if (!m || def.params === null) {
      out.push({ kind: 'positional', value: w, pos });
      continue;
    }
    const name = m[1]!;
    if (m[2] !== undefined) out.push({ kind: 'named', name, value: m[3]!, pos });
    else if (isSwitchArg(def, name) || i + 1 >= words.length) out.push({ kind: 'named', name, value: undefined, pos });
    else out.push({ kind: 'named', name, value: words[++i]!, pos });
  }
  return out;
}
