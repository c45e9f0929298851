/**
 * PowerShell errors → hvsim's typed errors. The driver raises the code the simulator raises for
 * the same case and keeps Hyper-V's message, prefixed with the cmdlet like PowerShell shows it
 * ("Checkpoint-VM: Hyper-V was unable to find a virtual machine with name "DC01".").
 *
 * Errors reach hvsim in three shapes:
 *   - the script's projection of an ErrorRecord (FullyQualifiedErrorId, Category, Message, …);
 *   - an ErrorRecord as `$Error[0] | ConvertTo-Json` writes it (5.1: CategoryInfo.Category is a
 *     number; the message is Exception.Message);
 *   - text on stderr when the script itself could not run: the classic view
 *     ("Cmdlet : message" … "+ CategoryInfo : …" "+ FullyQualifiedErrorId : …"), PowerShell 7's
 *     concise view ("Cmdlet: message"), or CLIXML ("#< CLIXML" with <S S="Error"> lines).
 */
import { HvsimError, type HvsimErrorCode } from '../errors.js';
import type { PsError } from './request.js';

/** System.Management.Automation.ErrorCategory (5.1 writes the number). */
export const ERROR_CATEGORY: Readonly<Record<number, string>> = {
  0: 'NotSpecified', 1: 'OpenError', 2: 'CloseError', 3: 'DeviceError', 4: 'DeadlockDetected', 5: 'InvalidArgument', 6: 'InvalidData',
  7: 'InvalidOperation', 8: 'InvalidResult', 9: 'InvalidType', 10: 'MetadataError', 11: 'NotImplemented', 12: 'NotInstalled',
  13: 'ObjectNotFound', 14: 'OperationStopped', 15: 'OperationTimeout', 16: 'SyntaxError', 17: 'ParserError', 18: 'PermissionDenied',
  19: 'ResourceBusy', 20: 'ResourceExists', 21: 'ResourceUnavailable', 22: 'ReadError', 23: 'WriteError', 24: 'FromStdErr',
  25: 'SecurityError', 26: 'ProtocolError', 27: 'ConnectionError', 28: 'AuthenticationError', 29: 'LimitsExceeded',
  30: 'QuotaExceeded', 31: 'NotEnabled',
};

/**
 * The code for an error, from (in this order) the error id, the message and the category:
 *   CommandNotFoundException (no Hyper-V module)                     → UNSUPPORTED
 *   ObjectNotFound, or "unable to find …" (Get-VM says InvalidParameter) → NOT_FOUND
 *   "… in its current state", InvalidState, a failed checkpoint operation → INVALID_STATE
 *   InvalidArgument, parameter binding errors                         → INVALID_ARGUMENT
 *   PermissionDenied, UnauthorizedAccess, SecurityError               → IO
 *   ResourceBusy                                                      → BUSY
 *   anything else (OperationFailed …)                                 → INVALID_STATE
 */
export function errorCode(e: PsError): HvsimErrorCode {
  const id = e.FullyQualifiedErrorId.split(',')[0]!.trim();
  const cat = e.Category.trim();
  const msg = e.Message;
  if (/^CommandNotFoundException$/i.test(id) || /is not recognized as (the )?name of a cmdlet/i.test(msg)) return 'UNSUPPORTED';
  if (/^ObjectNotFound/i.test(id) || cat === 'ObjectNotFound' || /\bunable to find\b|\bcould not find\b|\bwas not found\b|\bdoes not exist\b/i.test(msg)) return 'NOT_FOUND';
  if (/^InvalidState/i.test(id) || /in its current state|invalid state/i.test(msg)) return 'INVALID_STATE';
  if (/checkpoint operation .*failed|checkpoints cannot be created|checkpoints are disabled/i.test(msg)) return 'INVALID_STATE';
  if (cat === 'InvalidArgument' || cat === 'InvalidType' || cat === 'InvalidData' || /^(InvalidParameter|InvalidArgument|NamedParameterNotFound|ParameterArgument|ParameterBinding|CannotConvertArgument|MissingArgument|AmbiguousParameter|PositionalParameterNotFound)/i.test(id))
    return 'INVALID_ARGUMENT';
  if (cat === 'PermissionDenied' || cat === 'SecurityError' || cat === 'AuthenticationError' || /^UnauthorizedAccess/i.test(id)) return 'IO';
  if (cat === 'ResourceBusy') return 'BUSY';
  return 'INVALID_STATE';
}

