/**
 * Windows facilities scripts touch besides Hyper-V and files (docs/powershell.md, "Windows
 * facilities"): New-Object, Send-MailMessage (into the simulated outbox), New-EventLog /
 * Write-EventLog / Get-EventLog (a simulated event log), Read-Host (lines of hvsim run --input
 * FILE, else PowerShell -NonInteractive's error), and the commands hvsim does not model, which
 * stop the run when reached, naming why: Start-Process, Invoke-Command, Enter-PSSession and the
 * registry's *-ItemProperty cmdlets. Also which module each cmdlet belongs to (Hyper-V\Get-VM).
 */
import type { CmdletDef, ParamDef } from '../cmdlet.js';
import { toNumber, toStr } from '../convert.js';
import { PsRuntimeError, UnsupportedMember } from '../errors.js';
import { construct } from '../statics.js';
import { wildcard } from '../ops.js';
import { SERVICE_TYPE } from '../views.js';
import { PSCUSTOMOBJECT_TYPE, PsHashtable, PsObject, enumerate, type PsValue } from '../value.js';

function def(name: string, className: string, params: ParamDef[], run: CmdletDef['run'], extra: Partial<CmdletDef> = {}): CmdletDef {
  return { name, className: `Microsoft.PowerShell.Commands.${className}`, params, run, collect: false, reason: 'RuntimeException', ...extra };
}

const newObject = def(
  'New-Object',
  'NewObjectCommand',
  [
    { name: 'TypeName', type: 'string', position: 0, mandatory: true },
    { name: 'ArgumentList', aliases: ['Args'], type: 'object[]', position: 1 },
    { name: 'Property', type: 'object' },
    { name: 'ComObject', type: 'string', unsupported: 'New-Object -ComObject is' },
    { name: 'Strict', type: 'switch' },
  ],
  async (ctx, b) => {
    const args = b.has('ArgumentList') ? enumerate(b.get('ArgumentList')!) : [];
    const o = construct(b.str('TypeName')!, args);
    const props = b.get('Property');
    if (props instanceof PsHashtable) {
      // -Property sets each property; on a PSObject it adds them (in the hashtable's order here)
      for (const k of props.keys()) {
        if (o instanceof PsObject) {
          if (o.typeName !== PSCUSTOMOBJECT_TYPE && !o.has(k)) throw new PsRuntimeError(`The member "${k}" was not found for the specified .NET object.`, 'InvalidOperation', 'InvalidOperationException,Microsoft.PowerShell.Commands.NewObjectCommand');
          o.set(k, props.get(k) ?? null);
        } else if (o instanceof PsHashtable) o.set(k, props.get(k) ?? null);
      }
    }
    // New-Object writes the object itself: a new empty ArrayList is one object, not nothing
    ctx.emit(o);
  },
);

const mailParams: ParamDef[] = [
  { name: 'To', type: 'string[]', position: 0, mandatory: true },
  { name: 'Subject', aliases: ['sub'], type: 'string', position: 1, mandatory: true },
  { name: 'Body', type: 'string', position: 2, pipeline: true },
  { name: 'SmtpServer', aliases: ['ComputerName'], type: 'string', position: 3 },
  { name: 'From', type: 'string', mandatory: true },
  { name: 'Cc', type: 'string[]' },
  { name: 'Bcc', type: 'string[]' },
  { name: 'Attachments', aliases: ['PsPath'], type: 'string[]' },
  { name: 'BodyAsHtml', aliases: ['BAH'], type: 'switch' },
  { name: 'Port', type: 'int' },
  { name: 'UseSsl', type: 'switch' },
  { name: 'Credential', type: 'object' },
  { name: 'Priority', type: 'string', values: ['Normal', 'Low', 'High'] },
  { name: 'Encoding', aliases: ['BE'], type: 'string' },
  { name: 'DeliveryNotificationOption', aliases: ['DNO'], type: 'string[]' },
];

