/**
 * Console output exactly as Windows PowerShell 5.1's console host prints it: Format-Table,
 * Format-List, Out-Default (the formatting a script's output gets in `powershell.exe -File`),
 * error records in NormalView, and warnings. Lines end in "\n" (the real console writes "\r\n").
 *
 * The rules are re-implemented from reading PowerShell's formatting code (PowerShell/PowerShell
 * src/System.Management.Automation/FormatAndOutput/common: BaseOutputtingCommand.cs "OutCommandInner",
 * TableWriter.cs, ColumnWidthManager.cs, ListWriter.cs, ComplexWriter.cs; out-console/ConsoleLineOutput.cs)
 * as it stood before the 6.x changes that 5.1 does not have (PR #5568 "don't add trailing spaces to
 * the last column", PR #8326 "…" instead of "..."), plus the 5.1 ErrorRecord view script and
 * PositionUtilities.VerboseMessage. Each rule below cites where it comes from.
 *
 * Width: `width` is the console's buffer width (default 120, what a script started in a default
 * Windows 10/Server console gets); like ConsoleLineOutput, tables, lists and wrapped text use
 * width − 1 columns so the last screen column is never written.
 */
import type { PsErrorRecord, PsValue } from './value.js';
import { PSCUSTOMOBJECT_TYPE, PsHashtable, PsObject, isScriptBlock } from './value.js';
import { displayTime, timeParts } from '../host/clock.js';
import { DAYS, MONTHS, doubleToString as formatNumber } from './dotnet.js';
import { VIEWS, hyperVObjectString, type ViewColumn } from './views.js';

export interface TableOptions {
  /** Format-Table -Property: column property names, in order. */
  properties?: string[];
  /** Format-Table -AutoSize. */
  autoSize?: boolean;
  /** Console buffer width (default 120). */
  width?: number;
}

/** Optional ErrorRecord details beyond PsErrorRecord (read structurally, all optional). */
export interface ErrorRecordExtras {
  /** The script file the error happened in ("At C:\x.ps1:3 char:1"); absent → "At line:3 char:1". */
  scriptPath?: string;
  /** CategoryInfo.TargetType ("String" in "(DC01:String)"); default "". */
  targetType?: string;
  /** CategoryInfo.Activity (the "[Checkpoint-VM]" part); default: `command` (or "" when null). */
  activity?: string;
  /** Console buffer width (default 120). */
  width?: number;
}

/** Default console buffer width; see the header comment. */
export const DEFAULT_CONSOLE_WIDTH = 120;

/** 5.1 truncation marker (PowerShell 7 uses "…", PR #8326). */
const ELLIPSIS = '...';

/** $FormatEnumerationLimit default (about_Preference_Variables): at most 4 items of a collection in a cell. */
const ENUMERATION_LIMIT = 4;

// ───────────────────────── values ─────────────────────────

/** DateTime's own console view (en-US long date + long time): "Sunday, March 11, 2018 7:54:05 PM". */
function longDate(d: Date): string {
  const p = timeParts(d.getTime());
  const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
  const h = p.hour % 12 === 0 ? 12 : p.hour % 12;
  const mm = String(p.minute).padStart(2, '0');
  const ss = String(p.second).padStart(2, '0');
  return `${DAYS[weekday]}, ${MONTHS[p.month - 1]} ${p.day}, ${p.year} ${h}:${mm}:${ss} ${p.hour < 12 ? 'AM' : 'PM'}`;
}

const SHORT_TYPE = /([^.]+)$/;

/** What ToString() gives for an object nested in a cell. */
function objectToString(o: PsObject): string {
  const t = o.typeName;
  if (t === PSCUSTOMOBJECT_TYPE || t.startsWith('Selected.') || o.typeNames.includes(PSCUSTOMOBJECT_TYPE)) {
    // PSCustomObject.ToString(): "@{a=1; b=2}"
    return `@{${o.names().map((n) => `${n}=${nestedToString(o.get(n) ?? null)}`).join('; ')}}`;
  }
  const short = SHORT_TYPE.exec(t)?.[1] ?? t;
  const name = o.get('Name');
  const id = o.get('Id');
  if (typeof name === 'string' && typeof id === 'string') return hyperVObjectString(short, name, id);
  return t;
}

