/** Analysis commands: make-workload, analyze-chain. Thin: parse, call the engine, print. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { Chain } from '../../engine/chain.js';
import { analyzeChain, type ChainAnalysis } from '../../engine/analyze.js';
import { formatBytes, renderChainSvg } from '../../engine/analyze-svg.js';
import { WORKLOAD } from '../../engine/workload.js';
import { fsCall } from '../../vhd/io/fs-error.js';
import { tableOfRows, out, toJson, type Row } from '../output.js';
import { runJob } from '../job.js';

function parseCount(what: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}, not "${text}"`);
    return n;
  };
}

function percent(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}

/** The human table: one row per layer, base first. */
function analysisRows(a: ChainAnalysis): Row[] {
  return a.layers.map((l) => ({
    Depth: l.depth,
    File: path.basename(l.path),
    Allocated: l.allocatedBlocks,
    Partial: l.partialBlocks,
    Data: formatBytes(l.dataBytes),
    Supplies: percent(l.suppliedShare),
    ProbedBy: percent(l.probeShare),
    ProbesAsLeaf: l.expectedProbesAsLeaf.toFixed(2),
    MergeCopy: l.merge ? formatBytes(l.merge.copyBytes) : '',
    MergeGrowth: l.merge ? formatBytes(l.merge.parentGrowthBytes) : '',
  }));
}

function analysisSummary(a: ChainAnalysis): string {
  const above = 1 - (a.layers[0]?.suppliedShare ?? 0) - a.zeroBytes / a.virtualSize;
  const lines = [
    `Leaf: ${a.leaf}`,
    `Depth: ${a.depth} (${a.layers.length} files), virtual size ${formatBytes(a.virtualSize)}`,
    `Read from above the base: ${percent(above)}; zeros: ${percent(a.zeroBytes / a.virtualSize)}`,
    `Naive walk: ${a.expectedProbes.toFixed(2)} layer probes per random read on average, ${a.maxProbes} at most (the resolved map: none once built)`,
  ];
  if (a.mergeToBase)
    lines.push(`Merging everything into the base: copy ${formatBytes(a.mergeToBase.copyBytes)} in ${a.mergeToBase.dataRuns} runs, base grows by ${formatBytes(a.mergeToBase.parentGrowthBytes)}`);
  return lines.join('\n') + '\n';
}

export function registerAnalysisCommands(program: Command): void {
  program
    .command('make-workload')
    .description('write the standard deep-chain workload (docs/workload.md): a dynamic .vhdx base and differencing .avhdx layers 01..N')
    .requiredOption('--depth <n>', `layers above the base (the standard chain has ${WORKLOAD.depth})`, parseCount('--depth', 0, 255))
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--name <stem>', 'file name stem', 'workload')
    .option('--force', 'replace existing workload files of the same names')
    .option('--json', 'print the files written as JSON')
    .action(async (o: { depth: number; out: string; name: string; force?: boolean; json?: boolean }) => {
      const r = await runJob('make-workload', { dir: o.out, depth: o.depth, name: o.name, ...(o.force ? { overwrite: true } : {}) }, {
        progress: 'make-workload',
        interrupted: () => `make-workload into ${o.out}; the files it had begun are removed`,
      });
      if (o.json) out(toJson({ depth: r.depth, leaf: r.leaf, paths: r.paths, bytesWritten: r.bytesWritten }));
      else out(tableOfRows(r.paths.map((f, k) => ({ Depth: k, Path: f, FileSize: fs.statSync(f).size })), ['Depth', 'FileSize', 'Path']));
    });

  program
    .command('analyze-chain')
    .description('per layer of a chain: allocation, share of the disk it supplies, naive-walk probes, merge cost; --svg draws where the data lives')
    .argument('<leaf>', 'the newest disk of the chain')
    .option('--json', 'the analysis as JSON')
    .option('--svg <file>', 'write a picture of the chain to this SVG file')
    .option('--bins <n>', 'slices of the disk in the map (default 4096)', parseCount('--bins', 1, 1 << 20))
    .action((leaf: string, o: { json?: boolean; svg?: string; bins?: number }) => {
      const chain = Chain.open(leaf);
      let a: ChainAnalysis;
      try {
        a = analyzeChain(chain, o.bins !== undefined ? { bins: o.bins } : {});
      } finally {
        chain.close();
      }
      const svg = o.svg;
      if (svg !== undefined) fsCall(svg, 'write', () => fs.writeFileSync(svg, renderChainSvg(a)));
      if (o.json) {
        out(toJson(a));
        return;
      }
      out(analysisSummary(a) + '\n');
      out(tableOfRows(analysisRows(a)));
    });
}
