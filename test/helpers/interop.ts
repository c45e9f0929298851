/**
 * Interop helpers: drive qemu-img / qemu-io and libvhdi (pyvhdi) from tests.
 *
 * Everything is spawned without a shell; paths and options are passed as argv
 * elements or JSON data, never interpolated into a command line.
 *
 * Gating: call `interopGate('qemu-img' | 'qemu-io' | 'pyvhdi')` at collection
 * time and use the result with `describe.skipIf(!ok)` / `it.skipIf(!ok)`.
 * When HVSIM_REQUIRE_INTEROP is set (non-empty, not "0"), a missing tool makes
 * the gate throw, so the test file fails instead of silently skipping (CI).
 *
 * Known tool behaviour (qemu 7.2, libvhdi 20210425):
 *  - qemu-img cannot create differencing VHD or VHDX images (`-b` is rejected
 *    for vpc and vhdx), so parent chains must come from our own writer.
 *  - qemu-img probes a *fixed* VHD as raw (its only signature is the footer at
 *    the end); always pass the format: qemuImgInfo(path, 'vpc').
 *  - `qemu-img create -f vpc` rounds the size to CHS geometry unless
 *    `-o force_size=on` is given.
 *  - `qemu-img check` works for vhdx, not for vpc ("does not support checks").
 *  - libvhdi identifiers: VHD = footer UniqueId; VHDX = DataWriteGuid of the
 *    current header (not the VirtualDiskId). set_parent() requires the child's
 *    parent identifier (VHD ParentUniqueId / VHDX parent_linkage) to equal it.
 *  - libvhdi VHD partial blocks: a present run that starts inside a
 *    sector-bitmap byte is extended to the end of that byte (e.g. only sector 1
 *    present -> sectors 1..7 read from the child). Compare VHD differencing
 *    disks against pyvhdi only with 8-sector (4 KiB) aligned writes.
 *  - libvhdi VHDX differencing: every BAT state other than FULLY/PARTIALLY
 *    present (incl. ZERO and UNMAPPED) is read from the parent.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const PYVHDI_SCRIPT = fileURLToPath(new URL('./pyvhdi_read.py', import.meta.url));

const MAX_TEXT_OUTPUT = 64 * 1024 * 1024;

export type InteropTool = 'qemu-img' | 'qemu-io' | 'pyvhdi';

export interface ToolStatus {
  available: boolean;
  version: string | undefined;
}

function probe(cmd: string, args: string[], versionRe: RegExp): ToolStatus {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error !== undefined || r.status !== 0) return { available: false, version: undefined };
  const m = versionRe.exec(r.stdout);
  return { available: true, version: m?.[1] };
}

export const qemuImg: ToolStatus = probe('qemu-img', ['--version'], /qemu-img version (\S+)/);
export const qemuIo: ToolStatus = probe('qemu-io', ['--version'], /qemu-io version (\S+)/);
export const pyvhdi: ToolStatus = probe(
  PYTHON,
  ['-c', 'import pyvhdi; print(pyvhdi.get_version())'],
  /^(\S+)/,
);

const toolStatus: Record<InteropTool, ToolStatus> = {
  'qemu-img': qemuImg,
  'qemu-io': qemuIo,
  pyvhdi,
};

const toolPackage: Record<InteropTool, string> = {
  'qemu-img': 'qemu-utils',
  'qemu-io': 'qemu-utils',
  pyvhdi: 'python3-libvhdi',
};

export function interopRequired(): boolean {
  const v = process.env['HVSIM_REQUIRE_INTEROP'];
  return v !== undefined && v !== '' && v !== '0';
}

const announced = new Set<InteropTool>();

/**
 * true if the tool can be used. If it cannot: throws when HVSIM_REQUIRE_INTEROP
 * is set, otherwise prints one line (once per tool and worker) and returns false.
 */
