/**
 * Errors of hvsim run: a construct outside the supported subset, a syntax error, a member hvsim
 * does not implement, an operation PowerShell refuses at run time, and the two ways a script's
 * error record travels (terminating the script, or only the statement).
 */
import { HvsimError } from '../errors.js';
import type { PsErrorCategory, PsErrorRecord } from './value.js';

/** Something hvsim run does not implement: the run stops, naming the line and the construct. */
export class UnsupportedError extends HvsimError {
  readonly line: number;
  /** The construct, worded to go before "not supported" ("the cmdlet Get-Foo is"). */
  readonly what: string;
  constructor(line: number, what: string) {
    super('UNSUPPORTED', `line ${line}: ${what} not supported by hvsim run`);
    this.name = 'UnsupportedError';
    this.line = line;
    this.what = what;
  }
}

/** The script does not parse (PowerShell would refuse to start it too). */
export class ScriptSyntaxError extends HvsimError {
  readonly line: number;
  constructor(line: number, what: string) {
    super('INVALID_ARGUMENT', `line ${line}: ${what}`);
    this.name = 'ScriptSyntaxError';
    this.line = line;
  }
}

/** An error carrying the ErrorRecord PowerShell would write. */
abstract class RecordError extends Error {
  readonly record: PsErrorRecord;
  constructor(record: PsErrorRecord) {
    super(record.message);
    this.name = new.target.name;
    this.record = record;
  }
}

/** An error record that ends the script (-ErrorAction Stop, $ErrorActionPreference = 'Stop', throw). */
export class TerminatingError extends RecordError {}

/**
 * A loop that ran LOOP_LIMIT times while the host's clock stood still: it could never end on the
 * simulator (nothing it polls can change), so hvsim ends the script. try/catch does not take it.
 */
export class RunawayLoopError extends TerminatingError {}

/** An error record that ends only the statement it happened in (binding errors, unknown commands). */
export class StatementError extends RecordError {}

/** `break` / `continue` on their way to the enclosing loop (the one named `label`, when given). */
export class LoopSignal extends Error {
  constructor(
    readonly word: 'break' | 'continue',
    readonly label?: string,
  ) {
    super(word);
    this.name = 'LoopSignal';
  }

  /** Whether the loop or switch labelled `label` (undefined: none) takes this signal. */
  stopsAt(label: string | undefined): boolean {
    return this.label === undefined || (label !== undefined && this.label.toLowerCase() === label.toLowerCase());
  }
}

/** `exit N`. */
export class ExitSignal extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.name = 'ExitSignal';
    this.code = code;
  }
}

/** Thrown for an operation PowerShell would refuse at run time (the statement fails). */
export class PsRuntimeError extends Error {
  constructor(
    message: string,
    readonly category: PsErrorCategory = 'InvalidOperation',
    readonly errorId = 'RuntimeException',
    /** The exception type's short name in CategoryInfo (RuntimeException unless said). */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'PsRuntimeError';
  }
}

/** A method or member hvsim does not implement (the run stops). */
export class UnsupportedMember extends Error {
  constructor(readonly what: string) {
    super(what);
    this.name = 'UnsupportedMember';
  }
}

/** `return`: ends the running function, script block or script (its value was written already). */
export class ReturnSignal extends Error {
  constructor() {
    super('return');
    this.name = 'ReturnSignal';
  }
}
