/**
 * npm run bench: nested-chain read degradation against the alternatives (issue 7). The steps are
 * described in bench/README.md; each lives in its own module:
 *
 * - engine.ts: the engine as built (dist/, loaded by dynamic import), options.ts: argv and settings,
 *   timing.ts: medians, timed samples, rates;
 * - reads.ts (with floor.ts and qemu.ts): the workload, chain opens, sequential and random reads
 *   against depth, the pread floor, the qcow2 chain through `qemu-img bench`;
 * - merges.ts: merge throughput; sim.ts: checkpoints on the simulator; cli.ts: CLI start-up;
 * - report.ts: goals, results.md (also on stdout), results.json, chart.svg (chart.ts).
 *
 * Options: --quick (fewer runs), --keep (leave the temporary files), --no-qemu, --no-merge, --no-sim,
 * --no-cli, --out DIR (default bench/results), --tmp DIR (default: a new folder in os.tmpdir()).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCliBench } from './cli.js';
import { distPath } from './engine.js';
import { measureMerges } from './merges.js';
import { MAX_DEPTH, parseOptions } from './options.js';
import { makeBenchWorkload, measureReads, SIZE } from './reads.js';
import { qcowLayerPath } from './qemu.js';
import { writeReport } from './report.js';
import { measureSim } from './sim.js';
import { log } from './timing.js';

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const tmp = o.tmp ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-bench-'));
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.mkdirSync(tmp, { recursive: true });

  const loadStart = os.loadavg()[0]!;
  log(`hvsim bench: workload in ${tmp}`);
  if (loadStart > 1) log(`  warning: load average ${loadStart.toFixed(2)} at start: other processes share the CPUs, figures will be noisy`);
  const workload = makeBenchWorkload(tmp);
  const reads = measureReads(o, tmp, workload);
  const merge = await measureMerges(o, tmp);
  const sim = await measureSim(o);
  const qcow64 = qcowLayerPath(path.join(tmp, 'qcow2'), MAX_DEPTH);
  const inputs = { leaf1: workload.files.paths[1], leaf64: workload.files.leaf, virtualSize: SIZE, ...(reads.qemu && fs.existsSync(qcow64) ? { qcow64 } : {}) };
  const cli = o.cli ? await runCliBench(distPath('cli/bin.cjs'), o.cliRuns, inputs, log) : undefined;
  writeReport({ options: o, loadStart, workload, reads, merge, sim, cli }, o.outDir);

  if (!o.keep) fs.rmSync(tmp, { recursive: true, force: true });
  else log(`kept ${tmp}`);
  const bad = reads.hashChecks.some((c) => !c.hvsim || c.qemu === false) || merge.merges.some((m) => !m.hashOk);
  return bad ? 1 : 0;
}

process.exitCode = await main();
