/**
 * hvsim serve --stdio: the Hyper-V cmdlets for a long-lived client (the PowerShell module in
 * powershell/Hvsim, docs/powershell.md "The hvsim module"). JSON lines on stdin, JSON lines on
 * stdout; one request is one cmdlet call with its parameters already bound by the client:
 *
 *   → {"id":7,"cmdlet":"Stop-VM","params":{"Name":["web01"],"Save":true}}
 *   ← {"id":7,"events":[…],"confirm":{"target":"web01","action":"Stop-VM","description":null}}
 *   → {"id":7,"confirm":true}                       (the client's $PSCmdlet.ShouldProcess answer;
 *                                                    any other line counts as No and is served next)
 *   ← {"id":7,"events":[…],"done":true}
 *
 * Parameter values are JSON scalars, arrays of them, or Hyper-V objects piped by the client as
 * {"$type":[type names],"Name":…,"Id":…,"VMName":…}. Events, in the order the cmdlet wrote them:
 * {"o":OBJECT} an output object, {"w":TEXT} a warning, {"e":ERROR} an error record
 * ({"message","category","id" (FullyQualifiedErrorId),"target","reason"}). OBJECT is
 * {"t":[type names],"p":{properties},"k":{property: kind}} where kind tells the client how to
 * rebuild a value JSON cannot carry: DateTime, TimeSpan, Guid, Object / Object[] (nested OBJECTs)
 * or an enum of Microsoft.HyperV.PowerShell (VMState, VMOperationalStatus[] …).
 * A request with "confirm":true (the client's ShouldProcess would answer Yes without a word: no
 * -WhatIf, no prompt, no -Verbose) is not asked back. {"id":N,"ping":true} answers {"id":N,"events":[],"done":true}.
 *
 * The cmdlets are the interpreter's (src/powershell/cmdlets/hyperv.ts: parameter sets, per-VM
 * error records, messages), loaded once; each request opens the host as one CLI command does
 * (sim-host.ts: the same state directory and lock, taken and released per request), so
 * `hvsim get-vm` in another terminal runs between requests. A malformed line gets an error
 * answer, never a crash; end of input ends the server (status 0).
 */
import * as fs from 'node:fs';
import { HvsimError } from '../errors.js';
import type { Host } from '../host/host.js';
import { BindingError, bind, resolveParam, type CmdletContext, type CmdletDef, type RawArgs } from '../powershell/cmdlet.js';
import { HOST_ERROR_CATEGORY, HYPERV_ALIASES, HYPERV_CMDLETS, hostErrorKind, unreachableComputer } from '../powershell/cmdlets/hyperv.js';
import { reachHosts } from '../host/farm.js';
import { DRIVE_TYPE, INTEGRATION_TYPE, SNAPSHOT_TYPE, VM_TYPE } from '../powershell/views.js';
import { PsObject, type PsValue } from '../powershell/value.js';
import { stripCmdlet } from '../powershell/interpreter.js';
import { withHostOf, type Globals, type HostPlace } from './sim-host.js';
import { isVhdCmdlet, serveVhd } from './serve-vhd.js';
import type { ServeEvent, ServeObject } from './serve-protocol.js';
import { writeAllSync } from './stream.js';

export type { ServeError, ServeEvent, ServeObject } from './serve-protocol.js';

/** How the client types the properties JSON carries as text (docs/hyperv.md, "Enums"). */
const PROPERTY_KINDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  [VM_TYPE]: {
    Id: 'Guid', VMId: 'Guid', ParentSnapshotId: 'Guid', State: 'VMState', OperationalStatus: 'VMOperationalStatus[]',
    PrimaryOperationalStatus: 'VMOperationalStatus', CheckpointType: 'CheckpointType', Uptime: 'TimeSpan',
  },
  [SNAPSHOT_TYPE]: { Id: 'Guid', VMId: 'Guid', ParentSnapshotId: 'Guid', SnapshotType: 'SnapshotType', State: 'VMState' },
  [DRIVE_TYPE]: { VMId: 'Guid', VMSnapshotId: 'Guid', ControllerType: 'ControllerType' },
  [INTEGRATION_TYPE]: { VMId: 'Guid' },
};

