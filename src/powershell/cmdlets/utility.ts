/**
 * The utility cmdlets checkpoint scripts pipe into: Select-Object, Where-Object, ForEach-Object,
 * Sort-Object, Group-Object, Measure-Object, Format-Table, Format-List, Write-Host/Output/Warning, Get-Date,
 * Start-Sleep, Out-Null, Out-Default, Import-Module Hyper-V. Calculated properties (@{n=…;e={…}}) are
 * evaluated here; rendering is format.ts's.
 */
import { uformat } from './streams.js';
import type { Bound, CmdletContext, CmdletDef, ParamDef } from '../cmdlet.js';
import { FORMAT_OUTPUT, formatDefault, formatListOnConsole, formatTableOnConsole } from '../format.js';
import { castTo, timeSpanObject, toBool, toDate, toNumber, toStr } from '../convert.js';
import { getMember } from '../members.js';
import { compare } from '../operators.js';
import { wildcard } from '../ops.js';
import { formatWith } from '../text.js';
import { formatDate } from '../dotnet.js';
import { PsRuntimeError, UnsupportedMember } from '../errors.js';
import { PsHashtable, PsObject, collapse, enumerate, isScriptBlock, type PsValue } from '../value.js';

const inputObject: ParamDef = { name: 'InputObject', type: 'object', pipeline: true };

function def(name: string, className: string, params: ParamDef[], run: CmdletDef['run'], extra: Partial<CmdletDef> = {}): CmdletDef {
  return { name, className: `Microsoft.PowerShell.Commands.${className}`, params, run, collect: true, reason: 'RuntimeException', ...extra };
}

/** Text that goes to the console as it is (what Format-* returns). */
function formatted(text: string): PsObject {
  return new PsObject(FORMAT_OUTPUT, [['Text', text]]);
}

// ------------------------------------------------------------ properties

interface PropSpec {
  name: string;
  value(item: PsValue): Promise<PsValue>;
  /** A property taken by name (not calculated): its enum-ness goes with it. */
  byName?: boolean;
}

/** A hashtable key by any accepted spelling (n/name/l/label, e/expression …). */
function hashKey(h: PsHashtable, names: string[]): PsValue | undefined {
  for (const k of h.keys()) if (names.some((n) => n.startsWith(k.toLowerCase()))) return h.get(k);
  return undefined;
}

function propertyNames(item: PsValue): string[] {
  if (item instanceof PsObject) return item.names();
  if (item instanceof PsHashtable) return item.keys();
  return [];
}