/** ToString() of an element inside a collection shown in a cell (nested collections show their type). */
function nestedToString(v: PsValue): string {
  if (Array.isArray(v)) return 'System.Object[]';
  if (v instanceof PsHashtable) return 'System.Collections.Hashtable';
  return displayValue(v);
}

/**
 * A value as a table cell / list value shows it (PSObjectHelper.SmartToString / FormatField):
 * $null → "", booleans True/False, dates en-US short date + long time in the local zone,
 * collections "{a, b, c, d...}" (first $FormatEnumerationLimit = 4 items, then "..."), hashtables
 * by their keys, objects by ToString().
 */
export function displayValue(v: PsValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date) return displayTime(v.getTime());
  if (Array.isArray(v)) return enumerationString(v.map(nestedToString));
  if (v instanceof PsHashtable) return enumerationString(v.keys());
  if (v instanceof PsObject) return objectToString(v);
  if (isScriptBlock(v)) return v.text;
  return String(v);
}

function enumerationString(items: string[]): string {
  const shown = items.slice(0, ENUMERATION_LIMIT).join(', ');
  return `{${shown}${items.length > ENUMERATION_LIMIT ? ELLIPSIS : ''}}`;
}

// ───────────────────────── text helpers ─────────────────────────

/** Display cells of a string: one per UTF-16 unit (the simulator prints no East Asian wide text). */
const cells = (s: string): number => s.length;
const pad = (n: number): string => (n > 0 ? ' '.repeat(n) : '');

/** StringManipulationHelper.SplitLines: drop "\r", split on "\n". */
function splitLines(s: string): string[] {
  return s.replace(/\r/g, '').split('\n');
}

/**
 * StringManipulationHelper.GenerateLines with word wrap (used for en cultures): each line that
 * does not fit is refilled word by word, a word keeping the one blank after it; a word longer
 * than a whole line is cut character by character.
 */
export function wrapLines(text: string, firstLen: number, nextLen: number = firstLen): string[] {
  const out: string[] = [];
  if (text === '') return [''];
  for (const line of splitLines(text)) {
    if (cells(line) <= firstLen) {
      out.push(line);
      continue;
    }
    let lineWidth = firstLen;
    let left = firstLen;
    let first = true;
    let cur = '';
    const newLine = (): void => {
      out.push(cur);
      cur = '';
      if (first) {
        first = false;
        lineWidth = nextLen;
      }
      left = lineWidth;
    };
    const pieces = line.split(' ');
    for (let i = 0; i < pieces.length; i++) {
      const word = (pieces[i] ?? '') + (i < pieces.length - 1 ? ' ' : '');
      if (lineWidth <= 0) break;
      if (cells(word) > lineWidth) {
        for (const ch of word) {
          if (left < 1) newLine();
          cur += ch;
          left -= 1;
        }
      } else if (cells(word) > left) {
        newLine();
        cur = word;
        left -= cells(word);
      } else {
        cur += word;
        left -= cells(word);
      }
    }
    out.push(cur);
  }
  return out;
}

// ───────────────────────── tables ─────────────────────────

type Align = 'left' | 'right';

interface Column {
  label: string;
  align: Align;
  /** Width the view declares; 0 = none (sized from the data, or by ColumnWidthManager). */
  width: number;
  cell(o: PsValue): string;
}

/**
 * ColumnWidthManager.CalculateColumnWidths: columns without a width get the minimum (1) and then
 * the free space one column at a time, left to right; if the table is too wide, the last visible
 * column shrinks, or is hidden (−1) when it would fall below the minimum, repeatedly.
 */
function fitColumns(widths: number[], tableWidth: number): number[] {
  const w = [...widths];
  const total = (): number => {
    let sum = 0;
    let visible = 0;
    for (const x of w) if (x > 0) {
      sum += x;
      visible++;
    }
    return sum + Math.max(visible - 1, 0);
  };
  if (w.some((x) => x <= 0)) {
    const free = w.map((x) => x <= 0);
    for (let k = 0; k < w.length; k++) if (free[k]) w[k] = 1;
    let avail = tableWidth - total();
    while (avail > 0) {
      for (let k = 0; k < w.length && avail > 0; k++) if (free[k]) {
        w[k] = (w[k] ?? 0) + 1;
        avail--;
      }
    }
  }
  for (;;) {
    const excess = total() - tableWidth;
    if (excess <= 0) break;
    let last = w.findIndex((x) => x < 0);
    last = last < 0 ? w.length - 1 : last - 1;
    if (last < 0) break;
    const shrunk = (w[last] ?? 0) - excess;
    w[last] = shrunk < 1 ? -1 : shrunk;
  }
  return w;
}

