/**
 * The job cmdlets of hvsim run (Microsoft.PowerShell.Core; about_Jobs): Start-Job, Get-Job,
 * Wait-Job, Receive-Job, Remove-Job, Stop-Job. The job table and the simulated-time model are
 * jobs.ts's; -AsJob on the Hyper-V cmdlets is started by the interpreter. Messages and error ids
 * as PowerShell 7.6 writes them (checked with pwsh).
 */
import type { Bound, CmdletContext, CmdletDef, ParamDef } from '../cmdlet.js';
import { toNumber } from '../convert.js';
import { PsRuntimeError, StatementError } from '../errors.js';
import { jobOf, type Job, type JobControl, type JobStateName } from '../jobs.js';
import { wildcard } from '../ops.js';
import { enumerate, type PsValue } from '../value.js';

const CORE = 'Microsoft.PowerShell.Commands';
const STATES: readonly JobStateName[] = ['NotStarted', 'Running', 'Completed', 'Failed', 'Stopped'];

function def(name: string, params: ParamDef[], run: CmdletDef['run'], extra: Partial<CmdletDef> = {}): CmdletDef {
  return { name, className: `${CORE}.${name.replace('-', '')}Command`, params, run, reason: 'PSArgumentException', ...extra };
}

function control(ctx: CmdletContext): JobControl {
  if (!ctx.jobs) throw new PsRuntimeError(`${ctx.command}: this PowerShell session has no job table`, 'InvalidOperation', 'NoJobTable');
  return ctx.jobs;
}

/** -Job, -Id and -Name select jobs: the job parameter sets every job cmdlet shares. */
const jobParams = (jobMandatory: boolean): ParamDef[] => [
  { name: 'Job', type: 'object[]', position: 0, pipeline: true, sets: ['Job'], mandatory: jobMandatory },
  { name: 'Id', type: 'object[]', position: 0, sets: ['Id'], mandatory: true },
  { name: 'Name', type: 'string[]', position: 0, sets: ['Name'], mandatory: true },
  { name: 'InstanceId', type: 'object[]', sets: ['InstanceId'], unsupported: '-InstanceId is' },
  { name: 'State', type: 'string', sets: ['State'], values: STATES, mandatory: true },
];
const JOB_SETS = ['Job', 'Id', 'Name', 'State'];

const notFoundId = (id: number): PsRuntimeError =>
  new PsRuntimeError(`The command cannot find a job with the job ID ${id}. Verify the value of the Id parameter and then try the command again.`, 'ObjectNotFound', 'JobWithSpecifiedSessionNotFound', 'PSArgumentException');
const notFoundName = (name: string): PsRuntimeError =>
  new PsRuntimeError(`The command cannot find the job because the job name ${name} was not found. Verify the value of the Name parameter, and then try the command again.`, 'ObjectNotFound', 'JobWithSpecifiedNameNotFound', 'PSArgumentException');

