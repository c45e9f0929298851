/** Small formatting helpers for the views. */

export function bytes(n: number | null): string {
  if (n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** A creation time as Hyper-V Manager shows it (en-US, the browser's time zone). */
export function when(iso: string): string {
  return new Date(iso).toLocaleString('en-US');
}

export function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase()}`;
}

/** Colour of layer `i` of a chain (0 = base); zeros have their own. */
export const LAYER_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'];
export function layerColour(i: number): string {
  return i < 0 ? 'var(--zero)' : LAYER_COLOURS[i % LAYER_COLOURS.length]!;
}