/** TableWriter.GenerateRowField: one physical line of a cell, padded or cut to the column. */
function fitCell(value: string, width: number, align: Align): string {
  // TruncateAtNewLine: only the first line of a multi-line value, marked with the ellipsis.
  const nl = value.search(/[\r\n]/);
  let s = nl >= 0 ? value.slice(0, nl) + ELLIPSIS : value;
  const len = cells(s);
  if (len < width) return align === 'right' ? pad(width - len) + s : s + pad(width - len);
  if (len > width) {
    const keep = width - ELLIPSIS.length;
    if (keep > 0) s = align === 'right' ? ELLIPSIS + s.slice(s.length - keep) : s.slice(0, keep) + ELLIPSIS;
    else s = align === 'right' ? s.slice(s.length - width) : s.slice(0, width);
  }
  return s;
}

/**
 * A table's header (labels wrapped into their columns when narrower, then a dash line as long as
 * the label, cut to the column) and rows. 5.1 pads every column, the last one too (PR #5568
 * removed that in 6.0), so every line is exactly as wide as the table.
 */
function renderTable(cols: Column[], widths: number[], events: TableEvent[]): string[] {
  const vis = cols.map((_, k) => k).filter((k) => (widths[k] ?? 0) > 0);
  const join = (fields: string[]): string => fields.join(' ');
  const lines: string[] = [];
  // header: GenerateRow(multiLine: true) → GenerateLines per label, shorter columns padded with blanks
  const wrapped = vis.map((k) => wrapLines(cols[k]!.label, widths[k]!, widths[k]!));
  const rows = Math.max(...wrapped.map((w) => w.length));
  for (let r = 0; r < rows; r++) {
    lines.push(join(vis.map((k, i) => fitCell(wrapped[i]![r] ?? '', widths[k]!, cols[k]!.align))));
  }
  lines.push(join(vis.map((k) => fitCell('-'.repeat(Math.min(cells(cols[k]!.label), widths[k]!)), widths[k]!, cols[k]!.align))));
  for (const ev of events) {
    if (ev.kind === 'row') lines.push(join(vis.map((k) => fitCell(ev.cells[k] ?? '', widths[k]!, cols[k]!.align))));
    else lines.push(...ev.lines);
  }
  return lines;
}

type TableEvent = { kind: 'row'; cells: string[] } | { kind: 'raw'; lines: string[] };

// ───────────────────────── views ─────────────────────────

interface ViewDef {
  type: string;
  shape: 'table';
  columns: Column[];
  /** The view declares its column widths (used unless -AutoSize). */
  declared?: boolean;
  /** GroupBy: each run of objects with the same label gets a header line ("    Directory: C:\\x"). */
  groupBy?: (o: PsObject) => string;
}

const prop =
  (name: string, label = name, align: Align = 'left', width = 0): Column => ({
    label,
    align,
    width,
    cell: (o) => (o instanceof PsObject ? displayValue(o.get(name) ?? null) : ''),
  });

/** A column of a shared default view (views.ts): its property's value as the view shows it, as text. */
const viewColumn = (c: ViewColumn): Column => ({
  ...prop(c.property, c.label),
  cell: (o) => {
    if (!(o instanceof PsObject)) return '';
    const v = o.get(c.property) ?? null;
    return displayValue(c.shown ? c.shown(v) : v);
  },
});

/**
 * Default views of the Hyper-V module (views.ts; docs/hyperv.md, "Default table views").
 * Every observed transcript shows these tables sized to their contents, numbers left-aligned
 * (e.g. "win16 Running 24 4096 00:00:03 Operating normally 8.0"), i.e. the views declare no
 * widths (OutCommandInner sizes them from the first objects) and no right alignment.
 */
