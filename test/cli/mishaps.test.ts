// Issue 14, items 3, 5, 6, 7 and 10: the built CLI on a user's machine. A reader that closes the
// pipe early, fs errors (missing files and folders, a file where a folder is meant), paths where
// no folder can be made (/proc), Ctrl-C under a terminal while a progress bar is drawn, and
// messages that leaked temporaries, region GUIDs or the wrong exit status.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, runCli, spawnCli, type CliResult } from '../helpers/cli.js';
import { pattern } from '../helpers/data.js';
import { sealStructure } from '../../src/vhd/common/crc32c.js';

const MiB = 1024 * 1024;
let dir: string;

/** hvsim, with a bound on its time: a hang fails the test (code null) instead of stalling it. */
function hvsim(args: string[], opts: { input?: Buffer; cwd?: string } = {}): CliResult {
  return runCli(args, { input: opts.input, cwd: opts.cwd ?? dir, timeout: 30_000, env: { HVSIM_DEBUG: '' } });
}

function ok(args: string[], input?: Buffer): CliResult {
  const r = hvsim(args, input ? { input } : {});
  expect(r.stderr, `hvsim ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return r;
}

/** One line "hvsim: …" naming each of `mentions`, with this status; never "internal error". */
function fails(args: string[], status: number, ...mentions: string[]): CliResult {
  const r = hvsim(args);
  expect(r.stderr, `hvsim ${args.join(' ')}`).toMatch(/^hvsim: [^\n]+\n$/);
  expect(r.stderr).not.toContain('internal error');
  expect(r.code, r.stderr).toBe(status);
  for (const m of mentions) expect(r.stderr).toContain(m);
  return r;
}

/** Every name below `d` (recursively), for "nothing left behind" checks. */
function tree(d: string): string[] {
  return readdirSync(d, { recursive: true, encoding: 'utf8' }).sort();
}

function sh(script: string): CliResult {
  const r = spawnSync('sh', ['-c', script], { cwd: dir, timeout: 30_000, env: { ...process.env, HVSIM: cliCommand() } });
  return { code: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), bytes: r.stdout };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvsim-mishaps-'));
  ok(['new-vhd', 'base.vhdx', '--size', '64M']);
  ok(['new-vhd', 'top.avhdx', '--parent', 'base.vhdx']);
  writeFileSync(join(dir, 'data.bin'), pattern(8 * MiB, 14));
  ok(['write-vhd', 'top.avhdx', '--offset', '0', '--input', 'data.bin']);
  writeFileSync(join(dir, 'afile'), 'not a folder\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a reader that closes the pipe early (item 3)', () => {
  it('analyze-chain | head -1 and read-vhd | head -c 10 end quietly, status 0', () => {
    const a = sh('$HVSIM analyze-chain top.avhdx 2>err1 | head -1 >/dev/null; cat err1');
    expect(a.stdout).toBe('');
    const r = sh('$HVSIM read-vhd top.avhdx 2>err2 | head -c 10 | od -An -tx1; cat err2');
    expect(r.stdout.replace(/\s+/g, '')).toBe(Buffer.from(pattern(10, 14)).toString('hex'));
  });

  it('a closed stdout of a child: no stack, no "internal error", status 0, no lock left', async () => {
    for (const args of [['read-vhd', 'top.avhdx'], ['get-vhd', 'top.avhdx', '--chain'], ['--help'], ['demo']]) {
      const c = spawnCli(args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      c.stdout!.destroy(); // the reader is gone before the first byte
      let err = '';
      c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const status = await new Promise<number | null>((resolve) => c.on('close', resolve));
      expect(err, args.join(' ')).toBe('');
      expect(status, args.join(' ')).toBe(0);
    }
    expect(tree(dir).filter((f) => f.includes('hvsim-lock'))).toEqual([]);
  });

  it.runIf(existsSync('/dev/full'))('a full standard output (/dev/full): one line naming it, status 1, and the command still done', () => {
    ok(['--root', 'st-full', 'new-vm', '--name', 'v']);
    for (const args of [['--root', 'st-full', 'checkpoint-vm', '--name', 'v', '--snapshot-name', 'c1', '--passthru'], ['--root', 'st-full', 'get-vm'], ['--help']]) {
      const r = sh(`$HVSIM ${args.join(' ')} >/dev/full`);
      expect(r.stderr, args.join(' ')).toBe('hvsim: standard output: no space left on the device (write)\n');
      expect(r.code, args.join(' ')).toBe(1);
    }
    expect(ok(['--root', 'st-full', 'get-vmsnapshot', '--vm-name', 'v', '--json']).stdout).toContain('"c1"');
    expect(existsSync(join(dir, 'st-full', 'lock'))).toBe(false);
  });

  it('hvsim run printing to a closed pipe stops quietly and leaves the state directory unlocked', () => {
    writeFileSync(join(dir, 'many.ps1'), '$n = 0\nwhile ($n -lt 20000) { $n++; "line $n" }\n');
    const r = sh('$HVSIM --root st-pipe run many.ps1 2>err3 | head -1; cat err3');
    expect(r.stdout).toBe('line 1\n');
    expect(existsSync(join(dir, 'st-pipe', 'lock'))).toBe(false);
  });
});

describe('fs errors are one line naming the path, with the documented status (item 5)', () => {
  it('missing files and folders: status 3', () => {
    fails(['write-vhd', 'top.avhdx', '--offset', '0', '--input', 'nofile.bin'], 3, 'nofile.bin');
    fails(['read-vhd', 'top.avhdx', '--output', '/nonexistent/x.raw'], 3, '/nonexistent');
    fails(['analyze-chain', 'top.avhdx', '--svg', '/nonexistent/x.svg'], 3, '/nonexistent/x.svg');
    fails(['test-vhd', 'missing.vhdx'], 3, 'missing.vhdx');
    fails(['new-vhd', 'nodir/x.vhdx', '--size', '1M'], 3, 'the folder', 'nodir', 'does not exist');
    fails(['convert-vhd', 'top.avhdx', 'nodir/c.vhdx'], 3, 'nodir');
  });

  it('a file where a folder is meant: status 2, naming the file', () => {
    fails(['--root', 'afile', 'get-vm'], 2, 'afile', 'not a folder');
    fails(['make-workload', '--depth', '1', '--out', 'afile'], 2, 'afile', 'not a folder');
    fails(['make-workload', '--depth', '1', '--out', 'afile/sub'], 2, 'afile', 'not a folder');
    fails(['read-vhd', 'top.avhdx', '--output', 'afile/x.raw'], 2, 'afile');
    fails(['get-vhd', 'afile/x.vhdx'], 2, 'afile', 'not a folder');
    ok(['--root', 'st-export', 'new-vm', '--name', 'v']);
    ok(['--root', 'st-export', 'checkpoint-vm', '--name', 'v', '--snapshot-name', 'c1']);
    fails(['--root', 'st-export', 'export-vmsnapshot', '--vm-name', 'v', '--name', 'c1', '--path', 'afile/sub'], 2, 'afile', 'not a folder');
    expect(existsSync(join(dir, 'st-export', 'lock'))).toBe(false);
  });

  it('a folder where a file is meant: status 2', () => {
    fails(['write-vhd', 'top.avhdx', '--offset', '0', '--input', '.'], 2);
    fails(['analyze-chain', 'top.avhdx', '--svg', '.'], 2, 'folder');
  });
});

describe('temporaries of a killed process are not left for ever (item 7)', () => {
  it("the next command in a state directory removes a killed writer's state.json temporary", () => {
    ok(['--root', 'st-tmp', 'new-vm', '--name', 'v']);
    writeFileSync(join(dir, 'st-tmp', 'state.json.tmp-2147483646'), '{"half');
    ok(['--root', 'st-tmp', 'get-vm']);
    expect(tree(join(dir, 'st-tmp')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('paths where no folder can be made end in bounded time (item 6)', () => {
  // runCli's timeout bounds each run: a hang is code null, not a stalled suite.
  it.runIf(existsSync('/proc/self'))('/proc: one line, status 1', () => {
    fails(['--root', '/proc/x', 'get-vm'], 1, '/proc/x');
    fails(['make-workload', '--depth', '1', '--out', '/proc/x'], 1, '/proc/x');
    ok(['--root', 'st-proc', 'new-vm', '--name', 'v']);
    ok(['--root', 'st-proc', 'checkpoint-vm', '--name', 'v', '--snapshot-name', 'c1']);
    fails(['--root', 'st-proc', 'export-vmsnapshot', '--vm-name', 'v', '--name', 'c1', '--path', '/proc/nope'], 1, '/proc/nope');
  });
});

describe('messages (item 10)', () => {
  it('a new disk refused by its own checks names the file asked for, not its temporary', () => {
    const r = fails(['new-vhd', 's.vhdx', '--size', '1000'], 2, 's.vhdx', 'size must be');
    expect(r.stderr).not.toContain('hvsim-new');
    expect(tree(dir).filter((f) => f.startsWith('s.vhdx'))).toEqual([]);
  });

  it('a region is named, not given by its GUID', () => {
    // Move the metadata region's entry past the end of the file in both region tables (MS-VHDX §2.2.3).
    ok(['new-vhd', 'r.vhdx', '--size', '8M']);
    const f = readFileSync(join(dir, 'r.vhdx'));
    for (const t of [0x30000, 0x40000]) {
      const count = f.readUInt32LE(t + 8);
      for (let i = 0; i < count; i++) {
        const e = t + 16 + 32 * i;
        // hvsim puts the metadata region at 2 MiB, 1 MiB long.
        if (f.readUInt32LE(e + 24) === MiB && f.readBigUInt64LE(e + 16) === 2n * BigInt(MiB)) f.writeBigUInt64LE(BigInt(f.length + MiB), e + 16);
      }
      sealStructure(f.subarray(t, t + 64 * 1024), 4);
    }
    writeFileSync(join(dir, 'r-bad.vhdx'), f);
    const r = hvsim(['get-vhd', 'r-bad.vhdx']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hvsim: [^\n]*the metadata region[^\n]*\n$/);
    expect(r.stderr).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i);
  });

  it('hvsim without a command prints the help on stderr, exits 2, and adds nothing else', () => {
    const r = hvsim([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: hvsim /);
    expect(r.stderr).not.toContain('outputHelp');
    expect(r.stderr).not.toMatch(/^hvsim: /m);
  });

  it('demo refuses a real host instead of running on the simulator', () => {
    const r = fails(['--host', 'hyperv', 'demo'], 2, 'demo', '--host');
    expect(r.stdout).toBe('');
  });
});

/**
 * Run `cmd` under a pseudo-terminal (util-linux script), press Ctrl-C once `marker` (the progress
 * bar) has been drawn, and return what the terminal showed and the exit status.
 */
function ctrlC(cmd: string, marker: string): Promise<{ status: number | null; screen: string; pressed: boolean }> {
  return new Promise((resolve) => {
    const c = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HVSIM_DEBUG: '' } });
    let screen = '';
    let pressed = false;
    c.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      if (!pressed && screen.includes(marker)) {
        pressed = true;
        c.stdin.write('\x03'); // the terminal turns it into SIGINT for the foreground process
      }
    });
    c.on('close', (status) => resolve({ status, screen, pressed }));
  });
}

const hasScript = spawnSync('script', ['--version']).status === 0;
const node = cliCommand();

describe.runIf(hasScript)('Ctrl-C during a progress bar (item 7)', () => {
  /** The terminal is put back (cursor shown, line wrap on), then one line, and status 130. */
  function interrupted(r: { status: number | null; screen: string; pressed: boolean }, ...mentions: string[]): string {
    expect(r.pressed, r.screen).toBe(true);
    expect(r.status, r.screen).toBe(130);
    expect(r.screen).toContain('\x1b[?25l'); // the bar hid the cursor…
    const restored = Math.max(r.screen.lastIndexOf('\x1b[?25h'), 0);
    expect(restored, 'cursor shown again').toBeGreaterThan(r.screen.lastIndexOf('\x1b[?25l'));
    expect(r.screen.lastIndexOf('\x1b[?7h'), 'line wrap on again').toBeGreaterThan(r.screen.lastIndexOf('\x1b[?7l'));
    const line = /hvsim: interrupted: ([^\r\n]*)/.exec(r.screen.slice(restored))?.[1];
    expect(line, r.screen).toBeDefined();
    for (const m of mentions) expect(line).toContain(m);
    expect(r.screen).not.toContain('internal error');
    return line ?? '';
  }

  beforeAll(() => {
    // 256 MiB of data under a chain (the standard workload, two layers): long enough to interrupt.
    ok(['make-workload', '--depth', '2', '--out', 'wl']);
  });

  it('make-workload: the files it had begun are removed', async () => {
    const r = await ctrlC(`${node} make-workload --depth 80 --out w-int`, 'make-workload [');
    interrupted(r, 'make-workload');
    expect(tree(join(dir, 'w-int'))).toEqual([]);
  });

  it('convert-vhd: no destination, no *.hvsim-new, no lock left', async () => {
    const before = tree(join(dir, 'wl'));
    const r = await ctrlC(`${node} convert-vhd wl/workload-02.avhdx wl/flat.vhdx`, 'converting [');
    interrupted(r, 'convert-vhd', 'nothing was written');
    expect(tree(join(dir, 'wl'))).toEqual(before);
  });

  it('merge-vhd: the journal stays, the line names resume-merge, which finishes it', async () => {
    ok(['new-vhd', 'wl/top.avhdx', '--parent', 'wl/workload-02.avhdx']);
    const data = pattern(192 * MiB, 7);
    writeFileSync(join(dir, 'big.bin'), data);
    ok(['write-vhd', 'wl/top.avhdx', '--offset', '0', '--input', 'big.bin']);
    const r = await ctrlC(`${node} merge-vhd --path wl/top.avhdx`, 'merging [');
    const line = interrupted(r, 'merge-vhd', 'resume-merge');
    expect(tree(join(dir, 'wl')).filter((f) => f.includes('hvsim-lock') || f.endsWith('.hvsim-new'))).toEqual([]);
    const resume = /`(hvsim resume-merge [^`]+)`/.exec(line)![1]!.split(' ').slice(1);
    ok(resume);
    expect(existsSync(join(dir, 'wl', 'top.avhdx'))).toBe(false);
    const back = runCli(['read-vhd', 'wl/workload-02.avhdx', '--length', String(data.length)], { cwd: dir });
    expect(Buffer.compare(back.bytes, Buffer.from(data))).toBe(0);
  });

  it('SIGINT without a terminal: a simulator command stops, its state directory unlocked, status 130', async () => {
    ok(['--root', 'st-int', 'new-vm', '--name', 'v']);
    // The simulator never waits: this loop runs until interrupted.
    writeFileSync(join(dir, 'poll.ps1'), 'Write-Output "polling"\nwhile ($true) { Get-VM v | Out-Null; Start-Sleep -Seconds 5 }\n');
    const c = spawnCli(['--root', 'st-int', 'run', 'poll.ps1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('polling')) c.kill('SIGINT');
    });
    const status = await new Promise<number | null>((resolve) => c.on('close', resolve));
    expect(status, err).toBe(130);
    expect(err).toMatch(/^hvsim: interrupted: run; [^\n]*\n$/);
    expect(existsSync(join(dir, 'st-int', 'lock'))).toBe(false);
    ok(['--root', 'st-int', 'get-vm']);
  });
});
