/**
 * The same workload through qemu: a qcow2 backing chain of identical content, built with
 * `qemu-img convert` (base), `qemu-img create -b … -F qcow2` and `qemu-io -c 'write -s FILE …'`
 * (layers; qemu-io 7.2's -s fills the write buffer from a file, so the bytes are exact), then
 * read with `qemu-img bench`. Every tool is spawned without a shell.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Workload from '../src/engine/workload.js';

export interface QemuTools {
  version: string;
  /** AIO backend for qemu-img bench: io_uring when it works here, else threads. */
  aio: 'io_uring' | 'threads';
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...(cwd ? { cwd } : {}) });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} … failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  return r.stdout + r.stderr;
}

/** qemu-img and qemu-io when both are installed and answer --version. */
export function findQemu(probeFile: string): QemuTools | undefined {
  for (const t of ['qemu-img', 'qemu-io']) {
    const r = spawnSync(t, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return undefined;
  }
  const version = /version (\S+)/.exec(run('qemu-img', ['--version']))?.[1] ?? '?';
  const uring = spawnSync('qemu-img', ['bench', '-f', 'raw', '-c', '4', '-s', '4096', '-d', '1', '-i', 'io_uring', probeFile], { encoding: 'utf8' });
  return { version, aio: uring.status === 0 ? 'io_uring' : 'threads' };
}

export function qcowLayerPath(dir: string, k: number): string {
  return path.join(dir, k === 0 ? 'workload.qcow2' : `workload-${String(k).padStart(2, '0')}.qcow2`);
}

/**
 * Build the qcow2 chain of depth `depth` in `dir` from a raw image of the base (`baseRaw`).
 * Cluster size is qemu's default 64 KiB, the workload's region size.
 */
export function buildQcow2Chain(wl: typeof Workload, dir: string, baseRaw: string, depth: number): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const paths = [qcowLayerPath(dir, 0)];
  run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', baseRaw, paths[0]!]);
  const regionDir = path.join(dir, 'regions');
  fs.mkdirSync(regionDir, { recursive: true });
  const rs = wl.WORKLOAD.regionSize;
  const buf = new Uint8Array(rs);
  for (let k = 1; k <= depth; k++) {
    const p = qcowLayerPath(dir, k);
    run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', paths[k - 1]!, '-F', 'qcow2', p]);
    const cmds: string[] = [];
    wl.layerRegions(k).forEach((r, i) => {
      const name = `r${i}.bin`; // relative to cwd: qemu-io splits its commands on spaces
      fs.writeFileSync(path.join(regionDir, name), wl.regionContent(k, r, buf));
      cmds.push('-c', `write -q -s ${name} ${r * rs} ${rs}`);
    });
    run('qemu-io', ['-f', 'qcow2', ...cmds, p], regionDir);
    paths.push(p);
  }
  fs.rmSync(regionDir, { recursive: true, force: true });
  return paths;
}

/** SHA-256 of the virtual disk of a qcow2 file (qemu-img convert to raw), and how long convert took. */
export function qcowHash(file: string, scratch: string): { sha256: string; convertSeconds: number } {
  fs.rmSync(scratch, { force: true });
  const t = performance.now();
  run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', file, scratch]);
  const convertSeconds = (performance.now() - t) / 1000;
  const h = createHash('sha256');
  const fd = fs.openSync(scratch, 'r');
  const b = Buffer.alloc(4 << 20);
  for (let n; (n = fs.readSync(fd, b, 0, b.length, null)) > 0; ) h.update(b.subarray(0, n));
  fs.closeSync(fd);
  fs.rmSync(scratch, { force: true });
  return { sha256: h.digest('hex'), convertSeconds };
}

/** Seconds `qemu-img bench` reports for one run (open excluded). */
export function qemuBench(tools: QemuTools, file: string, format: 'qcow2' | 'raw', o: { count: number; size: number; step?: number }): number {
  const args = ['bench', '-f', format, '-c', String(o.count), '-s', String(o.size), '-d', '1', '-i', tools.aio];
  if (o.step !== undefined) args.push('-S', String(o.step));
  const text = run('qemu-img', [...args, file]);
  const m = /Run completed in ([\d.]+) seconds/.exec(text);
  if (!m) throw new Error(`qemu-img bench: unexpected output: ${text.trim()}`);
  return Number(m[1]);
}
