/**
 * Rendering for people (Format-Table/Format-List-like text) and programs (--json). Unlike the
 * interpreter's console output (src/powershell/format.ts: Windows PowerShell 5.1's rules, fitted
 * to the console width), these tables take their whole width and show values as JavaScript
 * writes them; the columns of Hyper-V objects come from src/powershell/views.ts for both.
 */
import columnify from 'columnify';
import { errnoCode, fsError } from '../vhd/io/fs-error.js';
import { writeAllSync } from './stream.js';

export type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return `{${v.map(cell).join(', ')}}`;
  return String(v);
}

/** A table like PowerShell's Format-Table: headings, a dashed rule, one row per object. */
export function tableOfRows(rows: Row[], columns?: string[]): string {
  if (rows.length === 0) return '';
  const cols = columns ?? Object.keys(rows[0]!);
  const data: Array<Record<string, string>> = [];
  data.push(Object.fromEntries(cols.map((c) => [c, '-'.repeat(c.length)])));
  for (const r of rows) data.push(Object.fromEntries(cols.map((c) => [c, cell(r[c])])));
  return columnify(data, { columns: cols, columnSplitter: ' ', preserveNewLines: false, headingTransform: (h: string) => h }) + '\n';
}

/** A list like Format-List: "Name : value" per property, objects separated by a blank line. */
export function listOfRows(rows: Row[]): string {
  return rows
    .map((r) => {
      const keys = Object.keys(r);
      const w = Math.max(...keys.map((k) => k.length));
      return keys.map((k) => `${k.padEnd(w)} : ${cell(r[k])}`).join('\n');
    })
    .join('\n\n') + '\n';
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/*
 * Standard output and error are written through their descriptors, whole and synchronously, never
 * through process.stdout/stderr: creating those streams loads Node's stream modules, ~10 ms of every
 * start (bench/README.md, "CLI start-up"). What the streams' error handlers did is kept: a reader
 * that closed the pipe (EPIPE) silences the rest of the output and the command goes on; another
 * failure to write standard output is said once on standard error, and the exit status is 1.
 */
const silenced = new Set<number>();

function writeStd(fd: 1 | 2, data: string | Uint8Array): void {
  if (silenced.has(fd) || data.length === 0) return;
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  } catch (e) {
    silenced.add(fd);
    if (errnoCode(e) === 'EPIPE') return;
    process.exitCode = 1;
    if (fd === 1) err(`hvsim: ${fsError(e, 'standard output', 'write').message}\n`);
  }
}

/** Write to standard output. */
export function out(data: string | Uint8Array): void {
  writeStd(1, data);
}

/** Write to standard error. */
export function err(text: string): void {
  writeStd(2, text);
}
