/**
 * The hvsim PowerShell module's cost per cmdlet on a warm session (issue 16, part 4): median wall
 * time of a Get-VM and of a Checkpoint-VM
 *   - through the module in pwsh (one `hvsim serve --stdio` for the whole session),
 *   - through the server alone (a Node client writing the same JSON lines: the server's share),
 *   - as one `hvsim` process per call (`hvsim get-vm`, `hvsim checkpoint-vm`), the alternative.
 * Simulated clock (HVSIM_CLOCK=simulated), 8 MiB disks. Needs the build (npm run build) and pwsh
 * (HVSIM_PWSH or on PATH). Not part of `npm run bench` nor of the tests:
 *
 *   npm run build && node --import tsx bench/pwsh-module.ts [--runs N]
 *
 * Prints a Markdown table and writes bench/results/pwsh-module.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distPath } from './engine.js';
import { throughServer } from './serve.js';
import { log, median } from './timing.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BIN = distPath('cli/bin.cjs');
const MODULE = path.join(REPO, 'powershell', 'Hvsim', 'Hvsim.psd1');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 25;

function pwshPath(): string {
  if (process.env.HVSIM_PWSH) return process.env.HVSIM_PWSH;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir && fs.existsSync(path.join(dir, 'pwsh'))) return path.join(dir, 'pwsh');
  throw new Error('pwsh not found (HVSIM_PWSH or PATH)');
}

function newRoot(): { root: string; env: NodeJS.ProcessEnv } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-bench-module-'));
  const env = { ...process.env, HVSIM_ROOT: path.join(root, 'state'), HVSIM_CLOCK: 'simulated', HVSIM_START_TIME: '2014-09-21T19:37:31Z', TZ: 'UTC' };
  const r = spawnSync(process.execPath, [BIN, 'new-vm', '--name', 'web01', '--disk-size', '8M'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { root, env };
}

/** Medians through the module in one warm pwsh session. */
function throughModule(): { getVM: number; checkpoint: number; firstCall: number } {
  const { root, env } = newRoot();
  try {
    const script = path.join(root, 'bench.ps1');
    fs.writeFileSync(
      script,
      `Import-Module '${MODULE}'
$sw = [Diagnostics.Stopwatch]::StartNew(); Get-VM web01 | Out-Null; $first = $sw.Elapsed.TotalMilliseconds
foreach ($i in 1..20) { Get-VM web01 | Out-Null }
$g = foreach ($i in 1..${RUNS}) { $sw.Restart(); Get-VM web01 | Out-Null; $sw.Elapsed.TotalMilliseconds }
foreach ($i in 1..3) { Checkpoint-VM web01 }
$c = foreach ($i in 1..${RUNS}) { $sw.Restart(); Checkpoint-VM web01; $sw.Elapsed.TotalMilliseconds }
'@@' + (ConvertTo-Json -Compress @{ first = $first; get = @($g); cp = @($c) })
`,
    );
    const r = spawnSync(pwshPath(), ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', script], { env: { ...env, HVSIM_CLI: BIN, HVSIM_NODE: process.execPath }, encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.startsWith('@@'));
    if (!line) throw new Error(`pwsh: ${r.stderr}`);
    const v = JSON.parse(line.slice(2)) as { first: number; get: number[]; cp: number[] };
    return { getVM: median(v.get), checkpoint: median(v.cp), firstCall: v.first };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Medians of one hvsim process per call. */
function processPerCall(): { getVM: number; checkpoint: number } {
  const { root, env } = newRoot();
  const time = (args: string[]): number => {
    const t = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return performance.now() - t;
  };
  try {
    const n = Math.min(RUNS, 9);
    const g = Array.from({ length: n }, () => time(['get-vm', '--name', 'web01']));
    const c = Array.from({ length: n }, () => time(['checkpoint-vm', '--name', 'web01']));
    return { getVM: median(g), checkpoint: median(c) };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const load = os.loadavg()[0]!;
log(`pwsh-module bench: ${RUNS} runs per median${load > 1 ? `; load average ${load.toFixed(2)}: figures will be noisy` : ''}`);
const mod = throughModule();
log(`  module: Get-VM ${mod.getVM.toFixed(1)} ms, Checkpoint-VM ${mod.checkpoint.toFixed(1)} ms (first call, server start included: ${mod.firstCall.toFixed(0)} ms)`);
const srv = await throughServer(BIN, newRoot, RUNS);
log(`  server alone: Get-VM ${srv.getVM.toFixed(1)} ms, Checkpoint-VM ${srv.checkpoint.toFixed(1)} ms`);
const proc = processPerCall();
log(`  process per call: get-vm ${proc.getVM.toFixed(0)} ms, checkpoint-vm ${proc.checkpoint.toFixed(0)} ms`);

const f = (v: number): string => (v < 100 ? v.toFixed(1) : v.toFixed(0));
const md = `# hvsim PowerShell module: cost per cmdlet (median ms, warm session)

Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} CPUs (load average ${load.toFixed(2)} at start), ${RUNS} runs per median,
simulated clock, 8 MiB disks; \`node --import tsx bench/pwsh-module.ts\`. Target: under 20 ms per cmdlet.

| | Get-VM | Checkpoint-VM |
|---|---|---|
| through the module (pwsh, one hvsim serve) | ${f(mod.getVM)} | ${f(mod.checkpoint)} |
| the server alone (Node client, same JSON lines) | ${f(srv.getVM)} | ${f(srv.checkpoint)} |
| one hvsim process per call | ${f(proc.getVM)} | ${f(proc.checkpoint)} |

The module's first call (starting \`hvsim serve\`) took ${f(mod.firstCall)} ms.
`;
process.stdout.write(md);
fs.mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(REPO, 'bench', 'results', 'pwsh-module.md'), md);
