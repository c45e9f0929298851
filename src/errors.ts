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

/** Exit status of the CLI per error code (README, "exit status"); a bug in hvsim exits EXIT_BUG. */
export const EXIT_CODES: Readonly<Record<HvsimErrorCode, number>> = {
  CORRUPT: 1,
  UNSUPPORTED: 1,
  INVALID_ARGUMENT: 2,
  READ_ONLY: 1,
  NOT_FOUND: 3,
  PARENT_MISSING: 1,
  PARENT_MISMATCH: 1,
  CHAIN: 1,
  INVALID_STATE: 1,
  BUSY: 4,
  IO: 1,
  FAULT_INJECTED: 1,
};
/** Exit status for an error that is not an HvsimError: a bug in hvsim. */
export const EXIT_BUG = 70;

/**
 * Which check found a corruption (the `reason` of a CORRUPT error). The format checks use the
 * codes their check() findings carry (VHDX: docs/formats.md, "VHDX headers" … "VHDX log"; VHD:
 * "VHD footer" … "VHD BAT and blocks"), so a refused open and test-vhd name a problem alike.
 */
export const CORRUPT_REASONS = [
  // Any disk file
  'NOT_A_DISK', // neither a VHDX signature nor a VHD footer
  'FILE_TOO_SMALL', // shorter than the format's fixed structures
  'TRUNCATED', // shorter than its log says was written
  // VHDX (MS-VHDX §2.2-§2.6)
  'SIGNATURE', // no "vhdxfile" file identifier
  'HEADER', // no usable header (both copies bad, or equal sequence numbers that differ)
  'HEADER_COPY', // one header copy bad
  'REGION_TABLE', // no usable region table, or one without the BAT or metadata region
  'REGION_TABLE_COPY', // one region table copy bad
  'REGION_PAST_EOF', // a region extends past the end of the file
  'REGION_OVERLAP', // a region overlaps the log
  'LOG_REGION', // the log region is misplaced or out of range
  'LOG_ENTRY', // a log entry reaches outside the file or changed while read
  'LOG_DIRTY', // the log holds changes not yet applied (a warning)
  'LOG_EMPTY', // the header names a log without a valid entry (a warning)
  'METADATA_REGION', // the metadata region is too large
  'METADATA_TABLE', // the metadata table's signature or entry count
  'METADATA_ITEM', // a metadata item is out of range, listed twice, overlapping or missing
  'DISK_PARAMETERS', // block size, sector sizes or virtual size out of range
  'PARENT_LOCATOR', // the parent locator item is malformed or incomplete
  'BAT_REGION', // the BAT region is too small for the disk
  'BAT_ENTRY', // a BAT entry has a reserved state or points outside the file
  'BAT_OVERLAP', // a block overlaps another block or a structure
  // VHD ("Hard Disk Footer Format", "Dynamic Disk Header Format", "Block Allocation Table")
  'FOOTER_MISSING', // no "conectix" footer
  'FOOTER_CHECKSUM', // the footer's checksum fails
  'FOOTER_OLD', // the 511-byte footer of old Virtual PC (a warning)
  'FOOTER_COPY_MISSING', // no footer copy at offset 0 (a warning)
  'FOOTER_COPY_CHECKSUM', // the footer copy at offset 0 has a bad checksum
  'FOOTER_COPY_MISMATCH', // the two footer copies differ (a warning)
  'CURRENT_SIZE', // CurrentSize is not a multiple of 512
  'GEOMETRY', // DiskGeometry exceeds CurrentSize (a warning)
  'FIXED_SIZE', // a fixed disk's data and CurrentSize disagree
  'DATA_OFFSET', // the footer's DataOffset does not point at a dynamic header
  'HEADER_COOKIE', // the dynamic header has no "cxsparse" cookie
  'HEADER_CHECKSUM', // the dynamic header's checksum fails
  'HEADER_DATA_OFFSET', // the dynamic header's DataOffset is not all ones (a warning)
  'BLOCK_SIZE', // BlockSize out of range
  'MAX_TABLE_ENTRIES', // MaxTableEntries does not match CurrentSize
  'TABLE_OFFSET', // the BAT lies outside the file or over the dynamic header
  'LOCATOR_DATA', // a parent locator's data is too large or outside the file
  'LOCATOR_UNUSED', // a parent locator on a disk without a parent (a warning)
  'LOCATOR_SPACE', // PlatformDataLength exceeds PlatformDataSpace (a warning)
  'LOCATOR_OVERLAP', // parent locator data overlaps another structure
  'LOCATOR_MISSING', // a differencing disk names no parent
  'BAT_ENTRY_UNUSED', // an allocated entry beyond CurrentSize (a warning)
  'BAT_ENTRY_PAST_EOF', // a block extends past the end of the data
  'BAT_ENTRY_OVERLAP', // blocks overlap each other or a structure
  'BAT_MORE', // more BAT problems than are listed
  'PARENT_ID_ZERO', // a differencing disk's ParentUniqueId is zero (a warning)
  // Other files hvsim reads
  'PARENT_LINK', // a chain's parent link is neither intact nor absent
  'JOURNAL', // a merge journal
  'STATE_FILE', // the simulator's state file
  'CHECKPOINT_GROUP', // a checkpoint group recorded twice for one VM
  'HOST_ANSWER', // an answer from a real host's PowerShell that hvsim cannot read
] as const;
export type CorruptReason = (typeof CORRUPT_REASONS)[number];

export interface HvsimErrorOptions {
  file?: string;
  offset?: number;
  cause?: unknown;
  /** For CORRUPT: which check failed. */
  reason?: CorruptReason;
}

export class HvsimError extends Error {
  readonly code: HvsimErrorCode;
  /** The file the error is about, when there is one. */
  readonly file: string | undefined;
  /** Byte offset inside `file` where the problem was found, when known. */
  readonly offset: number | undefined;
  /** For CORRUPT: which check found it. */
  readonly reason: CorruptReason | undefined;

  constructor(code: HvsimErrorCode, message: string, opts: HvsimErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HvsimError';
    this.code = code;
    this.file = opts.file;
    this.offset = opts.offset;
    this.reason = opts.reason;
  }

  toJSON(): { code: HvsimErrorCode; reason?: CorruptReason; message: string; file?: string; offset?: number } {
    const out: { code: HvsimErrorCode; reason?: CorruptReason; message: string; file?: string; offset?: number } = {
      code: this.code,
      message: this.message,
    };
    if (this.reason !== undefined) out.reason = this.reason;
    if (this.file !== undefined) out.file = this.file;
    if (this.offset !== undefined) out.offset = this.offset;
    return out;
  }
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/** A corruption found in `file` by the check `reason`, with the offset printed in hex when known. */
export function corrupt(file: string, reason: CorruptReason, what: string, offset?: number): HvsimError {
  const where = offset === undefined ? '' : ` at ${hex(offset)}`;
  return new HvsimError('CORRUPT', `${file}: ${what}${where}`, offset === undefined ? { file, reason } : { file, offset, reason });
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
