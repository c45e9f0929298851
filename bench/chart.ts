/**
 * The bench chart: throughput, latency and open time against chain depth, as one SVG document
 * (pure string building). Depths are drawn evenly spaced (0, 1, 2, 4 … 64), values on linear axes.
 */

export interface Series {
  name: string;
  color: string;
  /** One value per x position; null where not measured. */
  values: Array<number | null>;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

const W = 430;
const H = 330;
const M = { left: 64, right: 16, top: 34, bottom: 120 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A round tick step (1, 2, 2.5 or 5 × 10^k) giving about five ticks, and the axis maximum above `v`. */
function niceScale(v: number): { max: number; step: number } {
  if (!(v > 0)) return { max: 1, step: 0.2 };
  const raw = v / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
  return { max: Math.ceil(v / step - 1e-9) * step, step };
}

function fmt(v: number): string {
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return String(Math.round(v));
  return String(Number(v.toPrecision(2)));
}

function panelSvg(p: Panel, xs: number[], ox: number, oy: number): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const all = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const { max, step } = niceScale(Math.max(0, ...all) * 1.05);
  const x = (i: number): number => ox + M.left + (xs.length === 1 ? iw / 2 : (i * iw) / (xs.length - 1));
  const y = (v: number): number => oy + M.top + ih - (v / max) * ih;
  const o: string[] = [];
  o.push(`<text x="${ox + M.left}" y="${oy + 20}" font-weight="bold" font-size="13">${esc(p.title)}</text>`);
  for (let t = 0; t <= max + step / 1000; t += step) {
    o.push(`<line x1="${ox + M.left}" x2="${ox + M.left + iw}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`);
    o.push(`<text x="${ox + M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#555">${fmt(t)}</text>`);
  }
  xs.forEach((d, i) => {
    o.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${oy + M.top + ih}" y2="${oy + M.top + ih + 4}" stroke="#555"/>`);
    o.push(`<text x="${x(i).toFixed(1)}" y="${oy + M.top + ih + 16}" text-anchor="middle" font-size="10" fill="#555">${d}</text>`);
  });
  o.push(`<text x="${ox + M.left + iw / 2}" y="${oy + M.top + ih + 32}" text-anchor="middle" font-size="11">chain depth</text>`);
  o.push(`<text transform="translate(${ox + 16},${oy + M.top + ih / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(p.yLabel)}</text>`);
  o.push(`<rect x="${ox + M.left}" y="${oy + M.top}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`);
  for (const s of p.series) {
    const pts = s.values.map((v, i) => (v === null || !Number.isFinite(v) ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`));
    let seg: string[] = [];
    const flush = (): void => {
      if (seg.length > 1) o.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      seg = [];
    };
    for (const pt of pts) {
      if (pt === null) flush();
      else seg.push(pt);
    }
    flush();
    // The value at the deepest point, next to it.
    const lastI = s.values.length - 1;
    const lastV = s.values[lastI];
    if (lastV !== null && lastV !== undefined && Number.isFinite(lastV) && !s.dashed)
      o.push(`<text x="${(x(lastI) - 5).toFixed(1)}" y="${(y(lastV) - 6).toFixed(1)}" text-anchor="end" font-size="9" fill="${s.color}">${fmt(lastV)}</text>`);
    if (!s.dashed)
      pts.forEach((pt, i) => {
        if (pt === null) return;
        const [cx, cy] = pt.split(',');
        o.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"><title>${esc(`${s.name}, depth ${xs[i]}: ${fmt(s.values[i]!)}`)}</title></circle>`);
      });
  }
  // Legend under the plot, one series a line.
  p.series.forEach((s, i) => {
    const lx = ox + M.left;
    const ly = oy + M.top + ih + 50 + i * 15;
    o.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    o.push(`<text x="${lx + 28}" y="${ly}" font-size="10">${esc(s.name)}</text>`);
  });
  return o.join('\n');
}

/** Panels side by side, with a title and a footnote. */
export function renderBenchChart(title: string, note: string, depths: number[], panels: Panel[]): string {
  const width = W * panels.length + 20;
  const height = H + 70;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  o.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(`<text x="16" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`);
  panels.forEach((p, i) => o.push(panelSvg(p, depths, 10 + i * W, 30)));
  o.push(`<text x="16" y="${height - 12}" font-size="10" fill="#555">${esc(note)}</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