/** A cmdlet's output object for the client: the properties a script sees (hidden hvsim extras left out). */
export function encodeObject(o: PsObject): ServeObject {
  const p: Record<string, unknown> = {};
  const k: Record<string, string> = {};
  const kinds = PROPERTY_KINDS[o.typeName] ?? {};
  for (const name of o.names()) {
    const v = o.get(name) ?? null;
    if (v instanceof Date) {
      p[name] = v.toISOString();
      k[name] = 'DateTime';
    } else if (v instanceof PsObject) {
      p[name] = encodeObject(v);
      k[name] = 'Object';
    } else if (Array.isArray(v) && v.some((x) => x instanceof PsObject)) {
      p[name] = v.map((x) => (x instanceof PsObject ? encodeObject(x) : x));
      k[name] = 'Object[]';
    } else {
      p[name] = v;
      const kind = kinds[name];
      if (kind !== undefined && v !== null) k[name] = kind;
    }
  }
  return { t: o.typeNames, p, k };
}

/** A piped Hyper-V object (or a CimSession) as the client sends it: its type names, identity and computer. */
function decodeValue(v: unknown, depth = 0): PsValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (Array.isArray(v) && depth === 0) return v.map((x) => decodeValue(x, 1));
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const types = o.$type;
    if (Array.isArray(types) && types.length > 0 && types.every((t) => typeof t === 'string')) {
      const props: Array<[string, PsValue]> = [];
      // ComputerName: the host the object came from (a CimSession's computer), where the cmdlet acts.
      for (const key of ['Name', 'Id', 'VMName', 'VMId', 'ComputerName']) {
        const x = o[key];
        if (typeof x === 'string') props.push([key, x]);
      }
      return new PsObject(types as string[], props);
    }
  }
  throw new ProtocolError(`a parameter value must be a string, number, boolean, null, a Hyper-V object {"$type":[…],"Name":…} or an array of those`);
}

class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const CMDLETS = new Map<string, CmdletDef>(HYPERV_CMDLETS.map((d) => [d.name.toLowerCase(), d]));

function findDef(name: string): CmdletDef | undefined {
  const n = name.toLowerCase();
  return CMDLETS.get(n) ?? CMDLETS.get(HYPERV_ALIASES[n]?.toLowerCase() ?? '');
}

/** Standard input read synchronously, line by line (a confirmation is answered in the middle of a cmdlet). */
export class SyncLineReader {
  private buf = Buffer.alloc(0);
  private eof = false;
  private readonly chunk = Buffer.alloc(64 * 1024);
  constructor(private readonly fd: number) {}

  /** The next line (without its end), or null at the end of input. */
  next(): string | null {
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl >= 0) {
        const line = this.buf.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        this.buf = this.buf.subarray(nl + 1);
        return line;
      }
      if (this.eof) {
        if (this.buf.length === 0) return null;
        const rest = this.buf.toString('utf8');
        this.buf = Buffer.alloc(0);
        return rest;
      }
      let n: number;
      try {
        n = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // a non-blocking pipe: wait a little, as a blocking read would
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
          continue;
        }
        if (code === 'EOF') n = 0;
        else throw e;
      }
      if (n === 0) this.eof = true;
      else this.buf = Buffer.concat([this.buf, this.chunk.subarray(0, n)]);
    }
  }
}

/**
 * Write a whole line to a file descriptor synchronously: the server then blocks reading the next
 * request, so an answer must be out before (process.stdout is asynchronous for pipes on some
 * systems).
 */
export function writeLineSync(fd: number, line: string): void {
  writeAllSync(fd, Buffer.from(line + '\n', 'utf8'));
}

export interface ServeIo {
  readLine(): string | null;
  write(line: string): void;
}

interface Request {
  id: unknown;
  cmdlet?: unknown;
  params?: unknown;
  ping?: unknown;
  /** true: the client's ShouldProcess would say Yes silently, do not ask. */
  confirm?: unknown;
}

const errorEvent = (message: string, category: string, id: string, target = '', reason = 'VirtualizationException'): ServeEvent => ({ e: { message, category, id, target, reason } });