const TABLE_VIEWS: ViewDef[] = [
  ...VIEWS.map((v): ViewDef => ({ type: v.type, shape: 'table', columns: v.columns.map(viewColumn) })),
  // FileSystem.format.ps1xml (5.1), children: Mode 7, LastWriteTime 25 right ("{0,10}  {1,8}" of
  // ToString('d') and ToString('t')), Length 14 right (files only), Name; grouped by PSParentPath
  {
    type: 'System.IO.FileSystemInfo',
    shape: 'table',
    declared: true,
    columns: [
      prop('Mode', 'Mode', 'left', 7),
      {
        label: 'LastWriteTime',
        align: 'right',
        width: 25,
        cell: (o) => {
          const d = o instanceof PsObject ? o.get('LastWriteTime') : null;
          if (!(d instanceof Date)) return '';
          const h = d.getHours() % 12 || 12;
          const date = `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()}`;
          const time = `${h}:${String(d.getMinutes()).padStart(2, '0')} ${d.getHours() < 12 ? 'AM' : 'PM'}`;
          return `${date.padStart(10)}  ${time.padStart(8)}`;
        },
      },
      { ...prop('Length', 'Length', 'right', 14), cell: (o) => (o instanceof PsObject && o.typeName === 'System.IO.FileInfo' ? displayValue(o.get('Length') ?? null) : '') },
      prop('Name'),
    ],
    groupBy: (o) => String(o.get('PSParentPath') ?? '').replace(/^Microsoft\.PowerShell\.Core\\FileSystem::/, ''),
  },
  // $h.GetEnumerator()'s entries (DotNetTypes.format.ps1xml, System.Collections.DictionaryEntry):
  // Name 30 wide, Value the rest, as a hashtable prints
  {
    type: 'System.Collections.DictionaryEntry',
    shape: 'table',
    declared: true,
    columns: [prop('Name', 'Name', 'left', 30), prop('Value')],
  },
  // Group-Object's results (PowerShellCore.format.ps1xml, GroupInfo / GroupInfoNoElement):
  // Count 5 wide right-aligned, Name 25 wide, Group the rest
  {
    type: 'Microsoft.PowerShell.Commands.GroupInfo',
    shape: 'table',
    declared: true,
    columns: [prop('Count', 'Count', 'right', 5), prop('Name', 'Name', 'left', 25), prop('Group')],
  },
  // Get-Job's table (PowerShellCore.format.ps1xml, System.Management.Automation.Job; widths as pwsh 7.6 prints them)
  {
    type: 'System.Management.Automation.Job',
    shape: 'table',
    declared: true,
    columns: [
      prop('Id', 'Id', 'left', 6),
      prop('Name', 'Name', 'left', 15),
      prop('PSJobTypeName', 'PSJobTypeName', 'left', 15),
      prop('State', 'State', 'left', 13),
      prop('HasMoreData', 'HasMoreData', 'left', 15),
      prop('Location', 'Location', 'left', 20),
      prop('Command'),
    ],
  },
  {
    type: 'Microsoft.PowerShell.Commands.GroupInfoNoElement',
    shape: 'table',
    declared: true,
    columns: [prop('Count', 'Count', 'right', 5), prop('Name', 'Name', 'left', 25)],
  },
];

/** System.Collections.Hashtable's view (DictionaryEntry): Name 30 wide, Value takes the rest. */
const HASHTABLE_COLUMNS: Column[] = [
  { label: 'Name', align: 'left', width: 30, cell: (e) => (Array.isArray(e) ? displayValue(e[0] ?? null) : '') },
  { label: 'Value', align: 'left', width: 0, cell: (e) => (Array.isArray(e) ? displayValue(e[1] ?? null) : '') },
];

function viewFor(o: PsObject): ViewDef | undefined {
  // PSTypeNames are searched most derived first (Selected.* objects therefore have no view)
  for (const t of o.typeNames) {
    // a Deserialized.<type> object (a job's output) takes its type's view (Deserializer.MaskDeserializationPrefix)
    const name = t.replace(/^Deserialized\./i, '').toLowerCase();
    const v = TABLE_VIEWS.find((x) => x.type.toLowerCase() === name);
    if (v) return v;
  }
  return undefined;
}

/** Scalars (and dates, script blocks) are written as text in place, out of band (OutCommandInner.ProcessOutOfBandPayload RawTextFormatEntry). */
function printsAsText(v: PsValue): boolean {
  return v === null || typeof v !== 'object' || v instanceof Date || isScriptBlock(v);
}

function scalarLines(v: PsValue): string[] {
  if (v === null) return [];
  // DateTime has its own view: a blank line, the long date, a blank line (Get-Date on a console).
  if (v instanceof Date) return ['', longDate(v), ''];
  return splitLines(displayValue(v));
}

