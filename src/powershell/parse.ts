/**
 * PowerShell source → ast.ts, through the real grammar (tree-sitter-powershell, WebAssembly,
 * loaded once per process). Every CST node type hvsim accepts is handled explicitly below;
 * anything else stops with UnsupportedError naming the line and the construct, and a CST with
 * syntax errors stops with ScriptSyntaxError.
 */
import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';
import type { BlockDef, CmdElement, CommandCall, Expr, ParamDecl, Pipeline, PipelineElement, Pos, Stmt } from './ast.js';
import { ScriptSyntaxError, UnsupportedError } from './errors.js';
import { normaliseSource } from './normalise.js';
import { repairGrammarGaps } from './repair.js';
import { knownCast } from './convert.js';
import { isTextOperator } from './text.js';

let parserPromise: Promise<Parser> | null = null;

/** The parser, created on first use and kept for the process. */
function getParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
    const lang = await Language.load(wasm);
    const p = new Parser();
    p.setLanguage(lang);
    return p;
  })();
  return parserPromise;
}

export interface ParsedScript {
  body: Stmt[];
  /** The script's param() block and [CmdletBinding()] (the body is its end block). */
  def: BlockDef;
  /** The source's lines as written (error records quote them). */
  lines: string[];
  /** Typographic look-alike quotes that were replaced, one per line and character. */
  warnings: string[];
}

