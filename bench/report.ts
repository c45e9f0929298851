/**
 * The report: the goals (bench/README.md, "Results"), results.md (the tables, also on stdout),
 * results.json (every figure, the machine and the load average) and chart.svg (bench/chart.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MiB } from './engine.js';
import { renderBenchChart, type Series } from './chart.js';
import type { CliBench, CliResult } from './cli.js';
import type { MergeResults } from './merges.js';
import { DEPTHS, MAX_DEPTH, type Options } from './options.js';
import { type BenchWorkload, type DepthResult, NREAD, type ReadResults, REQ, SIZE } from './reads.js';
import type { SimResults } from './sim.js';
import { log, mibps, round } from './timing.js';

/** Everything one run measured. */
export interface BenchRun {
  options: Options;
  /** 1-minute load average at the start. */
  loadStart: number;
  workload: BenchWorkload;
  reads: ReadResults;
  merge: MergeResults;
  sim: SimResults;
  cli: CliBench | undefined;
}

interface Goal {
  goal: string;
  target: string;
  measured: string;
  ok: boolean | null;
}

const rowOf = (cli: CliBench | undefined, what: string): CliResult | undefined => cli?.rows.find((r) => r.what.startsWith(what));

/** Issue 20's goals: whole processes, chain open and first pass, the state and the server. */
function processGoals(top: DepthResult, cli: CliBench | undefined): Goal[] {
  const g: Goal[] = [];
  const open = top.openMsPerLayer;
  g.push({ goal: 'chain open per layer (issue 20)', target: '≤ 0.2 ms', measured: `${open.toFixed(3)} ms${top.coldOpenMs !== null ? `; first open in a new process ${(top.coldOpenMs / (top.depth + 1)).toFixed(3)} ms (${top.coldOpenMs.toFixed(1)} ms)` : ''}`, ok: open <= 0.2 });
  const secondMs = (SIZE / MiB / top.seqMiBps) * 1000;
  g.push({ goal: `first pass at depth ${MAX_DEPTH} (builds the resolved map) against a second pass`, target: '≤ 1.2×', measured: `${(top.firstPassMs / secondMs).toFixed(2)}× (${top.firstPassMs.toFixed(1)} vs ${secondMs.toFixed(1)} ms)`, ok: top.firstPassMs <= 1.2 * secondMs });
  if (!cli) return g;
  for (const what of ['hvsim --version', 'hvsim get-vm']) {
    const r = rowOf(cli, what);
    if (r) g.push({ goal: `\`${what}\` against an empty node process`, target: '≤ 1.3×', measured: `${r.vsNode.toFixed(2)}× (${r.ms.toFixed(0)} ms)`, ok: r.vsNode <= 1.3 });
  }
  const d1 = rowOf(cli, 'hvsim read-vhd, depth 1');
  const d64 = rowOf(cli, 'hvsim read-vhd, depth 64');
  const q64 = rowOf(cli, 'qemu-img convert, depth 64');
  // The process floor of the same reads (bench/cli.ts, preadProcess): what the layout alone costs.
  const f1 = rowOf(cli, 'preads alone, depth 1');
  const f64 = rowOf(cli, 'preads alone, depth 64');
  const floorNote = f1 && f64 && d1 ? `; preads alone: depth 64 +${(f64.ms - f1.ms).toFixed(0)} ms over depth 1, hvsim +${d64 ? (d64.ms - d1.ms).toFixed(0) : '–'} ms, the target allows +${(0.25 * d1.ms).toFixed(0)} ms` : '';
  if (d1 && d64) g.push({ goal: '`hvsim read-vhd` process, depth 64 against depth 1', target: '≤ 1.25×', measured: `${(d64.ms / d1.ms).toFixed(2)}× (${d64.ms.toFixed(0)} vs ${d1.ms.toFixed(0)} ms${floorNote})`, ok: d64.ms <= 1.25 * d1.ms });
  if (d64 && q64) g.push({ goal: '`hvsim read-vhd` depth 64 against `qemu-img convert` of the qcow2 chain', target: '≤ 0.67×', measured: `${(d64.ms / q64.ms).toFixed(2)}× (${d64.ms.toFixed(0)} vs ${q64.ms.toFixed(0)} ms${f64 ? `; preads alone ${(f64.ms / q64.ms).toFixed(2)}×, ${f64.ms.toFixed(0)} ms` : ''})`, ok: d64.ms <= 0.67 * q64.ms });
  if (d64?.maxRssMiB !== undefined) g.push({ goal: '`hvsim read-vhd` depth 64, peak memory', target: '≤ 64 MiB', measured: `${d64.maxRssMiB.toFixed(0)} MiB${q64?.maxRssMiB !== undefined ? ` (qemu-img ${q64.maxRssMiB.toFixed(0)} MiB)` : ''}`, ok: d64.maxRssMiB <= 64 });
  if (cli.state) {
    const { getVm, checkpointVm } = cli.state;
    g.push({ goal: '`get-vm` of one VM, 1,000 VMs against 10 (10 checkpoints each)', target: '≤ 2×', measured: `${(getVm.vms1000 / getVm.vms10).toFixed(2)}× (${getVm.vms1000.toFixed(0)} vs ${getVm.vms10.toFixed(0)} ms)`, ok: getVm.vms1000 <= 2 * getVm.vms10 });
    g.push({ goal: '`checkpoint-vm` of one VM, 1,000 VMs against 10', target: '≤ 2×', measured: `${(checkpointVm.vms1000 / checkpointVm.vms10).toFixed(2)}× (${checkpointVm.vms1000.toFixed(0)} vs ${checkpointVm.vms10.toFixed(0)} ms)`, ok: checkpointVm.vms1000 <= 2 * checkpointVm.vms10 });
  }
  if (cli.serve) {
    g.push({ goal: '`hvsim serve --stdio`: Get-VM on a warm server', target: '< 5 ms', measured: `${cli.serve.getVmMs.toFixed(1)} ms`, ok: cli.serve.getVmMs < 5 });
    g.push({ goal: '`hvsim serve --stdio`: Checkpoint-VM on a warm server', target: '< 20 ms', measured: `${cli.serve.checkpointVmMs.toFixed(1)} ms`, ok: cli.serve.checkpointVmMs < 20 });
  }
  return g;
}

