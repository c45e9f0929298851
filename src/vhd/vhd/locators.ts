/**
 * The parent locators of a VHD differencing disk as Windows writes them (docs/formats.md,
 * "VHD dynamic header", "VHD as Windows writes it"): W2ku holds the absolute path and W2ru the relative one, both UTF-16LE with
 * no terminating NUL in PlatformDataLength; PlatformDataSpace in bytes (4 KiB for W2ku, 64 KiB
 * for W2ru, more when a path needs it); the dynamic header's ParentUnicodeName holds the absolute
 * path (UTF-16BE, encoded by dynamic-header.ts). Shared by create.ts and re-pointing (vhd-image.ts).
 */
import { alignUp, encodeUtf16le } from '../common/bytes.js';
import { locatorPaths } from '../parent-paths.js';
import { PLATFORM_W2KU, PLATFORM_W2RU } from './dynamic-header.js';

/** Locator data spaces start on 4 KiB boundaries and are whole 4 KiB pages. */
export const LOCATOR_ALIGN = 4096;
export const W2KU_MIN_SPACE = 0x1000;
export const W2RU_MIN_SPACE = 0x10000;

export interface ParentLocatorData {
  relative: string;
  absolute: string;
  /** [platform code, data] in Windows' entry order: W2ku (entry 0), then W2ru (entry 1). */
  data: Array<[string, Uint8Array]>;
}

/** The locator texts and bytes a child at `childPath` records for its parent at `parentPath`. */
export function parentLocatorData(childPath: string, parentPath: string): ParentLocatorData {
  const { relative, absolute } = locatorPaths(childPath, parentPath);
  return {
    relative,
    absolute,
    data: [
      [PLATFORM_W2KU, encodeUtf16le(absolute)],
      [PLATFORM_W2RU, encodeUtf16le(relative)],
    ],
  };
}

/** The data space Windows reserves for a locator holding `length` bytes. */
export function locatorSpace(platformCode: string, length: number): number {
  const min = platformCode === PLATFORM_W2RU ? W2RU_MIN_SPACE : W2KU_MIN_SPACE;
  return Math.max(min, alignUp(length, LOCATOR_ALIGN));
}