const sendMailMessage = def('Send-MailMessage', 'SendMailMessage', mailParams, async (ctx, b) => {
  const server = b.str('SmtpServer') ?? '';
  if (server === '') {
    // no $PSEmailServer: PowerShell's wording
    ctx.error(new PsRuntimeError('The SMTP server name has not been specified. Specify it with the SmtpServer parameter or set the $PSEmailServer variable.', 'InvalidArgument', 'System.Management.Automation.PSArgumentException,Microsoft.PowerShell.Commands.SendMailMessage', 'PSArgumentException'));
    return;
  }
  if (!ctx.facilities) throw new UnsupportedMember('Send-MailMessage without a simulated outbox (hvsim run against the simulator keeps one) is');
  await ctx.facilities.sendMail(
    {
      from: b.str('From')!,
      to: b.strs('To')!,
      cc: b.strs('Cc') ?? [],
      bcc: b.strs('Bcc') ?? [],
      subject: b.str('Subject')!,
      body: b.str('Body') ?? '',
      bodyAsHtml: b.flag('BodyAsHtml'),
      smtpServer: server,
      port: b.has('Port') ? toNumber(b.get('Port')!) : 25,
      attachments: b.strs('Attachments') ?? [],
    },
    await ctx.host.now(),
  );
});

const ENTRY_TYPES = ['Error', 'Information', 'FailureAudit', 'SuccessAudit', 'Warning'] as const;

function needFacilities(ctx: { facilities?: unknown; command: string }): void {
  if (!ctx.facilities) throw new UnsupportedMember(`${ctx.command} without a simulated event log (hvsim run against the simulator keeps one) is`);
}

const newEventLog = def(
  'New-EventLog',
  'NewEventLogCommand',
  [{ name: 'LogName', type: 'string', position: 0, mandatory: true }, { name: 'Source', type: 'string[]', position: 1, mandatory: true }, { name: 'ComputerName', aliases: ['CN'], type: 'string[]' }],
  async (ctx, b) => {
    needFacilities(ctx);
    for (const src of b.strs('Source')!) {
      if (!ctx.facilities!.newEventSource(b.str('LogName')!, src)) {
        ctx.error(new PsRuntimeError(`The "${src}" source is already registered on the "localhost" computer.`, 'InvalidOperation', 'Microsoft.PowerShell.Commands.NewEventLogCommand', 'InvalidOperationException'), src);
      }
    }
  },
);

const writeEventLog = def(
  'Write-EventLog',
  'WriteEventLogCommand',
  [
    { name: 'LogName', aliases: ['LN'], type: 'string', position: 0, mandatory: true },
    { name: 'Source', aliases: ['SRC'], type: 'string', position: 1, mandatory: true },
    { name: 'EventId', aliases: ['ID', 'EID'], type: 'int', position: 3, mandatory: true, min: 0 },
    { name: 'Message', aliases: ['MSG'], type: 'string', position: 4, mandatory: true },
    { name: 'EntryType', aliases: ['ET'], type: 'string', position: 2, values: ENTRY_TYPES },
    { name: 'Category', type: 'int' },
    { name: 'RawData', aliases: ['RD'], type: 'object' },
    { name: 'ComputerName', aliases: ['CN'], type: 'string' },
  ],
  async (ctx, b) => {
    needFacilities(ctx);
    const fac = ctx.facilities!;
    const log = b.str('LogName')!;
    const src = b.str('Source')!;
    const registered = fac.eventSource(src);
    if (!fac.logExists(log)) {
      ctx.error(new PsRuntimeError(`The event log '${log}' on computer '.' does not exist.`, 'ObjectNotFound', 'Microsoft.PowerShell.Commands.WriteEventLogCommand', 'InvalidOperationException'), log);
      return;
    }
    if (registered === undefined) {
      ctx.error(new PsRuntimeError(`The source name "${src}" does not exist on computer "localhost".`, 'InvalidOperation', 'AccessDenied,Microsoft.PowerShell.Commands.WriteEventLogCommand', 'InvalidOperationException'), src);
      return;
    }
    fac.writeEvent({ logName: log, source: src, eventId: toNumber(b.get('EventId')!), entryType: b.str('EntryType') ?? 'Information', message: b.str('Message')!, category: b.has('Category') ? toNumber(b.get('Category')!) : 0, timeGenerated: await ctx.host.now() });
  },
);

