/**
 * PowerShell jobs in hvsim run (about_Jobs): the session's job table, job objects as Get-Job shows
 * them, and the simulated-time model of docs/powershell.md "Jobs" and docs/simulator.md
 * "Background jobs": a job's work runs when the job starts, from the script's instant, and the
 * clock then returns to that instant (Host.inBackground), so jobs started together overlap; the job
 * is Running until the clock reaches the instant its work ended, and Wait-Job moves the clock there.
 */
import { randomUUID } from 'node:crypto';
import type { Host } from '../host/host.js';
import { toStr } from './convert.js';
import { PsHashtable, PsObject, isScriptBlock, type PsErrorRecord, type PsScriptBlock, type PsValue } from './value.js';

/** What Start-Job and -AsJob return (PowerShell 7: Start-Job's job is a PSRemotingJob, checked with pwsh). */
export const JOB_TYPE = 'System.Management.Automation.PSRemotingJob';
const JOB_TYPES = [JOB_TYPE, 'System.Management.Automation.Job', 'System.Object'];

/**
 * Start-Job starts a new pwsh process before the script block runs; hvsim charges it this much
 * simulated time (its own choice: real start-up takes about a second, and varies).
 */
export const BACKGROUND_JOB_START_MS = 1000;

export type JobStateName = 'NotStarted' | 'Running' | 'Completed' | 'Failed' | 'Stopped';

/** What a job's work wrote, kept until Receive-Job takes it. */
export interface JobResults {
  output: PsValue[];
  errors: PsErrorRecord[];
  /** Host output (Write-Host, warnings, verbose), already formatted as the console prints it. */
  hostText: string[];
  /** It ended with a terminating error. */
  failed: boolean;
  /**
   * The terminating error that ended it (JobStateInfo.Reason): Receive-Job writes it after the
   * others, but it does not count in HasMoreData (a job that only threw has none; checked with pwsh).
   */
  reason: PsErrorRecord | null;
}

export const emptyResults = (): JobResults => ({ output: [], errors: [], hostText: [], failed: false, reason: null });

export class Job {
  readonly object: PsObject;
  readonly instanceId = randomUUID();
  /** Results not yet received. */
  pending: JobResults = emptyResults();
  failed = false;
  /** When Stop-Job stopped it while it was running. */
  stoppedAt: number | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly typeName: string,
    readonly command: string,
    readonly begin: number,
    /** The simulated instant its work ended. */
    public end: number,
  ) {
    this.object = new PsObject(JOB_TYPES, [], this);
  }

  state(now: number): JobStateName {
    if (this.stoppedAt !== null) return 'Stopped';
    if (now < this.end) return 'Running';
    return this.failed ? 'Failed' : 'Completed';
  }

  finished(now: number): boolean {
    return this.state(now) !== 'Running';
  }

  /** Results reach the caller when the job has ended (hvsim does not stream a running job's output). */
  hasMoreData(now: number): boolean {
    const p = this.pending;
    return this.finished(now) && (p.output.length > 0 || p.errors.length > 0 || p.hostText.length > 0);
  }

  /** The results, forgotten unless `keep` (Receive-Job -Keep). */
  take(keep: boolean): JobResults {
    const r = this.pending;
    if (!keep) this.pending = { ...emptyResults(), failed: r.failed };
    return r;
  }

  /** Refresh the object's properties for the instant `now`, in the order pwsh's `Format-List *` shows a job's. */
  sync(now: number): void {
    const o = this.object;
    const state = this.state(now);
    o.set('State', state);
    o.set('HasMoreData', this.hasMoreData(now));
    o.set('StatusMessage', '');
    o.set('Location', 'localhost');
    o.set('Command', this.command);
    o.set('JobStateInfo', state);
    o.set('InstanceId', this.instanceId);
    o.set('Id', this.id);
    o.set('Name', this.name);
    o.set('PSBeginTime', new Date(this.begin));
    o.set('PSEndTime', state === 'Running' ? null : new Date(this.stoppedAt ?? this.end));
    o.set('PSJobTypeName', this.typeName);
  }
}

/** What the job cmdlets reach through their context (the interpreter provides it). */
export interface JobControl {
  readonly table: JobTable;
  /** Start-Job: the script block in a runspace of its own, with its arguments. */
  startScript(sb: PsScriptBlock, args: PsValue[], name: string | undefined): Promise<Job>;
}

/** The job that a job object stands for (its PsObject's source). */
export function jobOf(v: PsValue): Job | undefined {
  return v instanceof PsObject && v.source instanceof Job ? v.source : undefined;
}