/**
 * Property columns of an object without a view: the named ones, or all of them (at most 10 in a
 * table, TableViewGenerator.FilterActiveAssociationList). Alignment from the first object's value:
 * numbers, booleans and enums right, everything else left (TableViewGenerator.ComputeDefaultAlignment).
 */
function propertyColumns(first: PsObject, names: string[] | undefined, limit: number): Column[] {
  const list = names ?? first.names().slice(0, limit);
  return list.map((n) => {
    const name = first.canonicalName(n) ?? n;
    const v = first.get(name) ?? null;
    return prop(name, name, typeof v === 'number' || typeof v === 'boolean' || (v !== null && first.isEnum(name)) ? 'right' : 'left');
  });
}

// ───────────────────────── lists ─────────────────────────

/**
 * ListWriter: labels padded to the longest (cut if wider than the screen allows), " : ", the
 * value wrapped in the remaining width with continuation lines indented under the value.
 */
function listLines(labels: string[], values: string[], columns: number): string[] {
  if (labels.length === 0 || columns - 3 - 1 - 1 < 0) return [];
  const maxLabel = Math.min(Math.max(...labels.map(cells)), columns - 3 - 1);
  const heads = labels.map((l) => (cells(l) > maxLabel ? l.slice(0, maxLabel) : l + pad(maxLabel - cells(l))) + ' : ');
  const indent = pad(maxLabel + 3);
  const field = columns - (maxLabel + 3);
  const out: string[] = [];
  labels.forEach((_, k) => {
    splitLines(values[k] ?? '').forEach((line, i) => {
      wrapLines(line, field, field).forEach((part, j) => out.push((i === 0 && j === 0 ? heads[k]! : indent) + part));
    });
  });
  return out;
}

function objectListLines(o: PsValue, names: string[] | undefined, columns: number): string[] {
  if (o instanceof PsObject) {
    const labels = (names ?? o.names()).map((n) => o.canonicalName(n) ?? n);
    return listLines(labels, labels.map((n) => displayValue(o.get(n) ?? null)), columns);
  }
  if (o instanceof PsHashtable) {
    // each DictionaryEntry is an entry of its own, separated by a blank line
    return o.keys().flatMap((k, i) => [...(i > 0 ? [''] : []), ...listLines(['Name', 'Value'], [k, displayValue(o.get(k) ?? null)], columns)]);
  }
  return [];
}

// ───────────────────────── Out-Default ─────────────────────────

type Group =
  | { shape: 'table'; cols: Column[]; declared: boolean; autoSize: boolean; accepts: (o: PsValue) => boolean; events: TableEvent[]; groupBy?: (o: PsObject) => string; groupKey?: string }
  | { shape: 'list'; names: string[] | undefined; accepts: (o: PsValue) => boolean; lines: string[] };

/**
 * The console's formatting state across a whole script (OutCommandInner): the first object that is
 * not a scalar opens a table or list; objects its view applies to join it; scalars are written in
 * place; other objects are written in place as lists (out-of-band). The group is closed (its
 * trailing blank lines written) at the end, or when pre-formatted output (Format-Table/List) arrives.
 * Table widths are computed when the group closes: 5.1 sizes a table without declared widths from
 * the objects that arrive in its first 300 ms, and a script's objects all arrive at once.
 */
export class OutDefaultWriter {
  private group: Group | null = null;
  private out: string[] = [];

  constructor(private readonly width: number = DEFAULT_CONSOLE_WIDTH) {}

  /** Usable columns: ConsoleLineOutput.ColumnNumber is the buffer width − 1 (_forceNewLine). */
  private get columns(): number {
    return Math.max(this.width - 1, 1);
  }

  /** Objects reaching the end of a pipeline; collections are unrolled one level. */
  write(items: PsValue[]): string {
    for (const item of items) {
      if (Array.isArray(item)) for (const x of item) this.one(x);
      else this.one(item);
    }
    return this.drain();
  }

  /** Text already formatted (Format-Table/Format-List output, errors, warnings): closes the open group first. */
  writeFormatted(text: string): string {
    this.close();
    this.out.push(text);
    return this.drain();
  }

  /** End of the script's output: close the open group. */
  end(): string {
    this.close();
    return this.drain();
  }

  private drain(): string {
    const s = this.out.join('');
    this.out = [];
    return s;
  }

  private emit(lines: string[]): void {
    for (const l of lines) this.out.push(l + '\n');
  }

