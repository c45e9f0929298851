/**
 * What a user times: whole `hvsim` processes (issue 20), against the machine's floor (an empty
 * `node` process) and qemu-img in the same run, in interleaved rounds (each round runs every row
 * once, so a burst of outside load hits them all alike):
 *   - start-up: `--version`, `get-vm`, `hvsim run` of a small script, and `qemu-img --version`;
 *   - `hvsim read-vhd` of the workload's depth-1 and depth-64 leaves to /dev/null, with peak
 *     memory, against `qemu-img convert` of the depth-64 qcow2 chain into qemu's null driver, and
 *     against the process floor of the same reads (`preadProcess`);
 *   - a state of 1,000 VMs with 10 checkpoints each against one of 10: `get-vm` and
 *     `checkpoint-vm` of one VM (`stateScaling`);
 *   - `hvsim serve --stdio`, the server behind the PowerShell module: Get-VM and Checkpoint-VM
 *     on a warm server (bench/serve.ts).
 * `hvsim run` loads a 1 MB WebAssembly grammar; without the --liftoff-only it sets first (src/cli/wasm-tiering.ts) a process
 * then cannot exit until V8 has compiled all of it in the background (~7 s here), which the
 * "run, default V8 tiering" row measures by starting the same CLI with that flag undone.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readStateDirectory, writeStateDirectory } from '../src/sim/records.js';
import type { HostState, VmRecord } from '../src/sim/state.js';
import { Chain, wl } from './engine.js';
import { plan } from './floor.js';
import { throughServer } from './serve.js';
import { MAX_DEPTH } from './options.js';
import { PAR_REQ as READ_VHD_CHUNK } from './reads.js';
import { median } from './timing.js';

export interface CliResult {
  what: string;
  /** Median wall ms of whole processes. */
  ms: number;
  /** Against an empty node process. */
  vsNode: number;
  /** Median peak resident memory (MiB), where measured (GNU time). */
  maxRssMiB?: number;
  /** Median CPU time (user + system, ms; GNU time, 10 ms resolution): steadier than wall time under load. */
  cpuMs?: number;
}

export interface StateScaling {
  /** Median wall ms of whole processes on a 10-VM and on a 1,000-VM state (10 checkpoints each). */
  getVm: { vms10: number; vms1000: number };
  checkpointVm: { vms10: number; vms1000: number };
}

export interface ServeResult {
  getVmMs: number;
  checkpointVmMs: number;
}

export interface CliBench {
  rows: CliResult[];
  state: StateScaling | undefined;
  serve: ServeResult | undefined;
}

/** What the bench gives the CLI rows: the workload's leaves, the qcow2 chain when qemu ran. */
export interface CliInputs {
  leaf1?: string;
  leaf64?: string;
  qcow64?: string;
  virtualSize?: number;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = fs.existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;

interface Row {
  what: string;
  cmd: string;
  args: string[];
  input?: string;
  env?: NodeJS.ProcessEnv;
  rss?: boolean;
  runs?: number;
}

/** One timed process: wall ms, and peak RSS (MiB) and CPU ms through GNU time when it is there. */
function once(row: Row, env: NodeJS.ProcessEnv, rssFile: string): { ms: number; rss?: number; cpu?: number } {
  const useTime = hasGnuTime;
  const cmd = useTime ? GNU_TIME : row.cmd;
  const args = useTime ? ['-f', '%M %U %S', '-o', rssFile, row.cmd, ...row.args] : row.args;
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: row.env ?? env, input: row.input ?? '', encoding: 'utf8', maxBuffer: 1 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${row.cmd} ${row.args.join(' ')} exited ${r.status}: ${r.stderr}`);
  if (!useTime) return { ms };
  const [kib, user, sys] = fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpu: (user! + sys!) * 1000, ...(row.rss === true ? { rss: kib! / 1024 } : {}) };
}

/** Medians of interleaved rounds; the first row is the floor the others are divided by. */
function interleaved(rows: Row[], env: NodeJS.ProcessEnv, runs: number, tmp: string, log: (s: string) => void): CliResult[] {
  const rssFile = path.join(tmp, 'rss.txt');
  const ms: number[][] = rows.map(() => []);
  const rss: number[][] = rows.map(() => []);
  const cpu: number[][] = rows.map(() => []);
  for (let round = 0; round < runs; round++)
    rows.forEach((row, i) => {
      if (round >= (row.runs ?? runs)) return;
      const r = once(row, env, rssFile);
      ms[i]!.push(r.ms);
      if (r.rss !== undefined) rss[i]!.push(r.rss);
      if (r.cpu !== undefined) cpu[i]!.push(r.cpu);
    });
  const floor = median(ms[0]!);
  return rows.map((row, i) => {
    const m = median(ms[i]!);
    const out: CliResult = { what: row.what, ms: m, vsNode: m / floor, ...(rss[i]!.length ? { maxRssMiB: median(rss[i]!) } : {}), ...(cpu[i]!.length ? { cpuMs: median(cpu[i]!) } : {}) };
    log(`  cli: ${row.what}: ${m.toFixed(0)} ms (${out.vsNode.toFixed(2)}x node)${out.cpuMs !== undefined ? `, cpu ${out.cpuMs.toFixed(0)} ms` : ''}${out.maxRssMiB ? `, peak ${out.maxRssMiB.toFixed(0)} MiB` : ''}`);
    return out;
  });
}

const simEnv = (root: string): NodeJS.ProcessEnv => ({ ...process.env, HVSIM_ROOT: root, HVSIM_CLOCK: 'simulated', HVSIM_START_TIME: '2014-09-21T19:37:31Z', TZ: 'UTC' });

function hvsim(bin: string, env: NodeJS.ProcessEnv, args: string[]): void {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hvsim ${args.join(' ')}: ${r.stderr}`);
}