function goals(top: DepthResult, one: DepthResult, raw: ReadResults['raw']): Goal[] {
  return [
    {
      goal: `sequential read at depth ${MAX_DEPTH} within 10% of depth 1`,
      target: '≥ 0.90',
      measured: `${(top.seqMiBps / one.seqMiBps).toFixed(3)} (${top.seqMiBps} vs ${one.seqMiBps} MiB/s)`,
      ok: top.seqMiBps >= 0.9 * one.seqMiBps,
    },
    {
      goal: `sequential read at depth ${MAX_DEPTH} on two threads (4 MiB requests) within 10% of depth 1 on one`,
      target: '≥ 0.90',
      measured: `${(top.par.seq2MiBps / one.par.seq1MiBps).toFixed(3)} (${top.par.seq2MiBps} vs ${one.par.seq1MiBps} MiB/s; depth 1 on two threads ${one.par.seq2MiBps})`,
      ok: top.par.seq2MiBps >= 0.9 * one.par.seq1MiBps,
    },
    {
      goal: `sequential read at depth ${MAX_DEPTH} at least 1.5× qemu's`,
      target: '≥ 1.5',
      measured: top.qemuSeqMiBps ? `${(top.seqMiBps / top.qemuSeqMiBps).toFixed(2)} (${top.seqMiBps} vs ${top.qemuSeqMiBps} MiB/s; plain new Uint8Array buffer: ${(top.seqPlainBufMiBps / top.qemuSeqMiBps).toFixed(2)})` : 'qemu not run',
      ok: top.qemuSeqMiBps ? top.seqMiBps >= 1.5 * top.qemuSeqMiBps : null,
    },
    {
      goal: `random 4 KiB read at depth ${MAX_DEPTH} within 2× of one raw-file pread`,
      target: '≤ 2.0',
      measured: `${(top.randomUs / raw.randomUs).toFixed(2)} (${top.randomUs} vs ${raw.randomUs.toFixed(3)} µs)`,
      ok: top.randomUs <= 2 * raw.randomUs,
    },
    {
      goal: 'chain open under 1 ms per layer',
      target: '< 1 ms',
      measured: `${top.openMsPerLayer.toFixed(3)} ms (${top.openMs.toFixed(1)} ms for ${MAX_DEPTH + 1} files)`,
      ok: top.openMsPerLayer < 1,
    },
  ];
}

function machineInfo(b: BenchRun): { cpu: string; cpus: number; memoryGiB: number; os: string; node: string; v8: string; loadAverage: number[]; qemu: string | null } {
  const qemu = b.reads.qemu;
  return {
    cpu: (os.cpus()[0]?.model ?? 'unknown').trim(),
    cpus: os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    /** 1-minute load average at the start and the end: above ~1 on 2 vCPUs, something else ran. */
    loadAverage: [round(b.loadStart, 2), round(os.loadavg()[0]!, 2)],
    qemu: qemu ? `${qemu.version} (aio ${qemu.aio})` : null,
  };
}