  /** Write lines in place: buffered inside an open table (its widths are not known yet). */
  private inPlace(lines: string[]): void {
    if (lines.length === 0) return;
    const g = this.group;
    if (g?.shape === 'table') g.events.push({ kind: 'raw', lines });
    else if (g?.shape === 'list') g.lines.push(...lines);
    else this.emit(lines);
  }

  private one(o: PsValue): void {
    if (o === null) return;
    if (!this.group && !printsAsText(o)) this.open(o);
    else this.place(o);
  }

  /** `o` while a group is open (or a scalar): text in place, a row of the group, or out of band. */
  private place(o: PsValue): void {
    const g = this.group;
    if (printsAsText(o)) this.inPlace(scalarLines(o));
    else if (g?.accepts(o) && g.shape === 'table' && g.groupBy && o instanceof PsObject && g.groupBy(o) !== g.groupKey) {
      // a new group of the same view: GroupEnd, then GroupStart with the new label
      this.renderGroup(g);
      this.emit(['']);
      this.group = { ...g, events: [], groupKey: g.groupBy(o) };
      this.emit(['', `    Directory: ${g.groupBy(o)}`, '', '']);
      this.add(this.group, o);
    } else if (g?.accepts(o)) this.add(g, o);
    // out of band: an empty line, the object as a list, an empty line (ProcessOutOfBandPayload)
    else this.inPlace(['', ...objectListLines(o, undefined, this.columns), '']);
  }

  private add(g: Group, o: PsValue): void {
    if (g.shape === 'table') {
      if (o instanceof PsHashtable) for (const k of o.keys()) g.events.push({ kind: 'row', cells: g.cols.map((c) => c.cell([k, o.get(k) ?? null])) });
      else g.events.push({ kind: 'row', cells: g.cols.map((c) => c.cell(o)) });
    } else {
      g.lines.push(...objectListLines(o, g.names, this.columns), '');
    }
  }

  /** Start a formatting sequence for `o` (FormatViewManager: the view of its type, else by property count). */
  private open(o: PsValue): void {
    if (!(o instanceof PsHashtable || o instanceof PsObject)) return;
    // no view: up to 4 properties → table, 5 or more → list
    const g: Group =
      o instanceof PsObject && !viewFor(o) && o.names().length > 4 ? { shape: 'list', names: undefined, accepts: sameType(o), lines: [] } : tableGroup(o, false);
    this.startGroup(g);
    if (g.shape === 'table' && g.groupBy && o instanceof PsObject) {
      // GroupStart of a view grouped by a label: the label between empty lines
      g.groupKey = g.groupBy(o);
      this.emit(['', `    Directory: ${g.groupKey}`, '', '']);
    }
    this.add(g, o);
  }

  /** @internal used by formatOnConsole: a group with given columns. */
  startGroup(g: Group): void {
    this.close();
    this.group = g;
    // FormatStart writes an empty line; a list's GroupStart another one
    this.emit(g.shape === 'list' ? ['', ''] : ['']);
  }

  /** @internal */
  addTo(o: PsValue): void {
    if (o === null || !this.group) return;
    this.place(o);
  }

  private close(): void {
    const g = this.group;
    if (!g) return;
    this.group = null;
    this.renderGroup(g);
    // GroupEnd and FormatEnd each write an empty line
    this.emit(['', '']);
  }

  private renderGroup(g: Group): void {
    if (g.shape === 'table') {
      const declaredFirst = (g.cols[0]?.width ?? 0) !== 0;
      let widths: number[];
      if (g.autoSize || !(g.declared && declaredFirst)) {
        // OutCommandInner.ProcessCachedGroupOnTable: label and every cell's length
        widths = g.cols.map((c, k) => {
          let w = cells(c.label);
          for (const ev of g.events) if (ev.kind === 'row') w = Math.max(w, cells(ev.cells[k] ?? ''));
          return w;
        });
      } else {
        widths = g.cols.map((c) => c.width);
      }
      widths = fitColumns(widths, this.columns);
      this.emit(renderTable(g.cols, widths, g.events));
    } else {
      this.emit(g.lines);
    }
  }
}

const sameView =
  (view: ViewDef) =>
  (o: PsValue): boolean =>
    o instanceof PsObject && o.typeNames.some((t) => t.toLowerCase() === view.type.toLowerCase());