export function interopGate(tool: InteropTool): boolean {
  if (toolStatus[tool].available) return true;
  const what =
    tool === 'pyvhdi' ? `pyvhdi (${PYTHON} -c 'import pyvhdi')` : `${tool} (not on PATH)`;
  if (interopRequired()) {
    throw new Error(
      `interop tool ${what} is required because HVSIM_REQUIRE_INTEROP is set; ` +
        `install the Debian package ${toolPackage[tool]}`,
    );
  }
  if (!announced.has(tool)) {
    announced.add(tool);
    console.warn(
      `[interop] skipping tests that need ${what}: not available ` +
        `(apt-get install ${toolPackage[tool]}; set HVSIM_REQUIRE_INTEROP=1 to make this an error)`,
    );
  }
  return false;
}

// ---------------------------------------------------------------- qemu-img

export interface CommandResult {
  stdout: string;
  stderr: string;
  status: number;
}

function run(cmd: string, args: string[]): CommandResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: MAX_TEXT_OUTPUT,
  });
  if (r.error !== undefined) {
    throw new Error(`cannot run ${cmd}: ${r.error.message}`);
  }
  // status is null when killed by a signal
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

function runOk(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${JSON.stringify(args)} exited ${r.status}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Runs qemu-img with the given argv (no shell). Throws only if it cannot be spawned. */
export function runQemuImg(args: string[]): CommandResult {
  return run('qemu-img', args);
}

/** Runs qemu-img and returns stdout; throws with stderr if the exit status is not 0. */
export function runQemuImgOk(args: string[]): string {
  return runOk('qemu-img', args);
}

/** Runs qemu-io with the given argv (no shell), e.g. ['-f','vhdx','-c','write -P 0xab 0 64k', path]. */
export function runQemuIo(args: string[]): CommandResult {
  return run('qemu-io', args);
}

export function runQemuIoOk(args: string[]): string {
  return runOk('qemu-io', args);
}

export type QemuFormat = 'raw' | 'vpc' | 'vhdx' | 'qcow2';

export interface QemuImgInfo {
  format: string;
  'virtual-size': number;
  'actual-size': number | undefined;
  /** block size for vhdx/vpc; absent for raw and fixed vpc */
  'cluster-size': number | undefined;
  'dirty-flag': boolean | undefined;
  filename: string;
}

function asRecord(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`${what}: expected a JSON object`);
  }
  return v as Record<string, unknown>;
}

function optNumber(o: Record<string, unknown>, key: string, what: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw new Error(`${what}: '${key}' is not a number`);
  return v;
}

/**
 * `qemu-img info --output=json [-f format] path`. Pass the format for fixed VHDs
 * (qemu probes them as raw). Uses -U so a file we hold open does not block it.
 */
export function qemuImgInfo(path: string, format?: QemuFormat): QemuImgInfo {
  const args = ['info', '--output=json', '-U'];
  if (format !== undefined) args.push('-f', format);
  args.push(path);
  const what = `qemu-img info ${path}`;
  const o = asRecord(JSON.parse(runQemuImgOk(args)) as unknown, what);
  const fmt = o['format'];
  const vsize = o['virtual-size'];
  if (typeof fmt !== 'string') throw new Error(`${what}: missing 'format'`);
  if (typeof vsize !== 'number') throw new Error(`${what}: missing 'virtual-size'`);
  const dirty = o['dirty-flag'];
  return {
    format: fmt,
    'virtual-size': vsize,
    'actual-size': optNumber(o, 'actual-size', what),
    'cluster-size': optNumber(o, 'cluster-size', what),
    'dirty-flag': typeof dirty === 'boolean' ? dirty : undefined,
    filename: typeof o['filename'] === 'string' ? o['filename'] : path,
  };
}

export interface QemuImgCheck {
  /** qemu-img exit status: 0 clean, 2 corruptions, 3 leaks, 63 format has no check */
  status: number;
  checkErrors: number | undefined;
  corruptions: number | undefined;
  leaks: number | undefined;
  raw: Record<string, unknown> | undefined;
  stderr: string;
}