/** Serve requests until the end of input. */
export async function serve(g: Globals, io: ServeIo): Promise<void> {
  // A line read in place of a confirmation's answer is a new request: kept for the loop.
  const unread: string[] = [];
  const readLine = (): string | null => (unread.length > 0 ? unread.shift()! : io.readLine());
  for (let line = readLine(); line !== null; line = readLine()) {
    if (line.trim() === '') continue;
    let id: unknown = null;
    let events: ServeEvent[] = [];
    const answer = (extra: Record<string, unknown>): void => {
      io.write(JSON.stringify({ id, events, ...extra }));
      events = [];
    };
    try {
      let req: Request;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ProtocolError('a request must be a JSON object');
        req = parsed as Request;
      } catch (e) {
        throw e instanceof ProtocolError ? e : new ProtocolError(`not JSON: ${(e as Error).message}`);
      }
      id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
      if (req.ping === true) {
        answer({ done: true });
        continue;
      }
      if (typeof req.cmdlet !== 'string') throw new ProtocolError('a request needs "cmdlet"');
      if (req.cmdlet.toLowerCase() === 'get-vmhost') {
        await getVMHost(g, (req.params ?? {}) as Record<string, unknown>, (ev) => events.push(ev));
        answer({ done: true });
        continue;
      }
      const vhd = isVhdCmdlet(req.cmdlet);
      if (vhd !== undefined) {
        const params = req.params ?? {};
        if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new ProtocolError('"params" must be an object');
        await serveVhd(g, vhd, params as Record<string, unknown>, (ev) => events.push(ev));
        answer({ done: true });
        continue;
      }
      const def = findDef(req.cmdlet);
      if (!def) throw new ProtocolError(`${req.cmdlet} is not a Hyper-V cmdlet hvsim knows`);
      const params = req.params ?? {};
      if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new ProtocolError('"params" must be an object');
      const emit = (ev: ServeEvent): void => {
        events.push(ev);
      };
      const yes = req.confirm === true;
      const confirm = (target: string, action: string, description: string | null): boolean => {
        if (yes) return true;
        answer({ confirm: { target, action, description } });
        const reply = io.readLine();
        if (reply === null) return false;
        let r: { id?: unknown; confirm?: unknown } | null = null;
        try {
          r = JSON.parse(reply) as { id?: unknown; confirm?: unknown };
        } catch {
          // not JSON: not an answer either
        }
        if (r === null || typeof r !== 'object' || !('confirm' in r) || r.id !== id) {
          unread.push(reply); // the client went on without answering: No, and the line is served next
          return false;
        }
        return r.confirm === true;
      };
      await call(g, def, params as Record<string, unknown>, emit, confirm);
      answer({ done: true });
    } catch (e) {
      if (e instanceof ProtocolError) events.push(errorEvent(`hvsim serve: ${e.message}`, 'InvalidArgument', 'HvsimProtocolError', '', 'ProtocolError'));
      else if (e instanceof HvsimError) events.push(errorEvent(stripCmdlet(e.message), HOST_ERROR_CATEGORY[e.code] ?? 'NotSpecified', `Hvsim${e.code}`));
      else events.push(errorEvent(`hvsim serve: internal error: ${e instanceof Error ? e.message : String(e)}`, 'NotSpecified', 'HvsimInternalError', '', 'Exception'));
      answer({ done: true });
    }
  }
}