interface VmJson {
  id: string;
  name: string;
  path: string;
  parentSnapshotId: string | null;
  snapshots: Array<{ id: string; parentId: string | null }>;
  vmFiles?: string[];
}

/**
 * The process floor of `hvsim read-vhd LEAF --output /dev/null`: a fresh node running a few lines
 * with no chain code, which opens the chain's files and issues one `fs.readSync` per piece of
 * read-vhd's 4 MiB requests (resolved in advance by the bench, floor.ts's `plan`), writing each
 * request to /dev/null. What any Node program pays for these reads of this layout, start-up included.
 * Run once first with HVSIM_BENCH_SHA256=1, when it prints the disk's SHA-256 instead, which must be
 * the workload's (`depth`): a floor that reads other bytes is not a floor of this read.
 */
function preadProcess(leaf: string, depth: number, dir: string, name: string, script: string): string[] {
  const chain = Chain.open(leaf);
  try {
    if (chain.virtualSize % READ_VHD_CHUNK !== 0) throw new Error(`${leaf}: the pread floor needs a size in whole ${READ_VHD_CHUNK}-byte requests`);
    const reqs = Array.from({ length: Math.ceil(chain.virtualSize / READ_VHD_CHUNK) }, (_, i) => i * READ_VHD_CHUNK);
    const pl = plan(chain, chain.paths.map((_, i) => i), reqs, READ_VHD_CHUNK);
    // Per piece: the request's index, the file's index, the file offset, the length, the buffer offset.
    const t = new Float64Array(pl.fd.length * 5);
    for (let r = 0; r < reqs.length; r++)
      for (let i = pl.start[r]!; i < pl.start[r + 1]!; i++) t.set([r, pl.fd[i]!, pl.fileOff[i]!, pl.len[i]!, pl.bufOff[i]!], i * 5);
    const table = path.join(dir, `${name}.bin`);
    fs.writeFileSync(table, t);
    const args = [script, table, ...chain.paths];
    const check = spawnSync(process.execPath, args, { env: { ...process.env, HVSIM_BENCH_SHA256: '1' }, encoding: 'utf8' });
    if (check.status !== 0 || check.stdout.trim() !== wl.EXPECTED_SHA256[depth]) throw new Error(`the pread floor of ${leaf} read other bytes than the workload's (${check.stdout.trim() || check.stderr})`);
    return args;
  } finally {
    chain.close();
  }
}

const PREAD_SCRIPT = `const fs = require('fs');
const [table, ...paths] = process.argv.slice(2);
const t = new Float64Array(fs.readFileSync(table).buffer.slice(0));
const fds = paths.map((p) => fs.openSync(p, 'r'));
const out = fs.openSync('/dev/null', 'w');
const buf = Buffer.allocUnsafe(${READ_VHD_CHUNK});
const hash = process.env.HVSIM_BENCH_SHA256 ? require('crypto').createHash('sha256') : undefined;
for (let i = 0; i < t.length; i += 5) {
  fs.readSync(fds[t[i + 1]], buf, t[i + 4], t[i + 3], t[i + 2]);
  if (i + 5 >= t.length || t[i + 5] !== t[i]) hash ? hash.update(buf) : fs.writeSync(out, buf);
}
if (hash) console.log(hash.digest('hex'));
`;

