/**
 * CIM sessions (module CimCmdlets): New-CimSession, Get-CimSession, Remove-CimSession over the
 * simulated hosts (docs/powershell.md, "Several hosts and CIM sessions"). A session is the object
 * New-CimSession returns (https://learn.microsoft.com/powershell/module/cimcmdlets/get-cimsession,
 * example 1: Id, Name, InstanceId, ComputerName, Protocol); -CimSession on a Hyper-V cmdlet acts
 * on the session's computer (hyperv.ts). Sessions live as long as the hvsim run session.
 */
import { HvsimError } from '../../errors.js';
import { wildcardMatch } from '../../host/wildcard.js';
import type { Bound, CmdletContext, CmdletDef } from '../cmdlet.js';
import { CIM_SESSION_TYPE, CimSessions } from '../cim-sessions.js';
import { toNumber, toStr } from '../convert.js';
import { PsRuntimeError } from '../errors.js';
import { PsObject, type PsValue } from '../value.js';
import { remoteComputerMessage } from '../../host/messages.js';
import { reachHosts } from '../../host/farm.js';

const CLASS = 'Microsoft.Management.Infrastructure.CimCmdlets';

/**
 * The computers -CimSession names: each session's ComputerName ('localhost' for a local session).
 * A value that is not a CimSession cannot be bound, as in PowerShell.
 */
export function cimSessionComputers(v: PsValue): string[] {
  return (Array.isArray(v) ? v : [v]).map((x) => {
    if (x instanceof PsObject && x.typeNames.includes(CIM_SESSION_TYPE)) return toStr(x.get('ComputerName') ?? null);
    const text = toStr(x);
    throw new HvsimError('INVALID_ARGUMENT', `Cannot bind parameter 'CimSession'. Cannot convert the "${text}" value of type "${x === null ? 'null' : typeof x === 'string' ? 'System.String' : 'System.Object'}" to type "${CIM_SESSION_TYPE}".`);
  });
}

function def(name: string, params: CmdletDef['params'], run: CmdletDef['run'], extra: Partial<CmdletDef> = {}): CmdletDef {
  return { name, className: `${CLASS}.${name.replace('-', '')}Command`, params, run, reason: 'CimException', ...extra };
}

function sessionsOf(ctx: CmdletContext): CimSessions {
  if (ctx.cimSessions === undefined) throw new PsRuntimeError(`${ctx.command}: CIM sessions exist only in hvsim run (the hvsim module in your own PowerShell uses its CimCmdlets)`, 'NotImplemented', `HvsimNotSimulated,${CLASS}.${ctx.command.replace('-', '')}Command`, 'NotSupportedException');
  return ctx.cimSessions;
}

/**
 * New-CimSession: one session per computer; none named is a DCOM session to the local computer
 * (the cmdlet's example 1). A computer hvsim does not simulate fails as an unresolvable name does
 * (WS-Man's ERROR_WSMAN_NAME_NOT_RESOLVED, 0x80338126), unless -SkipTestConnection.
 */
