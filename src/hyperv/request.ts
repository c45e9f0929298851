/**
 * Requests to the fixed script (script.ts) and its answers. A request is a short program of
 * steps; names, paths and notes travel only as JSON string values, each tagged "s:" (so that
 * PowerShell 7's ConvertFrom-Json cannot turn a date-like name into a DateTime), and the whole
 * request as one line of Base64 (so that no console code page or line discipline touches it).
 *
 *   cmdlet step  { c: cmdlet, p?: {Param: value}, r?: {Param: step}, d?: [step], o?: [property] }
 *   filter step  { f: step, k: property, v: [string], n?: count, d?: [step], o?: [property] }
 *
 * A cmdlet step runs the cmdlet with the parameters p, plus each parameter of r bound to the
 * objects step r[Param] produced (one object alone, several as an array; none: the step does
 * nothing). A filter step keeps the objects of step f whose property k, as a string, equals one
 * of v (case-insensitively); with n, any other count is an ObjectNotFound error. A step runs only
 * if every step it uses (f, r, d) succeeded; otherwise it is "skipped". With o, the step's objects
 * are piped through Select-Object o | ConvertTo-Json -Depth 4 -Compress and returned as text.
 */
import { HvsimError } from '../errors.js';

export type ParamValue = string | number | boolean | string[];

export interface CmdletStep {
  c: string;
  p?: Record<string, ParamValue>;
  r?: Record<string, number>;
  d?: number[];
  o?: string[];
}

export interface FilterStep {
  f: number;
  k: string;
  v: string[];
  n?: number;
  d?: number[];
  o?: string[];
}

export type Step = CmdletStep | FilterStep;

export interface Request {
  id: number;
  steps: Step[];
}

/** An error as the script reports it (from a PowerShell ErrorRecord). */
export interface PsError {
  FullyQualifiedErrorId: string;
  Category: string;
  Reason?: string;
  TargetName?: string;
  Exception?: string;
  Message: string;
}

export interface StepResult {
  /** ok: ran without error; failed: ran with errors (objects may be partial); skipped: an input failed. */
  s: 'ok' | 'failed' | 'skipped';
  /** ConvertTo-Json of the step's objects (null when not asked for, or nothing came out). */
  j: string | null;
  e: PsError[];
  w: string[];
}

export type Response = { id: number | null; ok: true; steps: StepResult[] } | { id: number | null; ok: false; error: PsError };

export interface ReadyLine {
  ready: true;
  ps: string;
  edition: string;
}

export function isFilter(s: Step): s is FilterStep {
  return (s as FilterStep).f !== undefined;
}

/** Builds a request step by step; each method returns the new step's index. */
export class Program {
  readonly steps: Step[] = [];

  cmd(c: string, p: Record<string, ParamValue | undefined> = {}, r: Record<string, number> = {}, opts: { d?: number[]; o?: readonly string[] } = {}): number {
    const params: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(p)) if (v !== undefined) params[k] = v;
    const step: CmdletStep = { c };
    if (Object.keys(params).length) step.p = params;
    if (Object.keys(r).length) step.r = { ...r };
    if (opts.d?.length) step.d = [...opts.d];
    if (opts.o) step.o = [...opts.o];
    return this.push(step);
  }

  filter(f: number, k: string, v: string[], opts: { n?: number; d?: number[]; o?: readonly string[] } = {}): number {
    const step: FilterStep = { f, k, v: [...v] };
    if (opts.n !== undefined) step.n = opts.n;
    if (opts.d?.length) step.d = [...opts.d];
    if (opts.o) step.o = [...opts.o];
    return this.push(step);
  }

  private push(s: Step): number {
    this.steps.push(s);
    return this.steps.length - 1;
  }
}

const tag = (s: string): string => `s:${s}`;

function tagValue(v: ParamValue): ParamValue {
  if (typeof v === 'string') return tag(v);
  if (Array.isArray(v)) return v.map(tag);
  return v;
}

/** The JSON text of a request with every string value tagged (what the script's ConvertFrom-Json reads). */
export function requestJson(req: Request): string {
  const steps = req.steps.map((s) => {
    const o = s.o ? { o: s.o.map(tag) } : {};
    const d = s.d ? { d: s.d } : {};
    if (isFilter(s)) return { f: s.f, k: tag(s.k), v: s.v.map(tag), ...(s.n !== undefined ? { n: s.n } : {}), ...d, ...o };
    const p = s.p ? { p: Object.fromEntries(Object.entries(s.p).map(([k, v]) => [k, tagValue(v)])) } : {};
    return { c: tag(s.c), ...p, ...(s.r ? { r: s.r } : {}), ...d, ...o };
  });
  return JSON.stringify({ id: req.id, steps });
}

/** One line of standard input for the script. */
export function encodeRequest(req: Request): string {
  return Buffer.from(requestJson(req), 'utf8').toString('base64');
}