const fx = (v: number | null, d = 0): string => (v === null ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ratio = (a: number | null, b: number | null, d = 2): string => (a === null || b === null || b === 0 ? '–' : `${(a / b).toFixed(d)}×`);

function markdown(b: BenchRun, machine: ReturnType<typeof machineInfo>, gs: Goal[], top: DepthResult, one: DepthResult): string {
  const { raw, depths, hashChecks, qemu } = b.reads;
  const { merges } = b.merge;
  const simResults = b.sim.results;
  const md: string[] = [];
  md.push(`Machine: ${machine.cpu}, ${machine.cpus} vCPU, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; load average ${machine.loadAverage.join(' → ')}${qemu ? `; qemu ${qemu.version}, \`qemu-img bench -d 1 -i ${qemu.aio}\`` : ''}. Medians of ${b.options.runs} interleaved rounds, files in the page cache.`);
  md.push('');
  md.push('| depth | above base | seq MiB/s (resolved) | seq naive | seq vs depth 1 | qemu seq | hvsim/qemu seq | random µs (resolved) | random naive | naive probes | random vs raw pread | qemu random µs | open ms | open ms/layer |');
  md.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of depths) {
    md.push(
      `| ${r.depth} | ${(r.aboveBaseShare * 100).toFixed(1)}% | ${fx(r.seqMiBps)} | ${fx(r.seqNaiveMiBps)} | ${(r.seqMiBps / one.seqMiBps).toFixed(2)} | ${fx(r.qemuSeqMiBps)} | ${ratio(r.seqMiBps, r.qemuSeqMiBps)} | ` +
        `${r.randomUs.toFixed(2)} | ${r.randomNaiveUs.toFixed(2)} | ${r.naiveProbesPerRead.toFixed(1)} | ${ratio(r.randomUs, raw.randomUs)} | ${r.qemuRandomUs === null ? '–' : r.qemuRandomUs.toFixed(2)} | ${r.openMs.toFixed(2)} | ${r.openMsPerLayer.toFixed(3)} |`,
    );
  }
  md.push('');
  md.push(
    `Ceilings: raw file ${fx(raw.seqMiBps)} MiB/s sequential with the same buffer (${fx(raw.seqPlainBufMiBps)} MiB/s into a plain \`new Uint8Array(1 MiB)\`), one 4 KiB pread ${raw.randomUs.toFixed(2)} µs` +
      (raw.qemuSeqMiBps !== null ? `; qemu-img bench on the raw file ${fx(raw.qemuSeqMiBps)} MiB/s, ${raw.qemuRandomUs?.toFixed(2)} µs per 4 KiB read.` : '.'),
  );
  md.push('');
  md.push('| depth | pieces per pass | pread floor seq MiB/s | hvsim seq / floor | seq, plain new Uint8Array | first pass (builds the map) ms | pread floor random µs | hvsim random / floor |');
  md.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of depths)
    md.push(`| ${r.depth} | ${r.pieces} | ${fx(r.seqFloorMiBps)} | ${(r.seqMiBps / r.seqFloorMiBps).toFixed(2)} | ${fx(r.seqPlainBufMiBps)} | ${r.firstPassMs.toFixed(1)} | ${r.randomFloorUs.toFixed(2)} | ${(r.randomUs / r.randomFloorUs).toFixed(2)} |`);
  const p1 = depths.find((r) => r.depth === 1)?.par;
  if (p1) {
    md.push('');
    md.push('Reads in parallel (4 MiB requests; bench/README.md, "Reads in parallel"): the chain on one thread and on two (its ParallelReader), the pread floor of the same pieces on one thread and on two; "vs depth 1" against the same column at depth 1.');
    md.push('');
    md.push('| depth | 1 thread MiB/s | vs depth 1 | 2 threads MiB/s | vs depth 1 (2 threads) | vs depth 1 on 1 thread | floor, 1 thread | floor, 2 threads | floor vs depth 1 (2 threads) |');
    md.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of depths)
      md.push(
        `| ${r.depth} | ${fx(r.par.seq1MiBps)} | ${(r.par.seq1MiBps / p1.seq1MiBps).toFixed(2)} | ${fx(r.par.seq2MiBps)} | ${(r.par.seq2MiBps / p1.seq2MiBps).toFixed(2)} | ${(r.par.seq2MiBps / p1.seq1MiBps).toFixed(2)} | ` +
          `${fx(r.par.floor1MiBps)} | ${fx(r.par.floor2MiBps)} | ${(r.par.floor2MiBps / p1.floor2MiBps).toFixed(2)} |`,
      );
  }
  if (merges.length) {
    md.push('');
    md.push('| merge | depth | fdatasync | copied MiB | seconds | MiB/s | content |');
    md.push('|---|---:|---|---:|---:|---:|---|');
    for (const m of merges) md.push(`| ${m.case} | ${m.depth} | ${m.durable ? 'yes' : 'no'} | ${(m.copyBytes / MiB).toFixed(1)} | ${m.seconds.toFixed(2)} | ${fx(m.MiBps)} | ${m.hashOk ? 'ok' : 'MISMATCH'} |`);
  }
  if (simResults.length) {
    md.push('');
    md.push('| VMs | Checkpoint-VM, one VM: wall ms | simulated ms | checkpoint-group, all VMs: wall ms | simulated ms | freeze skew (simulated ms) |');
    md.push('|---:|---:|---:|---:|---:|---:|');
    for (const r of simResults) md.push(`| ${r.vms} | ${r.checkpointMs.toFixed(2)} | ${fx(r.checkpointSimMs)} | ${r.groupMs.toFixed(1)} | ${fx(r.groupSimMs)} | ${fx(r.groupSkewMs)} |`);
  }
  if (b.cli) {
    md.push('');
    const floorCpu = b.cli.rows[0]?.cpuMs;
    md.push('| whole process (start to exit) | median wall ms | vs an empty node process | median CPU ms | CPU vs node | peak memory MiB |');
    md.push('|---|---:|---:|---:|---:|---:|');
    for (const r of b.cli.rows)
      md.push(`| ${r.what} | ${r.ms.toFixed(0)} | ${r.vsNode.toFixed(2)}× | ${r.cpuMs === undefined ? '–' : r.cpuMs.toFixed(0)} | ${r.cpuMs === undefined || !floorCpu ? '–' : `${(r.cpuMs / floorCpu).toFixed(2)}×`} | ${r.maxRssMiB === undefined ? '–' : r.maxRssMiB.toFixed(0)} |`);
    if (b.cli.state) {
      const { getVm, checkpointVm } = b.cli.state;
      md.push('');
      md.push('| state (10 checkpoints per VM), whole process | 10 VMs ms | 1,000 VMs ms | 1,000 / 10 |');
      md.push('|---|---:|---:|---:|');
      md.push(`| get-vm of one VM | ${getVm.vms10.toFixed(0)} | ${getVm.vms1000.toFixed(0)} | ${(getVm.vms1000 / getVm.vms10).toFixed(2)}× |`);
      md.push(`| checkpoint-vm of one VM | ${checkpointVm.vms10.toFixed(0)} | ${checkpointVm.vms1000.toFixed(0)} | ${(checkpointVm.vms1000 / checkpointVm.vms10).toFixed(2)}× |`);
    }
    if (b.cli.serve) {
      md.push('');
      md.push(`\`hvsim serve --stdio\` (the server behind the PowerShell module, a Node client, median of 25 on a warm server): Get-VM ${b.cli.serve.getVmMs.toFixed(1)} ms, Checkpoint-VM ${b.cli.serve.checkpointVmMs.toFixed(1)} ms.`);
    }
  }
  md.push('');
  md.push('| goal | target | measured | met |');
  md.push('|---|---|---|---|');
  for (const g of gs) md.push(`| ${g.goal} | ${g.target} | ${g.measured} | ${g.ok === null ? 'not measured' : g.ok ? 'yes' : '**no**'} |`);
  const bt = top.best;
  md.push('');
  md.push(
    `Best round instead of the median (least disturbed by other work): depth ${MAX_DEPTH} / depth 1 sequential ${(bt.seqMiBps / one.best.seqMiBps).toFixed(2)}, ` +
      `/ qemu ${bt.qemuSeqMiBps ? (bt.seqMiBps / bt.qemuSeqMiBps).toFixed(2) : '–'}, random / raw pread ${(bt.randomUs / raw.bestRandomUs).toFixed(2)}, open ${(bt.openMs / (MAX_DEPTH + 1)).toFixed(3)} ms per layer.`,
  );
  md.push('');
  const w = b.workload;
  md.push(`make-workload --depth ${MAX_DEPTH}: ${(w.makeMs / 1000).toFixed(2)} s (${fx(mibps(w.files.bytesWritten, w.makeMs))} MiB/s of virtual data written). Content hashes: ${hashChecks.every((c) => c.hvsim) ? 'all hvsim depths match the table' : 'HVSIM MISMATCH'}${qemu ? (hashChecks.every((c) => c.qemu) ? '; all qcow2 depths match' : '; QCOW2 MISMATCH') : ''}.`);
  return md.join('\n') + '\n';
}