/** strict: typographic look-alike quotes are not replaced (the script fails as in PowerShell). */
export async function parseScript(source: string, strict = false): Promise<ParsedScript> {
  const original = source.replace(/^\uFEFF/, '');
  const normalised = normaliseSource(original, strict);
  let text = separateParamBlocks(quoteGlobArguments(normalised.text));
  const warnings = normalised.warnings;
  const parser = await getParser();
  // an empty or comments-only script runs and does nothing (the grammar reads it as an error)
  if (/^\s*$/.test(text.replace(/<#[\s\S]*?#>/g, '').replace(/#.*$/gm, '')))
    return { body: [], def: { params: null, advanced: false, begin: null, process: null, end: [] }, lines: original.split(/\r?\n/), warnings };
  let tree = parser.parse(text);
  if (!tree) throw new ScriptSyntaxError(1, 'the script could not be parsed');
  if (tree.rootNode.hasError) {
    // valid PowerShell the grammar cannot read (repair.ts); kept only when it then parses
    const repaired = repairGrammarGaps(text);
    const again = repaired === text ? null : parser.parse(repaired);
    if (again && !again.rootNode.hasError) {
      tree.delete();
      tree = again;
      text = repaired;
    } else again?.delete();
  }
  try {
    const conv = new Converter(text, parser);
    let body: Stmt[];
    try {
      body = conv.program(tree.rootNode);
    } catch (e) {
      // thousands of nested ( [ { : PowerShell 7.6 itself crashes (a stack overflow) on such a script
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw new ScriptSyntaxError(1, 'the script nests expressions too deeply to be parsed');
      throw e;
    }
    // error records quote the script as written (normalising keeps every position)
    return { body, def: { ...conv.scriptDef, end: body }, lines: original.split(/\r?\n/), warnings };
  } finally {
    tree.delete();
  }
}

/** Binary operators and the node types that carry them. */
const BINARY_NODES = new Set([
  'logical_expression', 'bitwise_expression', 'comparison_expression', 'additive_expression', 'multiplicative_expression',
  'format_expression', 'range_expression',
  'logical_argument_expression', 'bitwise_argument_expression', 'comparison_argument_expression', 'additive_argument_expression',
  'multiplicative_argument_expression', 'format_argument_expression', 'range_argument_expression', 'argument_expression',
]);

/** Statements a label may name. */
const LOOP_KINDS = new Set<Stmt['kind']>(['foreach', 'while', 'do', 'for', 'switch']);

const COMPARISON = /^-[ci]?(eq|ne|lt|gt|le|ge|like|notlike|match|notmatch|contains|notcontains|in|notin)$/i;
const SUPPORTED_BINARY = /^(-and|-or|-xor|\+|-|\*|\/|%|\.\.)$/i;

/** How unsupported node types are named in errors. */
const CONSTRUCT: Record<string, string> = {
  class_statement: 'class definitions are',
  enum_statement: 'enum definitions are',
  trap_statement: 'trap statements are',
  data_statement: 'data sections are',
  redirection: 'redirections (>, 2>&1) are',
  redirections: 'redirections (>, 2>&1) are',
  pipeline_chain_tail: 'the && and || operators are',
  invokation_foreach_expression: 'the .ForEach() / .Where() methods are',
  sequence_statement: 'workflow statements are',
  parallel_statement: 'workflow statements are',
  inlinescript_statement: 'workflow statements are',
  stop_parsing: 'the stop-parsing token --% is',
  verbatim_command_argument: 'the stop-parsing token --% is',
};

class Converter {
  private readonly lineStarts: number[] = [0];
  /** Loop statements around the node being converted (a script block starts again at 0). */
  private loopDepth = 0;
  /** Refuse unsupported constructs at once (a snippet inside an argument is part of one statement). */
  private strict = false;
  /** The script's own param() block, if it has one. */
  scriptDef: Omit<BlockDef, 'end'> = { params: null, advanced: false, begin: null, process: null };

  constructor(
    private readonly src: string,
    private readonly parser: Parser,
    private readonly lineOffset = 0,
  ) {
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  // ------------------------------------------------------------ helpers

  private offset(n: Node, end = false): number {
    const p = end ? n.endPosition : n.startPosition;
    return (this.lineStarts[p.row] ?? 0) + p.column;
  }

  private pos(n: Node): Pos {
    const start = this.offset(n);
    const lineEnd = this.src.indexOf('\n', start);
    const end = Math.min(this.offset(n, true), lineEnd < 0 ? this.src.length : lineEnd);
    return { line: n.startPosition.row + 1 + this.lineOffset, column: n.startPosition.column + 1, length: Math.max(1, end - start) };
  }

  private unsupported(n: Node, what?: string): never {
    const phrase = what ?? CONSTRUCT[n.type] ?? `the construct "${firstLine(n.text)}" (${n.type}) is`;
    throw new UnsupportedError(n.startPosition.row + 1 + this.lineOffset, phrase);
  }

  private syntax(n: Node): never {
    const what = n.isMissing ? `syntax error: missing "${n.type}"` : `syntax error near "${firstLine(n.text)}"`;
    throw new ScriptSyntaxError(n.startPosition.row + 1 + this.lineOffset, `${what} (PowerShell could not parse this line either, or hvsim's grammar cannot)`);
  }

  /** A syntax error anywhere (an unclosed `{`, `do { } while` without its condition), in source order. */
  private firstError(n: Node): void {
    if (n.isError || (n.isMissing && n.type !== 'command_argument_sep' && n.type !== ' ')) this.syntax(n);
    for (const c of n.children) if (c && (c.hasError || c.isMissing)) this.firstError(c);
  }

  /** Children that matter: comments dropped, errors reported. */
  private kids(n: Node, named = true): Node[] {
    const list = named ? n.namedChildren : n.children;
    const out: Node[] = [];
    for (const c of list) {
      if (!c || c.type === 'comment') continue;
      if (c.isError) this.syntax(c);
      if (c.isMissing && c.type !== 'command_argument_sep' && c.type !== ' ') this.syntax(c);
      out.push(c);
    }
    return out;
  }

  private check(n: Node): void {
    if (n.type in CONSTRUCT) this.unsupported(n);
  }

  // ------------------------------------------------------------ statements

  program(root: Node): Stmt[] {
    // a script that does not parse at all; otherwise constructs hvsim refuses are named first
    if (root.isError) this.firstError(root);
    const out: Stmt[] = [];
    for (const c of this.kids(root)) {
      if (c.type === 'statement_list') out.push(...this.statementList(c));
      else if (c.type === 'param_block') {
        const p = this.paramBlock(c);
        this.scriptDef = { ...this.scriptDef, params: p.params, advanced: p.advanced };
      } else this.check(c), this.unsupported(c);
    }
    if (root.hasError) this.firstError(root);
    return out;
  }

  private statementList(n: Node): Stmt[] {
    const out: Stmt[] = [];
    // `:name` before a loop or switch labels it for `break name` / `continue name` (about_Break)
    let label: string | undefined;
    for (const c of this.kids(n)) {
      if (c.type === 'label') {
        label = c.text.slice(1);
        continue;
      }
      try {
        const s = this.statement(c);
        if (s && label !== undefined && LOOP_KINDS.has(s.kind)) (s as { label?: string }).label = label;
        label = undefined;
        if (s) out.push(s);
      } catch (e) {
        // outside the subset: refused when (if) the statement runs; syntax errors still refuse now
        if (!(e instanceof UnsupportedError)) throw e;
        if (this.strict) throw e;
        this.firstError(c);
        out.push({ kind: 'unsupported', what: e.what, pos: { ...this.pos(c), line: e.line } });
      }
    }
    return out;
  }

  private statement(n: Node): Stmt | null {
    switch (n.type) {
      case 'empty_statement':
        return null;
      case 'pipeline':
        return this.pipelineStmt(n);
      case 'if_statement':
        return this.ifStmt(n);
      case 'foreach_statement':
        return this.foreachStmt(n);
      case 'while_statement':
      case 'do_statement':
        return this.whileOrDo(n);
      case 'for_statement':
        return this.forStmt(n);
      case 'flow_control_statement':
        return this.flowControl(n);
      case 'try_statement':
        return this.tryStmt(n);
      case 'function_statement':
        return this.functionStmt(n);
      case 'switch_statement':
        return this.switchStmt(n);
      default:
        this.check(n);
        return this.unsupported(n);
    }
  }

  private block(n: Node): Stmt[] {
    // statement_block: "{" statement_list? "}"
    const list = this.kids(n).find((c) => c.type === 'statement_list');
    for (const c of this.kids(n)) if (c.type !== 'statement_list') this.unsupported(c);
    return list ? this.statementList(list) : [];
  }

  private ifStmt(n: Node): Stmt {
    const clauses: Array<{ cond: Pipeline; body: Stmt[] }> = [];
    let elseBody: Stmt[] | null = null;
    let cond: Pipeline | null = null;
    for (const c of this.kids(n)) {
      if (c.type === 'pipeline') cond = this.pipeline(c);
      else if (c.type === 'statement_block') {
        clauses.push({ cond: cond!, body: this.block(c) });
        cond = null;
      } else if (c.type === 'elseif_clauses') {
        for (const e of this.kids(c)) {
          const parts = this.kids(e);
          const p = parts.find((x) => x.type === 'pipeline');
          const b = parts.find((x) => x.type === 'statement_block');
          if (!p || !b) this.syntax(e);
          clauses.push({ cond: this.pipeline(p), body: this.block(b) });
        }
      } else if (c.type === 'else_clause') {
        const b = this.kids(c).find((x) => x.type === 'statement_block');
        if (!b) this.syntax(c);
        elseBody = this.block(b);
      } else this.unsupported(c);
    }
    return { kind: 'if', clauses, elseBody, pos: this.pos(n) };
  }

  private foreachStmt(n: Node): Stmt {
    let variable: string | null = null;
    let iterable: Pipeline | null = null;
    let body: Stmt[] | null = null;
    for (const c of this.kids(n)) {
      if (c.type === 'variable' && variable === null) variable = this.varName(c);
      else if (c.type === 'pipeline') iterable = this.pipeline(c);
      else if (c.type === 'statement_block') {
        this.loopDepth++;
        body = this.block(c);
        this.loopDepth--;
      } else if (c.type === 'foreach_parameter') this.unsupported(c, 'foreach -parallel is');
      else this.unsupported(c);
    }
    if (variable === null || iterable === null || body === null) this.syntax(n);
    return { kind: 'foreach', variable, iterable, body, pos: this.pos(n) };
  }

  /** A loop's body: break/continue inside it belong to the loop. */
  private loopBody(n: Node): Stmt[] {
    this.loopDepth++;
    try {
      return this.block(n);
    } finally {
      this.loopDepth--;
    }
  }

  /** The pipeline inside while_condition / for_condition / for_initializer / for_iterator. */
  private clausePipeline(n: Node): Node {
    const kids = this.kids(n);
    if (kids.length !== 1 || kids[0]!.type !== 'pipeline') return kids.length === 0 ? this.syntax(n) : this.unsupported(kids[kids.length - 1]!);
    return kids[0]!;
  }

  /** while (cond) { } / do { } while (cond) / do { } until (cond). */
  private whileOrDo(n: Node): Stmt {
    let cond: Pipeline | null = null;
    let body: Stmt[] | null = null;
    let until = false;
    for (const c of this.kids(n, false)) {
      if (c.type === 'while_condition') cond = this.pipeline(this.clausePipeline(c));
      else if (c.type === 'statement_block') body = this.loopBody(c);
      else if (c.type === 'until') until = true;
      else if (!['while', 'do', '(', ')'].includes(c.type)) this.unsupported(c);
    }
    if (cond === null || body === null) this.syntax(n);
    if (n.type === 'while_statement') return { kind: 'while', cond, body, pos: this.pos(n) };
    return { kind: 'do', body, cond, until, pos: this.pos(n) };
  }

  /** for (init; cond; step) { }. */
  private forStmt(n: Node): Stmt {
    let init: Stmt | null = null;
    let cond: Pipeline | null = null;
    let step: Stmt | null = null;
    let body: Stmt[] | null = null;
    for (const c of this.kids(n, false)) {
      if (c.type === 'for_initializer') init = this.pipelineStmt(this.clausePipeline(c));
      else if (c.type === 'for_condition') cond = this.pipeline(this.clausePipeline(c));
      else if (c.type === 'for_iterator') step = this.pipelineStmt(this.clausePipeline(c));
      else if (c.type === 'statement_block') body = this.loopBody(c);
      else if (!['for', '(', ')', ';'].includes(c.type)) this.unsupported(c);
    }
    if (body === null) this.syntax(n);
    return { kind: 'for', init, cond, step, body, pos: this.pos(n) };
  }

  private tryStmt(n: Node): Stmt {
    let body: Stmt[] | null = null;
    const catches: Array<{ types: string[]; body: Stmt[] }> = [];
    let finallyBody: Stmt[] | null = null;
    for (const c of this.kids(n)) {
      if (c.type === 'statement_block') body = this.block(c);
      else if (c.type === 'catch_clauses') {
        for (const k of this.kids(c)) {
          const types: string[] = [];
          let block: Node | undefined;
          for (const x of this.kids(k)) {
            if (x.type === 'catch_type_list') for (const t of this.kids(x)) types.push(this.typeName(t));
            else if (x.type === 'statement_block') block = x;
            else this.unsupported(x);
          }
          if (!block) this.syntax(k);
          catches.push({ types, body: this.block(block) });
        }
      } else if (c.type === 'finally_clause') {
        const b = this.kids(c).find((x) => x.type === 'statement_block');
        if (!b) this.syntax(c);
        finallyBody = this.block(b);
      } else this.unsupported(c);
    }
    if (body === null || (catches.length === 0 && finallyBody === null)) this.syntax(n);
    return { kind: 'try', body, catches, finallyBody, pos: this.pos(n) };
  }

  /** "[System.Exception]" → "System.Exception"; generic types are refused. */
  private typeName(n: Node): string {
    if (n.type !== 'type_literal') this.unsupported(n);
    const spec = this.kids(n).find((c) => c.type === 'type_spec');
    // [string] is a type_name, [string[]] an array_type_name around one; generics are refused
    const simple = (c: Node): boolean =>
      c.type === 'type_name' || c.type === 'generic_type_name' || c.type === 'generic_type_arguments' || (c.type === 'array_type_name' && this.kids(c).every((x) => x.type === 'type_name'));
    if (!spec || !this.kids(spec).every(simple)) this.unsupported(n, `the type ${n.text} is`);
    return spec.text;
  }

  private flowControl(n: Node): Stmt {
    const parts = this.kids(n, false);
    const word = parts[0]?.text.toLowerCase() ?? '';
    const arg = parts.find((c) => c.type === 'pipeline');
    const value = arg ? this.pipeline(arg) : null;
    if (word === 'exit') return { kind: 'exit', value, pos: this.pos(n) };
    if (word === 'return') return { kind: 'return', value, pos: this.pos(n) };
    if (word === 'throw') return { kind: 'throw', value, pos: this.pos(n) };
    if ((word === 'break' || word === 'continue') && !value) {
      // `break outer` reaches here as `break :outer` (labelledFlowControl); a computed label is not taken
      const labelNode = parts.length === 2 && parts[1]!.type === 'label_expression' ? this.kids(parts[1]!)[0] : undefined;
      if (parts.length === 1 || labelNode?.type === 'label') {
        if (this.loopDepth === 0) this.unsupported(n, `"${word}" outside a loop statement (foreach, for, while, do) is`);
        return labelNode ? { kind: 'loopControl', word, label: labelNode.text.slice(1), pos: this.pos(n) } : { kind: 'loopControl', word, pos: this.pos(n) };
      }
    }
    return this.unsupported(n, `"${word}" is`);
  }

  // ------------------------------------------------------------ functions, param(), switch

  /** function / filter Name [(params)] { [param(…)] [begin/process/end] … }. */
  private functionStmt(n: Node): Stmt {
    const parts = this.kids(n, false);
    const filter = parts[0]?.text.toLowerCase() === 'filter';
    if (!filter && parts[0]?.text.toLowerCase() !== 'function') this.unsupported(n, `"${parts[0]?.text ?? ''}" definitions are`);
    const nameNode = parts.find((c) => c.type === 'function_name');
    if (!nameNode) this.syntax(n);
    const decl = parts.find((c) => c.type === 'function_parameter_declaration');
    const sb = parts.find((c) => c.type === 'script_block') ?? null;
    const def = this.blockDef(sb, null, decl ? this.parameterList(this.kids(decl).find((c) => c.type === 'parameter_list')) : null);
    if (filter && def.process === null && def.begin === null) {
      // a filter's body is its process block (about_Functions, "Filters")
      def.process = def.end;
      def.end = [];
    }
    return { kind: 'function', name: nameNode.text, filter, def, pos: this.pos(n) };
  }

  /** A script block's declarations and blocks; `paramNode` is a param_block outside `sb` ({ param() … } expressions). */
  private blockDef(sb: Node | null, paramNode: Node | null, fnParams: ParamDecl[] | null): BlockDef {
    const outerLoops = this.loopDepth;
    this.loopDepth = 0;
    try {
      const def: BlockDef = { params: fnParams, advanced: false, begin: null, process: null, end: [] };
      const takeParams = (p: Node): void => {
        const pb = this.paramBlock(p);
        def.params = pb.params;
        def.advanced = pb.advanced;
      };
      if (paramNode) takeParams(paramNode);
      for (const c of sb ? this.kids(sb) : []) {
        if (c.type === 'param_block') takeParams(c);
        else if (c.type === 'script_block_body') {
          for (const d of this.kids(c)) {
            if (d.type === 'statement_list') def.end = def.end.concat(this.statementList(d));
            else if (d.type === 'named_block_list') {
              for (const b of this.kids(d)) {
                const word = this.kids(b).find((x) => x.type === 'block_name')?.text.toLowerCase();
                const block = this.kids(b).find((x) => x.type === 'statement_block');
                if (!block) this.syntax(b);
                const body = this.block(block);
                if (word === 'begin') def.begin = body;
                else if (word === 'process') def.process = body;
                else if (word === 'end') def.end = body;
                else this.unsupported(b, `the ${word ?? ''} block is`);
              }
            } else this.check(d), this.unsupported(d);
          }
        } else this.check(c), this.unsupported(c);
      }
      if (def.params?.some((p) => p.mandatory || p.position !== null || p.fromPipeline || p.fromPipelineByName)) def.advanced = true;
      return def;
    } finally {
      this.loopDepth = outerLoops;
    }
  }

  /** [CmdletBinding()] param(…). */
  private paramBlock(n: Node): { params: ParamDecl[]; advanced: boolean } {
    let advanced = false;
    for (const c of this.kids(n)) {
      if (c.type !== 'attribute_list') continue;
      for (const a of this.kids(c)) {
        const name = this.attributeName(a);
        if (name === 'cmdletbinding') advanced = true;
        else if (name !== 'outputtype' && name !== 'alias') this.unsupported(a, `the attribute [${firstLine(a.text)}] on param() is`);
      }
    }
    return { params: this.parameterList(this.kids(n).find((c) => c.type === 'parameter_list')), advanced };
  }

  private attributeName(a: Node): string {
    const t = this.kids(a).find((x) => x.type === 'attribute_name' || x.type === 'type_literal');
    return (t?.text ?? '').replace(/^\[|\]$/g, '').toLowerCase().replace(/^system\.management\.automation\./, '').replace(/attribute$/, '');
  }

  private parameterList(n: Node | undefined): ParamDecl[] {
    const out: ParamDecl[] = [];
    for (const p of n ? this.kids(n) : []) {
      if (p.type !== 'script_parameter') this.unsupported(p);
      const decl: ParamDecl = {
        name: '', type: null, default: null, mandatory: false, position: null, fromPipeline: false, fromPipelineByName: false,
        aliases: [], validateSet: null, notNullOrEmpty: false, range: null, pos: this.pos(p),
      };
      for (const c of this.kids(p)) {
        if (c.type === 'variable') decl.name = this.varName(c);
        else if (c.type === 'script_parameter_default') {
          const v = this.kids(c)[0];
          if (!v) this.syntax(c);
          decl.default = this.expr(v);
        } else if (c.type === 'attribute_list') for (const a of this.kids(c)) this.paramAttribute(a, decl);
        else this.unsupported(c);
      }
      out.push(decl);
    }
    return out;
  }

  private paramAttribute(a: Node, d: ParamDecl): void {
    const lit = this.kids(a).find((x) => x.type === 'type_literal');
    if (lit) {
      d.type = this.typeName(lit).toLowerCase().replace(/^system\./, '');
      return;
    }
    const name = this.attributeName(a);
    const args: Array<{ name: string | null; value: Expr | null; node: Node }> = [];
    const list = this.kids(a).find((x) => x.type === 'attribute_arguments');
    for (const arg of list ? this.kids(list) : []) {
      const kids = this.kids(arg);
      const named = kids[0]?.type === 'simple_name' ? kids[0] : null;
      const valueNode = named ? kids[1] : kids[0];
      args.push({ name: named?.text.toLowerCase() ?? null, value: valueNode ? this.expr(valueNode) : null, node: arg });
    }
    const constOf = (e: Expr | null, node: Node): PsValueLike => {
      if (e === null) return true;
      if (e.kind === 'const') return e.value as PsValueLike;
      if (e.kind === 'var' && ['true', 'false'].includes(e.name.toLowerCase())) return e.name.toLowerCase() === 'true';
      return this.unsupported(node, `the attribute argument ${firstLine(node.text)} is`);
    };
    switch (name) {
      case 'parameter':
        for (const x of args) {
          const v = constOf(x.value, x.node);
          if (x.name === 'mandatory') d.mandatory = v === true || v === 1;
          else if (x.name === 'position') d.position = Number(v);
          else if (x.name === 'valuefrompipeline') d.fromPipeline = v === true || v === 1;
          else if (x.name === 'valuefrompipelinebypropertyname') d.fromPipelineByName = v === true || v === 1;
          else if (!['helpmessage', 'parametersetname', 'valuefromremainingarguments', 'dontshow'].includes(x.name ?? '')) this.unsupported(x.node, `[Parameter(${x.name ?? ''})] is`);
        }
        return;
      case 'validateset':
        d.validateSet = args.map((x) => String(constOf(x.value, x.node)));
        return;
      case 'validatenotnullorempty':
      case 'validatenotnull':
        d.notNullOrEmpty = true;
        return;
      case 'validaterange':
        if (args.length !== 2 || !args[0]!.value || !args[1]!.value) this.unsupported(a, `the attribute ${firstLine(a.text)} is`);
        d.range = [args[0]!.value, args[1]!.value];
        return;
      case 'alias':
        d.aliases = args.map((x) => String(constOf(x.value, x.node)));
        return;
      case 'allownull':
      case 'allowemptystring':
      case 'allowemptycollection':
        return;
      default:
        this.unsupported(a, `the attribute [${firstLine(a.text).replace(/^\[|\]$/g, '')}] is`);
    }
  }

  /** switch [-Regex|-Wildcard|-Exact] [-CaseSensitive] (value) { cond { … } … default { … } }. */
  private switchStmt(n: Node): Stmt {
    let mode: 'exact' | 'regex' | 'wildcard' = 'exact';
    let caseSensitive = false;
    let value: Pipeline | null = null;
    const clauses: Array<{ cond: Expr | 'default'; body: Stmt[] }> = [];
    for (const c of this.kids(n)) {
      if (c.type === 'switch_parameters') {
        for (const p of this.kids(c)) {
          const w = p.text.toLowerCase();
          if (w === '-regex') mode = 'regex';
          else if (w === '-wildcard') mode = 'wildcard';
          else if (w === '-exact') mode = 'exact';
          else if (w === '-casesensitive') caseSensitive = true;
          else this.unsupported(p, `switch ${p.text} is`);
        }
      } else if (c.type === 'switch_condition') {
        const p = this.kids(c).find((x) => x.type === 'pipeline');
        if (!p) this.unsupported(c, 'switch -File is');
        value = this.pipeline(p);
      } else if (c.type === 'switch_body') {
        for (const list of this.kids(c)) {
          for (const cl of this.kids(list)) {
            const condNode = this.kids(cl).find((x) => x.type === 'switch_clause_condition');
            const block = this.kids(cl).find((x) => x.type === 'statement_block');
            if (!condNode || !block) this.syntax(cl);
            const inner = this.kids(condNode)[0];
            let cond: Expr | 'default';
            if (inner) cond = this.expr(inner);
            else if (condNode.text.trim().toLowerCase() === 'default') cond = 'default';
            else cond = { kind: 'const', value: condNode.text.trim(), pos: this.pos(condNode) };
            // break/continue in a clause act on the switch (about_Switch)
            this.loopDepth++;
            try {
              clauses.push({ cond, body: this.block(block) });
            } finally {
              this.loopDepth--;
            }
          }
        }
      } else this.unsupported(c);
    }
    if (!value) this.syntax(n);
    return { kind: 'switch', mode, caseSensitive, value, clauses, pos: this.pos(n) };
  }

  private pipelineStmt(n: Node): Stmt {
    const kids = this.kids(n);
    if (kids.length === 1 && kids[0]!.type === 'assignment_expression') return this.assignment(kids[0]!);
    return this.pipeline(n);
  }

  private assignment(n: Node): Stmt {
    const [left, op, right, ...rest] = this.kids(n);
    if (!left || !op || !right || rest.length) this.syntax(n);
    const opText = op.text.trim();
    if (opText !== '=' && opText !== '+=' && opText !== '-=') this.unsupported(op, `the assignment operator ${opText} is`);
    let target = this.expr(left);
    // [int]$n = …: the variable keeps the type constraint (about_Variables, "Types of variables")
    let constraint: string | undefined;
    if (target.kind === 'cast' && target.operand.kind === 'var' && opText === '=') {
      constraint = target.type;
      target = target.operand;
    }
    if (target.kind !== 'var' && target.kind !== 'member' && target.kind !== 'index') this.unsupported(left, 'this assignment target is');
    // $x = foreach (…) {…} / if … / try …: the statement's output is the value
    const value = right.type === 'pipeline' ? this.pipeline(right) : this.statement(right);
    if (!value) this.syntax(right);
    return { kind: 'assign', target, op: opText, value, pos: this.pos(n), ...(constraint !== undefined ? { constraint } : {}) };
  }

  pipeline(n: Node): Pipeline {
    const kids = this.kids(n);
    if (kids.length === 1 && kids[0]!.type === 'assignment_expression') this.unsupported(n, 'an assignment used as a value is');
    const elements: PipelineElement[] = [];
    for (const c of kids) {
      if (c.type !== 'pipeline_chain') this.check(c), this.unsupported(c);
      for (const el of this.kids(c)) {
        // the grammar reads `1..10` at the start of a statement as a command name: it is the range expression
        const range = el.type === 'command' ? /^(\d+)\.\.(-?\d+|\$\w+)$/.exec(el.text.trim()) : null;
        if (range) {
          const pos = this.pos(el);
          const num = (t: string): Expr => (t.startsWith('$') ? { kind: 'var', name: t.slice(1), pos } : { kind: 'const', value: Number(t), pos });
          elements.push({ kind: 'expr', expr: { kind: 'binary', op: '..', left: num(range[1]!), right: num(range[2]!), pos }, pos });
        }
        else if (el.type === 'command' && /^\d+\.\.(-?\d+|\$\w+)$/.test(this.kids(el)[0]?.text ?? '')) {
          // `1..3 -join ','`: the range in parentheses, then the rest as written
          const name = this.kids(el)[0]!.text;
          elements.push({ kind: 'expr', expr: this.snippet(`(${name})${el.text.slice(name.length)}`, el), pos: this.pos(el) });
        } else if (el.type === 'command') elements.push(this.command(el));
        else {
          this.check(el);
          elements.push({ kind: 'expr', expr: this.expr(el), pos: this.pos(el) });
        }
      }
    }
    if (elements.length === 0) this.syntax(n);
    return { kind: 'pipeline', elements, pos: this.pos(n) };
  }

  // ------------------------------------------------------------ commands

  private command(n: Node): CommandCall {
    const kids = this.kids(n);
    let call: '&' | '.' | undefined;
    if (kids[0]?.type === 'command_invokation_operator') call = kids.shift()!.text.trim() as '&' | '.';
    let nameNode = kids[0];
    if (!nameNode) this.syntax(n);
    let target: Expr | undefined;
    let name = nameNode.text;
    if (nameNode.type === 'command_name_expr') {
      const inner = this.kids(nameNode)[0];
      if (!inner) this.syntax(nameNode);
      nameNode = inner;
      if (inner.type === 'command_name') name = inner.text;
      else {
        const e = inner.type === 'path_command_name' ? this.single(inner) : this.expr(inner);
        target = e;
        name = firstLine(inner.text);
      }
    } else if (nameNode.type !== 'command_name') this.check(nameNode), this.unsupported(nameNode, 'invoking a command by path or expression is');
    // a module-qualified name (Hyper-V\Get-VM) is the command's own name; a path is a script file
    if (!target && !call && !/^[A-Za-z][\w-]*$|^[?%]$/.test(name) && !/^[A-Za-z][\w.-]*\\[A-Za-z][\w-]*$/.test(name)) {
      if (/[\\/]|\.ps1$/i.test(name)) target = { kind: 'const', value: name, pos: this.pos(nameNode) };
      else this.unsupported(nameNode, `the command "${name}" (not a cmdlet name) is`);
    }
    if (call && !target) target = { kind: 'const', value: name, pos: this.pos(nameNode) };
    const elements: CmdElement[] = [];
    for (const c of kids.slice(1)) {
      if (c.type !== 'command_elements') this.check(c), this.unsupported(c);
      this.commandElements(c, elements);
    }
    return { kind: 'command', name, elements, ...(call ? { call } : {}), ...(target ? { target } : {}), pos: this.pos(n) };
  }

  private commandElements(n: Node, out: CmdElement[]): void {
    let colon = false;
    let glued = false;
    for (const c of this.kids(n)) {
      if (c.type === 'command_argument_sep') {
        colon = c.text === ':';
        glued = c.isMissing || c.text === '';
        continue;
      }
      if (glued && c.type === 'array_literal_expression' && c.text.startsWith(',')) {
        // `Name, @{…}`: the grammar gives "Name" then the unary-comma expression ", @{…}"
        const e = this.expr(c);
        if (e.kind === 'unary' && e.op === ',') {
          this.appendToArray(out, e.operand, c);
          continue;
        }
      }
      glued = false;
      if (c.type === 'command_parameter') {
        out.push({ kind: 'param', name: c.text.replace(/^-/, '').replace(/:$/, ''), pos: this.pos(c) });
        colon = c.text.endsWith(':');
        continue;
      }
      if (/^@\w+$/.test(c.text) && c.type !== 'generic_token') {
        out.push({ kind: 'splat', name: c.text.slice(1), pos: this.pos(c) });
        colon = false;
        continue;
      }
      let value: Expr;
      if (c.type === 'generic_token') {
        const arrayTail = c.text.startsWith(',');
        const tail = arrayTail ? c.text.slice(1) : c.text;
        value = arrayTail && /^[$"'@(]/.test(tail) ? this.snippet(tail, c) : { kind: 'const', value: tail, pos: this.pos(c) };
        if (arrayTail) {
          this.appendToArray(out, value, c);
          continue;
        }
      } else if (c.type === 'argument_list') {
        // New-Object Type(a, b): the parenthesised part glued to a bareword is one more argument
        const list = this.kids(c).find((x) => x.type === 'argument_expression_list');
        const items = list ? this.kids(list).map((a) => this.expr(a)) : [];
        value = items.length === 1 ? items[0]! : { kind: 'array', items, pos: this.pos(c) };
      } else {
        this.check(c);
        value = this.expr(c);
      }
      const last = out[out.length - 1];
      if (colon && last?.kind === 'param' && last.value === undefined) last.value = value;
      else out.push({ kind: 'arg', value, pos: this.pos(c) });
      colon = false;
    }
  }

  /** `Select A,$b`: the grammar gives the token ",$b"; parse what follows the comma as an expression. */
  private snippet(text: string, n: Node): Expr {
    const tree = this.parser.parse(text);
    if (!tree) this.syntax(n);
    try {
      const conv = new Converter(text, this.parser, n.startPosition.row);
      conv.strict = true;
      const body = conv.program(tree.rootNode);
      const only = body[0];
      if (body.length !== 1 || only?.kind !== 'pipeline' || only.elements.length !== 1 || only.elements[0]!.kind !== 'expr') return this.syntax(n);
      return only.elements[0]!.expr;
    } finally {
      tree.delete();
    }
  }

  /** `Select A,B`: the grammar gives "A" then ",B"; PowerShell passes one array argument. */
  private appendToArray(out: CmdElement[], value: Expr, n: Node): void {
    const last = out[out.length - 1];
    const prev = last?.kind === 'arg' || last?.kind === 'param' ? last.value : undefined;
    if (!last || !prev || last.kind === 'splat') return this.unsupported(n, 'a comma at the start of an argument is');
    const merged: Expr = prev.kind === 'array' ? { ...prev, items: [...prev.items, value] } : { kind: 'array', items: [prev, value], pos: prev.pos };
    last.value = merged;
  }

  // ------------------------------------------------------------ expressions

  private varName(n: Node): string {
    let t = n.text;
    if (t.startsWith('@')) this.unsupported(n, 'splatting (@variable) is');
    // ${name}: any characters but the closing brace (about_Variables)
    const braced = /^\$\{(.+)\}$/s.exec(t);
    if (braced) t = '$' + braced[1]!.replace(/`(.)/g, '$1');
    let name = t.replace(/^\$/, '');
    // $env:NAME: the simulated host's environment (environment.ts)
    if (/^env:/i.test(name)) return `env:${name.slice(4)}`;
    // $using:x: the caller's variable in a Start-Job script block (about_Remote_Variables; jobs.ts)
    if (/^using:/i.test(name)) return `using:${name.slice(6)}`;
    // $script:x / $global:x / $local:x / $private:x keep their scope (scope.ts)
    const scope = /^(global|script|local|private):/i.exec(name);
    if (scope) name = name.slice(scope[0].length);
    else if (name.includes(':')) this.unsupported(n, `the drive-qualified variable ${t} is`);
    if (!/^(\w+|_|\?|\^|\$)$/.test(name) && !braced) this.unsupported(n, `the variable ${t} is`);
    return scope ? `${scope[1]!.toLowerCase()}:${name}` : name;
  }

  expr(n: Node): Expr {
    this.check(n);
    const pos = this.pos(n);
    if (BINARY_NODES.has(n.type)) return this.binary(n);
    switch (n.type) {
      case 'array_literal_expression':
        return this.arrayLiteral(n);
      case 'unary_expression':
      case 'left_assignment_expression':
      case 'argument_expression_list':
        return this.single(n);
      case 'expression_with_unary_operator':
        return this.unary(n);
      case 'variable':
        return { kind: 'var', name: this.varName(n), pos };
      case 'integer_literal':
        return { kind: 'const', value: this.number(this.kids(n)[0] ?? n), pos };
      case 'decimal_integer_literal':
      case 'hexadecimal_integer_literal':
      case 'real_literal':
        return { kind: 'const', value: this.number(n), pos };
      case 'string_literal':
        return this.stringLiteral(n);
      case 'parenthesized_expression':
        return { kind: 'paren', pipeline: this.inner(n, 'pipeline', (c) => this.pipeline(c)), pos };
      case 'sub_expression':
        return { kind: 'subExpr', body: this.optionalList(n), pos };
      case 'array_expression':
        return { kind: 'arrayExpr', body: this.optionalList(n), pos };
      case 'hash_literal_expression':
        return this.hash(n);
      case 'script_block_expression':
        return this.scriptBlock(n);
      case 'member_access':
        return this.member(n);
      case 'invokation_expression':
        return this.invocation(n);
      case 'element_access':
        return this.elementAccess(n);
      case 'pipeline':
        return { kind: 'paren', pipeline: this.pipeline(n), pos };
      case 'cast_expression':
        return this.cast(n);
      case 'type_literal':
        return { kind: 'typeLit', type: this.typeName(n), pos };
      case 'pre_increment_expression':
      case 'pre_decrement_expression':
      case 'post_increment_expression':
      case 'post_decrement_expression':
        return this.incdec(n);
      default:
        return this.unsupported(n);
    }
  }

  /** A wrapper node with one meaningful child. */
  private single(n: Node): Expr {
    const kids = this.kids(n);
    if (kids.length !== 1) {
      if (kids.length === 0) this.syntax(n);
      this.unsupported(kids[1]!);
    }
    return this.expr(kids[0]!);
  }

  private inner<T>(n: Node, type: string, fn: (c: Node) => T): T {
    const c = this.kids(n).find((x) => x.type === type);
    if (!c) this.syntax(n);
    return fn(c);
  }

  private optionalList(n: Node): Stmt[] {
    const c = this.kids(n).find((x) => x.type === 'statement_list');
    return c ? this.statementList(c) : [];
  }

  private binary(n: Node): Expr {
    const kids = this.kids(n, false).filter((c) => c.type !== 'comment');
    if (kids.length === 1) return this.expr(kids[0]!);
    if (kids.length !== 3) return this.unsupported(n, `the expression "${firstLine(n.text)}" is`);
    const [l, opNode, r] = kids as [Node, Node, Node];
    const op = opNode.text.toLowerCase();
    // -is / -isnot / -as [type]: the type's name (about_Type_Operators)
    if (/^-(is|isnot|as)$/.test(op)) {
      const t = /^\[\s*([\w.`\[\], ]+?)\s*\]$/.exec(r.text.trim());
      const right: Expr = t ? { kind: 'const', value: t[1]!, pos: this.pos(r) } : this.expr(r);
      return { kind: 'binary', op, left: this.expr(l), right, pos: this.pos(n) };
    }
    if (!COMPARISON.test(op) && !SUPPORTED_BINARY.test(op) && !isTextOperator(op)) this.unsupported(opNode, `the operator ${opNode.text} is`);
    return { kind: 'binary', op, left: this.expr(l), right: this.expr(r), pos: this.pos(n) };
  }

  private arrayLiteral(n: Node): Expr {
    const items = this.kids(n).map((c) => this.expr(c));
    if (items.length === 1) return items[0]!;
    return { kind: 'array', items, pos: this.pos(n) };
  }

  private unary(n: Node): Expr {
    const kids = this.kids(n, false);
    if (kids.length === 1) return this.expr(kids[0]!);
    const [opNode, operand] = kids;
    if (!opNode || !operand || kids.length !== 2) return this.unsupported(n, `the expression "${firstLine(n.text)}" is`);
    this.check(opNode);
    const op = opNode.text.toLowerCase();
    if (!['-not', '!', '-', '+', ',', '-join', '-split'].includes(op)) this.unsupported(opNode, `the unary operator ${opNode.text} is`);
    return { kind: 'unary', op, operand: this.expr(operand), pos: this.pos(n) };
  }

  /** $i++ / ++$i / $i-- / --$i, on a variable only. */
  private incdec(n: Node): Expr {
    const parts = this.kids(n, false);
    const opNode = parts.find((c) => c.type === '++' || c.type === '--');
    const operand = parts.find((c) => c !== opNode);
    if (!opNode || !operand || parts.length !== 2) return this.syntax(n);
    const target = this.expr(operand);
    if (target.kind !== 'var') return this.unsupported(n, `${opNode.type} on anything but a variable is`);
    return { kind: 'incdec', name: target.name, op: opNode.type as '++' | '--', prefix: n.type.startsWith('pre_'), pos: this.pos(n) };
  }

  /** [type]value, for the types convert.ts's castTo knows. */
  private cast(n: Node): Expr {
    const [typeNode, operand, ...rest] = this.kids(n);
    if (!typeNode || !operand || rest.length) this.syntax(n);
    const type = this.typeName(typeNode);
    if (!knownCast(type)) this.unsupported(typeNode, `the type cast [${type}] is`);
    return { kind: 'cast', type, operand: this.expr(operand), pos: this.pos(n) };
  }

  private number(n: Node): number {
    const t = n.text.toLowerCase();
    const m = /^(0x[0-9a-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)([ld])?(kb|mb|gb|tb|pb)?$/.exec(t);
    if (!m) return this.unsupported(n, `the number ${n.text} is`);
    const base = m[1]!.startsWith('0x') ? parseInt(m[1]!.slice(2), 16) : Number(m[1]);
    const mult = { kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40, pb: 2 ** 50 }[m[3] ?? ''] ?? 1;
    return base * mult;
  }

  private stringLiteral(n: Node): Expr {
    const c = this.kids(n)[0];
    if (!c) this.syntax(n);
    this.check(c);
    const pos = this.pos(n);
    if (c.type === 'verbatim_string_characters') return { kind: 'const', value: c.text.slice(1, -1).replace(/''/g, "'"), pos };
    // here-strings: the text between the line after @' / @" and the line before '@ / "@ (about_Quoting_Rules)
    if (c.type === 'verbatim_here_string_characters') return { kind: 'const', value: c.text.replace(/^@'[ \t]*\r?\n/, '').replace(/\r?\n'@$/, '').replace(/^'@$/, ''), pos };
    if (c.type === 'expandable_here_string_literal') {
      const open = /^@"[ \t]*\r?\n/.exec(c.text)?.[0].length ?? 2;
      const close = /\r?\n"@$/.exec(c.text)?.[0].length ?? 2;
      return this.expandable(c, pos, this.offset(c) + open, this.offset(c, true) - close);
    }
    if (c.type !== 'expandable_string_literal') return this.unsupported(c);
    return this.expandable(c, pos);
  }

  /** "text $var $($expr) `n": literal pieces with escapes resolved, and expressions. */
  private expandable(n: Node, pos: Pos, start = this.offset(n) + 1, end = this.offset(n, true) - 1): Expr {
    const parts: Array<string | Expr> = [];
    let at = start;
    for (const c of this.kids(n)) {
      const s = this.offset(c);
      if (s > at) parts.push(unescape(this.src.slice(at, s)));
      if (c.type === 'variable') parts.push({ kind: 'var', name: this.varName(c), pos: this.pos(c) });
      else if (c.type === 'sub_expression') parts.push(this.expr(c));
      else this.check(c), this.unsupported(c, `"${c.text}" inside a string is`);
      at = this.offset(c, true);
    }
    if (end > at) parts.push(unescape(this.src.slice(at, end)));
    if (parts.every((p) => typeof p === 'string')) return { kind: 'const', value: parts.join(''), pos };
    return { kind: 'string', parts, pos };
  }

  private hash(n: Node): Expr {
    const entries: Array<{ key: string; value: Pipeline }> = [];
    const body = this.kids(n).find((c) => c.type === 'hash_literal_body');
    for (const e of body ? this.kids(body) : []) {
      if (e.type !== 'hash_entry') this.unsupported(e);
      const [k, v] = this.kids(e);
      if (!k || !v) this.syntax(e);
      const keyNode = this.kids(k)[0];
      if (!keyNode) this.syntax(k);
      let key: string;
      if (keyNode.type === 'simple_name') key = keyNode.text;
      else {
        const ke = this.expr(keyNode);
        if (ke.kind !== 'const' || typeof ke.value !== 'string') return this.unsupported(keyNode, 'a computed hashtable key is');
        key = ke.value;
      }
      if (v.type === 'pipeline') entries.push({ key, value: this.pipeline(v) });
      else {
        // @{ k = if (…) {…} else {…} }: a statement's output is the value, as $( ) gives it
        const stmt = this.statement(v);
        const pos = this.pos(v);
        entries.push({ key, value: { kind: 'pipeline', elements: [{ kind: 'expr', expr: { kind: 'subExpr', body: stmt ? [stmt] : [], pos }, pos }], pos } });
      }
    }
    return { kind: 'hash', entries, pos: this.pos(n) };
  }

  private scriptBlock(n: Node): Expr {
    const kids = this.kids(n);
    const sb = kids.find((c) => c.type === 'script_block') ?? null;
    const def = this.blockDef(sb, kids.find((c) => c.type === 'param_block') ?? null, null);
    return { kind: 'block', body: def.end, def, text: n.text.slice(1, -1), pos: this.pos(n) };
  }

  private memberName(n: Node): string {
    const s = this.kids(n)[0];
    if (s?.type === 'string_literal') {
      // $o.'Age (days)': a quoted name without variables is a plain name
      const e = this.expr(s);
      if (e.kind === 'const' && typeof e.value === 'string') return e.value;
    }
    if (!s || s.type !== 'simple_name') return this.unsupported(n, 'a computed member name is');
    return s.text;
  }

  /** Whether the access is static ([type]::Name): only on a type literal. */
  private checkDot(parts: Node[], n: Node): boolean {
    const dot = parts.find((c) => c.type === '.' || c.type === '::');
    if (!dot) this.syntax(n);
    if (dot.type === '::' && parts[0]?.type !== 'type_literal') this.unsupported(dot, 'static members (::) of anything but a [type] are');
    return dot.type === '::';
  }

  private member(n: Node): Expr {
    const parts = this.kids(n, false);
    const isStatic = this.checkDot(parts, n);
    const target = parts[0];
    const name = parts.find((c) => c.type === 'member_name');
    if (!target || !name) this.syntax(n);
    if (isStatic) return { kind: 'static', type: this.typeName(target), name: this.memberName(name), args: null, pos: this.pos(n) };
    return { kind: 'member', target: this.expr(target), name: this.memberName(name), pos: this.pos(n) };
  }

  private invocation(n: Node): Expr {
    const parts = this.kids(n, false);
    const isStatic = this.checkDot(parts, n);
    const target = parts[0];
    const name = parts.find((c) => c.type === 'member_name');
    const argList = parts.find((c) => c.type === 'argument_list');
    if (!target || !name || !argList) this.syntax(n);
    const list = this.kids(argList).find((c) => c.type === 'argument_expression_list');
    const args = list ? this.kids(list).map((a) => this.expr(a)) : [];
    if (isStatic) return { kind: 'static', type: this.typeName(target), name: this.memberName(name), args, pos: this.pos(n) };
    return { kind: 'invoke', target: this.expr(target), name: this.memberName(name), args, pos: this.pos(n) };
  }

  private elementAccess(n: Node): Expr {
    const parts = this.kids(n);
    const [target, index, ...rest] = parts;
    if (!target || !index || rest.length) this.syntax(n);
    return { kind: 'index', target: this.expr(target), index: this.expr(index), pos: this.pos(n) };
  }
}

/**
 * tree-sitter-powershell 0.26.4 cannot parse a statement after `param(…)` on the same line
 * (`function f { param($x) $x }`, valid PowerShell); a `;` in place of the blank after the
 * closing parenthesis means the same to PowerShell, keeps every position, and the grammar reads it.
 */
export function separateParamBlocks(text: string): string {
  const re = /(^|[\s{;\]])param\s*\(/gi;
  let out = text;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let depth = 0;
    let quote: string | null = null;
    let i = m.index + m[0].length - 1;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quote) {
        if (ch === '`' && quote === '"') i++;
        else if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#') {
        const nl = text.indexOf('\n', i);
        i = nl < 0 ? text.length : nl;
      } else if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) break;
    }
    const after = /^[ \t]+(?=[^\s;#])/.exec(text.slice(i + 1));
    if (i < text.length && after) out = out.slice(0, i + 1) + ';' + out.slice(i + 2);
  }
  return out;
}

/**
 * `Get-VM -Name $prefix*`: in argument mode a word that starts with a variable is one expandable
 * string ("$prefix*"); tree-sitter-powershell 0.26.4 leaves the `*` as an error. On a line that
 * starts with a command name, such a word is written as the string it means (later columns on
 * that line move by two).
 */
export function quoteGlobArguments(text: string): string {
  return text
    .split('\n')
    .map((line) => (/^\s*[A-Za-z]+-[A-Za-z]+\s/.test(line) && !/["'`]/.test(line) ? line.replace(/(?<=\s)\$(\w+)([*?][\w*?.-]*)(?=[\s|;),]|$)/g, '"$$$1$2"') : line))
    .join('\n');
}

/** A constant attribute argument. */
type PsValueLike = string | number | boolean | null;

function firstLine(t: string): string {
  const l = t.split('\n')[0]!.trim();
  return l.length > 60 ? l.slice(0, 57) + '...' : l;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };

/** Backtick escapes and doubled quotes of a double-quoted string's literal text. */
function unescape(s: string): string {
  return s.replace(/`(.)|""/gs, (m, c: string | undefined) => (m === '""' ? '"' : (ESCAPES[c!] ?? c!)));
}
