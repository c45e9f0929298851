/**
 * The Windows facilities of the simulated host a script touches besides Hyper-V, kept in the
 * state directory: its files (src/host/files.ts), an outbox for Send-MailMessage and
 * SmtpClient.Send (<state>/outbox/NNNNNN.eml), an event log (<state>/eventlog.json), and the
 * lines Read-Host reads (hvsim run --input FILE). Also the variables that describe the running
 * script ($PSScriptRoot, $PSCommandPath, $MyInvocation, $PWD). docs/powershell.md, "Windows
 * facilities".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { SimulatedFileSystem, writeFileAtomic } from '../host/files.js';
import { registerTextForm } from './clr.js';
import { formatDate } from './dotnet.js';
import type { MailRecord } from './statics.js';
import { PsObject, type PsValue } from './value.js';

/** The script being run: its real path, null for stdin or a script given as text. */
export interface ScriptInfo {
  path: string | null;
}

const PATH_INFO = 'System.Management.Automation.PathInfo';
registerTextForm(PATH_INFO, (o) => String(o.get('Path') ?? ''));

/** The script file's name ('' for stdin). */
export function scriptName(script: ScriptInfo): string {
  return script.path === null ? '' : path.basename(script.path);
}

/** $MyInvocation inside a function: MyCommand is the function. */
export function functionInvocation(name: string): PsObject {
  return new PsObject('System.Management.Automation.InvocationInfo', [
    ['MyCommand', new PsObject('System.Management.Automation.FunctionInfo', [['Name', name], ['CommandType', 'Function'], ['Source', ''], ['Definition', '']])],
    ['InvocationName', name],
  ]);
}

/** $PSScriptRoot, $PSCommandPath, $MyInvocation, $PWD (the real folders: relative paths read the user's files). */
export function scriptVariables(key: string, script: ScriptInfo, location: string | null = null): PsValue | undefined {
  const file = script.path === null ? null : path.resolve(script.path);
  switch (key) {
    case 'psscriptroot':
      return file === null ? '' : path.dirname(file);
    case 'pscommandpath':
      return file ?? '';
    case 'myinvocation':
      return new PsObject('System.Management.Automation.InvocationInfo', [
        [
          'MyCommand',
          new PsObject('System.Management.Automation.ExternalScriptInfo', [
            ['Name', file === null ? '' : path.basename(file)],
            ['Path', file ?? ''],
            ['Definition', file ?? ''],
            ['Source', file ?? ''],
            ['CommandType', 'ExternalScript'],
          ]),
        ],
        ['ScriptName', ''],
        ['PSScriptRoot', file === null ? '' : path.dirname(file)],
        ['PSCommandPath', file ?? ''],
        ['InvocationName', file ?? ''],
        ['Line', ''],
        ['BoundParameters', null],
        ['UnboundArguments', []],
      ]);
    case 'pwd':
      return pathInfo(location ?? process.cwd());
    default:
      return undefined;
  }
}

/** A PathInfo ($PWD, Get-Location, Resolve-Path): its text is the path. */
export function pathInfo(p: string): PsObject {
  return new PsObject(PATH_INFO, [
    ['Drive', /^[A-Za-z]:/.test(p) ? p[0]!.toUpperCase() : null],
    ['Provider', 'Microsoft.PowerShell.Core\\FileSystem'],
    ['ProviderPath', p],
    ['Path', p],
  ]);
}

/** One entry of the simulated event log. */
export interface EventEntry {
  logName: string;
  source: string;
  eventId: number;
  entryType: string;
  message: string;
  category: number;
  /** ms since the epoch, the simulated clock's. */
  timeGenerated: number;
  index: number;
}

interface EventLogFile {
  /** Source name → log name (New-EventLog). */
  sources: Record<string, string>;
  entries: EventEntry[];
}

export const OUTBOX_DIR = 'outbox';
export const EVENT_LOG_FILE = 'eventlog.json';

/** RFC 5322 date of the simulated clock, as an SMTP client stamps it. */
function mailDate(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const hhmm = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return `${formatDate(d, 'ddd, d MMM yyyy HH:mm:ss')!} ${sign}${hhmm}`;
}

/** The facilities of a simulated host whose state directory is `stateRoot`. */
export class Facilities {
  readonly files: SimulatedFileSystem;
  private inputPos = 0;
  /** The transcript being written (Start-Transcript), a drive path; null when none. */
  transcript: string | null = null;
  /** Set-Location: a drive path of the simulated host or a real folder; null: the real working folder. */
  location: string | null = null;
  /** Push-Location's stack. */
  readonly locations: Array<string | null> = [];

