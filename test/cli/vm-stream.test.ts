/**
 * read-vm and write-vm stream (issue 14, item 4): any offset and length within the disk, past 2 GiB
 * and to the end of a 4 GiB disk, to a file or stdout, from a file or stdin, in memory bounded by
 * the chunk size (the child's max RSS is measured), and a failed read leaves no output file.
 * Everything is checked by streaming hashes: nothing here holds a disk's worth of bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliBin, SIM_ENV, spawnCli } from '../helpers/cli.js';
import { pattern } from '../helpers/data.js';

const BIN = cliBin();
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The child's peak RSS must stay well below the data moved (the old code held all of it). */
const RSS_LIMIT = 200 * MiB;
let work: string;

/** Runs bin.cjs and writes the process's max RSS (KiB) to the file named first: `node -e W RSSFILE BIN args…`. */
const WRAPPER =
  "const rss = process.argv[1]; const bin = process.argv[2]; process.argv.splice(1, 1);" +
  "process.on('exit', () => require('node:fs').writeFileSync(rss, String(process.resourceUsage().maxRSS)));" +
  'import(require("node:url").pathToFileURL(bin).href);';

interface Run {
  code: number | null;
  stderr: string;
  /** What stdout gave: its bytes when short, always its length and SHA-1. */
  stdout: Buffer;
  outLength: number;
  outSha1: string;
  rss: number;
}

/** hvsim with a private root; stdin from `stdin` through a pipe (never as a regular file). */
function hv(root: string, args: string[], stdin?: string): Promise<Run> {
  const rssFile = path.join(work, `rss-${crypto.randomUUID()}`);
  return new Promise((resolve, reject) => {
    const p = spawnCli(['--root', root, ...args], { nodeArgs: ['-e', WRAPPER, rssFile], cwd: work, env: SIM_ENV });
    const h = crypto.createHash('sha1');
    const head: Buffer[] = [];
    let outLength = 0;
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => {
      h.update(d);
      if (outLength < MiB) head.push(d);
      outLength += d.length;
    });
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.stdin.on('error', () => {}); // the child may stop reading (a refused write)
    if (stdin !== undefined) fs.createReadStream(stdin).pipe(p.stdin);
    else p.stdin.end();
    p.on('error', reject);
    p.on('close', (code) => {
      const rss = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) * 1024 : NaN;
      fs.rmSync(rssFile, { force: true });
      resolve({ code, stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(head), outLength, outSha1: h.digest('hex'), rss });
    });
  });
}