/** Objects without a view: the group takes objects of the same (most derived) type name. */
const sameType =
  (first: PsObject) =>
  (o: PsValue): boolean =>
    o instanceof PsObject && o.typeName.toLowerCase() === first.typeName.toLowerCase() && !viewFor(o);

/** A table for objects like `first`: the hashtable view, its type's view, else its properties (at most 10). */
function tableGroup(first: PsObject | PsHashtable, autoSize: boolean): Group {
  if (first instanceof PsHashtable) return { shape: 'table', cols: HASHTABLE_COLUMNS, declared: true, autoSize, accepts: (o) => o instanceof PsHashtable, events: [] };
  const view = viewFor(first);
  return view
    ? { shape: 'table', cols: view.columns, declared: view.declared ?? false, autoSize, accepts: sameView(view), events: [], ...(view.groupBy ? { groupBy: view.groupBy } : {}) }
    : { shape: 'table', cols: propertyColumns(first, undefined, 10), declared: false, autoSize, accepts: sameType(first), events: [] };
}

/** The type of what Format-Table / Format-List return: text that goes to the console as it is. */
export const FORMAT_OUTPUT = 'hvsim.FormatOutput';

/** Out-Default's text for one item: Format-* output as it is, everything else through the default views. */
export function writeItem(w: OutDefaultWriter, v: PsValue): string {
  return v instanceof PsObject && v.typeName === FORMAT_OUTPUT ? w.writeFormatted(String(v.get('Text') ?? '')) : w.write([v]);
}

/** Out-Default: what the console prints for `items` reaching the end of a pipeline (one pipeline). */
export function formatDefault(items: PsValue[], width: number = DEFAULT_CONSOLE_WIDTH): string {
  const w = new OutDefaultWriter(width);
  return items.map((v) => writeItem(w, v)).join('') + w.end();
}

/**
 * Format-Table/Format-List piped on to the console: what comes before the first object as
 * Out-Default writes it, then everything from the first object in the group `groupFor` opens.
 */
function formatOnConsole(items: PsValue[], width: number, groupFor: (first: PsObject | PsHashtable) => Group): string {
  const w = new OutDefaultWriter(width);
  const flat = items.flatMap((x) => (Array.isArray(x) ? x : [x]));
  const idx = flat.findIndex((x) => x instanceof PsObject || x instanceof PsHashtable);
  if (idx < 0) return w.write(flat) + w.end();
  const s = w.write(flat.slice(0, idx));
  w.startGroup(groupFor(flat[idx] as PsObject | PsHashtable));
  for (const x of flat.slice(idx)) w.addTo(x);
  return s + w.end();
}

/** Format-Table (piped on to the console). */
export function formatTableOnConsole(items: PsValue[], opts: TableOptions = {}): string {
  const autoSize = !!opts.autoSize;
  return formatOnConsole(items, opts.width ?? DEFAULT_CONSOLE_WIDTH, (first) =>
    opts.properties && opts.properties.length > 0 && first instanceof PsObject
      ? // explicit -Property: every object is a row
        { shape: 'table', cols: propertyColumns(first, opts.properties, Infinity), declared: false, autoSize, accepts: (o) => o instanceof PsObject, events: [] }
      : tableGroup(first, autoSize),
  );
}

/** Format-List (piped on to the console). */
export function formatListOnConsole(items: PsValue[], opts: { properties?: string[]; width?: number } = {}): string {
  const names = opts.properties && opts.properties.length > 0 ? opts.properties : undefined;
  return formatOnConsole(items, opts.width ?? DEFAULT_CONSOLE_WIDTH, () => ({ shape: 'list', names, accepts: (o) => o instanceof PsObject || o instanceof PsHashtable, lines: [] }));
}

// ───────────────────────── errors and warnings ─────────────────────────

/** ErrorCategoryInfo.Ellipsize (5.1): names over 40 characters become first 15 + "..." + last 15. */
function ellipsize(s: string): string {
  return s.length <= 40 ? s : s.slice(0, 15) + ELLIPSIS + s.slice(s.length - 15);
}

/**
 * InvocationInfo.PositionMessage (PositionUtilities.VerboseMessage in 5.1):
 * "At <file or 'line'>:<line> char:<column>", "+ <source line>", "+ <blanks>~~~~". Tabs count as
 * 4 blanks; a line over 69 characters is cut around the extent (up to 12 characters before it,
 * then as much after it as fits) with "... " / " ..." marking the cuts.
 */
