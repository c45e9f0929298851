/**
 * The small syntax tree hvsim run executes, built from tree-sitter-powershell's CST by parse.ts.
 * Only the subset hvsim supports has a node here.
 */
import type { PsValue } from './value.js';

/** Where a node starts (1-based) and how long its extent is on that first line. */
export interface Pos {
  line: number;
  column: number;
  length: number;
}

export type Expr =
  | { kind: 'const'; value: PsValue; pos: Pos }
  | { kind: 'string'; parts: Array<string | Expr>; pos: Pos }
  | { kind: 'var'; name: string; pos: Pos }
  | { kind: 'array'; items: Expr[]; pos: Pos }
  | { kind: 'arrayExpr'; body: Stmt[]; pos: Pos }
  | { kind: 'subExpr'; body: Stmt[]; pos: Pos }
  | { kind: 'paren'; pipeline: Pipeline; pos: Pos }
  | { kind: 'hash'; entries: Array<{ key: string; value: Pipeline }>; pos: Pos }
  /** { … }: `body` is its end block (all of it when it has no begin/process/end); `def` the rest. */
  | { kind: 'block'; body: Stmt[]; text: string; def: BlockDef; pos: Pos }
  | { kind: 'member'; target: Expr; name: string; pos: Pos }
  | { kind: 'invoke'; target: Expr; name: string; args: Expr[]; pos: Pos }
  | { kind: 'index'; target: Expr; index: Expr; pos: Pos }
  | { kind: 'unary'; op: string; operand: Expr; pos: Pos }
  | { kind: 'cast'; type: string; operand: Expr; pos: Pos }
  /** [type] as a value (a System.RuntimeType). */
  | { kind: 'typeLit'; type: string; pos: Pos }
  /** [type]::Name (args null) or [type]::Name(args): evaluated by statics.ts when the line runs. */
  | { kind: 'static'; type: string; name: string; args: Expr[] | null; pos: Pos }
  /** $i++ / $i-- / ++$i / --$i on a variable (the value is the old one for postfix, the new one for prefix). */
  | { kind: 'incdec'; name: string; op: '++' | '--'; prefix: boolean; pos: Pos }
  | { kind: 'binary'; op: string; left: Expr; right: Expr; pos: Pos };

export type CmdElement =
  | { kind: 'param'; name: string; value?: Expr; pos: Pos }
  | { kind: 'arg'; value: Expr; pos: Pos }
  /** @name: a hashtable's entries as named arguments, an array's items as positional ones. */
  | { kind: 'splat'; name: string; pos: Pos };

export interface CommandCall {
  kind: 'command';
  name: string;
  elements: CmdElement[];
  /** `& x` / `. x`: the call operator; `target` is the command when it is an expression ($sb, 'name'). */
  call?: '&' | '.';
  target?: Expr;
  pos: Pos;
}

/** One parameter of param(…) or function f(…), with the attributes hvsim reads. */
export interface ParamDecl {
  name: string;
  /** The type written before it ([int], [string[]], [switch]), or null. */
  type: string | null;
  default: Expr | null;
  mandatory: boolean;
  position: number | null;
  fromPipeline: boolean;
  fromPipelineByName: boolean;
  aliases: string[];
  validateSet: string[] | null;
  notNullOrEmpty: boolean;
  range: [Expr, Expr] | null;
  pos: Pos;
}

/** What a script, function or script block declares besides its end block. */
export interface BlockDef {
  /** null when there is no param() block (arguments go to $args). */
  params: ParamDecl[] | null;
  /** [CmdletBinding()] or a [Parameter()] attribute: an advanced function (common parameters, no $args). */
  advanced: boolean;
  begin: Stmt[] | null;
  process: Stmt[] | null;
  end: Stmt[];
}

export type PipelineElement = CommandCall | { kind: 'expr'; expr: Expr; pos: Pos };

export interface Pipeline {
  kind: 'pipeline';
  elements: PipelineElement[];
  pos: Pos;
}