/** `qemu-img check --output=json -f format path` (supported for vhdx and qcow2, not vpc). */
export function qemuImgCheck(path: string, format: QemuFormat): QemuImgCheck {
  const r = runQemuImg(['check', '--output=json', '-U', '-f', format, path]);
  let raw: Record<string, unknown> | undefined;
  try {
    raw = asRecord(JSON.parse(r.stdout) as unknown, `qemu-img check ${path}`);
  } catch {
    raw = undefined;
  }
  const num = (k: string): number | undefined => {
    const v = raw?.[k];
    return typeof v === 'number' ? v : undefined;
  };
  return {
    status: r.status,
    checkErrors: num('check-errors'),
    corruptions: num('corruptions'),
    leaks: num('leaks'),
    raw,
    stderr: r.stderr,
  };
}

// ---------------------------------------------------------------- pyvhdi

export interface PyvhdiInfo {
  fileType: 'vhd' | 'vhdx';
  mediaSize: number;
  bytesPerSector: number;
  diskType: 'fixed' | 'dynamic' | 'differencing' | 'unknown';
  diskTypeCode: number;
  formatVersion: string | null;
  /** VHD: footer UniqueId; VHDX: DataWriteGuid of the current header (lower-case GUID text) */
  identifier: string | null;
  /** VHD: ParentUniqueId; VHDX: parent locator parent_linkage */
  parentIdentifier: string | null;
  /** VHD: ParentUnicodeName; VHDX: a path from the parent locator */
  parentFilename: string | null;
}

function runPyvhdi(command: string, args: Record<string, unknown>, maxBuffer: number): Buffer {
  const r = spawnSync(PYTHON, [PYVHDI_SCRIPT, command, '-'], {
    input: JSON.stringify(args),
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer,
  });
  if (r.error !== undefined) {
    throw new Error(`pyvhdi ${command} failed to run: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const msg = r.stderr.toString('utf8').trim() || `exit status ${String(r.status ?? r.signal)}`;
    throw new Error(`pyvhdi ${command} ${JSON.stringify(args)}: ${msg}`);
  }
  return r.stdout;
}

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad length ${length}`);
}

/**
 * Reads `length` bytes at `offset` of the virtual disk `path` through libvhdi.
 * `parents` is the parent chain, nearest parent first ([] for a non-differencing
 * disk). Throws if libvhdi rejects the chain or the range exceeds the media size.
 */
export function pyvhdiRead(path: string, parents: string[], offset: number, length: number): Buffer {
  checkRange(offset, length);
  const out = runPyvhdi('read', { path, parents, offset, length }, length + 1024 * 1024);
  if (out.length !== length) {
    throw new Error(`pyvhdi read returned ${out.length} bytes, expected ${length}`);
  }
  return out;
}

/** Writes the whole virtual disk (as seen by libvhdi through the chain) to `outPath`. */
export function pyvhdiDump(path: string, parents: string[], outPath: string): void {
  runPyvhdi('dump', { path, parents, out: outPath }, 1024 * 1024);
}

export function pyvhdiInfo(path: string, parents: string[] = []): PyvhdiInfo {
  const text = runPyvhdi('info', { path, parents }, 1024 * 1024).toString('utf8');
  const o = asRecord(JSON.parse(text) as unknown, `pyvhdi info ${path}`);
  const str = (k: string): string | null => {
    const v = o[k];
    return typeof v === 'string' ? v : null;
  };
  const int = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number') throw new Error(`pyvhdi info ${path}: '${k}' is not a number`);
    return v;
  };
  const fileType = o['fileType'] === 'vhdx' ? 'vhdx' : 'vhd';
  const dt = o['diskType'];
  const diskType =
    dt === 'fixed' || dt === 'dynamic' || dt === 'differencing' ? dt : ('unknown' as const);
  return {
    fileType,
    mediaSize: int('mediaSize'),
    bytesPerSector: int('bytesPerSector'),
    diskType,
    diskTypeCode: int('diskTypeCode'),
    formatVersion: str('formatVersion'),
    identifier: str('identifier'),
    parentIdentifier: str('parentIdentifier'),
    parentFilename: str('parentFilename'),
  };
}
