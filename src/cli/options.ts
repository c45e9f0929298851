/** Shared option parsers for the CLI. */
import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes, or a number with a binary K/M/G/T/P suffix: "64M", "64MB" and "64MiB" all mean 64 MiB. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new InvalidArgumentError(`"${text}" is not a size (use bytes or a K, M, G, T suffix, e.g. 64M)`);
  const n = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${text}" is not a whole number of bytes`);
  return n;
}

/** A non-negative byte offset or length (suffixes allowed, as for sizes). */
export function parseOffset(text: string): number {
  return parseSize(text);
}

export function parseSectorSize(text: string): number {
  const n = Number(text);
  if (n !== 512 && n !== 4096) throw new InvalidArgumentError(`sector size must be 512 or 4096, not "${text}"`);
  return n;
}

/** Comma-separated list ("a,b, c"), empty items dropped. */
export function parseList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
