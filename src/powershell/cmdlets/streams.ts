/**
 * The verbose and debug streams and Out-String (issue 17, part 10). Write-Verbose / Write-Debug
 * print "VERBOSE: …" / "DEBUG: …" when -Verbose / -Debug is given or $VerbosePreference /
 * $DebugPreference is Continue (or Inquire, which PowerShell 7 treats as Continue for these);
 * the console host writes them with its other host output (stdout when redirected), as warnings.
 */
import type { CmdletContext, CmdletDef } from '../cmdlet.js';
import { toStr } from '../convert.js';
import { formatDefault } from '../format.js';
import type { PsValue } from '../value.js';

const UTILITY = 'Microsoft.PowerShell.Commands';

function shows(ctx: CmdletContext, explicit: PsValue | undefined, preference: string): boolean {
  if (explicit !== undefined) return explicit === true;
  const p = toStr(ctx.variable?.(preference) ?? 'SilentlyContinue').toLowerCase();
  return p === 'continue' || p === 'inquire';
}

const writeVerbose: CmdletDef = {
  name: 'Write-Verbose',
  className: `${UTILITY}.WriteVerboseCommand`,
  params: [{ name: 'Message', aliases: ['Msg'], type: 'string', position: 0, mandatory: true, pipeline: true }],
  async run(ctx, b) {
    if (shows(ctx, b.get('Verbose'), 'verbosepreference')) ctx.writeHost(`VERBOSE: ${b.str('Message')}\n`);
  },
};

const writeDebug: CmdletDef = {
  name: 'Write-Debug',
  className: `${UTILITY}.WriteDebugCommand`,
  params: [{ name: 'Message', aliases: ['Msg'], type: 'string', position: 0, mandatory: true, pipeline: true }],
  async run(ctx, b) {
    if (shows(ctx, b.get('Debug'), 'debugpreference')) ctx.writeHost(`DEBUG: ${b.str('Message')}\n`);
  },
};

/** Out-String: the input as Out-Default would print it, as one string (-Stream: one string per line). */
const outString: CmdletDef = {
  name: 'Out-String',
  className: `${UTILITY}.OutStringCommand`,
  collect: true,
  params: [
    { name: 'InputObject', type: 'object', pipeline: true },
    { name: 'Stream', type: 'switch' },
    { name: 'Width', type: 'int', min: 2 },
  ],
  async run(ctx, b, input) {
    const items = b.has('InputObject') ? [b.get('InputObject')!] : input;
    if (items.length === 0) return;
    const text = formatDefault(items, b.has('Width') ? Number(b.get('Width')) : ctx.width);
    if (b.flag('Stream')) for (const l of text.replace(/\n$/, '').split('\n')) ctx.emit(l);
    else ctx.emit(text);
  },
};

export const STREAM_CMDLETS: CmdletDef[] = [writeVerbose, writeDebug, outString];

/** Get-Date -UFormat: the Unix strftime-style specifiers PowerShell documents (en-US names). */
export function uformat(d: Date, format: string): string {
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const two = (n: number): string => String(n).padStart(2, '0');
  const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  const start = new Date(d.getFullYear(), 0, 1);
  const doy = Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(start.getFullYear(), 0, 1)) / 86_400_000) + 1;
  const map: Record<string, () => string> = {
    Y: () => String(d.getFullYear()), y: () => two(d.getFullYear() % 100), m: () => two(d.getMonth() + 1), d: () => two(d.getDate()),
    e: () => String(d.getDate()).padStart(2, ' '), H: () => two(d.getHours()), I: () => two(h12), M: () => two(d.getMinutes()),
    S: () => two(d.getSeconds()), p: () => (d.getHours() < 12 ? 'AM' : 'PM'), A: () => days[d.getDay()]!, a: () => days[d.getDay()]!.slice(0, 3),
    B: () => months[d.getMonth()]!, b: () => months[d.getMonth()]!.slice(0, 3), h: () => months[d.getMonth()]!.slice(0, 3),
    j: () => String(doy).padStart(3, '0'), u: () => String(d.getDay() === 0 ? 7 : d.getDay()), w: () => String(d.getDay()),
    D: () => `${two(d.getMonth() + 1)}/${two(d.getDate())}/${two(d.getFullYear() % 100)}`, T: () => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`,
    R: () => `${two(d.getHours())}:${two(d.getMinutes())}`, F: () => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`,
    n: () => '\n', t: () => '\t', '%': () => '%',
  };
  return format.replace(/%(.)/g, (m, c: string) => (map[c] ? map[c]() : m));
}