/** -Property values: names (wildcards expanded against the first item) and calculated properties. */
function propSpecs(specs: PsValue[], sample: PsValue): PropSpec[] {
  const out: PropSpec[] = [];
  for (const s of specs) {
    if (s instanceof PsHashtable) {
      const expr = hashKey(s, ['expression']);
      const label = hashKey(s, ['name', 'label']);
      if (expr === undefined) throw new Error('calculated property without Expression');
      const name = label !== undefined ? toStr(label) : isScriptBlock(expr) ? expr.text.trim() : toStr(expr);
      out.push({
        name,
        value: async (item) => (isScriptBlock(expr) ? collapse(await expr.invoke(item)) : getMember(item, toStr(expr))),
      });
      continue;
    }
    if (isScriptBlock(s)) {
      // A script block as a property (Sort-Object { … }, Group-Object { … }): its value per item.
      out.push({ name: s.text.trim(), value: async (item) => collapse(await s.invoke(item)) });
      continue;
    }
    const pattern = toStr(s);
    const names = /[*?[]/.test(pattern) ? propertyNames(sample).filter((n) => wildcard(pattern).test(n)) : [pattern];
    for (const n of names) {
      const real = sample instanceof PsObject ? (sample.canonicalName(n) ?? n) : n;
      out.push({ name: real, value: async (item) => getMember(item, real), byName: true });
    }
  }
  return out;
}

async function project(items: PsValue[], specs: PropSpec[], typePrefix: string): Promise<PsObject[]> {
  const out: PsObject[] = [];
  for (const item of items) {
    const base = item instanceof PsObject ? item.typeName : 'System.Object';
    const props: Array<[string, PsValue]> = [];
    for (const p of specs) props.push([p.name, await p.value(item)]);
    const o = new PsObject(`${typePrefix}${base}`, props, item instanceof PsObject ? item.source : undefined);
    if (item instanceof PsObject) o.markEnums(specs.filter((p) => p.byName && item.isEnum(p.name)).map((p) => p.name));
    out.push(o);
  }
  return out;
}

const needsProjection = (specs: PsValue[]): boolean => specs.some((s) => !(typeof s === 'string') || /[*?[]/.test(s));

/** Items and property names ready for formatTableOnConsole/formatListOnConsole (calculated properties evaluated). */
async function forFormat(b: Bound, input: PsValue[]): Promise<{ items: PsValue[]; properties?: string[] }> {
  const raw = b.get('Property');
  if (raw === undefined) return { items: input };
  const specs = enumerate(raw);
  if (!needsProjection(specs)) return { items: input, properties: specs.map(toStr) };
  const props = propSpecs(specs, input[0] ?? null);
  return { items: await project(input, props, ''), properties: props.map((p) => p.name) };
}

/** Select-Object -ExpandProperty, ForEach-Object -MemberName: each item's member, collections unrolled. */
function emitMembers(ctx: CmdletContext, items: PsValue[], name: string): void {
  for (const item of items) enumerate(getMember(item, name)).forEach((v) => ctx.emit(v));
}

// ------------------------------------------------------------ cmdlets

const selectObject = def(
  'Select-Object',
  'SelectObjectCommand',
  [
    { name: 'Property', type: 'object[]', position: 0 },
    { name: 'First', type: 'int' },
    { name: 'Last', type: 'int' },
    { name: 'Skip', type: 'int' },
    { name: 'SkipLast', type: 'int' },
    { name: 'ExpandProperty', type: 'string' },
    { name: 'Unique', type: 'switch', unsupported: 'Select-Object -Unique is' },
    { name: 'ExcludeProperty', type: 'string[]', unsupported: 'Select-Object -ExcludeProperty is' },
    inputObject,
  ],
  async (ctx, b, input) => {
    let items = input;
    if (b.has('Skip')) items = items.slice(toNumber(b.get('Skip')!));
    if (b.has('SkipLast')) items = items.slice(0, Math.max(0, items.length - toNumber(b.get('SkipLast')!)));
    if (b.has('First')) items = items.slice(0, toNumber(b.get('First')!));
    if (b.has('Last')) items = items.slice(Math.max(0, items.length - toNumber(b.get('Last')!)));
    const expand = b.str('ExpandProperty');
    if (expand !== undefined) {
      emitMembers(ctx, items, expand);
      return;
    }
    const raw = b.get('Property');
    if (raw === undefined) return items.forEach((i) => ctx.emit(i));
    const props = propSpecs(enumerate(raw), items[0] ?? null);
    (await project(items, props, 'Selected.')).forEach((o) => ctx.emit(o));
  },
);

const CMP_SWITCHES = ['EQ', 'NE', 'GT', 'LT', 'GE', 'LE', 'Like', 'NotLike', 'Match', 'NotMatch', 'Contains', 'NotContains', 'In', 'NotIn'];

const whereObject = def(
  'Where-Object',
  'WhereObjectCommand',
  [
    { name: 'FilterScript', type: 'scriptblock', position: 0, sets: ['ScriptBlock'], mandatory: true },
    { name: 'Property', type: 'string', position: 0, sets: ['Compare'], mandatory: true },
    { name: 'Value', type: 'object', position: 1, sets: ['Compare'] },
    ...CMP_SWITCHES.map((n): ParamDef => ({ name: n, type: 'switch', sets: ['Compare'] })),
    inputObject,
  ],
  async (ctx, b, input) => {
    const block = b.block('FilterScript');
    for (const item of input) {
      let keep: boolean;
      if (block) keep = toBool(collapse(await block.invoke(item)));
      else {
        const op = CMP_SWITCHES.find((s) => b.flag(s));
        const v = getMember(item, b.str('Property')!);
        keep = op ? toBool(compare(`-${op.toLowerCase()}`, v, b.get('Value') ?? null)) : toBool(v);
      }
      if (keep) ctx.emit(item);
    }
  },
  { sets: ['ScriptBlock', 'Compare'] },
);

const forEachObject = def(
  'ForEach-Object',
  'ForEachObjectCommand',
  [
    { name: 'Process', type: 'scriptblock', position: 0, sets: ['ScriptBlock'], mandatory: true },
    { name: 'Begin', type: 'scriptblock', sets: ['ScriptBlock'] },
    { name: 'End', type: 'scriptblock', sets: ['ScriptBlock'] },
    { name: 'MemberName', type: 'string', position: 0, sets: ['PropertyAndMethod'], mandatory: true },
    { name: 'Parallel', type: 'scriptblock', unsupported: 'ForEach-Object -Parallel is' },
    inputObject,
  ],
  async (ctx, b, input) => {
    const member = b.str('MemberName');
    if (member !== undefined) {
      emitMembers(ctx, input, member);
      return;
    }
    const run = async (blk: ReturnType<Bound['block']>, item: PsValue): Promise<void> => {
      if (blk) (await blk.invoke(item)).forEach((v) => ctx.emit(v));
    };
    await run(b.block('Begin'), null);
    for (const item of input) await run(b.block('Process'), item);
    await run(b.block('End'), null);
  },
  { sets: ['ScriptBlock', 'PropertyAndMethod'] },
);

const sortObject = def(
  'Sort-Object',
  'SortObjectCommand',
  [{ name: 'Property', type: 'object[]', position: 0 }, { name: 'Descending', type: 'switch' }, { name: 'Unique', type: 'switch' }, inputObject],
  async (ctx, b, input) => {
    const specs = b.has('Property') ? enumerate(b.get('Property')!) : [];
    const keys = specs.map((s) => {
      const desc = s instanceof PsHashtable && hashKey(s, ['descending']) !== undefined ? toBool(hashKey(s, ['descending'])!) : b.flag('Descending');
      const spec = s instanceof PsHashtable ? propSpecs([new PsHashtable([['e', hashKey(s, ['expression']) ?? null]])], null)[0]! : propSpecs([s], input[0] ?? null)[0];
      return { spec, desc };
    });
    const rows: Array<{ item: PsValue; vals: PsValue[] }> = [];
    // $null input is dropped (OrderObjectBase.ProcessRecord)
    for (const item of input) if (item !== null) rows.push({ item, vals: await Promise.all(keys.map((k) => (k.spec ? k.spec.value(item) : item))) });
    if (keys.length === 0) for (const r of rows) r.vals = [r.item];
    const order = (a: PsValue, c: PsValue): number => {
      try {
        return toBool(compare('-lt', a, c)) ? -1 : toBool(compare('-gt', a, c)) ? 1 : 0;
      } catch (e) {
        // ObjectCommandComparer: when the second cannot be converted to the first's type, both compare as text
        if (!(e instanceof PsRuntimeError)) throw e;
        return toBool(compare('-lt', toStr(a), toStr(c))) ? -1 : toBool(compare('-gt', toStr(a), toStr(c))) ? 1 : 0;
      }
    };
    rows.sort((x, y) => {
      for (let i = 0; i < x.vals.length; i++) {
        const d = order(x.vals[i]!, y.vals[i]!);
        if (d !== 0) return (keys[i]?.desc ?? b.flag('Descending')) ? -d : d;
      }
      return 0;
    });
    let out = rows;
    if (b.flag('Unique')) out = rows.filter((r, i) => i === 0 || order(r.vals[0]!, rows[i - 1]!.vals[0]!) !== 0);
    out.forEach((r) => ctx.emit(r.item));
  },
);

/** Group-Object: groups in order of first appearance, keys compared case-insensitively (GroupInfo: Count, Name, Group). */
const groupObject = def(
  'Group-Object',
  'GroupObjectCommand',
  [
    { name: 'Property', type: 'object[]', position: 0 },
    { name: 'NoElement', type: 'switch' },
    { name: 'AsHashTable', type: 'switch', unsupported: 'Group-Object -AsHashTable is' },
    { name: 'AsString', type: 'switch', unsupported: 'Group-Object -AsString is' },
    { name: 'CaseSensitive', type: 'switch', unsupported: 'Group-Object -CaseSensitive is' },
    inputObject,
  ],
  async (ctx, b, input) => {
    const specs = b.has('Property') ? propSpecs(enumerate(b.get('Property')!), input[0] ?? null) : [];
    const groups = new Map<string, { name: string; values: PsValue[]; items: PsValue[] }>();
    for (const item of input) {
      const values = specs.length ? await Promise.all(specs.map((s) => s.value(item))) : [item];
      const name = values.map((v) => toStr(v)).join(', ');
      let g = groups.get(name.toLowerCase());
      if (!g) groups.set(name.toLowerCase(), (g = { name, values, items: [] }));
      g.items.push(item);
    }
    for (const g of groups.values()) {
      const props: Array<[string, PsValue]> = [['Count', g.items.length], ['Name', g.name]];
      if (!b.flag('NoElement')) props.push(['Group', g.items]);
      props.push(['Values', g.values]);
      // -NoElement gives GroupInfoNoElement (a GroupInfo without Group), which has its own view
      const types = b.flag('NoElement') ? ['Microsoft.PowerShell.Commands.GroupInfoNoElement', 'Microsoft.PowerShell.Commands.GroupInfo', 'System.Object'] : ['Microsoft.PowerShell.Commands.GroupInfo', 'System.Object'];
      ctx.emit(new PsObject(types, props).hide(['Values']));
    }
  },
);

const measureObject = def(
  'Measure-Object',
  'MeasureObjectCommand',
  [
    { name: 'Property', type: 'string[]', position: 0 },
    { name: 'Sum', type: 'switch' },
    { name: 'Average', type: 'switch' },
    { name: 'Maximum', type: 'switch' },
    { name: 'Minimum', type: 'switch' },
    inputObject,
  ],
  async (ctx, b, input) => {
    const props = b.strs('Property') ?? [null];
    for (const p of props) {
      const vals = input.map((i) => (p === null ? i : getMember(i, p))).filter((v) => v !== null);
      const nums = (): number[] => vals.map(toNumber);
      const stat = (on: boolean, fn: (n: number[]) => number): PsValue => (on && vals.length ? fn(nums()) : null);
      ctx.emit(
        new PsObject('Microsoft.PowerShell.Commands.GenericMeasureInfo', [
          ['Count', vals.length],
          ['Average', stat(b.flag('Average'), (n) => n.reduce((a, c) => a + c, 0) / n.length)],
          ['Sum', stat(b.flag('Sum'), (n) => n.reduce((a, c) => a + c, 0))],
          ['Maximum', stat(b.flag('Maximum'), (n) => Math.max(...n))],
          ['Minimum', stat(b.flag('Minimum'), (n) => Math.min(...n))],
          ['Property', p],
        ]),
      );
    }
  },
);

const formatTableCmd = def(
  'Format-Table',
  'FormatTableCommand',
  [
    { name: 'Property', type: 'object[]', position: 0 },
    { name: 'AutoSize', type: 'switch' },
    { name: 'Wrap', type: 'switch', unsupported: 'Format-Table -Wrap is' },
    { name: 'HideTableHeaders', type: 'switch', unsupported: 'Format-Table -HideTableHeaders is' },
    { name: 'GroupBy', type: 'object', unsupported: 'Format-Table -GroupBy is' },
    inputObject,
  ],
  async (ctx, b, input) => {
    if (input.length === 0) return;
    const { items, properties } = await forFormat(b, input);
    ctx.emit(formatted(formatTableOnConsole(items, { ...(properties ? { properties } : {}), autoSize: b.flag('AutoSize'), width: ctx.width })));
  },
);

const formatListCmd = def(
  'Format-List',
  'FormatListCommand',
  [{ name: 'Property', type: 'object[]', position: 0 }, { name: 'GroupBy', type: 'object', unsupported: 'Format-List -GroupBy is' }, inputObject],
  async (ctx, b, input) => {
    if (input.length === 0) return;
    const { items, properties } = await forFormat(b, input);
    ctx.emit(formatted(formatListOnConsole(items, properties ? { properties } : {})));
  },
);

const writeHost = def(
  'Write-Host',
  'WriteHostCommand',
  [
    { name: 'Object', type: 'object', position: 0, remaining: true },
    { name: 'NoNewline', type: 'switch' },
    { name: 'Separator', type: 'string' },
    { name: 'ForegroundColor', type: 'string' },
    { name: 'BackgroundColor', type: 'string' },
    inputObject,
  ],
  async (ctx, b, input) => {
    const sep = b.str('Separator') ?? ' ';
    const parts = b.has('Object') ? enumerate(b.get('Object')!) : input;
    // Write-Host shows an object by its ToString(): a date in the culture's "G" form (1/15/2025 9:00:10 AM)
    const text = (p: PsValue): string => (p instanceof Date ? formatWith(p, 'G') : toStr(p));
    ctx.writeHost(parts.map((p) => (Array.isArray(p) ? p.map(text).join(sep) : text(p))).join(sep) + (b.flag('NoNewline') ? '' : '\n'));
  },
);

const writeOutput = def(
  'Write-Output',
  'WriteOutputCommand',
  [{ name: 'InputObject', type: 'object', position: 0, remaining: true, pipeline: true }, { name: 'NoEnumerate', type: 'switch', unsupported: 'Write-Output -NoEnumerate is' }],
  async (ctx, b, input) => {
    (b.has('InputObject') ? enumerate(b.get('InputObject')!) : input).forEach((v) => ctx.emit(v));
  },
);

const writeWarning = def('Write-Warning', 'WriteWarningCommand', [{ name: 'Message', type: 'string', position: 0, mandatory: true }], async (ctx, b) => ctx.warn(b.str('Message')!), { collect: false });

const writeError = def(
  'Write-Error',
  'WriteErrorException',
  [{ name: 'Message', type: 'string', position: 0, mandatory: true }],
  async (ctx, b) => ctx.error(b.str('Message')!),
  { collect: false, reason: 'WriteErrorException' },
);

const getDate = def(
  'Get-Date',
  'GetDateCommand',
  [
    { name: 'Format', type: 'string' },
    { name: 'UFormat', type: 'string' },
    { name: 'Date', type: 'object', position: 0 },
  ],
  async (ctx, b) => {
    const date = b.has('Date') ? (castTo('datetime', b.get('Date')!) as Date) : new Date(await ctx.host.now());
    const format = b.str('Format');
    const ufmt = b.str('UFormat');
    ctx.emit(ufmt !== undefined ? uformat(date, ufmt) : format === undefined ? date : formatWith(date, format));
  },
  { collect: false },
);

/**
 * Start-Sleep: the host lets the time pass (Host.sleep). The simulator skips it at once, so a
 * polling loop sees background merges finish without waiting. Fractional seconds are kept (as
 * PowerShell 7 does; 5.1 rounds to whole seconds).
 */
const startSleep = def(
  'Start-Sleep',
  'StartSleepCommand',
  [
    { name: 'Seconds', type: 'int', position: 0, sets: ['Seconds'], mandatory: true, min: 0 },
    { name: 'Milliseconds', aliases: ['ms'], type: 'int', sets: ['Milliseconds'], mandatory: true, min: 0 },
    { name: 'Duration', aliases: ['ts'], type: 'object', sets: ['FromTimeSpan'], mandatory: true, unsupported: 'Start-Sleep -Duration is' },
  ],
  async (ctx, b) => {
    const ms = b.has('Milliseconds') ? toNumber(b.get('Milliseconds')!) : toNumber(b.get('Seconds')!) * 1000;
    try {
      await ctx.host.sleep(ms);
    } catch (e) {
      ctx.error(e);
    }
  },
  { collect: false, sets: ['Seconds', 'Milliseconds', 'FromTimeSpan'] },
);

/** Write-Progress: a non-interactive run (pwsh -NonInteractive -File, redirected) shows no progress bar. */
const writeProgress = def(
  'Write-Progress',
  'WriteProgressCommand',
  [
    { name: 'Activity', type: 'string', position: 0 },
    { name: 'Status', type: 'string', position: 1 },
    { name: 'Id', type: 'int', position: 2 },
    { name: 'PercentComplete', type: 'int' },
    { name: 'SecondsRemaining', type: 'int' },
    { name: 'CurrentOperation', type: 'string' },
    { name: 'ParentId', type: 'int' },
    { name: 'Completed', type: 'switch' },
    { name: 'SourceId', type: 'int' },
  ],
  async () => {},
  { collect: false },
);

/**
 * New-TimeSpan [-Start] [-End] (each defaults to now: the host's clock) or -Days -Hours -Minutes
 * -Seconds -Milliseconds (Microsoft's New-TimeSpan reference).
 */
const newTimeSpan = def(
  'New-TimeSpan',
  'NewTimeSpanCommand',
  [
    { name: 'Start', aliases: ['LastWriteTime'], type: 'object', position: 0, sets: ['Date'], pipeline: true },
    { name: 'End', type: 'object', position: 1, sets: ['Date'] },
    { name: 'Days', type: 'int', sets: ['Time'] },
    { name: 'Hours', type: 'int', sets: ['Time'] },
    { name: 'Minutes', type: 'int', sets: ['Time'] },
    { name: 'Seconds', type: 'int', sets: ['Time'] },
    { name: 'Milliseconds', type: 'int', sets: ['Time'] },
  ],
  async (ctx, b) => {
    if (b.set === 'Time') {
      const n = (k: string): number => (b.has(k) ? toNumber(b.get(k)!) : 0);
      ctx.emit(timeSpanObject((((n('Days') * 24 + n('Hours')) * 60 + n('Minutes')) * 60 + n('Seconds')) * 1000 + n('Milliseconds')));
      return;
    }
    const now = (): Promise<number> => ctx.host.now();
    const start = b.has('Start') ? toDate(b.get('Start')!).getTime() : await now();
    const end = b.has('End') ? toDate(b.get('End')!).getTime() : await now();
    ctx.emit(timeSpanObject(end - start));
  },
  { collect: false, sets: ['Date', 'Time'] },
);

/**
 * Measure-Command: runs the block (its output is dropped) and writes how long it took — on the
 * host's clock, so on the simulator the simulated time its operations took (docs/powershell.md).
 */
const measureCommand = def(
  'Measure-Command',
  'MeasureCommandCommand',
  [
    { name: 'Expression', type: 'scriptblock', position: 0, mandatory: true },
    { name: 'InputObject', type: 'object', pipeline: true },
  ],
  async (ctx, b, input) => {
    const block = b.block('Expression')!;
    const start = await ctx.host.now();
    for (const item of input.length ? input : [null]) await block.invoke(item);
    ctx.emit(timeSpanObject((await ctx.host.now()) - start));
  },
);

/** HTML-encoded text of a value as ConvertTo-Html writes a cell (WebUtility.HtmlEncode; collections as their type). */
function htmlCell(v: PsValue): string {
  // a date as the culture writes it (ToString(), as Export-Csv does), not PowerShell's invariant text
  const text = Array.isArray(v) ? 'System.Object[]' : v instanceof PsHashtable ? 'System.Collections.Hashtable' : v instanceof Date ? formatDate(v, 'G')! : toStr(v);
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * ConvertTo-Html: a table (or -As List) of the input's properties, the first object's property
 * names as columns, each line one string; a page (XHTML 1.0 Strict, as PowerShell writes it) unless
 * -Fragment. Judged by pwsh (test/fixtures/ps-diff/formatting/convertto-html.ps1).
 */
const convertToHtml = def(
  'ConvertTo-Html',
  'ConvertToHtmlCommand',
  [
    { name: 'InputObject', type: 'object', pipeline: true },
    { name: 'Property', type: 'object[]', position: 0 },
    { name: 'Body', type: 'string[]', position: 1, sets: ['Page'] },
    { name: 'Head', type: 'string[]', position: 2, sets: ['Page'] },
    { name: 'Title', type: 'string', position: 3, sets: ['Page'] },
    { name: 'As', type: 'string', values: ['Table', 'List'] },
    { name: 'CssUri', aliases: ['cu', 'uri'], type: 'string', sets: ['Page'] },
    { name: 'Fragment', type: 'switch', sets: ['Fragment'] },
    { name: 'PostContent', type: 'string[]' },
    { name: 'PreContent', type: 'string[]' },
    { name: 'Meta', type: 'object', sets: ['Page'], unsupported: 'ConvertTo-Html -Meta is' },
    { name: 'Charset', type: 'string', sets: ['Page'], unsupported: 'ConvertTo-Html -Charset is' },
    { name: 'Transitional', type: 'switch', sets: ['Page'], unsupported: 'ConvertTo-Html -Transitional is' },
  ],
  async (ctx, b, input) => {
    const items = input.length ? input : b.has('InputObject') ? [b.get('InputObject')!] : [];
    if (items.some((x) => !(x instanceof PsObject) && !(x instanceof PsHashtable) && x !== null)) throw new UnsupportedMember('ConvertTo-Html of strings and numbers is');
    const lines: string[] = [];
    const page = !b.flag('Fragment');
    if (page) {
      lines.push('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"  "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">', '<html xmlns="http://www.w3.org/1999/xhtml">', '<head>');
      // -Head replaces the <title> (ConvertToHtmlCommand.BeginProcessing)
      if (b.has('Head')) lines.push(...b.strs('Head')!);
      else lines.push(`<title>${b.str('Title') ?? 'HTML TABLE'}</title>`);
      const css = b.str('CssUri');
      if (css !== undefined) lines.push(`<link rel="stylesheet" type="text/css" href="${css}" />`);
      lines.push('</head><body>');
      lines.push(...(b.strs('Body') ?? []));
    }
    lines.push(...(b.strs('PreContent') ?? []));
    lines.push('<table>');
    const objs = items.filter((x) => x !== null);
    if (objs.length) {
      const specs = propSpecs(b.has('Property') ? enumerate(b.get('Property')!) : propertyNames(objs[0]!), objs[0]!);
      const list = (b.str('As') ?? 'Table').toLowerCase() === 'list';
      if (!list) {
        lines.push(`<colgroup>${'<col/>'.repeat(specs.length)}</colgroup>`);
        lines.push(`<tr>${specs.map((p) => `<th>${htmlCell(p.name)}</th>`).join('')}</tr>`);
      }
      for (const [i, o] of objs.entries()) {
        const cells: string[] = [];
        for (const p of specs) cells.push(htmlCell(await p.value(o)));
        if (!list) lines.push(`<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`);
        else {
          if (i > 0) lines.push('<tr><td><hr></td></tr>');
          specs.forEach((p, k) => lines.push(`<tr><td>${htmlCell(p.name)}:</td><td>${cells[k]}</td></tr>`));
        }
      }
    }
    lines.push('</table>');
    lines.push(...(b.strs('PostContent') ?? []));
    if (page) lines.push('</body></html>');
    lines.forEach((l) => ctx.emit(l));
  },
  { sets: ['Page', 'Fragment'] },
);

const outNull = def('Out-Null', 'OutNullCommand', [inputObject], async () => {});

const outDefault = def('Out-Default', 'OutDefaultCommand', [inputObject], async (ctx, _b, input) => {
  if (input.length) ctx.emit(formatted(formatDefault(input, ctx.width)));
});

const importModule = def(
  'Import-Module',
  'ImportModuleCommand',
  [{ name: 'Name', type: 'string[]', position: 0, mandatory: true }],
  async (ctx: CmdletContext, b) => {
    for (const n of b.strs('Name')!) if (n.toLowerCase() !== 'hyper-v') ctx.error(`The specified module '${n}' was not loaded because no valid module file was found in any module directory. (hvsim run provides only Hyper-V)`, n);
  },
  { collect: false },
);

export const UTILITY_CMDLETS: CmdletDef[] = [
  selectObject, whereObject, forEachObject, sortObject, groupObject, measureObject, formatTableCmd, formatListCmd,
  writeHost, writeOutput, writeWarning, writeError, getDate, startSleep, outNull, outDefault, importModule,
  writeProgress, newTimeSpan, measureCommand, convertToHtml,
];

export const UTILITY_ALIASES: Record<string, string> = {
  select: 'Select-Object',
  where: 'Where-Object',
  '?': 'Where-Object',
  foreach: 'ForEach-Object',
  '%': 'ForEach-Object',
  sort: 'Sort-Object',
  measure: 'Measure-Object',
  group: 'Group-Object',
  ft: 'Format-Table',
  fl: 'Format-List',
  echo: 'Write-Output',
  write: 'Write-Output',
  ipmo: 'Import-Module',
  sleep: 'Start-Sleep',
};