async function ok(root: string, args: string[], stdin?: string): Promise<Run> {
  const r = await hv(root, args, stdin);
  if (r.code !== 0) throw new Error(`hvsim ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** A state directory with a running VM `v` whose 4 GiB disk is a sparse VHDX. */
async function newRoot(): Promise<string> {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  await ok(root, ['new-vm', '--name', 'v', '--disk-size', '4G', '--checkpoint-type', 'Standard']);
  await ok(root, ['start-vm', '--name', 'v']);
  return root;
}

/** SHA-1 of `length` bytes that are zero but for `pieces` (offset, bytes), computed a window at a time. */
function expectedSha1(length: number, pieces: Array<[number, Uint8Array]>): string {
  const h = crypto.createHash('sha1');
  const win = Buffer.alloc(16 * MiB);
  for (let at = 0; at < length; at += win.length) {
    const n = Math.min(win.length, length - at);
    win.fill(0);
    for (const [off, data] of pieces) {
      const from = Math.max(off, at);
      const to = Math.min(off + data.length, at + n);
      if (from < to) win.set(data.subarray(from - off, to - off), from - at);
    }
    h.update(win.subarray(0, n));
  }
  return h.digest('hex');
}

/** SHA-1 of a file, read 16 MiB at a time. */
function fileSha1(file: string): string {
  const h = crypto.createHash('sha1');
  const buf = Buffer.alloc(16 * MiB);
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function readAt(file: string, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    expect(fs.readSync(fd, b, 0, length, offset)).toBe(length);
  } finally {
    fs.closeSync(fd);
  }
  return b;
}

/** A file of `length` bytes, sparse but for `pieces`. */
function sparseFile(name: string, length: number, pieces: Array<[number, Uint8Array]>): string {
  const f = path.join(work, name);
  const fd = fs.openSync(f, 'w');
  try {
    fs.ftruncateSync(fd, length);
    for (const [off, data] of pieces) fs.writeSync(fd, data, 0, data.length, off);
  } finally {
    fs.closeSync(fd);
  }
  return f;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-cli-vm-stream-'));
  expect(pathToFileURL(BIN).href).toMatch(/^file:/);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('read-vm streams any range of a 4 GiB disk', () => {
  it('--length 4G to a file and --offset 3G --length 1G to stdout read the patterns written near 0 and near 3.5 GiB, in bounded memory', async () => {
    const root = await newRoot();
    const low: [number, Uint8Array] = [4096 + 7, pattern(3 * MiB + 5, 1)];
    const high: [number, Uint8Array] = [3.5 * GiB - 12345, pattern(2 * MiB + 1, 2)];
    for (const [i, [off, data]] of [low, high].entries()) {
      const f = path.join(work, `piece${i}.bin`);
      fs.writeFileSync(f, data);
      await ok(root, ['write-vm', '--name', 'v', '--offset', String(off), '--input', f]);
    }
    const out = path.join(work, 'all.raw');
    const all = await ok(root, ['read-vm', '--name', 'v', '--length', '4G', '--output', out]);
    expect(fs.statSync(out).size).toBe(4 * GiB);
    expect(readAt(out, low[0], low[1].length).equals(low[1])).toBe(true);
    expect(readAt(out, high[0], high[1].length).equals(high[1])).toBe(true);
    expect(fileSha1(out)).toBe(expectedSha1(4 * GiB, [low, high]));
    expect(all.rss, `max RSS ${all.rss} of read-vm --length 4G`).toBeLessThan(RSS_LIMIT);
    fs.rmSync(out);

    const tail = await ok(root, ['read-vm', '--name', 'v', '--offset', '3G', '--length', '1G']);
    expect(tail.outLength).toBe(GiB);
    expect(tail.outSha1).toBe(expectedSha1(GiB, [[high[0] - 3 * GiB, high[1]]]));
    expect(tail.rss, `max RSS ${tail.rss} of read-vm --offset 3G --length 1G`).toBeLessThan(RSS_LIMIT);

    // A checkpoint's content, from past 2 GiB to the end of the disk (default length).
    await ok(root, ['checkpoint-vm', '--name', 'v', '--snapshot-name', 'c1']);
    await ok(root, ['write-vm', '--name', 'v', '--offset', String(high[0]), '--text', 'changed after c1']);
    await ok(root, ['read-vm', '--name', 'v', '--snapshot', 'c1', '--offset', String(2 * GiB + 1), '--output', out]);
    expect(fs.statSync(out).size).toBe(2 * GiB - 1);
    expect(fileSha1(out)).toBe(expectedSha1(2 * GiB - 1, [[high[0] - 2 * GiB - 1, high[1]]]));
    fs.rmSync(out);
  }, 180_000);

  it('a failing read leaves no output file (and an existing one as it was): unknown checkpoint, a range past the end, a fault mid-way', async () => {
    const root = await newRoot();
    const out = path.join(work, 'fail.raw');
    const noSnap = await hv(root, ['read-vm', '--name', 'v', '--snapshot', 'nope', '--output', out]);
    expect(noSnap.code, noSnap.stderr).toBe(3);
    expect(fs.existsSync(out)).toBe(false);
    const past = await hv(root, ['read-vm', '--name', 'v', '--offset', '3G', '--length', '2G', '--output', out]);
    expect(past.code, past.stderr).toBe(2);
    expect(past.stderr).toMatch(/^hvsim: [^\n]*\b4294967296-byte disk[^\n]*\n$/);
    expect(fs.existsSync(out)).toBe(false);
    const offPast = await hv(root, ['read-vm', '--name', 'v', '--offset', '5G', '--output', out]);
    expect(offPast.code, offPast.stderr).toBe(2);
    expect(offPast.stderr).toContain('4294967296-byte disk');
    expect(fs.existsSync(out)).toBe(false);
    // The second chunk's read fails: the part already read is not left under the target's name.
    const mid = await hv(root, ['--inject-fault', 'read:v:2', 'read-vm', '--name', 'v', '--length', '1G', '--output', out]);
    expect(mid.code, mid.stderr).toBe(1);
    expect(mid.stderr).toContain('injected fault');
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(work).filter((n) => n.startsWith('fail.raw')), 'no temporary left beside the target').toEqual([]);
    fs.writeFileSync(out, 'kept');
    const over = await hv(root, ['--inject-fault', 'read:v:2', 'read-vm', '--name', 'v', '--length', '1G', '--output', out]);
    expect(over.code, over.stderr).toBe(1);
    expect(fs.readFileSync(out, 'utf8')).toBe('kept');
    expect(fs.readdirSync(work).filter((n) => n.startsWith('fail.raw'))).toEqual(['fail.raw']);
    // A missing folder is named; a device is written through, never replaced.
    const noDir = await hv(root, ['read-vm', '--name', 'v', '--length', '1', '--output', path.join(work, 'nodir', 'x.raw')]);
    expect(noDir.code, noDir.stderr).toBe(3);
    expect(noDir.stderr).toBe(`hvsim: ${path.join(work, 'nodir', 'x.raw')}: the folder ${path.join(work, 'nodir')} does not exist\n`);
    await ok(root, ['read-vm', '--name', 'v', '--length', '40M', '--output', '/dev/null']);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(fs.existsSync('/dev/null.hvsim-new')).toBe(false);
    // A read that succeeds replaces it.
    await ok(root, ['write-vm', '--name', 'v', '--offset', '0', '--text', 'new']);
    await ok(root, ['read-vm', '--name', 'v', '--length', '3', '--output', out]);
    expect(fs.readFileSync(out, 'utf8')).toBe('new');
    expect(fs.readdirSync(work).filter((n) => n.startsWith('fail.raw'))).toEqual(['fail.raw']);
  }, 120_000);
});

describe('read-vm interrupted', () => {
  it('Ctrl-C while read-vm writes a file: no file under the name and no temporary left', async () => {
    const root = await newRoot();
    const out = path.join(work, 'int.raw');
    const p = spawnCli(['--root', root, 'read-vm', '--name', 'v', '--length', '4G', '--output', out], { cwd: work, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));
    while (running && !fs.existsSync(`${out}.hvsim-new`)) await new Promise((r) => setTimeout(r, 20));
    expect(running, 'read-vm was still running when its temporary appeared').toBe(true);
    p.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(fs.readdirSync(work).filter((n) => n.startsWith('int.raw'))).toEqual([]);
  });
});

describe('write-vm streams its input', () => {
  it('--input of a 3 GiB sparse file writes to the end of the disk and reads back, in bounded memory; one byte more is refused before anything is written', async () => {
    const root = await newRoot();
    const pieces: Array<[number, Uint8Array]> = [
      [MiB + 3, pattern(MiB, 3)],
      [2.9 * GiB, pattern(MiB + 17, 4)],
      [3 * GiB - 100, pattern(100, 5)],
    ];
    const input = sparseFile('three.bin', 3 * GiB, pieces);
    const tooFar = await hv(root, ['write-vm', '--name', 'v', '--offset', String(GiB + 1), '--input', input]);
    expect(tooFar.code, tooFar.stderr).toBe(2);
    expect(tooFar.stderr).toBe(`hvsim: Write-VM: ${3 * GiB} bytes at offset ${GiB + 1} run past the end of the ${4 * GiB}-byte disk 0 of 'v'\n`);
    const untouched = await ok(root, ['read-vm', '--name', 'v', '--offset', String(GiB + MiB), '--length', '1M']);
    expect(untouched.stdout.equals(Buffer.alloc(MiB))).toBe(true);

    const w = await ok(root, ['write-vm', '--name', 'v', '--offset', '1G', '--input', input]);
    expect(w.rss, `max RSS ${w.rss} of write-vm --input (3 GiB)`).toBeLessThan(RSS_LIMIT);
    const back = path.join(work, 'back.raw');
    await ok(root, ['read-vm', '--name', 'v', '--offset', '1G', '--output', back]);
    expect(fs.statSync(back).size).toBe(3 * GiB);
    expect(fileSha1(back)).toBe(fileSha1(input));
    await ok(root, ['read-vm', '--name', 'v', '--length', '1G', '--output', back]);
    expect(fileSha1(back)).toBe(expectedSha1(GiB, []));
    fs.rmSync(back);
    fs.rmSync(input);
  }, 240_000);

  it('~100 MB piped to stdin is written in bounded memory; stdin that runs past the end fails, saying what it wrote, and nothing lands past what it says', async () => {
    const root = await newRoot();
    const data = pattern(100 * MiB + 333, 6);
    const f = path.join(work, 'stdin.bin');
    fs.writeFileSync(f, data);
    const at = 2 * GiB + 12345;
    const w = await ok(root, ['write-vm', '--name', 'v', '--offset', String(at)], f);
    expect(w.rss, `max RSS ${w.rss} of write-vm from stdin (100 MB)`).toBeLessThan(RSS_LIMIT);
    const back = await ok(root, ['read-vm', '--name', 'v', '--offset', String(at), '--length', String(data.length)]);
    expect(back.outSha1).toBe(crypto.createHash('sha1').update(data).digest('hex'));

    // 100 MB at 40 MiB before the end: the chunks that fit are written, the one that overflows is not.
    const near = 4 * GiB - 40 * MiB;
    const r = await hv(root, ['write-vm', '--name', 'v', '--offset', String(near)], f);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^hvsim: Write-VM: [^\n]*4294967296-byte disk 0 of 'v'[^\n]*\n$/);
    const written = Number(/\b(\d+) bytes at offset \d+ were written/.exec(r.stderr)?.[1]);
    expect(written).toBeGreaterThanOrEqual(0);
    expect(written).toBeLessThanOrEqual(40 * MiB);
    const end = await ok(root, ['read-vm', '--name', 'v', '--offset', String(near)]);
    expect(end.outSha1).toBe(expectedSha1(40 * MiB, [[0, data.subarray(0, written)]]));
    fs.rmSync(f);
  }, 120_000);

  it('empty stdin still needs a running VM (the rule for guest writes) and writes nothing', async () => {
    const root = await newRoot();
    await ok(root, ['write-vm', '--name', 'v', '--offset', '0']);
    await ok(root, ['stop-vm', '--name', 'v', '--turn-off']);
    const off = await hv(root, ['write-vm', '--name', 'v', '--offset', '0']);
    expect(off.code).not.toBe(0);
    expect(off.code).not.toBe(70);
    expect(off.stderr).toMatch(/^hvsim: [^\n]*\n$/);
  });
});