/** A session's jobs (Get-Job's list). */
export class JobTable {
  private readonly jobs: Job[] = [];
  /** Ids: a job and its child job take one each (Start-Job's first job is 1, the next 3). */
  private nextId = 1;

  constructor(private readonly host: Host) {}

  get size(): number {
    return this.jobs.length;
  }

  list(): Job[] {
    return [...this.jobs];
  }

  /**
   * Start a job: `work` runs now, in the background on a simulated clock (Host.inBackground), its
   * results kept in the job. `startupMs` of simulated time pass first (a new process).
   */
  async start(typeName: string, name: string | undefined, command: string, startupMs: number, work: () => Promise<JobResults>): Promise<Job> {
    const id = this.nextId;
    this.nextId += 2;
    const begin = await this.host.now();
    const body = async (): Promise<JobResults> => {
      if (startupMs > 0) await this.host.sleep(startupMs);
      return work();
    };
    let results: JobResults;
    let end: number;
    if (this.host.inBackground) ({ value: results, end } = await this.host.inBackground(body));
    else {
      results = await body();
      end = await this.host.now();
    }
    const job = new Job(id, name ?? `Job${id}`, typeName, command, begin, end);
    job.pending = results;
    job.failed = results.failed;
    this.jobs.push(job);
    job.sync(await this.host.now());
    return job;
  }

  remove(job: Job): void {
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
  }

  /** Refresh every job object for the host's clock (their State follows the clock). */
  async sync(): Promise<void> {
    if (this.jobs.length === 0) return;
    const now = await this.host.now();
    for (const j of this.jobs) j.sync(now);
  }

  /** Let the clock run to `t` (Wait-Job): background merges due by then finish. */
  async waitUntil(t: number): Promise<void> {
    const now = await this.host.now();
    if (t > now) await this.host.sleep(t - now);
    await this.sync();
  }

  /**
   * The end of the run: the console that started the jobs stays open while they run, so the
   * clock moves on to the last job's end (a later command sees the host after them).
   */
  async settle(): Promise<void> {
    const last = Math.max(...this.jobs.map((j) => (j.stoppedAt === null ? j.end : 0)), 0);
    await this.waitUntil(last);
  }
}

/**
 * Start-Job's output comes back from another process serialized (about_Jobs; CliXml): strings,
 * numbers, booleans and dates as they are, hashtables as hashtables, other objects as property
 * bags typed Deserialized.<type> with PSComputerName, RunspaceId and PSShowComputerName added
 * (RunspaceId shows; checked with pwsh). Nested objects below the first level become their text
 * (serialization depth 1).
 */
export function deserialize(v: PsValue, runspaceId: string, depth = 0): PsValue {
  if (v === null || typeof v !== 'object' || v instanceof Date) return v;
  if (Array.isArray(v)) return depth === 0 ? v.map((x) => deserialize(x, runspaceId, depth)) : v.map((x) => deserialize(x, runspaceId, depth + 1));
  if (isScriptBlock(v)) return v.text;
  if (v instanceof PsHashtable) {
    const h = new PsHashtable();
    for (const k of v.keys()) h.set(k, deserialize(v.get(k) ?? null, runspaceId, depth + 1));
    return h;
  }
  if (depth > 0) return toStr(v);
  const out = new PsObject(
    [...v.typeNames.map((t) => `Deserialized.${t}`)],
    v.names().map((n): [string, PsValue] => [n, deserialize(v.get(n) ?? null, runspaceId, depth + 1)]),
  );
  if (depth === 0) {
    out.set('PSComputerName', 'localhost');
    out.set('RunspaceId', runspaceId);
    out.set('PSShowComputerName', false);
    out.hide(['PSComputerName', 'PSShowComputerName']);
  }
  return out;
}

/** The names of the $using: variables a script block's tree reads (lower case, without "using:"). */
export function usingNames(tree: unknown): string[] {
  const found = new Set<string>();
  const walk = (n: unknown, depth: number): void => {
    if (depth > 200 || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) walk(x, depth + 1);
      return;
    }
    const o = n as Record<string, unknown>;
    if (o.kind === 'var' && typeof o.name === 'string' && /^using:/i.test(o.name)) found.add(o.name.slice(6).toLowerCase());
    for (const k of Object.keys(o)) if (k !== 'pos') walk(o[k], depth + 1);
  };
  walk(tree, 0);
  return [...found];
}