const getEventLog = def(
  'Get-EventLog',
  'GetEventLogCommand',
  [
    { name: 'LogName', aliases: ['LN'], type: 'string', position: 0, mandatory: true },
    { name: 'Newest', type: 'int', min: 0 },
    { name: 'Source', aliases: ['ET'], type: 'string[]' },
    { name: 'EntryType', type: 'string[]', values: ENTRY_TYPES },
    { name: 'InstanceId', type: 'object', position: 1 },
    { name: 'After', type: 'object' },
    { name: 'Before', type: 'object' },
    { name: 'Message', aliases: ['MSG'], type: 'string' },
    { name: 'ComputerName', aliases: ['CN'], type: 'string[]' },
  ],
  async (ctx, b) => {
    needFacilities(ctx);
    const fac = ctx.facilities!;
    const log = b.str('LogName')!;
    if (!fac.logExists(log)) {
      ctx.error(new PsRuntimeError(`The event log '${log}' on computer '.' does not exist.`, 'InvalidOperation', 'System.InvalidOperationException,Microsoft.PowerShell.Commands.GetEventLogCommand', 'InvalidOperationException'), log);
      return;
    }
    let list = fac.events(log);
    const sources = b.strs('Source')?.map((s) => s.toLowerCase());
    if (sources) list = list.filter((e) => sources.includes(e.source.toLowerCase()));
    const types = b.strs('EntryType')?.map((s) => s.toLowerCase());
    if (types) list = list.filter((e) => types.includes(e.entryType.toLowerCase()));
    const ids = b.has('InstanceId') ? enumerate(b.get('InstanceId')!).map(toNumber) : undefined;
    if (ids) list = list.filter((e) => ids.includes(e.eventId));
    if (b.has('Newest')) list = list.slice(0, toNumber(b.get('Newest')!));
    for (const e of list) {
      ctx.emit(
        new PsObject('System.Diagnostics.EventLogEntry', [
          ['Index', e.index],
          ['Time', new Date(e.timeGenerated)],
          ['EntryType', e.entryType],
          ['Source', e.source],
          ['InstanceID', e.eventId],
          ['Message', e.message],
          ['EventID', e.eventId],
          ['Category', e.category === 0 ? '(0)' : `(${e.category})`],
          ['CategoryNumber', e.category],
          ['TimeGenerated', new Date(e.timeGenerated)],
          ['TimeWritten', new Date(e.timeGenerated)],
          ['MachineName', ctx.host.computerName],
          ['UserName', null],
        ]).hide(['EventID', 'TimeGenerated', 'TimeWritten', 'MachineName', 'UserName', 'CategoryNumber', 'Category']),
      );
    }
  },
);

const readHost = def(
  'Read-Host',
  'ReadHostCommand',
  [{ name: 'Prompt', type: 'object', position: 0, remaining: true }, { name: 'AsSecureString', type: 'switch' }, { name: 'MaskInput', type: 'switch' }],
  async (ctx, b) => {
    const line = ctx.facilities?.readLine() ?? null;
    if (line === null) {
      const why = ctx.facilities?.hasInput ? 'the --input file has no more lines' : 'give its answers with hvsim run --input FILE, one line each';
      throw new PsRuntimeError(`Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. (hvsim run: Read-Host has nothing to read: ${why})`, 'InvalidOperation', 'InvalidOperation,Microsoft.PowerShell.Commands.ReadHostCommand', 'PSInvalidOperationException');
    }
    const prompt = b.has('Prompt') ? enumerate(b.get('Prompt')!).map(toStr).join(' ') : '';
    // the console host shows "Prompt: " and echoes the answer (masked for -AsSecureString)
    ctx.writeHost(`${prompt ? `${prompt}: ` : ''}${b.flag('AsSecureString') || b.flag('MaskInput') ? '*'.repeat(line.length) : line}\n`);
    ctx.emit(b.flag('AsSecureString') ? new PsObject('System.Security.SecureString', [['Length', line.length]]) : line);
  },
);

/** A command hvsim does not model: the run stops when the script reaches it, saying why. */
function notModelled(name: string, className: string, why: string, params: ParamDef[] = []): CmdletDef {
  return def(
    name,
    className,
    [...params, { name: 'Args', type: 'object', position: 0, remaining: true }],
    async () => {
      throw new UnsupportedMember(`${name} (${why}) is`);
    },
  );
}

const anyParams = (names: string[]): ParamDef[] => names.map((n) => ({ name: n, type: 'object' as const }));

