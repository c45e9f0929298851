/**
 * File extension → disk format, the one place that decides it. Opening a disk goes by its bytes
 * (open.ts); a name only chooses the format of a file about to be written. A `.vhd` gets `.avhd`
 * children, a `.vhdx` `.avhdx` ones (docs/hyperv.md, "Disk files").
 */
import * as path from 'node:path';
import { invalidArgument } from '../errors.js';
import type { VhdFormat } from './disk.js';

const EXTENSIONS: Readonly<Record<VhdFormat, { base: string; differencing: string }>> = {
  VHDX: { base: '.vhdx', differencing: '.avhdx' },
  VHD: { base: '.vhd', differencing: '.avhd' },
};
const BY_EXTENSION: ReadonlyMap<string, VhdFormat> = new Map(
  (Object.keys(EXTENSIONS) as VhdFormat[]).flatMap((f) => [[EXTENSIONS[f].base, f], [EXTENSIONS[f].differencing, f]] as const),
);

/** The format a file name's extension names (.vhdx/.avhdx or .vhd/.avhd, any case), if any. */
export function formatOfExtension(filePath: string): VhdFormat | undefined {
  return BY_EXTENSION.get(path.extname(filePath).toLowerCase());
}

/** The format a new file gets from its extension; INVALID_ARGUMENT for any other extension. */
export function formatForPath(filePath: string): VhdFormat {
  const f = formatOfExtension(filePath);
  if (f) return f;
  const ext = path.extname(filePath).toLowerCase();
  throw invalidArgument(`cannot tell the disk format from the extension "${ext}" (use .vhdx, .avhdx, .vhd or .avhd)`, filePath);
}

/** The extension of a new file of `format`: a base disk's or a checkpoint's differencing disk's. */
export function diskExtension(format: VhdFormat, differencing: boolean): string {
  return differencing ? EXTENSIONS[format].differencing : EXTENSIONS[format].base;
}