/** Hyper-V's message, prefixed with the cmdlet (as PowerShell shows it and as the simulator words it). */
export function toHvsimError(e: PsError, cmdlet?: string): HvsimError {
  const code = errorCode(e);
  let msg = e.Message.trim().replace(/\r\n/g, '\n');
  if (code === 'UNSUPPORTED') msg += ' (is the Hyper-V PowerShell module installed on that host?)';
  const prefixed = cmdlet && !msg.startsWith(`${cmdlet}:`) ? `${cmdlet}: ${msg}` : msg;
  return new HvsimError(code, prefixed, { cause: e });
}

/** An ErrorRecord as ConvertTo-Json writes it (5.1 or 7), or the script's projection, as a PsError. */
export function errorRecordFromJson(v: unknown): PsError {
  const o = (v ?? {}) as Record<string, unknown>;
  const ci = (o.CategoryInfo ?? {}) as Record<string, unknown>;
  const ex = (o.Exception ?? {}) as Record<string, unknown>;
  const details = (o.ErrorDetails ?? null) as Record<string, unknown> | null;
  const catRaw = o.Category ?? ci.Category;
  const category = typeof catRaw === 'number' ? (ERROR_CATEGORY[catRaw] ?? 'NotSpecified') : String(catRaw ?? 'NotSpecified');
  const message =
    (details && typeof details.Message === 'string' && details.Message) ||
    (typeof o.Message === 'string' ? o.Message : undefined) ||
    (typeof ex.Message === 'string' ? ex.Message : undefined) ||
    (typeof o.Exception === 'string' ? o.Exception : '') ||
    '';
  return {
    FullyQualifiedErrorId: String(o.FullyQualifiedErrorId ?? ''),
    Category: category,
    Reason: String(o.Reason ?? ci.Reason ?? ''),
    TargetName: String(o.TargetName ?? ci.TargetName ?? ''),
    Exception: typeof o.Exception === 'string' ? o.Exception : String(ex.ClassName ?? ''),
    Message: message,
  };
}

/** CLIXML error stream → plain text (<S S="Error">…</S>, with _x000D__x000A_ escapes). */
export function clixmlText(xml: string): string {
  const out: string[] = [];
  const re = /<S S="Error">([\s\S]*?)<\/S>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    out.push(
      m[1]!
        .replace(/_x([0-9A-Fa-f]{4})_/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16)))
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&'),
    );
  }
  return out.join('');
}

/**
 * The first error written as text on stderr (classic, concise or CLIXML view), with the cmdlet it
 * names; undefined when the text holds none.
 */
export function parseErrorText(text: string): { error: PsError; cmdlet: string | undefined } | undefined {
  let t = text;
  if (/^#< CLIXML/m.test(t)) t = clixmlText(t);
  t = t.replace(/\r\n/g, '\n');
  const fq = /^\s*\+?\s*FullyQualifiedErrorId\s*:\s*(.+)$/m.exec(t);
  const ci = /^\s*\+?\s*CategoryInfo\s*:\s*(\w+):/m.exec(t);
  const lines = t.split('\n');
  const first = lines.findIndex((l) => l.trim().length > 0);
  if (first < 0) return undefined;
  // "Checkpoint-VM : message" (classic) or "Checkpoint-VM: message" (concise); the message runs
  // until the "At line:" / "+ CategoryInfo" part.
  const head = /^([A-Za-z]+-[A-Za-z]+)\s?:\s(.*)$/.exec(lines[first]!);
  const body: string[] = [head ? head[2]! : lines[first]!];
  for (const l of lines.slice(first + 1)) {
    if (/^At line:\d+|^At char:|^\s*\+ |^\s*\+$|^At .*:\d+ char:\d+/.test(l) || /^\s*\|/.test(l)) break;
    if (l.trim().length === 0) continue;
    body.push(l.trim());
  }
  if (!fq && !head) return undefined;
  return {
    cmdlet: head ? head[1] : undefined,
    error: {
      FullyQualifiedErrorId: fq ? fq[1]!.trim() : '',
      Category: ci ? ci[1]! : 'NotSpecified',
      Message: body.join('\n').trim(),
    },
  };
}