/** The jobs a call names (an unknown id or name is a non-terminating error, as PowerShell's). */
async function selected(ctx: CmdletContext, b: Bound, input: PsValue[]): Promise<Job[]> {
  const jc = control(ctx);
  await jc.table.sync();
  const all = jc.table.list();
  const out: Job[] = [];
  const add = (j: Job): void => {
    if (!out.includes(j)) out.push(j);
  };
  const objects = b.has('Job') ? enumerate(b.get('Job')!) : input;
  for (const v of objects) {
    const j = jobOf(v);
    if (j) add(j);
  }
  for (const idv of b.has('Id') ? enumerate(b.get('Id')!) : []) {
    const id = toNumber(idv);
    const j = all.find((x) => x.id === id);
    if (j) add(j);
    else ctx.error(errorFor(ctx, notFoundId(id)), String(id));
  }
  for (const name of b.strs('Name') ?? []) {
    const re = wildcard(name);
    const hits = all.filter((x) => re.test(x.name));
    hits.forEach(add);
    if (hits.length === 0 && !/[*?[]/.test(name)) ctx.error(errorFor(ctx, notFoundName(name)), name);
  }
  const state = b.str('State');
  if (state !== undefined) {
    const now = await ctx.host.now();
    all.filter((x) => x.state(now) === state).forEach(add);
  }
  return out;
}

/** The error with its errorId made fully qualified (",Microsoft.PowerShell.Commands.GetJobCommand"). */
function errorFor(ctx: CmdletContext, e: PsRuntimeError): PsRuntimeError {
  return new PsRuntimeError(e.message, e.category, `${e.errorId},${CORE}.${ctx.command.replace('-', '')}Command`, e.reason);
}

// ------------------------------------------------------------ Start-Job

const startJob = def(
  'Start-Job',
  [
    { name: 'ScriptBlock', aliases: ['Command'], type: 'scriptblock', position: 0, mandatory: true },
    { name: 'Name', type: 'string' },
    { name: 'ArgumentList', aliases: ['Args'], type: 'object[]' },
    { name: 'InitializationScript', type: 'scriptblock', position: 1, unsupported: '-InitializationScript is' },
    { name: 'InputObject', type: 'object', pipeline: true, unsupported: '-InputObject is' },
    { name: 'FilePath', type: 'string', unsupported: '-FilePath is' },
    { name: 'LiteralPath', type: 'string', unsupported: '-LiteralPath is' },
    { name: 'Credential', type: 'object', unsupported: '-Credential is' },
    { name: 'WorkingDirectory', type: 'string', unsupported: '-WorkingDirectory is' },
    { name: 'RunAs32', type: 'switch', unsupported: '-RunAs32 is' },
    { name: 'PSVersion', type: 'string', unsupported: '-PSVersion is' },
  ],
  async (ctx, b) => {
    const args = b.has('ArgumentList') ? enumerate(b.get('ArgumentList')!) : [];
    const job = await control(ctx).startScript(b.block('ScriptBlock')!, args, b.str('Name'));
    ctx.emit(job.object);
  },
);

// ------------------------------------------------------------ Get-Job

const getJob = def(
  'Get-Job',
  [
    { name: 'Id', type: 'object[]', position: 0, sets: ['Id'] },
    { name: 'Name', type: 'string[]', position: 0, sets: ['Name'], mandatory: true },
    { name: 'State', type: 'string', position: 0, sets: ['State'], values: STATES, mandatory: true },
    { name: 'HasMoreData', type: 'bool' },
    { name: 'Newest', type: 'int', min: 0 },
    { name: 'IncludeChildJob', type: 'switch', unsupported: '-IncludeChildJob is' },
    { name: 'Command', type: 'string[]', sets: ['Command'], unsupported: '-Command is' },
  ],
  async (ctx, b) => {
    const jc = control(ctx);
    let jobs = b.has('Id') || b.has('Name') || b.has('State') ? await selected(ctx, b, []) : (await jc.table.sync(), jc.table.list());
    const now = await ctx.host.now();
    if (b.has('HasMoreData')) jobs = jobs.filter((j) => j.hasMoreData(now) === b.get('HasMoreData'));
    if (b.has('Newest')) jobs = jobs.slice(-toNumber(b.get('Newest')!));
    jobs.sort((x, y) => x.id - y.id).forEach((j) => ctx.emit(j.object));
  },
  { sets: ['Id', 'Name', 'State', 'Command'] },
);

// ------------------------------------------------------------ Wait-Job

/**
 * Wait-Job: the clock runs on until the jobs have ended (the last one; with -Any the first), or
 * -Timeout seconds have passed; writes the jobs that ended (none when the timeout came first).
 */
const waitJob = def(
  'Wait-Job',
  // collect: every piped job at once (the pipeline's objects are its input), so -Job is not mandatory here
  [...jobParams(false), { name: 'Any', type: 'switch' }, { name: 'Timeout', aliases: ['TimeoutSec'], type: 'int', min: -1 }, { name: 'Force', type: 'switch' }],
  async (ctx, b, input) => {
    const jobs = await selected(ctx, b, input);
    const jc = control(ctx);
    const now = await ctx.host.now();
    const ends = jobs.map((j) => (j.finished(now) ? now : j.end));
    let until = jobs.length === 0 ? now : b.flag('Any') ? Math.min(...ends) : Math.max(...ends);
    const timeout = b.has('Timeout') ? toNumber(b.get('Timeout')!) : -1;
    if (timeout >= 0) until = Math.min(until, now + timeout * 1000);
    await jc.table.waitUntil(until);
    const t = await ctx.host.now();
    const done = jobs.filter((j) => j.finished(t));
    if (b.flag('Any') ? done.length > 0 : done.length === jobs.length) done.forEach((j) => ctx.emit(j.object));
  },
  { sets: JOB_SETS, collect: true },
);

// ------------------------------------------------------------ Receive-Job

/**
 * Receive-Job: what the ended jobs wrote, once (-Keep keeps it): output to the pipeline, host text
 * and warnings to the console, error records written again here (non-terminating, as PowerShell
 * writes a job's errors; position-less). A running job gives nothing yet; -Wait waits first.
 */
const receiveJob = def(
  'Receive-Job',
  [
    ...jobParams(true),
    { name: 'Keep', type: 'switch' },
    { name: 'Wait', type: 'switch' },
    { name: 'AutoRemoveJob', type: 'switch' },
    { name: 'WriteJobInResults', type: 'switch' },
    { name: 'WriteEvents', type: 'switch' },
    { name: 'NoRecurse', type: 'switch' },
    { name: 'Force', type: 'switch' },
    { name: 'Location', type: 'string[]', unsupported: '-Location is' },
    { name: 'ComputerName', type: 'string[]', unsupported: '-ComputerName is' },
    { name: 'Session', type: 'object[]', unsupported: '-Session is' },
  ],
  async (ctx, b, input) => {
    const jobs = await selected(ctx, b, input);
    const jc = control(ctx);
    if (b.flag('Wait')) await jc.table.waitUntil(Math.max(...jobs.map((j) => j.end), 0));
    const now = await ctx.host.now();
    for (const j of jobs) {
      if (b.flag('WriteJobInResults')) ctx.emit(j.object);
      if (!j.finished(now)) continue;
      const r = j.take(b.flag('Keep'));
      for (const t of r.hostText) ctx.writeHost(t);
      for (const v of r.output) ctx.emit(v);
      for (const rec of [...r.errors, ...(r.reason ? [r.reason] : [])]) ctx.error(new StatementError({ ...rec, line: 0, column: 0, lineText: '', extentLength: 0 }));
      if (b.flag('AutoRemoveJob') && b.flag('Wait')) jc.table.remove(j);
    }
    await jc.table.sync();
  },
  { sets: JOB_SETS },
);

// ------------------------------------------------------------ Remove-Job, Stop-Job

const removeJob = def(
  'Remove-Job',
  [...jobParams(true), { name: 'Force', aliases: ['F'], type: 'switch' }],
  async (ctx, b, input) => {
    const jc = control(ctx);
    const now = await ctx.host.now();
    for (const j of await selected(ctx, b, input)) {
      if (!j.finished(now) && !b.flag('Force')) {
        const msg = `The command cannot remove the job with the job ID ${j.id} because the job is not finished. To remove the job, first stop the job, or use the Force parameter. (Parameter 'Job')`;
        ctx.error(new PsRuntimeError(msg, 'InvalidOperation', `JobObjectNotFinishedCannotBeRemoved,${CORE}.RemoveJobCommand`, 'ArgumentException'), 'PSRemotingJob');
        continue;
      }
      if (!j.finished(now)) j.stoppedAt = now;
      jc.table.remove(j);
    }
  },
  { sets: JOB_SETS },
);

/**
 * Stop-Job: a running job becomes Stopped. hvsim ran the job's work when it started, so what the
 * work changed on the host stays changed (docs/powershell.md, "Jobs").
 */
const stopJob = def(
  'Stop-Job',
  [...jobParams(true), { name: 'PassThru', type: 'switch' }],
  async (ctx, b, input) => {
    const now = await ctx.host.now();
    const jobs = await selected(ctx, b, input);
    for (const j of jobs) if (!j.finished(now)) j.stoppedAt = now;
    await control(ctx).table.sync();
    if (b.flag('PassThru')) jobs.forEach((j) => ctx.emit(j.object));
  },
  { sets: JOB_SETS, confirmImpact: 'Low' },
);

export const JOB_CMDLETS: CmdletDef[] = [startJob, getJob, waitJob, receiveJob, removeJob, stopJob];
export const JOB_ALIASES: Record<string, string> = { sajb: 'Start-Job', gjb: 'Get-Job', wjb: 'Wait-Job', rcjb: 'Receive-Job', rjb: 'Remove-Job', spjb: 'Stop-Job' };