const startProcess = notModelled('Start-Process', 'StartProcessCommand', 'the simulated host runs no programs', anyParams(['FilePath', 'ArgumentList', 'Wait', 'NoNewWindow', 'PassThru', 'Verb', 'WorkingDirectory', 'WindowStyle', 'RedirectStandardOutput', 'RedirectStandardError', 'Credential']));
const invokeCommand = notModelled('Invoke-Command', 'InvokeCommandCommand', 'the simulated VMs run no guest operating system, so PowerShell Direct (-VMName) and remoting have nothing to run on', anyParams(['ScriptBlock', 'VMName', 'VMId', 'ComputerName', 'Session', 'Credential', 'ArgumentList', 'FilePath', 'AsJob']));
const enterSession = notModelled('Enter-PSSession', 'EnterPSSessionCommand', 'the simulated VMs run no guest operating system; hvsim run is not interactive', anyParams(['VMName', 'VMId', 'ComputerName', 'Session', 'Credential']));
const REGISTRY = 'the registry is not simulated by hvsim; a script that keeps its settings there cannot run';
const registryParams = anyParams(['Path', 'Name', 'Value', 'PropertyType', 'Type', 'Force']);
const newItemProperty = notModelled('New-ItemProperty', 'NewItemPropertyCommand', REGISTRY, registryParams);
const getItemProperty = notModelled('Get-ItemProperty', 'GetItemPropertyCommand', REGISTRY, registryParams);
const setItemProperty = notModelled('Set-ItemProperty', 'SetItemPropertyCommand', REGISTRY, registryParams);
const removeItemProperty = notModelled('Remove-ItemProperty', 'RemoveItemPropertyCommand', REGISTRY, registryParams);

/**
 * Get-Service over a small model of the simulated Hyper-V host's services (docs/powershell.md,
 * "Windows facilities"): the Hyper-V ones scripts check before they start (vmms, vmcompute) and a
 * few common ones, as a default Windows Server 2022 Hyper-V host has them. Starting and stopping
 * services is not modelled.
 */
const SERVICES: ReadonlyArray<readonly [name: string, display: string, status: 'Running' | 'Stopped', start: 'Automatic' | 'Manual']> = [
  ['EventLog', 'Windows Event Log', 'Running', 'Automatic'],
  ['vmcompute', 'Hyper-V Host Compute Service', 'Running', 'Manual'],
  ['vmms', 'Hyper-V Virtual Machine Management', 'Running', 'Automatic'],
  ['W32Time', 'Windows Time', 'Running', 'Manual'],
  ['WinRM', 'Windows Remote Management (WS-Management)', 'Running', 'Automatic'],
  ['wuauserv', 'Windows Update', 'Stopped', 'Manual'],
];

function serviceObject(s: (typeof SERVICES)[number]): PsObject {
  const [name, display, status, start] = s;
  const o = new PsObject(SERVICE_TYPE, [
    ['Status', status],
    ['Name', name],
    ['DisplayName', display],
    ['ServiceName', name],
    ['StartType', start],
    ['CanStop', status === 'Running'],
    ['MachineName', '.'],
  ]);
  o.markEnums(['Status', 'StartType']);
  return o;
}