function chart(b: BenchRun, machine: ReturnType<typeof machineInfo>): string {
  const { raw, depths } = b.reads;
  const vals = (f: (r: DepthResult) => number | null): Array<number | null> => depths.map(f);
  const flat = (v: number | null): Array<number | null> => depths.map(() => v);
  const seqSeries: Series[] = [
    { name: 'hvsim (resolved map)', color: '#d62728', values: vals((r) => r.seqMiBps) },
    { name: 'hvsim naive walk', color: '#ff9896', values: vals((r) => r.seqNaiveMiBps) },
    { name: 'qemu-img bench, qcow2 chain', color: '#1f77b4', values: vals((r) => r.qemuSeqMiBps) },
    { name: 'pread floor of the layout', color: '#2ca02c', values: vals((r) => r.seqFloorMiBps), dashed: true },
    { name: 'raw file (readSync 1 MiB)', color: '#555555', values: flat(raw.seqMiBps), dashed: true },
  ];
  const rndSeries: Series[] = [
    { name: 'hvsim (resolved map)', color: '#d62728', values: vals((r) => r.randomUs) },
    { name: 'hvsim naive walk', color: '#ff9896', values: vals((r) => r.randomNaiveUs) },
    { name: 'qemu-img bench, qcow2 chain', color: '#1f77b4', values: vals((r) => r.qemuRandomUs) },
    { name: 'one raw-file pread', color: '#555555', values: flat(raw.randomUs), dashed: true },
  ];
  const openSeries: Series[] = [
    { name: 'Chain.open + close', color: '#9467bd', values: vals((r) => r.openMs) },
    { name: '1 ms per layer (goal)', color: '#555555', values: vals((r) => r.depth + 1), dashed: true },
  ];
  return renderBenchChart(
    `hvsim: reading a deep differencing-disk chain (standard workload, 256 MiB, ${machine.cpu}, Node ${machine.node})`,
    `Medians of ${b.options.runs} interleaved rounds, page cache warm. Sequential: 1 MiB requests; random: 20,000 × 4 KiB (qemu: 4 KiB at a large stride). ${new Date().toISOString().slice(0, 10)}`,
    DEPTHS,
    [
      { title: 'Sequential read', yLabel: 'MiB/s', series: seqSeries },
      { title: 'Random 4 KiB read', yLabel: 'µs per read', series: rndSeries },
      { title: 'Chain open', yLabel: 'ms', series: openSeries },
    ],
  );
}