const newCimSession = def(
  'New-CimSession',
  [
    { name: 'ComputerName', aliases: ['CN', 'ServerName'], type: 'string[]', position: 0 },
    { name: 'Name', type: 'string' },
    { name: 'SkipTestConnection', type: 'switch' },
    { name: 'Credential', type: 'object', unsupported: 'New-CimSession -Credential is' },
    { name: 'Authentication', type: 'string', unsupported: 'New-CimSession -Authentication is' },
    { name: 'CertificateThumbprint', type: 'string', unsupported: 'New-CimSession -CertificateThumbprint is' },
    { name: 'Port', type: 'int', unsupported: 'New-CimSession -Port is' },
    { name: 'SessionOption', type: 'object', unsupported: 'New-CimSession -SessionOption is' },
    { name: 'OperationTimeoutSec', aliases: ['OT'], type: 'int' },
  ],
  async (ctx, b) => {
    const store = sessionsOf(ctx);
    const names = b.strs('ComputerName');
    const name = b.str('Name');
    if (names === undefined) return ctx.emit(store.add('localhost', 'DCOM', name));
    for (const n of names) {
      if (!b.flag('SkipTestConnection')) {
        if (!reaches(ctx, n)) {
          ctx.error(new PsRuntimeError(remoteComputerMessage(n, ctx.farm?.hosts() ?? [ctx.host.computerName]).replace(/^The operation on computer '[^']*' failed: /, ''), 'ConnectionError', `HRESULT 0x80338126,${CLASS}.NewCimSessionCommand`, 'CimException'), n);
          continue;
        }
      }
      ctx.emit(store.add(n, 'WSMAN', name));
    }
  },
);

/** Whether computer `name` is a simulated host (host/farm.ts's rule). */
function reaches(ctx: CmdletContext, name: string): boolean {
  return reachHosts(ctx.host, ctx.farm, [name]).unknown.length === 0;
}

/** The sessions a Get- or Remove-CimSession call picks (all when nothing is given). */
function pick(store: CimSessions, b: Bound): { hits: PsObject[]; missing: Array<{ what: string; value: string }> } {
  const missing: Array<{ what: string; value: string }> = [];
  const by = (param: string, prop: string, match: (want: string, have: PsValue) => boolean): PsObject[] | undefined => {
    const wants = b.get(param) === undefined ? undefined : (Array.isArray(b.get(param)) ? (b.get(param) as PsValue[]) : [b.get(param)!]).map((x) => toStr(x));
    if (wants === undefined) return undefined;
    const out: PsObject[] = [];
    for (const w of wants) {
      const hits = store.list.filter((s) => match(w, s.get(prop) ?? null));
      if (hits.length === 0 && !/[*?[]/.test(w)) missing.push({ what: prop, value: w });
      for (const h of hits) if (!out.includes(h)) out.push(h);
    }
    return out;
  };
  const objs = b.objs('CimSession');
  const hits =
    objs ??
    by('Id', 'Id', (w, h) => toNumber(w) === h) ??
    by('Name', 'Name', (w, h) => wildcardMatch(w, toStr(h))) ??
    by('InstanceId', 'InstanceId', (w, h) => w.replace(/[{}]/g, '').toLowerCase() === toStr(h).toLowerCase()) ??
    by('ComputerName', 'ComputerName', (w, h) => wildcardMatch(w, toStr(h))) ??
    [...store.list];
  return { hits, missing };
}

/** "Get-CimSession : No matching CIM session found by Id 7" (hvsim's wording: the real text is not documented). */
function notFound(ctx: CmdletContext, m: { what: string; value: string }): void {
  ctx.error(new PsRuntimeError(`No CIM session found with ${m.what} '${m.value}'.`, 'ObjectNotFound', `CimSessionNotFound,${CLASS}.${ctx.command.replace('-', '')}Command`, 'CimException'), m.value);
}

const selectors: CmdletDef['params'] = [
  { name: 'ComputerName', aliases: ['CN', 'ServerName'], type: 'string[]', position: 0, sets: ['ComputerNameSet'] },
  { name: 'Id', type: 'object[]', position: 0, sets: ['SessionIdSet'], mandatory: true },
  { name: 'InstanceId', type: 'string[]', sets: ['InstanceIdSet'], mandatory: true },
  { name: 'Name', type: 'string[]', sets: ['NameSet'], mandatory: true },
];

const getCimSession = def('Get-CimSession', selectors, async (ctx, b) => {
  const { hits, missing } = pick(sessionsOf(ctx), b);
  hits.forEach((s) => ctx.emit(s));
  missing.forEach((m) => notFound(ctx, m));
}, { sets: ['ComputerNameSet', 'SessionIdSet', 'InstanceIdSet', 'NameSet'] });

const removeCimSession = def(
  'Remove-CimSession',
  [{ name: 'CimSession', type: 'object[]', position: 0, sets: ['CimSessionSet'], pipeline: true, mandatory: true }, ...selectors.map((p) => ({ ...p, mandatory: true }))],
  async (ctx, b) => {
    const store = sessionsOf(ctx);
    if (b.has('CimSession')) cimSessionComputers(b.get('CimSession')!);
    const { hits, missing } = pick(store, b);
    for (const s of hits) if (ctx.shouldProcess(toStr(s.get('Name') ?? null))) store.remove(s);
    missing.forEach((m) => notFound(ctx, m));
  },
  { sets: ['CimSessionSet', 'ComputerNameSet', 'SessionIdSet', 'InstanceIdSet', 'NameSet'], confirmImpact: 'Low' },
);

export const CIM_CMDLETS: CmdletDef[] = [newCimSession, getCimSession, removeCimSession];
export const CIM_ALIASES: Record<string, string> = { ncms: 'New-CimSession', gcms: 'Get-CimSession', rcms: 'Remove-CimSession' };