/** One cmdlet call on the host, opened (and locked) for this call only. */
async function call(
  g: Globals,
  def: CmdletDef,
  params: Record<string, unknown>,
  emit: (ev: ServeEvent) => void,
  confirm: (target: string, action: string, description: string | null) => boolean,
): Promise<void> {
  const raw: RawArgs = { named: [], positional: [] };
  const record = (message: string, category: string, id: string, target = '', reason = def.reason ?? 'VirtualizationException'): void => emit(errorEvent(message, category, id, target, reason));
  try {
    for (const [name, value] of Object.entries(params)) {
      const param = resolveParam(def, name);
      if (param.unsupported) {
        record(`${param.unsupported} not simulated by hvsim (on ${def.name}).`, 'NotImplemented', `HvsimNotSimulated,${def.className}`, '', 'NotSupportedException');
        return;
      }
      raw.named.push({ param, value: decodeValue(value), written: name });
    }
  } catch (e) {
    if (e instanceof BindingError && e.errorId === 'NamedParameterNotFound')
      return record(`${def.name} -${raw.named.length < Object.keys(params).length ? Object.keys(params)[raw.named.length] : ''} is not simulated by hvsim.`, 'NotImplemented', `HvsimNotSimulated,${def.className}`, '', 'NotSupportedException');
    if (e instanceof BindingError) return record(e.message, e.category, `${e.errorId},${def.className}`, '', 'ParameterBindingException');
    throw e;
  }
  let bound;
  try {
    bound = bind(def, raw);
  } catch (e) {
    if (e instanceof BindingError) return record(e.message, e.category, `${e.errorId},${def.className}`, '', 'ParameterBindingException');
    throw e;
  }
  await withHostOf(
    g,
    `hvsim serve: ${def.name}`,
    async (host: Host, place: HostPlace) => {
      const hostError = (e: unknown, target = ''): void => {
        if (typeof e !== 'string' && !(e instanceof HvsimError)) throw e;
        const { category, errorId } = hostErrorKind(e, def);
        if (typeof e === 'string') return record(e, category, errorId, target);
        for (const line of e.message.split('\n')) record(stripCmdlet(line), category, errorId, target);
      };
      const ctx: CmdletContext = {
        host,
        command: def.name,
        width: 120,
        emit: (v) => {
          for (const x of Array.isArray(v) ? v : [v]) emit(x instanceof PsObject ? { o: encodeObject(x) } : { o: { t: ['System.Object'], p: { value: x }, k: {} } });
        },
        error: hostError,
        warn: (text) => emit({ w: text }),
        writeHost: (text) => emit({ h: text }),
        shouldProcess: (target, operation, description) => confirm(target, operation ?? def.name, description ?? null),
        computers: (names) => {
          const r = reachHosts(host, place.farm, names);
          for (const n of r.unknown) emit({ e: unreachableComputer(n, r.simulated, def.className) });
          return r.hosts;
        },
        farm: place.farm,
        flushWarnings: async () => {
          for (const w of await host.takeWarnings()) emit({ w: stripCmdlet(w.Message) });
        },
      };
      try {
        await def.run(ctx, bound, []);
      } catch (e) {
        hostError(e);
      }
      await ctx.flushWarnings();
    },
    (w) => emit({ w: stripCmdlet(w.Message) }),
  );
}

/**
 * Get-VMHost, which the real-host driver asks first (src/hyperv/driver.ts): the host's name and
 * where new VMs go. The interpreter has no Get-VMHost; the simulator's folder of VM folders is the
 * CLI's to know (sim-host.ts), so the answer is made here.
 */
async function getVMHost(g: Globals, params: Record<string, unknown>, emit: (ev: ServeEvent) => void): Promise<void> {
  const className = 'Microsoft.HyperV.PowerShell.Commands.GetVMHost';
  const extra = Object.keys(params).filter((k) => k.toLowerCase() !== 'computername');
  if (extra.length > 0) return emit(errorEvent(`Get-VMHost -${extra[0]} is not simulated by hvsim.`, 'NotImplemented', `HvsimNotSimulated,${className}`, '', 'NotSupportedException'));
  await withHostOf(g, 'hvsim serve: Get-VMHost', async (host: Host, place: HostPlace) => {
    const names = params.ComputerName ?? params.computername;
    const r = reachHosts(host, place.farm, names === undefined ? undefined : (Array.isArray(names) ? names : [names]).map(String));
    for (const n of r.unknown) emit({ e: unreachableComputer(n, r.simulated, className) });
    for (const h of r.hosts) {
      const folder = place.vmRootOf?.(h.computerName) ?? place.vmRoot ?? '';
      emit({ o: { t: ['Microsoft.HyperV.PowerShell.VMHost', 'System.Object'], p: { Name: h.computerName, ComputerName: h.computerName, VirtualMachinePath: folder, VirtualHardDiskPath: folder }, k: {} } });
    }
  });
}