/**
 * A state directory of `n` VMs with `checkpoints` checkpoints each: one VM made through the CLI,
 * then its record repeated under new names and ids (the state read and written whole: src/sim/records.ts;
 * the first command writes each VM's record file),
 * each copy's files hard links to the first VM's (nothing writes them), except the last VM's, which
 * are copies: that is the VM the bench changes.
 */
function makeState(bin: string, template: string, root: string, n: number): void {
  const src = readStateDirectory(template) as unknown as HostState & { vms: VmJson[] };
  const t = src.vms[0]!;
  const tText = JSON.stringify(t);
  const tFolder = t.path;
  const vms: unknown[] = [];
  const disks = path.join(tFolder, 'Virtual Hard Disks');
  const names = fs.readdirSync(disks);
  for (let i = 0; i < n; i++) {
    const name = `vm${String(i).padStart(4, '0')}`;
    const folder = path.join(root, 'vms', name);
    const v = JSON.parse(tText.split(JSON.stringify(tFolder).slice(1, -1)).join(JSON.stringify(folder).slice(1, -1))) as VmJson;
    v.name = name;
    v.id = crypto.randomUUID();
    const ids = new Map(v.snapshots.map((s) => [s.id, crypto.randomUUID()]));
    for (const s of v.snapshots) {
      s.id = ids.get(s.id)!;
      s.parentId = s.parentId === null ? null : ids.get(s.parentId)!;
    }
    v.parentSnapshotId = v.parentSnapshotId === null ? null : ids.get(v.parentSnapshotId)!;
    // The template's VM files are named by its Ids: the first get-vm makes each copy's own.
    delete v.vmFiles;
    vms.push(v);
    fs.mkdirSync(path.join(folder, 'Virtual Hard Disks'), { recursive: true });
    for (const f of names) {
      const from = path.join(disks, f);
      const to = path.join(folder, 'Virtual Hard Disks', f);
      if (i === n - 1) fs.copyFileSync(from, to);
      else fs.linkSync(from, to);
    }
  }
  writeStateDirectory(root, { ...src, vms: vms as VmRecord[] });
  hvsim(bin, simEnv(root), ['get-vm', '--name', `vm${String(n - 1).padStart(4, '0')}`]);
}

/** The states of `stateScaling` under `root` (a VM of 10 checkpoints copied 10 and 1,000 times): bench/make-states.ts makes them alone. */
export function makeStates(bin: string, root: string): { s10: string; s1000: string } {
  const template = path.join(root, 'template');
  const tEnv = simEnv(template);
  hvsim(bin, tEnv, ['new-vm', '--name', 't', '--disk-size', '1M']);
  for (let i = 0; i < 10; i++) hvsim(bin, tEnv, ['checkpoint-vm', '--name', 't']);
  const s10 = path.join(root, 'state10');
  const s1000 = path.join(root, 'state1000');
  makeState(bin, template, s10, 10);
  makeState(bin, template, s1000, 1000);
  return { s10, s1000 };
}

