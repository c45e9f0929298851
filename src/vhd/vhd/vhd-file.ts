/**
 * Public entry of the legacy VHD 1.0 layer (.vhd/.avhd, the format Hyper-V used up to Windows
 * Server 2012 R2): open, create, create differencing, and content sniffing. Everything else in
 * src/vhd/vhd/ is internal.
 */
import { ascii } from '../common/bytes.js';
import type { BlockFile } from '../io/block-file.js';
import { FOOTER_COOKIE, FOOTER_SIZE, OLD_FOOTER_SIZE } from './footer.js';
import { VhdImage } from './vhd-image.js';
import type { VhdOpenOptions } from './layout.js';

export { VhdImage } from './vhd-image.js';
export type { VhdOpenOptions } from './layout.js';
export { createVhd, createVhdDifferencing, type VhdCreateOptions, type VhdDifferencingOptions } from './create.js';

/** Open and validate a VHD; writable iff the file is. `lenient`: see VhdOpenOptions. */
export function openVhd(file: BlockFile, opts?: VhdOpenOptions): VhdImage {
  return VhdImage.open(file, opts);
}

/** By content: the footer cookie "conectix" at EOF-512, at EOF-511 (old footer) or at offset 0. */
export function isVhd(file: BlockFile): boolean {
  const size = file.size();
  const b = new Uint8Array(8);
  const at = (off: number): boolean => off >= 0 && file.read(b, off) === 8 && ascii(b, 0, 8) === FOOTER_COOKIE;
  if (size < OLD_FOOTER_SIZE) return false;
  return at(size - FOOTER_SIZE) || at(size - OLD_FOOTER_SIZE) || (size >= FOOTER_SIZE && at(0));
}