/** Print the tables on stdout and write results.md, results.json and chart.svg into `outDir`. */
export function writeReport(b: BenchRun, outDir: string): void {
  const { raw, depths, hashChecks } = b.reads;
  const at = (d: number): DepthResult => depths.find((r) => r.depth === d)!;
  const top = at(MAX_DEPTH);
  const one = at(1);
  const gs = [...goals(top, one, raw), ...processGoals(top, b.cli)];
  const machine = machineInfo(b);
  const table = markdown(b, machine, gs, top, one);
  process.stdout.write('\n' + table);

  const o = b.options;
  const results = {
    version: 1,
    date: new Date().toISOString(),
    machine,
    settings: { rounds: o.runs, opensPerRound: b.reads.opensPerRound, sequentialRequestBytes: REQ, bufferSkewBytes: 64, randomReads: NREAD, depths: DEPTHS, quick: o.quick },
    workload: { makeSeconds: round(b.workload.makeMs / 1000, 3), bytesWritten: b.workload.files.bytesWritten, hashes: hashChecks },
    raw: { ...raw, seqMiBps: round(raw.seqMiBps, 0), seqPlainBufMiBps: round(raw.seqPlainBufMiBps, 0), randomUs: round(raw.randomUs, 3) },
    depths,
    merge: b.merge.merges.length ? b.merge.merges : b.merge.note,
    sim: b.sim.results.length ? b.sim.results : b.sim.note,
    cli: b.cli ? { ...b.cli, rows: b.cli.rows.map((r) => ({ ...r, ms: round(r.ms, 1), vsNode: round(r.vsNode, 2), ...(r.maxRssMiB !== undefined ? { maxRssMiB: round(r.maxRssMiB, 1) } : {}) })) } : null,
    goals: gs,
  };
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'results.md'), table);
  fs.writeFileSync(path.join(outDir, 'chart.svg'), chart(b, machine));
  log(`\nresults: ${path.relative(process.cwd(), path.join(outDir, 'results.json'))}, ${path.relative(process.cwd(), path.join(outDir, 'chart.svg'))}`);
}