export async function runCliBench(bin: string, runs: number, inputs: CliInputs, log: (s: string) => void): Promise<CliBench> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-bench-cli-'));
  try {
    const env = { ...simEnv(path.join(root, 'sim')) };
    const vms = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];
    for (const v of vms) hvsim(bin, env, ['--computer-name', 'xHost16', 'new-vm', '--name', v, '--disk-size', '8M']);
    const script = `$VMs = "${vms.join('","')}"\nGet-VM -Name $VMs | Select VMName,State,ComputerName | FT -AutoSize\n`;
    const preload = path.join(root, 'default-tiering.cjs');
    fs.writeFileSync(preload, "require('v8').setFlagsFromString = () => {};\nrequire('module').syncBuiltinESMExports();\n");
    const qemuImg = spawnSync('qemu-img', ['--version'], { encoding: 'utf8' }).status === 0;
    const node = process.execPath;
    const rows: Row[] = [
      { what: 'node -e 0 (floor)', cmd: node, args: ['-e', '0'], rss: true },
      { what: 'hvsim --version', cmd: node, args: [bin, '--version'], rss: true },
      { what: 'hvsim get-vm', cmd: node, args: [bin, 'get-vm'], rss: true },
      { what: 'hvsim run (Get-VM, Select, FT -AutoSize)', cmd: node, args: [bin, 'run', '--new-session', '-'], input: script },
      // The same CLI with bin.ts's flag call made a no-op by a preload: V8's default wasm tiering.
      { what: 'hvsim run, default V8 tiering', cmd: node, args: ['--require', preload, bin, 'run', '--new-session', '-'], input: script, runs: runs <= 3 ? 1 : 3 },
    ];
    if (qemuImg) rows.push({ what: 'qemu-img --version', cmd: 'qemu-img', args: ['--version'], rss: true });
    if (inputs.leaf1) rows.push({ what: 'hvsim read-vhd, depth 1 (whole disk to /dev/null)', cmd: node, args: [bin, 'read-vhd', inputs.leaf1, '--output', '/dev/null'], rss: true });
    if (inputs.leaf64) rows.push({ what: 'hvsim read-vhd, depth 64', cmd: node, args: [bin, 'read-vhd', inputs.leaf64, '--output', '/dev/null'], rss: true });
    if (inputs.leaf1 && inputs.leaf64) {
      const preadScript = path.join(root, 'preads.cjs');
      fs.writeFileSync(preadScript, PREAD_SCRIPT);
      rows.push({ what: "preads alone, depth 1 (read-vhd's pieces, no chain code)", cmd: node, args: preadProcess(inputs.leaf1, 1, root, 'preads1', preadScript), rss: true });
      rows.push({ what: `preads alone, depth ${MAX_DEPTH}`, cmd: node, args: preadProcess(inputs.leaf64, MAX_DEPTH, root, 'preads64', preadScript), rss: true });
    }
    if (qemuImg && inputs.qcow64 && inputs.virtualSize)
      rows.push({
        what: 'qemu-img convert, depth 64 qcow2 chain (to null-co)',
        cmd: 'qemu-img',
        args: ['convert', '-f', 'qcow2', inputs.qcow64, '--target-image-opts', `driver=null-co,size=${inputs.virtualSize}`, '-n'],
        rss: true,
      });
    const out = interleaved(rows, env, runs, root, log);

    // The state: 10 and 1,000 VMs of 10 checkpoints each.
    const { s10, s1000 } = makeStates(bin, root);
    const stateRows: Row[] = [
      { what: 'node -e 0 (floor)', cmd: node, args: ['-e', '0'] },
      { what: 'get-vm of one VM, 10 VMs', cmd: node, args: [bin, 'get-vm', '--name', 'vm0009'], env: simEnv(s10) },
      { what: 'get-vm of one VM, 1,000 VMs', cmd: node, args: [bin, 'get-vm', '--name', 'vm0999'], env: simEnv(s1000) },
      { what: 'checkpoint-vm of one VM, 10 VMs', cmd: node, args: [bin, 'checkpoint-vm', '--name', 'vm0009'], env: simEnv(s10) },
      { what: 'checkpoint-vm of one VM, 1,000 VMs', cmd: node, args: [bin, 'checkpoint-vm', '--name', 'vm0999'], env: simEnv(s1000) },
    ];
    const st = interleaved(stateRows, env, runs, root, log);
    const state: StateScaling = { getVm: { vms10: st[1]!.ms, vms1000: st[2]!.ms }, checkpointVm: { vms10: st[3]!.ms, vms1000: st[4]!.ms } };

    let serve: ServeResult | undefined;
    try {
      let k = 0;
      const newRoot = (): { root: string; env: NodeJS.ProcessEnv } => {
        const r = path.join(root, `serve-${k++}`);
        const e = simEnv(r);
        hvsim(bin, e, ['new-vm', '--name', 'web01', '--disk-size', '8M']);
        return { root: r, env: e };
      };
      const s = await throughServer(bin, newRoot, 25);
      serve = { getVmMs: s.getVM, checkpointVmMs: s.checkpoint };
      log(`  serve --stdio: Get-VM ${s.getVM.toFixed(1)} ms, Checkpoint-VM ${s.checkpoint.toFixed(1)} ms`);
    } catch (e) {
      log(`  serve --stdio: not measured (${(e as Error).message})`);
    }
    return { rows: out, state, serve };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