export type Stmt =
  | Pipeline
  /** `value` is a pipeline, or a statement whose output is collected ($r = foreach (…) {…}). */
  | { kind: 'assign'; target: Expr; op: '=' | '+=' | '-='; value: Stmt; pos: Pos; constraint?: string }
  /** `label`: `:name` written before a loop or switch (about_Break). */
  | { kind: 'foreach'; variable: string; iterable: Pipeline; body: Stmt[]; pos: Pos; label?: string }
  | { kind: 'while'; cond: Pipeline; body: Stmt[]; pos: Pos; label?: string }
  /** do { } while (cond) / do { } until (cond): the body runs first. */
  | { kind: 'do'; body: Stmt[]; cond: Pipeline; until: boolean; pos: Pos; label?: string }
  /** for (init; cond; step) { }: each part may be missing (a missing condition is true). */
  | { kind: 'for'; init: Stmt | null; cond: Pipeline | null; step: Stmt | null; body: Stmt[]; pos: Pos; label?: string }
  | { kind: 'if'; clauses: Array<{ cond: Pipeline; body: Stmt[] }>; elseBody: Stmt[] | null; pos: Pos }
  | { kind: 'try'; body: Stmt[]; catches: Array<{ types: string[]; body: Stmt[] }>; finallyBody: Stmt[] | null; pos: Pos }
  | { kind: 'exit'; value: Pipeline | null; pos: Pos }
  /** break / continue [label], only inside a loop statement (foreach, for, while, do) or switch. */
  | { kind: 'loopControl'; word: 'break' | 'continue'; label?: string; pos: Pos }
  /** function / filter Name { … }: defined when the statement runs. */
  | { kind: 'function'; name: string; filter: boolean; def: BlockDef; pos: Pos }
  | { kind: 'return'; value: Pipeline | null; pos: Pos }
  /** switch [-Regex|-Wildcard|-Exact] [-CaseSensitive] (value) { cond { … } default { … } }. */
  | {
      kind: 'switch';
      mode: 'exact' | 'regex' | 'wildcard';
      caseSensitive: boolean;
      value: Pipeline;
      clauses: Array<{ cond: Expr | 'default'; body: Stmt[] }>;
      pos: Pos;
      label?: string;
    }
  | { kind: 'throw'; value: Pipeline | null; pos: Pos }
  /**
   * A statement using a construct outside hvsim's subset: converting it failed, and running it
   * raises UnsupportedError (so a branch that never runs does not refuse the script).
   */
  | { kind: 'unsupported'; what: string; pos: Pos };

/** Every command call in the tree, script blocks included (for checks before the run). */
export function forEachCommand(stmts: Stmt[], fn: (c: CommandCall) => void): void {
  const expr = (e: Expr | undefined): void => {
    if (!e) return;
    switch (e.kind) {
      case 'string':
        for (const p of e.parts) if (typeof p !== 'string') expr(p);
        return;
      case 'array':
        e.items.forEach(expr);
        return;
      case 'arrayExpr':
      case 'subExpr':
      case 'block':
        forEachCommand(e.body, fn);
        return;
      case 'paren':
        pipe(e.pipeline);
        return;
      case 'hash':
        for (const x of e.entries) pipe(x.value);
        return;
      case 'member':
        expr(e.target);
        return;
      case 'invoke':
        expr(e.target);
        e.args.forEach(expr);
        return;
      case 'static':
        e.args?.forEach(expr);
        return;
      case 'index':
        expr(e.target);
        expr(e.index);
        return;
      case 'unary':
      case 'cast':
        expr(e.operand);
        return;
      case 'binary':
        expr(e.left);
        expr(e.right);
        return;
      default:
        return;
    }
  };
  const pipe = (p: Pipeline | null): void => {
    if (!p) return;
    for (const el of p.elements) {
      if (el.kind === 'expr') expr(el.expr);
      else {
        fn(el);
        for (const c of el.elements) if (c.kind !== 'splat') expr(c.value);
        expr(el.target);
      }
    }
  };
  for (const s of stmts) {
    switch (s.kind) {
      case 'pipeline':
        pipe(s);
        break;
      case 'assign':
        expr(s.target);
        forEachCommand([s.value], fn);
        break;
      case 'foreach':
        pipe(s.iterable);
        forEachCommand(s.body, fn);
        break;
      case 'while':
      case 'do':
        pipe(s.cond);
        forEachCommand(s.body, fn);
        break;
      case 'for':
        if (s.init) forEachCommand([s.init], fn);
        pipe(s.cond);
        if (s.step) forEachCommand([s.step], fn);
        forEachCommand(s.body, fn);
        break;
      case 'if':
        for (const c of s.clauses) {
          pipe(c.cond);
          forEachCommand(c.body, fn);
        }
        if (s.elseBody) forEachCommand(s.elseBody, fn);
        break;
      case 'try':
        forEachCommand(s.body, fn);
        for (const c of s.catches) forEachCommand(c.body, fn);
        if (s.finallyBody) forEachCommand(s.finallyBody, fn);
        break;
      case 'exit':
      case 'throw':
      case 'return':
        pipe(s.value);
        break;
      case 'function':
        forEachCommand([...(s.def.begin ?? []), ...(s.def.process ?? []), ...s.def.end], fn);
        break;
      case 'switch':
        pipe(s.value);
        for (const c of s.clauses) {
          if (c.cond !== 'default') expr(c.cond);
          forEachCommand(c.body, fn);
        }
        break;
    }
  }
}
