/**
 * Typed errors shared by every layer. Each error has a stable `code` and a one-line message that
 * names the file and what is wrong; structured details live in fields, not in the text.
 */
export type HvsimErrorCode =
  | 'CORRUPT' // a structure on disk is malformed or inconsistent
  | 'UNSUPPORTED' // well-formed but uses something hvsim refuses (unknown required region/item)
  | 'INVALID_ARGUMENT' // a caller passed a bad value (size, offset, name)
  | 'READ_ONLY' // a write aimed at a file or layer opened read-only
  | 'NOT_FOUND' // a file, VM or checkpoint that does not exist
  | 'PARENT_MISSING' // a differencing disk's parent cannot be found
  | 'PARENT_MISMATCH' // the parent found does not carry the identity the child recorded
  | 'CHAIN' // a chain-level problem: cycle, too deep, geometry mismatch
  | 'INVALID_STATE' // an operation refused in the current VM or disk state
  | 'BUSY' // another process holds the lock
  | 'IO' // the operating system refused a read or write
  | 'FAULT_INJECTED'; // a test or the simulator injected this failure

export class HvsimError extends Error {
  readonly code: HvsimErrorCode;
  /** The file the error is about, when there is one. */
  readonly file: string | undefined;
  /** Byte offset inside `file` where the problem was found, when known. */
  readonly offset: number | undefined;

  constructor(code: HvsimErrorCode, message: string, opts: { file?: string; offset?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HvsimError';
    this.code = code;
    this.file = opts.file;
    this.offset = opts.offset;
  }

  toJSON(): { code: HvsimErrorCode; message: string; file?: string; offset?: number } {
    const out: { code: HvsimErrorCode; message: string; file?: string; offset?: number } = {
      code: this.code,
      message: this.message,
    };
    if (this.file !== undefined) out.file = this.file;
    if (this.offset !== undefined) out.offset = this.offset;
    return out;
  }
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/** A corruption found in `file`, with the offset printed in hex when known. */
export function corrupt(file: string, what: string, offset?: number): HvsimError {
  const where = offset === undefined ? '' : ` at ${hex(offset)}`;
  return new HvsimError('CORRUPT', `${file}: ${what}${where}`, offset === undefined ? { file } : { file, offset });
}

export function unsupported(file: string, what: string): HvsimError {
  return new HvsimError('UNSUPPORTED', `${file}: ${what}`, { file });
}

export function invalidArgument(what: string, file?: string): HvsimError {
  return new HvsimError('INVALID_ARGUMENT', file === undefined ? what : `${file}: ${what}`, file === undefined ? {} : { file });
}

export function isHvsimError(e: unknown): e is HvsimError {
  return e instanceof HvsimError;
}