  /** `input`: the lines Read-Host reads (hvsim run --input FILE); null when there is none. */
  constructor(
    readonly stateRoot: string,
    private readonly input: string[] | null = null,
  ) {
    this.files = SimulatedFileSystem.forState(stateRoot);
  }

  /** Console output while a transcript runs goes into it too (CRLF line ends, as on Windows). */
  transcribe(text: string): void {
    if (this.transcript === null || text === '') return;
    this.files.writeFile(this.transcript, text.replace(/\r?\n/g, '\r\n'), { append: true });
  }

  /** The next line for Read-Host; null when there is no input file or it is used up. */
  readLine(): string | null {
    if (this.input === null || this.inputPos >= this.input.length) return null;
    return this.input[this.inputPos++]!;
  }

  get hasInput(): boolean {
    return this.input !== null;
  }

  /** Deliver a mail into the outbox: one .eml file per message, numbered in order. Returns the file. */
  async sendMail(m: MailRecord, nowMs: number): Promise<string> {
    if (m.to.length === 0) throw new HvsimError('INVALID_ARGUMENT', 'A recipient must be specified.');
    const dir = path.join(this.stateRoot, OUTBOX_DIR);
    fs.mkdirSync(dir, { recursive: true });
    const n = fs.readdirSync(dir).filter((f) => /^\d{6}\.eml$/.test(f)).length + 1;
    const lines = [
      `Date: ${mailDate(nowMs)}`,
      `From: ${m.from}`,
      `To: ${m.to.join(', ')}`,
      ...(m.cc.length ? [`Cc: ${m.cc.join(', ')}`] : []),
      ...(m.bcc.length ? [`Bcc: ${m.bcc.join(', ')}`] : []),
      `Subject: ${m.subject}`,
      `X-Hvsim-Smtp-Server: ${m.smtpServer}:${m.port}`,
      ...m.attachments.map((a) => `X-Hvsim-Attachment: ${a}`),
      `Content-Type: ${m.bodyAsHtml ? 'text/html' : 'text/plain'}; charset=utf-8`,
      '',
      m.body,
    ];
    const file = path.join(dir, `${String(n).padStart(6, '0')}.eml`);
    writeFileAtomic(file, lines.join('\r\n') + '\r\n');
    return file;
  }

  /** The messages in the outbox, oldest first: file name and text. */
  outbox(): Array<{ name: string; text: string }> {
    const dir = path.join(this.stateRoot, OUTBOX_DIR);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => /^\d{6}\.eml$/.test(f))
      .sort()
      .map((f) => ({ name: f, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
  }

  private writeEventLog(log: EventLogFile): void {
    fs.mkdirSync(this.stateRoot, { recursive: true });
    writeFileAtomic(path.join(this.stateRoot, EVENT_LOG_FILE), JSON.stringify(log, null, 1) + '\n');
  }

  private readEventLog(): EventLogFile {
    try {
      const v = JSON.parse(fs.readFileSync(path.join(this.stateRoot, EVENT_LOG_FILE), 'utf8')) as EventLogFile;
      if (typeof v.sources === 'object' && Array.isArray(v.entries)) return v;
    } catch {
      // none yet
    }
    return { sources: {}, entries: [] };
  }

  /** The log a source writes to, or undefined when no New-EventLog registered it. The built-in logs' own sources are known. */
  eventSource(source: string): string | undefined {
    const own = this.readEventLog().sources;
    const hit = Object.keys(own).find((k) => k.toLowerCase() === source.toLowerCase());
    return hit !== undefined ? own[hit] : undefined;
  }

  /** New-EventLog: register a source for a log (false when the source exists already). */
  newEventSource(logName: string, source: string): boolean {
    const log = this.readEventLog();
    if (Object.keys(log.sources).some((k) => k.toLowerCase() === source.toLowerCase())) return false;
    log.sources[source] = logName;
    this.writeEventLog(log);
    return true;
  }

  writeEvent(e: Omit<EventEntry, 'index'>): EventEntry {
    const log = this.readEventLog();
    const entry = { ...e, index: log.entries.filter((x) => x.logName.toLowerCase() === e.logName.toLowerCase()).length + 1 };
    log.entries.push(entry);
    this.writeEventLog(log);
    return entry;
  }

  /** Entries of a log, newest first (Get-EventLog's order). */
  events(logName: string): EventEntry[] {
    return this.readEventLog()
      .entries.filter((x) => x.logName.toLowerCase() === logName.toLowerCase())
      .reverse();
  }

  /** Whether a log exists: the classic logs always do, others once a source was registered for them. */
  logExists(logName: string): boolean {
    const l = logName.toLowerCase();
    return ['application', 'system', 'security', 'windows powershell'].includes(l) || Object.values(this.readEventLog().sources).some((x) => x.toLowerCase() === l);
  }
}