export function positionMessage(file: string | undefined, line: number, column: number, lineText: string, extentLength: number): string {
  let text = lineText.replace(/\s+$/, '');
  let before = Math.max(column - 1, 0);
  let len = Math.max(extentLength, 0);
  let body = '';
  if (text !== '') {
    if (text.includes('\t')) {
      const a = text.slice(0, before).replace(/\t/g, '    ');
      const b = text.slice(before, before + len).replace(/\t/g, '    ');
      text = a + b + text.slice(before + len).replace(/\t/g, '    ');
      before = a.length;
      len = b.length;
    }
    const MAX = 69;
    let cutStart = false;
    let cutEnd = false;
    if (text.length > MAX) {
      const lead = Math.min(before, 12);
      const after = text.length - len - before;
      let shownLead = lead;
      let shownAfter = Math.min(after, 8);
      let shown = shownLead + len + shownAfter;
      if (shown >= MAX) {
        if (shownLead + len >= MAX) len = MAX - shownLead;
        cutEnd = true;
      } else {
        const moreLead = before - shownLead;
        if (moreLead > 0) {
          shownLead += Math.min(moreLead, MAX - shown);
          shown = shownLead + len + shownAfter;
        }
        if (shown < MAX && after > 0) shownAfter += Math.min(after, MAX - shown);
        cutEnd = shownAfter < after;
      }
      cutStart = shownLead < before;
      text = text.substr(Math.max(before - shownLead, 0), MAX);
      before = Math.min(before, shownLead);
      len = Math.min(len, MAX - before);
    }
    body =
      (cutStart ? '... ' : '') + text + (cutEnd ? ' ...' : '') + '\n' + '+ ' + pad(before + (cutStart ? 4 : 0)) + '~'.repeat(len > 0 ? len : 1);
  }
  return `At ${file && file !== '' ? file : 'line'}:${line} char:${column}\n+ ${body}`;
}

/**
 * An ErrorRecord as 5.1's console prints it (ErrorView NormalView, the ErrorInstance view script):
 *   "<command> : <message>", the position message, then "    + CategoryInfo          : …" and
 *   "    + FullyQualifiedErrorId : …" (each cut into pieces of buffer width − 6 characters, the pieces
 *   indented by 4 and run together), and a line holding one blank. The whole text is then wrapped
 *   at word boundaries to buffer width − 1 by the console's ComplexWriter.
 * A ParserError without a command carries its position inside the message (ParseException),
 * so the position comes first there. `line` ≤ 0 means no position (errors without a script extent).
 */
export function formatError(rec: PsErrorRecord & ErrorRecordExtras): string {
  const bufferWidth = rec.width ?? DEFAULT_CONSOLE_WIDTH;
  const hasPos = rec.line > 0;
  const pos = hasPos ? positionMessage(rec.scriptPath, rec.line, rec.column, rec.lineText, rec.extentLength) : '';
  const parser = rec.command === null && rec.category === 'ParserError';
  const message = parser && hasPos ? `${pos}\n${rec.message}` : rec.message;
  let posmsg = !parser && hasPos ? '\n' + pos : '';
  const chunk = bufferWidth - 4 - 2;
  const indented = (s: string): string => {
    // $indentString -split "(.{$width})" | ? { $_ } | % { " " * 4 + $_ }, concatenated
    const parts: string[] = [];
    for (let i = 0; i < s.length; i += chunk) parts.push(s.slice(i, i + chunk));
    return parts.map((p) => '    ' + p).join('');
  };
  const activity = rec.activity ?? rec.command ?? '';
  const categoryInfo = `${rec.category}: (${ellipsize(rec.targetName)}:${rec.targetType ?? ''}) [${activity}], ${rec.reason}`;
  posmsg += '\n' + indented('+ CategoryInfo          : ' + categoryInfo);
  posmsg += '\n' + indented('+ FullyQualifiedErrorId : ' + rec.fullyQualifiedErrorId);
  const text = (rec.command ? `${rec.command} : ` : '') + message + posmsg + '\n ';
  const columns = Math.max(bufferWidth - 1, 1);
  return wrapLines(text, columns, columns).map((l) => l + '\n').join('');
}

/** Write-Warning on the console: "WARNING: " before the text (ConsoleHostUserInterface.WriteWarningLine). */
export function formatWarning(text: string): string {
  return splitLines(`WARNING: ${text}`).map((l) => l + '\n').join('');
}