const getService = def(
  'Get-Service',
  'GetServiceCommand',
  [
    { name: 'Name', aliases: ['ServiceName'], type: 'string[]', position: 0, pipeline: true, sets: ['Default'] },
    { name: 'DisplayName', type: 'string[]', mandatory: true, sets: ['DisplayName'] },
    { name: 'ComputerName', aliases: ['Cn'], type: 'string[]' },
    { name: 'Include', type: 'string[]' },
    { name: 'Exclude', type: 'string[]' },
    { name: 'DependentServices', aliases: ['DS'], type: 'switch', unsupported: 'Get-Service -DependentServices is' },
    { name: 'RequiredServices', aliases: ['SDO', 'ServicesDependedOn'], type: 'switch', unsupported: 'Get-Service -RequiredServices is' },
  ],
  async (ctx, b) => {
    if (ctx.computers(b.strs('ComputerName')).length === 0) return;
    const byDisplay = b.set === 'DisplayName';
    const patterns = (byDisplay ? b.strs('DisplayName') : b.strs('Name')) ?? ['*'];
    const keep = (n: string): boolean =>
      (b.strs('Include') ?? ['*']).some((p) => wildcard(p).test(n)) && !(b.strs('Exclude') ?? []).some((p) => wildcard(p).test(n));
    const seen = new Set<string>();
    for (const p of patterns) {
      const hits = SERVICES.filter((s) => wildcard(p).test(byDisplay ? s[1] : s[0]) && keep(s[0]));
      if (hits.length === 0 && !/[*?[]/.test(p)) {
        const what = byDisplay ? 'display name' : 'service name';
        ctx.error(new PsRuntimeError(`Cannot find any service with ${what} '${p}'.`, 'ObjectNotFound', `${byDisplay ? 'NoServiceFoundForGivenDisplayName' : 'NoServiceFoundForGivenName'},Microsoft.PowerShell.Commands.GetServiceCommand`, 'ServiceCommandException'), p);
      }
      for (const s of hits) if (!seen.has(s[0])) (seen.add(s[0]), ctx.emit(serviceObject(s)));
    }
  },
  { sets: ['Default', 'DisplayName'] },
);
const SERVICE_CHANGE = 'the simulated host\'s services are a fixed model: Get-Service reads them, nothing starts or stops them';
const serviceParams = anyParams(['Name', 'DisplayName', 'InputObject', 'PassThru', 'Force', 'NoWait', 'StartupType']);
const startService = notModelled('Start-Service', 'StartServiceCommand', SERVICE_CHANGE, serviceParams);
const stopService = notModelled('Stop-Service', 'StopServiceCommand', SERVICE_CHANGE, serviceParams);
const restartService = notModelled('Restart-Service', 'RestartServiceCommand', SERVICE_CHANGE, serviceParams);
const setService = notModelled('Set-Service', 'SetServiceCommand', SERVICE_CHANGE, serviceParams);

export const WINDOWS_CMDLETS: CmdletDef[] = [
  getService, startService, stopService, restartService, setService,
  newObject, sendMailMessage, newEventLog, writeEventLog, getEventLog, readHost, startProcess, invokeCommand, enterSession,
  newItemProperty, getItemProperty, setItemProperty, removeItemProperty,
];

export const WINDOWS_ALIASES: Record<string, string> = { gsv: 'Get-Service', sasv: 'Start-Service', spsv: 'Stop-Service', start: 'Start-Process', saps: 'Start-Process', icm: 'Invoke-Command', etsn: 'Enter-PSSession', gp: 'Get-ItemProperty', sp: 'Set-ItemProperty' };

/** Cmdlets of Microsoft.PowerShell.Management and .Core (the rest of hvsim's non-Hyper-V cmdlets are Utility's). */
const MANAGEMENT = new Set(
  [
    'Test-Path', 'New-Item', 'Remove-Item', 'Copy-Item', 'Move-Item', 'Rename-Item', 'Get-ChildItem', 'Get-Item', 'Get-Content', 'Set-Content',
    'Add-Content', 'Split-Path', 'Join-Path', 'Resolve-Path', 'Start-Process', 'New-EventLog', 'Write-EventLog', 'Get-EventLog', 'New-ItemProperty',
    'Get-ItemProperty', 'Set-ItemProperty', 'Remove-ItemProperty', 'Set-Location', 'Push-Location', 'Pop-Location', 'Get-Location',
    'Get-Service', 'Start-Service', 'Stop-Service', 'Restart-Service', 'Set-Service',
  ].map((n) => n.toLowerCase()),
);
const CORE = new Set(['Where-Object', 'ForEach-Object', 'Import-Module', 'Out-Null', 'Out-Default', 'Invoke-Command', 'Enter-PSSession'].map((n) => n.toLowerCase()));
const HOST = new Set(['Start-Transcript', 'Stop-Transcript'].map((n) => n.toLowerCase()));

/** The module a cmdlet comes from (Hyper-V\Get-VM, Microsoft.PowerShell.Management\Test-Path). */
export function moduleOf(def: CmdletDef): string {
  const n = def.name.toLowerCase();
  if (def.className.startsWith('Microsoft.HyperV.') || def.className.startsWith('Microsoft.Vhd.')) return 'Hyper-V';
  if (def.className.startsWith('Microsoft.Management.Infrastructure.CimCmdlets.')) return 'CimCmdlets';
  if (MANAGEMENT.has(n)) return 'Microsoft.PowerShell.Management';
  if (CORE.has(n)) return 'Microsoft.PowerShell.Core';
  if (HOST.has(n)) return 'Microsoft.PowerShell.Host';
  return 'Microsoft.PowerShell.Utility';
}

export type { PsValue };