function bad(what: string): HvsimError {
  return new HvsimError('INVALID_ARGUMENT', `hvsim request: ${what}`);
}

function untag(v: unknown, what: string): string {
  if (typeof v !== 'string' || !v.startsWith('s:')) throw bad(`${what} lacks its s: tag`);
  return v.slice(2);
}

function untagValue(v: unknown, what: string): ParamValue {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return untag(v, what);
  if (Array.isArray(v)) return v.map((x) => untag(x, what));
  throw bad(`${what} has an unexpected value`);
}

const NAME = /^[A-Za-z]+$/;

/** Read a request line back (what the stand-in PowerShell does), with the script's checks. */
export function decodeRequest(line: string): Request {
  const text = Buffer.from(line.trim(), 'base64').toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const r = raw as { id?: unknown; steps?: unknown };
  if (typeof r !== 'object' || r === null || !Array.isArray(r.steps)) throw bad('no steps');
  const steps = r.steps.map((x: unknown, i: number): Step => {
    const s = x as Record<string, unknown>;
    const num = (v: unknown): number => {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`step ${i}: not a step number`);
      return v;
    };
    const d = Array.isArray(s.d) ? { d: s.d.map(num) } : {};
    const o = Array.isArray(s.o) ? { o: s.o.map((p) => untag(p, 'a property')) } : {};
    for (const p of o.o ?? []) if (!NAME.test(p)) throw bad(`step ${i}: bad property name`);
    if (s.f !== undefined && s.f !== null) {
      const k = untag(s.k, 'a property');
      if (!NAME.test(k)) throw bad(`step ${i}: bad property name`);
      if (!Array.isArray(s.v)) throw bad(`step ${i}: no values`);
      return { f: num(s.f), k, v: s.v.map((v) => untag(v, 'a value')), ...(s.n !== undefined && s.n !== null ? { n: num(s.n) } : {}), ...d, ...o };
    }
    const c = untag(s.c, 'a command');
    const p: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries((s.p ?? {}) as Record<string, unknown>)) {
      if (!NAME.test(k)) throw bad(`step ${i}: bad parameter name`);
      p[k] = untagValue(v, `parameter ${k}`);
    }
    const refs: Record<string, number> = {};
    for (const [k, v] of Object.entries((s.r ?? {}) as Record<string, unknown>)) {
      if (!NAME.test(k)) throw bad(`step ${i}: bad parameter name`);
      refs[k] = num(v);
    }
    return { c, ...(Object.keys(p).length ? { p } : {}), ...(Object.keys(refs).length ? { r: refs } : {}), ...d, ...o };
  });
  return { id: typeof r.id === 'number' ? r.id : -1, steps };
}

/** The steps a step uses (they must come before it). */
export function inputsOf(s: Step): number[] {
  const out: number[] = [];
  if (isFilter(s)) out.push(s.f);
  else for (const v of Object.values(s.r ?? {})) out.push(v);
  out.push(...(s.d ?? []));
  return out;
}

/** JSON of one answer line (after the prefix), with 5.1's {"value":[…],"Count":n} arrays flattened. */
export function parseResponseLine(json: string): Response | ReadyLine {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new HvsimError('CORRUPT', `PowerShell answered with a line that is not JSON: ${json.slice(0, 200)}`, { reason: 'HOST_ANSWER' });
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new HvsimError('CORRUPT', `PowerShell answered with something other than an object: ${json.slice(0, 200)}`, { reason: 'HOST_ANSWER' });
  if (o.ready === true) return { ready: true, ps: String(o.ps ?? ''), edition: String(o.edition ?? '') };
  const id = typeof o.id === 'number' ? o.id : null;
  if (o.ok === false) return { id, ok: false, error: psError(o.error) };
  const steps = list(o.steps).map((x): StepResult => {
    const s = (x ?? {}) as Record<string, unknown>;
    const state = s.s === 'failed' || s.s === 'skipped' ? s.s : 'ok';
    return { s: state, j: typeof s.j === 'string' ? s.j : null, e: list(s.e).map(psError), w: list(s.w).map((w) => String(w)) };
  });
  return { id, ok: true, steps };
}

/** A JSON value that should be a list: null → [], one value → [value], 5.1's wrapped arrays unwrapped. */
export function list(v: unknown): unknown[] {
  if (v === null || v === undefined || v === '') return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && Array.isArray((v as { value?: unknown }).value) && 'Count' in (v as object) && Object.keys(v as object).length === 2)
    return (v as { value: unknown[] }).value;
  return [v];
}

export function psError(v: unknown): PsError {
  const o = (v ?? {}) as Record<string, unknown>;
  const str = (x: unknown): string => (x === null || x === undefined ? '' : String(x));
  return {
    FullyQualifiedErrorId: str(o.FullyQualifiedErrorId),
    Category: str(o.Category),
    Reason: str(o.Reason),
    TargetName: str(o.TargetName),
    Exception: str(o.Exception),
    Message: str(o.Message),
  };
}
