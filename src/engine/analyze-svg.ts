/**
 * The picture of an analyze-chain result as an SVG document (pure string building, no I/O):
 * a map of the virtual disk coloured by the layer each slice is read from (base blue, newest
 * red, zeros light grey), and per layer what it supplies and how often a naive walk visits it.
 */
import * as path from 'node:path';
import type { ChainAnalysis } from './analyze.js';

const GRID_W = 640;
const MAX_COLS = 64;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const ZERO_FILL = '#eeeeee';
const BASE_FILL = 'hsl(215,22%,70%)';

/** Escape text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Colour of layer i of n (0 = base): blue through green to red for the newest; -1 = zeros. */
export function layerColor(i: number, n: number): string {
  if (i < 0) return ZERO_FILL;
  if (n <= 1) return BASE_FILL;
  const t = i / (n - 1);
  const hue = Math.round(215 - 215 * t);
  return i === 0 ? BASE_FILL : `hsl(${hue},75%,50%)`;
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 || Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

function pct(v: number): string {
  return `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
}

export function renderChainSvg(a: ChainAnalysis): string {
  const n = a.layers.length;
  const bins = a.map.bins;
  const cols = Math.min(MAX_COLS, bins);
  const rows = Math.ceil(bins / cols);
  const cellW = GRID_W / cols;
  const cellH = Math.max(4, Math.min(24, Math.floor(640 / rows)));
  const gridH = rows * cellH;
  const top = 74;
  const left = 20;
  const panelX = left + GRID_W + 40;
  const rowH = Math.max(3, Math.min(14, Math.floor(Math.max(gridH, 200) / n)));
  const labelEvery = rowH >= 9 ? 1 : Math.ceil(9 / rowH);
  const panelH = n * rowH;
  const legendY = top + Math.max(gridH, panelH + 20) + 30;
  const width = panelX + 440;
  const height = legendY + 60;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  o.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  const leafName = xmlEscape(path.basename(a.leaf));
  o.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">Chain ${leafName}: depth ${a.depth}, ${xmlEscape(formatBytes(a.virtualSize))}</text>`);
  o.push(
    `<text x="${left}" y="44" fill="#444">A random read walking the chain top-down probes ${a.expectedProbes.toFixed(2)} layers on average (at most ${a.maxProbes}); ` +
      `${pct(1 - (a.layers[0]?.suppliedShare ?? 0) - a.zeroBytes / a.virtualSize)} of the disk is read from above the base.</text>`,
  );

  // Panel A: where each slice of the disk is read from.
  o.push(`<text x="${left}" y="${top - 8}" font-weight="bold">Where the data lives (each cell ${xmlEscape(formatBytes(a.map.binSize))}, ${xmlEscape(formatBytes(a.map.binSize * cols))} a row; offset 0 top left)</text>`);
  o.push(`<g id="map" shape-rendering="crispEdges">`);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; ) {
      const b = r * cols + c;
      if (b >= bins) break;
      const owner = a.map.owner[b]!;
      let e = c + 1;
      while (e < cols && r * cols + e < bins && a.map.owner[r * cols + e] === owner) e++;
      const from = b * a.map.binSize;
      const to = Math.min(a.virtualSize, (r * cols + e) * a.map.binSize);
      const who = owner < 0 ? 'zeros' : `layer ${owner} (${path.basename(a.layers[owner]?.path ?? '')})`;
      o.push(
        `<rect x="${num(left + c * cellW)}" y="${top + r * cellH}" width="${num((e - c) * cellW)}" height="${cellH}" fill="${layerColor(owner, n)}">` +
          `<title>${xmlEscape(`0x${from.toString(16)}–0x${to.toString(16)}: ${who}`)}</title></rect>`,
      );
      c = e;
    }
  }
  o.push(`</g>`);
  o.push(`<rect x="${left}" y="${top}" width="${GRID_W}" height="${gridH}" fill="none" stroke="#999"/>`);

  // Panel B: per layer, newest at the top.
  const barW = 150;
  const probeW = 100;
  const maxShare = Math.max(1e-9, ...a.layers.map((l) => l.suppliedShare));
  o.push(`<text x="${panelX}" y="${top - 8}" font-weight="bold">Layer</text>`);
  o.push(`<text x="${panelX + 60}" y="${top - 8}" font-weight="bold">Supplies (share of disk)</text>`);
  o.push(`<text x="${panelX + 60 + barW + 60}" y="${top - 8}" font-weight="bold">Probed by</text>`);
  o.push(`<g id="layers">`);
  a.layers.forEach((l, i) => {
    const y = top + (n - 1 - i) * rowH;
    const label = i === 0 ? 'base' : String(i);
    const title = `${path.basename(l.path)}: holds ${formatBytes(l.dataBytes)}, supplies ${formatBytes(l.suppliedBytes)} (${pct(l.suppliedShare)}), ` +
      `probed by ${pct(l.probeShare)} of random reads; ${l.allocatedBlocks} blocks allocated, ${l.partialBlocks} partial`;
    o.push(`<g><title>${xmlEscape(title)}</title>`);
    o.push(`<rect x="${panelX}" y="${y + 1}" width="12" height="${Math.max(1, rowH - 2)}" fill="${layerColor(i, n)}"/>`);
    if (i % labelEvery === 0 || i === n - 1) o.push(`<text x="${panelX + 16}" y="${y + rowH - 2}" font-size="${Math.min(11, rowH)}">${label}</text>`);
    o.push(`<rect x="${panelX + 60}" y="${y + 1}" width="${num((barW * l.suppliedShare) / maxShare)}" height="${Math.max(1, rowH - 2)}" fill="${layerColor(i, n)}"/>`);
    if (rowH >= 8) o.push(`<text x="${panelX + 60 + barW + 4}" y="${y + rowH - 2}" font-size="${Math.min(10, rowH)}" fill="#444">${pct(l.suppliedShare)}</text>`);
    o.push(`<rect x="${panelX + 60 + barW + 60}" y="${y + 1}" width="${num(probeW * l.probeShare)}" height="${Math.max(1, rowH - 2)}" fill="#777"/>`);
    if (rowH >= 8) o.push(`<text x="${panelX + 60 + barW + 64 + probeW}" y="${y + rowH - 2}" font-size="${Math.min(10, rowH)}" fill="#444">${pct(l.probeShare)}</text>`);
    o.push(`</g>`);
  });
  o.push(`</g>`);

  // Legend.
  const stops = Math.min(n, 64);
  const lw = 240 / stops;
  o.push(`<g id="legend">`);
  o.push(`<text x="${left}" y="${legendY}">base</text>`);
  for (let s = 0; s < stops; s++) {
    const layer = stops === 1 ? 0 : Math.round((s * (n - 1)) / (stops - 1));
    o.push(`<rect x="${num(left + 40 + s * lw)}" y="${legendY - 11}" width="${num(lw + 0.5)}" height="14" fill="${layerColor(layer, n)}"/>`);
  }
  o.push(`<text x="${left + 290}" y="${legendY}">newest (depth ${a.depth})</text>`);
  o.push(`<rect x="${left + 440}" y="${legendY - 11}" width="14" height="14" fill="${ZERO_FILL}" stroke="#999"/>`);
  o.push(`<text x="${left + 460}" y="${legendY}">zeros (no layer holds data)</text>`);
  o.push(
    `<text x="${left}" y="${legendY + 24}" fill="#444">Probed by: share of random reads a top-down walk looks up in that layer. ` +
      `Supplies: share of the disk whose newest copy is in that layer.</text>`,
  );
  o.push(`</g>`);
  o.push(`</svg>`);
  return o.join('\n') + '\n';
}
