/**
 * The mishap matrix (issue 14): every command that touches a state directory or a disk — each CLI
 * command and each Hyper-V cmdlet through `hvsim run` — against each mishap a user's machine can
 * throw at it: a chain file missing (then brought back), read-only, unreadable, the disk full, an
 * I/O error, state.json truncated / hand-edited / from another version, a lock left by a dead
 * process, two commands at once.
 *
 * Every cell must end in a correct result or a one-line error (`hvsim: …`, exit status not 70, no
 * stack trace, no hang), and every point in time of every VM (each checkpoint of each drive and
 * each drive's Now) must read afterwards what it read before — or, where the command itself
 * changes it, what the same command makes of it on an untouched copy (the "control" column).
 * Points in time are hashed from the files the records name, opened read-only in-process
 * (Chain.open), never through a command that could repair anything. Where the mishap is
 * temporary (a missing file, a read-only or unreadable file, a full disk, a stale lock, a broken
 * state.json), it is then lifted: `get-vm` must work again, the picture must be the before or the
 * after one, and a command that had failed must now complete.
 *
 * How: one template state directory (three VMs: alpha with checkpoints c1, c2 and a group
 * checkpoint grp, beta in grp and paused, gamma without checkpoints) is built once and copied
 * per cell (cp -a, sparse). Each cell's invocations run through the built CLI's main() in a batch
 * runner (test/helpers/mishap-runner.ts: one Node process for hundreds of invocations, as root
 * or as the unprivileged user through setpriv), so the whole matrix fits in its time budget; a few
 * twin cells run as processes of their own and must end exactly alike, and the issue's data-loss
 * repros run step by step as separate processes. The I/O-error column runs the cmdlets in-process
 * on the fault layer (MemoryDiskStore with a FaultBudget; a store that fails one operation; a
 * state save that fails). Without root, the columns that need it (tmpfs, setpriv) are skipped
 * with a message. A summary goes to stdout ("[reliability-mishap] …"); docs/reliability.md
 * has the matrix.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, okStdout, runCli, type CliResult } from '../helpers/cli.js';
import { memoryHost } from '../helpers/sim-host.js';
import { fill, readChain, workerClock } from '../helpers/data.js';
import {
  deadPid, fillDisk, isRoot, runProcess, leftovers, lostPoints, makeRuntime, mountTmpfs, NOBODY, picture, pictureDiff, runBatch, runPair,
  samePicture, sh, stateLockText, unmount, writerLockPath, hashOf, type JobResult, type Picture, type Runtime, type RunnerJob,
} from '../helpers/mishap.js';
import { HvsimError } from '../../src/errors.js';
import type { BlockFile } from '../../src/vhd/io/block-file.js';
import { faultBudget } from '../../src/vhd/io/fault-file.js';
import { MemoryDiskStore, type DiskStore } from '../../src/engine/store.js';
import { Simulator } from '../../src/sim/simulator.js';
import { MemoryStorage } from '../../src/sim/storage.js';
import { readStateDirectory, RECORDS_DIR } from '../../src/sim/records.js';
import { checkpointGroup } from '../../src/host/group.js';
import type { DriveRecord, HostState } from '../../src/sim/state.js';
import { createSession } from '../../src/powershell/index.js';

const cpuLine = workerClock();
/** The CLI under test: this run's build, or another (HVSIM_MISHAP_BIN, e.g. an older build, to see the matrix catch its defects). */
const BIN = process.env.HVSIM_MISHAP_BIN ?? cliBin();
const REPO = path.resolve(import.meta.dirname, '..', '..');
const KiB = 1024;
const MiB = 1024 * KiB;
/** What every invocation runs with: simulated time, and a lock wait shorter than a hang. */
const ENV = { TZ: 'UTC', HVSIM_CLOCK: 'simulated', HVSIM_START_TIME: '2024-03-01T10:00:00Z', HVSIM_LOCK_TIMEOUT: '8000' };

// ------------------------------------------------------------------ the template

/** The writes of the template, in order, between its checkpoints (partial blocks). */
const WRITES = {
  a1: { vm: 'alpha', offset: 900_000, len: 300 * KiB, seed: 1 },
  a2: { vm: 'alpha', offset: 100_000, len: 200 * KiB, seed: 2 },
  a3: { vm: 'alpha', offset: 1_000_000, len: 200 * KiB, seed: 3 },
  b1: { vm: 'beta', offset: 0, len: 200 * KiB, seed: 4 },
  a4: { vm: 'alpha', offset: 1_800_000, len: 100 * KiB, seed: 5 },
  b2: { vm: 'beta', offset: 1_500_000, len: 100 * KiB, seed: 6 },
};
/** Each VM's disk: one 2 MiB block of the simulator's VHDX (small: every point in time is read whole, often). */
const DISK = '2M';
const write = (k: keyof typeof WRITES, input: string): string[] => ['write-vm', '--name', WRITES[k].vm, '--offset', String(WRITES[k].offset), '--input', input];

/** The CLI invocations that build the template (each must exit 0). */
function templateSteps(inDir: string): string[][] {
  const f = (k: string): string => path.join(inDir, `${k}.bin`);
  return [
    ['new-vm', '--name', 'alpha', '--disk-size', DISK, '--checkpoint-type', 'Standard'],
    ['new-vm', '--name', 'beta', '--disk-size', DISK, '--checkpoint-type', 'Standard'],
    ['new-vm', '--name', 'gamma', '--disk-size', DISK],
    ['start-vm', '--name', 'alpha,beta'],
    write('a1', f('a1')),
    ['checkpoint-vm', '--name', 'alpha', '--snapshot-name', 'c1'],
    write('a2', f('a2')),
    ['checkpoint-vm', '--name', 'alpha', '--snapshot-name', 'c2'],
    write('a3', f('a3')),
    write('b1', f('b1')),
    ['checkpoint-group', '--name', 'alpha,beta', '--snapshot-name', 'grp'],
    write('a4', f('a4')),
    write('b2', f('b2')),
    ['suspend-vm', '--name', 'beta'],
  ];
}

// ------------------------------------------------------------------ commands (rows)

/** Where a cell's files are. */
interface Paths {
  /** The cell's folder (a tmpfs of its own in the disk-full column). */
  base: string;
  /** The state directory (--root). */
  root: string;
  /** Outputs of the command (export, read-vm --output, convert-vhd's new disk, scripts). */
  out: string;
  /** alpha's running disk (its Now). */
  leaf: string;
  /** alpha's oldest .avhdx (c2's disk: c2, grp and Now read through it) — the issue's repro file. */
  mid: string;
  /** alpha's disk folder. */
  diskDir: string;
  /** Where a "missing" file waits to come back. */
  aside: string;
}

type Kind = 'state' | 'cmdlet' | 'disk' | 'workload';

interface Cmd {
  id: string;
  kind: Kind;
  args(p: Paths): string[];
  /** The script of a cmdlet row (hvsim run). */
  script?(p: Paths): string;
  /**
   * A disk command that would change a file of a VM: the correct result is a one-line error
   * naming the VM (issue 14, item 2), whatever else is wrong.
   */
  refuse?: boolean;
  /** Acts on several VMs one after the other: a failure may leave the first ones done (each point before or after). */
  partial?: boolean;
  /** test-vhd/test-tree: exit 1 with the findings on stdout (nothing on stderr) is a report. */
  report?: boolean;
  /** Names beta, which the duplicate-name mishap makes ambiguous. */
  beta?: boolean;
  /** Check what a successful run wrote (its output file) against the points in time before. */
  verify?(p: Paths, before: Picture): string | undefined;
}

const outputReads = (file: string, key: string) => (p: Paths, before: Picture): string | undefined => {
  const f = path.join(p.out, file);
  if (!fs.existsSync(f)) return `${f} was not written`;
  const got = file.endsWith('.vhdx') ? hashOf(readChain(f)) : hashOf(fs.readFileSync(f));
  return got === before.get(key) ? undefined : `${file} does not hold ${key} (${got}, expected ${before.get(key)})`;
};

const cli = (id: string, kind: 'state' | 'disk', args: (p: Paths) => string[], extra: Partial<Cmd> = {}): Cmd => ({
  id,
  kind,
  args: kind === 'state' ? (p) => ['--root', p.root, ...args(p)] : args,
  ...extra,
});
const cmdlet = (id: string, script: (p: Paths) => string, extra: Partial<Cmd> = {}): Cmd => ({
  id: `run ${id}`,
  kind: 'cmdlet',
  script,
  args: (p) => ['--root', p.root, 'run', '--new-session', path.join(p.out, 'script.ps1')],
  ...extra,
});

const COMMANDS: Cmd[] = [
  // Simulator commands (src/cli/commands/vm.ts)
  cli('new-vm', 'state', () => ['new-vm', '--name', 'delta', '--disk-size', DISK]),
  cli('set-vm', 'state', () => ['set-vm', '--name', 'alpha', '--notes', 'edited']),
  cli('get-vm', 'state', () => ['get-vm']),
  cli('start-vm', 'state', () => ['start-vm', '--name', 'gamma']),
  cli('stop-vm', 'state', () => ['stop-vm', '--name', 'alpha']),
  cli('suspend-vm', 'state', () => ['suspend-vm', '--name', 'alpha']),
  cli('resume-vm', 'state', () => ['resume-vm', '--name', 'beta'], { beta: true }),
  cli('save-vm', 'state', () => ['save-vm', '--name', 'alpha']),
  cli('wait-vm', 'state', () => ['wait-vm', '--name', 'alpha']),
  cli('checkpoint-vm', 'state', () => ['checkpoint-vm', '--name', 'alpha', '--snapshot-name', 'c3']),
  cli('get-vmsnapshot', 'state', () => ['get-vmsnapshot', '--vm-name', 'alpha,beta'], { beta: true }),
  cli('restore-vmsnapshot', 'state', () => ['restore-vmsnapshot', '--vm-name', 'alpha', '--name', 'c1']),
  cli('remove-vmsnapshot', 'state', () => ['remove-vmsnapshot', '--vm-name', 'alpha', '--name', 'c2']),
  cli('rename-vmsnapshot', 'state', () => ['rename-vmsnapshot', '--vm-name', 'alpha', '--name', 'c2', '--new-name', 'c2b']),
  cli('export-vmsnapshot', 'state', (p) => ['export-vmsnapshot', '--vm-name', 'alpha', '--name', 'c2', '--path', path.join(p.out, 'export')]),
  cli('get-vmharddiskdrive', 'state', () => ['get-vmharddiskdrive', '--vm-name', 'alpha']),
  cli('add-vmharddiskdrive', 'state', () => ['add-vmharddiskdrive', '--vm-name', 'gamma', '--size', DISK]),
  cli('write-vm', 'state', () => ['write-vm', '--name', 'alpha', '--offset', String(MiB / 2 + 512), '--input', path.join(IN_DIR, 'w.bin')]),
  cli('read-vm', 'state', (p) => ['read-vm', '--name', 'alpha', '--snapshot', 'c2', '--output', path.join(p.out, 'read.bin')], { verify: outputReads('read.bin', 'alpha/c2#1/disk0') }),
  cli('checkpoint-group', 'state', () => ['checkpoint-group', '--name', 'alpha,beta', '--snapshot-name', 'grp2'], { beta: true }),
  cli('restore-group', 'state', () => ['restore-group', '--snapshot-name', 'grp'], { beta: true }),
  cli('remove-group', 'state', () => ['remove-group', '--snapshot-name', 'grp'], { beta: true, partial: true }),
  cli('get-group', 'state', () => ['get-group'], { beta: true }),
  // Hyper-V cmdlets through hvsim run (src/powershell/cmdlets/hyperv.ts)
  cmdlet('Get-VM', () => 'Get-VM | Format-List Name, State, Status'),
  cmdlet('New-VM', () => 'New-VM -Name delta -NewVHDSizeBytes 2MB'),
  cmdlet('Set-VM', () => 'Set-VM -Name alpha -Notes edited'),
  cmdlet('Start-VM', () => 'Start-VM -Name gamma'),
  cmdlet('Stop-VM', () => 'Stop-VM -Name alpha'),
  cmdlet('Save-VM', () => 'Save-VM -Name alpha'),
  cmdlet('Suspend-VM', () => 'Suspend-VM -Name alpha'),
  cmdlet('Resume-VM', () => 'Resume-VM -Name beta', { beta: true }),
  cmdlet('Checkpoint-VM', () => 'Checkpoint-VM -Name alpha -SnapshotName c3'),
  cmdlet('Get-VMSnapshot', () => 'Get-VMSnapshot -VMName alpha'),
  cmdlet('Restore-VMSnapshot', () => 'Restore-VMSnapshot -VMName alpha -Name c1 -Confirm:$false'),
  cmdlet('Remove-VMSnapshot', () => 'Remove-VMSnapshot -VMName alpha -Name c2'),
  cmdlet('Rename-VMSnapshot', () => 'Rename-VMSnapshot -VMName alpha -Name c2 -NewName c2b'),
  cmdlet('Export-VMSnapshot', (p) => `Export-VMSnapshot -VMName alpha -Name c2 -Path '${path.join(p.out, 'export')}'`),
  cmdlet('Get-VMHardDiskDrive', () => 'Get-VMHardDiskDrive -VMName alpha'),
  cmdlet('Add-VMHardDiskDrive', () => 'Add-VMHardDiskDrive -VMName gamma'),
  // Disk commands on the VM's files (src/cli/commands/disk.ts, chain.ts, analysis.ts)
  cli('new-vhd', 'disk', (p) => ['new-vhd', path.join(p.out, 'child.avhdx'), '--parent', p.mid]),
  cli('get-vhd', 'disk', (p) => ['get-vhd', p.leaf, '--chain']),
  cli('test-vhd', 'disk', (p) => ['test-vhd', p.leaf], { report: true }),
  cli('read-vhd', 'disk', (p) => ['read-vhd', p.leaf, '--output', path.join(p.out, 'rv.bin')], { verify: outputReads('rv.bin', 'alpha/Now/disk0') }),
  cli('write-vhd', 'disk', (p) => ['write-vhd', p.leaf, '--offset', '0', '--input', path.join(IN_DIR, 'w.bin')], { refuse: true }),
  cli('merge-vhd', 'disk', (p) => ['merge-vhd', '--path', p.leaf], { refuse: true }),
  cli('convert-vhd', 'disk', (p) => ['convert-vhd', p.leaf, path.join(p.out, 'conv.vhdx')], { verify: outputReads('conv.vhdx', 'alpha/Now/disk0') }),
  cli('resume-merge', 'disk', (p) => ['resume-merge', p.diskDir]),
  cli('test-tree', 'disk', (p) => ['test-tree', p.diskDir], { report: true }),
  cli('analyze-chain', 'disk', (p) => ['analyze-chain', p.leaf]),
  { id: 'make-workload', kind: 'workload', args: (p) => ['make-workload', '--depth', '1', '--out', path.join(p.out, 'wl')] },
];

const GET_VM = COMMANDS.find((c) => c.id === 'get-vm')!;

// ------------------------------------------------------------------ mishaps (columns)

interface Cell {
  col: Column;
  cmd: Cmd;
  p: Paths;
  /** The job results: under the mishap (two in the concurrency column), get-vm after the lift, the rerun. */
  first?: JobResult;
  /** The same command on a twin cell as a process of its own (the FIDELITY cells). */
  real?: JobResult;
  twin?: Paths;
  second?: JobResult;
  after?: JobResult;
  rerun?: JobResult;
  p1?: Picture;
  p2?: Picture;
  /** Problems seen while lifting the mishap (e.g. a failed command rewrote state.json). */
  notes: string[];
  /** What is wrong with the cell (empty: it holds). */
  found?: string[];
  /** state.json as the mishap left it (the state-file columns). */
  planted?: string;
  original?: string;
  /** state.json and records/ as they were before the mishap (state version 2: src/sim/records.ts). */
  originalFiles?: Map<string, string>;
  /** The whole state they hold. */
  originalState?: HostState;
  left?: string[];
}

interface Column {
  id: string;
  title: string;
  /** true, or why the cell does not apply. */
  applies(cmd: Cmd): true | string;
  /** Runs as the unprivileged user. */
  user?: boolean;
  /** Needs root (tmpfs, setpriv). */
  needsRoot?: string;
  /** Each cell gets a tmpfs of its own. */
  tmpfs?: boolean;
  prepare?(c: Cell): void;
  lift?(c: Cell): void;
  /** The result of a successful run must equal the control's exactly (false: only "nothing lost"). */
  exact?(cmd: Cmd): boolean;
}

const stateFile = (c: Cell): string => path.join(c.p.root, 'state.json');
const touchesState = (cmd: Cmd): true | string => (cmd.kind === 'state' || cmd.kind === 'cmdlet' ? true : 'does not read the state directory');
const touchesChain = (cmd: Cmd): true | string => (cmd.kind === 'workload' ? 'writes a new folder of its own; uses no VM file' : true);

/** state.json and each record file of state directory `root` (relative name → text). */
function stateFiles(root: string): Map<string, string> {
  const out = new Map<string, string>([['state.json', fs.readFileSync(path.join(root, 'state.json'), 'utf8')]]);
  const dir = path.join(root, RECORDS_DIR);
  for (const n of fs.existsSync(dir) ? fs.readdirSync(dir) : []) out.set(path.join(RECORDS_DIR, n), fs.readFileSync(path.join(dir, n), 'utf8'));
  return out;
}
/** Put back what stateFiles saw (records/ exactly as it was). */
function putStateFiles(root: string, files: Map<string, string>): void {
  fs.rmSync(path.join(root, RECORDS_DIR), { recursive: true, force: true });
  fs.mkdirSync(path.join(root, RECORDS_DIR), { recursive: true });
  for (const [n, text] of files) fs.writeFileSync(path.join(root, n), text);
}
/** Note the state before a mishap (c.original: state.json's text). */
function keepOriginal(c: Cell): void {
  c.originalFiles = stateFiles(c.p.root);
  c.original = c.originalFiles.get('state.json')!;
  c.originalState = readWholeState(c.p.root);
}
/** Edit state.json as a user would by hand (the whole state, written back whole); the text before and after. */
function editState(c: Cell, edit: (s: HostState) => void): void {
  keepOriginal(c);
  const s = readWholeState(c.p.root)!;
  edit(s);
  c.planted = JSON.stringify(s, null, 1) + '\n';
  fs.writeFileSync(stateFile(c), c.planted);
}
/** A state-file mishap is lifted by putting the good file back — only if the command failed (it had nothing to work on). */
function restoreState(c: Cell): void {
  const now = fs.readFileSync(stateFile(c), 'utf8');
  // A state hvsim cannot read must stay as it is; one it can read must stay readable.
  if ((c.col.id === 'state-truncated' || c.col.id === 'state-version') && now !== c.planted) c.notes.push('a command rewrote a state.json it cannot read');
  else if (now !== c.planted) {
    let s: { clock?: unknown; vms?: unknown } = {};
    try {
      s = JSON.parse(now) as typeof s;
    } catch {
      // not JSON: reported below
    }
    if (typeof s.clock !== 'number' || !Array.isArray(s.vms)) c.notes.push(`the command left a state.json that no longer loads (clock ${JSON.stringify(s.clock)})`);
  }
  if (succeeded(c.cmd, c.first!)) return;
  putStateFiles(c.p.root, c.originalFiles!);
}

let PLANTED_PID = 0;
const modes = new Map<string, number>();
const keepMode = (p: string): void => {
  modes.set(p, fs.statSync(p).mode & 0o7777);
};
const restoreMode = (p: string): void => {
  if (fs.existsSync(p)) fs.chmodSync(p, modes.get(p)!);
};

const COLUMNS: Column[] = [
  { id: 'control', title: 'control: no mishap (the reference each cell is compared with)', applies: (c) => (c.kind === 'workload' ? 'writes 268 MB; covered by workload.test.ts (its cells here need no reference)' : true) },
  {
    id: 'missing',
    title: "a. a chain file missing (alpha's oldest .avhdx moved away), then brought back",
    applies: touchesChain,
    prepare: (c) => fs.renameSync(c.p.mid, path.join(c.p.aside, path.basename(c.p.mid))),
    lift: (c) => {
      if (fs.existsSync(c.p.mid)) c.notes.push(`${path.basename(c.p.mid)} was re-created while it was away`);
      else fs.renameSync(path.join(c.p.aside, path.basename(c.p.mid)), c.p.mid);
    },
  },
  {
    id: 'ro-disk',
    title: "b. read-only: alpha's running disk and its folder (chmod a-w), as the unprivileged owner",
    applies: () => true,
    user: true,
    needsRoot: 'needs root to run as another user (setpriv)',
    prepare: (c) => {
      const dir = c.cmd.kind === 'workload' ? path.join(c.p.out, 'wl') : c.p.diskDir;
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir);
        fs.chownSync(dir, NOBODY, NOBODY);
      }
      for (const f of c.cmd.kind === 'workload' ? [dir] : [c.p.leaf, dir]) {
        keepMode(f);
        fs.chmodSync(f, modes.get(f)! & ~0o222);
      }
    },
    lift: (c) => {
      for (const f of c.cmd.kind === 'workload' ? [path.join(c.p.out, 'wl')] : [c.p.diskDir, c.p.leaf]) restoreMode(f);
    },
  },
  {
    id: 'ro-state',
    title: 'b. read-only: state.json and the state directory (chmod a-w), as the unprivileged owner',
    applies: touchesState,
    user: true,
    needsRoot: 'needs root to run as another user (setpriv)',
    prepare: (c) => {
      for (const f of [stateFile(c), c.p.root]) {
        keepMode(f);
        fs.chmodSync(f, modes.get(f)! & ~0o222);
      }
    },
    lift: (c) => {
      for (const f of [c.p.root, stateFile(c)]) restoreMode(f);
    },
  },
  {
    id: 'unreadable-disk',
    title: "c. unreadable: alpha's oldest .avhdx owned by root, mode 0600; the command runs as the unprivileged user",
    applies: () => true,
    user: true,
    needsRoot: 'needs root to run as another user (setpriv)',
    prepare: (c) => {
      const f = c.cmd.kind === 'workload' ? path.join(c.p.out, 'wl') : c.p.mid;
      fs.mkdirSync(path.dirname(f), { recursive: true });
      if (c.cmd.kind === 'workload') fs.mkdirSync(f, { recursive: true });
      keepMode(f);
      fs.chownSync(f, 0, 0);
      fs.chmodSync(f, c.cmd.kind === 'workload' ? 0o700 : 0o600);
    },
    lift: (c) => {
      const f = c.cmd.kind === 'workload' ? path.join(c.p.out, 'wl') : c.p.mid;
      if (!fs.existsSync(f)) {
        c.notes.push(`${path.basename(f)} is gone`);
        return;
      }
      fs.chownSync(f, NOBODY, NOBODY);
      restoreMode(f);
    },
  },
  {
    id: 'unreadable-state',
    title: 'c. unreadable: state.json owned by root, mode 0600; the command runs as the unprivileged user',
    applies: touchesState,
    user: true,
    needsRoot: 'needs root to run as another user (setpriv)',
    prepare: (c) => {
      keepMode(stateFile(c));
      fs.chownSync(stateFile(c), 0, 0);
      fs.chmodSync(stateFile(c), 0o600);
    },
    lift: (c) => {
      fs.chownSync(stateFile(c), NOBODY, NOBODY);
      restoreMode(stateFile(c));
    },
  },
  {
    id: 'disk-full',
    title: 'd. the disk full: the cell on a tmpfs of its own, filled to 64 KiB free',
    applies: () => true,
    tmpfs: true,
    needsRoot: 'needs root to mount a tmpfs',
    prepare: (c) => {
      fillDisk(c.p.base, 64 * KiB);
    },
    lift: (c) => {
      // Room again: the filler goes, and the file system grows to what a rerun may need.
      fs.rmSync(path.join(c.p.base, 'filler.bin'), { force: true });
      sh('mount', ['-o', 'remount,size=256M', c.p.base]);
    },
  },
  {
    id: 'state-truncated',
    title: 'f. state.json truncated (its first half)',
    applies: touchesState,
    prepare: (c) => {
      keepOriginal(c);
      c.planted = c.original!.slice(0, c.original!.length >> 1);
      fs.writeFileSync(stateFile(c), c.planted);
    },
    lift: restoreState,
  },
  {
    id: 'state-type',
    title: "f. state.json hand-edited: a field of the wrong type (alpha's memory \"2GB\")",
    applies: touchesState,
    prepare: (c) =>
      editState(c, (s) => {
        (s.vms.find((v) => v.name === 'alpha') as unknown as Record<string, unknown>).memory = '2GB';
      }),
    lift: restoreState,
  },
  {
    id: 'state-badpath',
    title: 'f. state.json hand-edited: a VM record ("ghost") whose disk file does not exist',
    applies: touchesState,
    prepare: (c) =>
      editState(c, (s) => {
        const disk = '/nonexistent-hvsim/ghost/Virtual Hard Disks/ghost.vhdx';
        const gamma = s.vms.find((v) => v.name === 'gamma')!;
        const drives: DriveRecord[] = [{ path: disk, files: [{ path: disk, parent: null }] }];
        s.vms.push({ ...gamma, id: '0badc0de-0000-4000-8000-000000000001', name: 'ghost', path: '/nonexistent-hvsim/ghost', drives });
      }),
    lift: restoreState,
  },
  {
    id: 'state-dupname',
    title: 'f. state.json hand-edited: two VMs of the same name (gamma renamed beta)',
    applies: touchesState,
    prepare: (c) =>
      editState(c, (s) => {
        s.vms.find((v) => v.name === 'gamma')!.name = 'beta';
      }),
    lift: restoreState,
    exact: (cmd) => !cmd.beta,
  },
  {
    id: 'state-version',
    title: 'f. state.json from another version (version 99)',
    applies: touchesState,
    prepare: (c) =>
      editState(c, (s) => {
        s.version = 99;
      }),
    lift: restoreState,
  },
  {
    id: 'lock-state',
    title: "g. the state directory's lock left by a dead process",
    applies: touchesState,
    prepare: (c) => fs.writeFileSync(path.join(c.p.root, 'lock'), stateLockText(PLANTED_PID)),
    lift: (c) => {
      const l = path.join(c.p.root, 'lock');
      if (fs.existsSync(l) && fs.readFileSync(l, 'utf8').split('\n')[0] === String(PLANTED_PID)) fs.rmSync(l); // untouched: nothing took it over
    },
  },
  {
    id: 'lock-disk',
    title: "g. alpha's running disk's writer lock (.NAME.hvsim-lock) left by a dead process",
    applies: touchesChain,
    prepare: (c) => fs.writeFileSync(writerLockPath(c.p.leaf), String(PLANTED_PID)),
    lift: (c) => {
      const l = writerLockPath(c.p.leaf);
      if (fs.existsSync(l) && fs.readFileSync(l, 'utf8') === String(PLANTED_PID)) fs.rmSync(l); // untouched: nothing wanted it
    },
  },
  { id: 'twice', title: 'h. two invocations at once (the same command twice, on the same state directory and disk)', applies: (c) => (c.kind === 'workload' ? 'writes a folder of its own; nothing shared to race on' : true) },
];
const E_MODELS = ['one write fails (EIO), the rest work', 'the disk dies (that write and every later one fail)', 'a save of the state fails (EIO)'] as const;

// ------------------------------------------------------------------ outcome rules

const errorLines = (r: JobResult): string[] =>
  r.stderr
    .split('\n')
    .filter((l) => l.trim().length > 0 && !l.startsWith('WARNING: '));

/** The command did what it was asked (a report of findings counts: test-vhd/test-tree exit 1). */
function succeeded(cmd: Cmd, r: JobResult): boolean {
  if (r.code === null || r.uncaught) return false;
  if (cmd.kind === 'cmdlet') return r.code === 0 && errorLines(r).length === 0;
  return (r.code === 0 || (cmd.report === true && r.code === 1)) && errorLines(r).length === 0;
}

/** An ending the issue accepts: a result or a one-line error; never 70, a stack trace, a hang, "internal error". */
function formProblems(cmd: Cmd, r: JobResult, what: string): string[] {
  const p: string[] = [];
  if (r.hang) return [`${what}: no end after ${r.ms} ms (hang)`];
  if (r.uncaught) p.push(`${what}: threw past the CLI: ${r.uncaught.split('\n').slice(0, 2).join(' ')}`);
  if (r.code === 70) p.push(`${what}: exit 70`);
  if (/internal error/i.test(r.stderr)) p.push(`${what}: "internal error" on stderr`);
  if (/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr)) p.push(`${what}: a stack trace on stderr`);
  if (cmd.kind !== 'cmdlet' && r.code !== null && !succeeded(cmd, r)) {
    const lines = errorLines(r);
    if (lines.length !== 1 || !lines[0]!.startsWith('hvsim: ')) p.push(`${what}: not a one-line "hvsim: …" error: ${JSON.stringify(r.stderr.slice(0, 300))}`);
  }
  return p;
}

const brief = (r: JobResult | undefined): string => (r ? (r.hang ? 'hang' : `exit ${r.code}${errorLines(r).length ? `: ${errorLines(r)[0]!.slice(0, 200)}` : ''}`) : 'not run');

// ------------------------------------------------------------------ the run

let work = '';
let IN_DIR = '';
let rt: Runtime;
const mounts: string[] = [];
/** The template's points in time, and alpha's files relative to the state directory. */
let B: Picture;
let tplIds = new Map<string, string>();
let rel = { leaf: '', mid: '', diskDir: '' };
const cells = new Map<string, Cell>();
const refA = new Map<string, Picture>();
const refAA = new Map<string, Picture>();
const key = (col: string, cmd: string): string => `${col}|${cmd}`;
const label = (id: string, name: string): string | undefined => tplIds.get(id) ?? (name === 'ghost' ? undefined : `+${name}`);
const stats = { cells: 0, na: 0, ok: 0, oneLine: 0, nothingLost: 0, points: 0, pointsRead: 0, invocations: 0, skipped: 0, failing: 0 };
let setupError: unknown;

function readWholeState(root: string): HostState | undefined {
  try {
    return readStateDirectory(root);
  } catch {
    return undefined;
  }
}

/**
 * What of a VM's record decides its points in time (its drives' files, its checkpoints' names,
 * times and files), with paths relative to the state directory.
 */
function diskSignature(vm: HostState['vms'][number], root: string): string {
  const r = (p: string): string => (p.startsWith(root + '/') ? p.slice(root.length + 1) : p);
  return JSON.stringify({
    drives: vm.drives.map((d) => ({ path: r(d.path), files: d.files.map((f) => [r(f.path), f.parent === null ? null : r(f.parent)]) })),
    snaps: vm.snapshots.map((s) => [s.name, s.creationTime, s.drives.map(r)]),
  });
}
/** The template's signature and files (relative path → size and modification time, ns) per VM Id. */
const tplDisks = new Map<string, { sig: string; files: Map<string, string> }>();
/** Size and modification time to the nanosecond: cp -a keeps both, any write changes the time. */
function stamp(f: string): string | undefined {
  try {
    const st = fs.statSync(f, { bigint: true });
    return `${st.size}@${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

function filesOf(vm: HostState['vms'][number]): string[] {
  return [...new Set([...vm.drives.flatMap((d) => [d.path, ...d.files.map((f) => f.path)]), ...vm.snapshots.flatMap((s) => s.drives)])];
}

/**
 * Every point in time of the cell. A template VM whose records (as far as its disks go) are the
 * template's, and every file they name still has the template's size and modification time (to
 * the nanosecond: no write has touched it since the copy), reads as the template does: its points
 * are taken from B. Every other VM's points are read (Chain.open, read-only) and hashed.
 */
function pictureOf(c: Cell): Picture {
  // A state.json the mishap broke (and the command left broken) is read as the good one it replaced.
  const s = readWholeState(c.p.root) ?? c.originalState;
  if (!s) return new Map([['state.json', 'unreadable']]);
  const same = new Set<string>();
  for (const vm of s.vms) {
    const t = tplDisks.get(vm.id);
    if (!t || diskSignature(vm, c.p.root) !== t.sig) continue;
    if (filesOf(vm).every((f) => stamp(f) !== undefined && stamp(f) === t.files.get(path.relative(c.p.root, f)))) same.add(vm.id);
  }
  const pic = picture(s, (id, name) => (same.has(id) ? undefined : label(id, name)));
  stats.pointsRead += pic.size;
  for (const id of same) for (const [k, v] of B) if (k.startsWith(`${tplIds.get(id)}/`)) pic.set(k, v);
  stats.points += pic.size;
  return pic;
}

const columnEnabled = (col: Column): true | string => {
  if (col.needsRoot && !isRoot()) return `skipped: ${col.needsRoot} (CI runs as root)`;
  if (col.user && !rt.canDropPrivileges) return 'skipped: setpriv cannot run node as the unprivileged user here';
  return true;
};

function paths(base: string): Paths {
  const root = path.join(base, 'state');
  return { base, root, out: path.join(base, 'out'), leaf: path.join(root, rel.leaf), mid: path.join(root, rel.mid), diskDir: path.join(root, rel.diskDir), aside: path.join(base, 'aside') };
}

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Fresh copies of the template (three shells for all of them, at once: a process per copy would
 * cost more than the copies), each with out/ and aside/, on a tmpfs of its own when asked, owned
 * by the unprivileged user when asked; then each copy's records are re-pointed at it.
 */
async function newCells(list: Array<{ base: string; tmpfs?: boolean; owner?: number }>, stash: string, tplRoot: string): Promise<Paths[]> {
  const scripts: string[][] = [[], [], []];
  list.forEach((x, i) => {
    const lines = scripts[i % scripts.length]!;
    lines.push(`mkdir -p ${q(x.base)}`);
    if (x.tmpfs) lines.push(`mount -t tmpfs -o size=${DISK_FULL_SIZE},mode=0755 tmpfs ${q(x.base)}`);
    lines.push(`cp -a --sparse=always ${q(path.join(stash, 'state'))} ${q(path.join(x.base, 'state'))}`, `mkdir ${q(path.join(x.base, 'out'))} ${q(path.join(x.base, 'aside'))}`);
    if (x.owner !== undefined) lines.push(`chown -R ${x.owner}:${x.owner} ${q(x.base)}`);
  });
  for (const x of list) if (x.tmpfs) mounts.push(x.base);
  await Promise.all(
    scripts.map(
      (lines) =>
        new Promise<void>((resolve, reject) => {
          const p = spawn('sh', ['-e', '-c', lines.join('\n')], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
          p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`copying the template: ${err}`))));
        }),
    ),
  );
  return list.map((x) => {
    const p = paths(x.base);
    for (const [n, text] of stateFiles(p.root)) fs.writeFileSync(path.join(p.root, n), text.replaceAll(`"${tplRoot}/`, `"${p.root}/`));
    return p;
  });
}

/** Each tmpfs of the disk-full column: the copy, a little room, then filled to 64 KiB free. */
const DISK_FULL_SIZE = 8 * MiB;

function job(c: Cell, args: string[]): RunnerJob {
  stats.invocations++;
  return { args, cwd: c.p.base, env: ENV };
}

/**
 * Run one list of invocations (in order per cell): the unprivileged ones in one runner, the
 * others split between two runners (two cores).
 */
async function runJobs(list: Array<{ c: Cell; args: string[]; put: (r: JobResult) => void }>): Promise<void> {
  const user = list.filter((x) => x.c.col.user);
  const root = list.filter((x) => !x.c.col.user);
  const cellsOf = [...new Set(root.map((x) => x.c))];
  const half = new Set(cellsOf.slice(0, user.length ? cellsOf.length : Math.ceil(cellsOf.length / 2)));
  const lanes = [user, root.filter((x) => half.has(x.c)), root.filter((x) => !half.has(x.c))];
  await Promise.all(
    lanes.map(async (lane, i) => {
      if (!lane.length) return;
      const r = await runBatch(rt, lane.map((x) => job(x.c, x.args)), { scratch: work, unprivileged: i === 0 });
      lane.forEach((x, k) => x.put(r[k]!));
    }),
  );
}

const phases = new Map<string, number>();
let phaseT0 = performance.now();
const phase = (name: string): void => {
  const t = performance.now();
  phases.set(name, (phases.get(name) ?? 0) + (t - phaseT0));
  phaseT0 = t;
};

let stash = '';
let tplRoot = '';

/** Build the runtime and the template; B is its picture. */
async function setup(): Promise<void> {
  phaseT0 = performance.now();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-mishap-'));
  if (isRoot()) {
    mountTmpfs(work, 3 * 1024 * MiB); // fsync costs nothing, copies are quick, nothing stays behind
    mounts.push(work);
  }
  fs.chmodSync(work, 0o755);
  rt = makeRuntime(path.join(work, 'rt'), BIN, REPO);
  PLANTED_PID = deadPid();
  IN_DIR = path.join(work, 'in');
  fs.mkdirSync(IN_DIR);
  for (const [k, w] of Object.entries(WRITES)) fs.writeFileSync(path.join(IN_DIR, `${k}.bin`), fill(w.len, w.seed));
  fs.writeFileSync(path.join(IN_DIR, 'w.bin'), fill(64 * KiB, 7));
  spawnSync('chmod', ['-R', 'a+rX', IN_DIR]);

  // The template, built by the CLI, then moved away so that no cell can reach its files (the
  // parent locators' absolute paths name it).
  const tplBase = path.join(work, 'tpl');
  tplRoot = path.join(tplBase, 'state');
  fs.mkdirSync(tplBase);
  const steps = templateSteps(IN_DIR);
  const built = await runBatch(rt, steps.map((args) => ({ args: ['--root', tplRoot, ...args], cwd: tplBase, env: ENV })), { scratch: work });
  built.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`template step ${steps[i]!.join(' ')}: ${brief(r)} ${r.uncaught ?? ''}`);
  });
  const tpl = readWholeState(tplRoot)!;
  tplIds = new Map(tpl.vms.map((v) => [v.id, v.name]));
  const alpha = tpl.vms.find((v) => v.name === 'alpha')!;
  const c2 = alpha.snapshots.find((s) => s.name === 'c2')!;
  rel = { leaf: path.relative(tplRoot, alpha.drives[0]!.path), mid: path.relative(tplRoot, c2.drives[0]!), diskDir: path.relative(tplRoot, path.dirname(alpha.drives[0]!.path)) };
  if (!/\.avhdx$/.test(rel.mid) || alpha.drives[0]!.files.length !== 4) throw new Error(`unexpected template: ${JSON.stringify(alpha.drives[0])}`);
  B = picture(tpl, label);
  if ([...B.values()].some((v) => v.startsWith('unreadable'))) throw new Error(`template unreadable: ${pictureDiff(new Map(), B)}`);
  stash = path.join(work, 'tpl.stash');
  fs.renameSync(tplBase, stash);
  const stashRoot = path.join(stash, 'state');
  for (const vm of tpl.vms) tplDisks.set(vm.id, { sig: diskSignature(vm, tplRoot), files: new Map(filesOf(vm).map((f) => [path.relative(tplRoot, f), stamp(path.join(stashRoot, path.relative(tplRoot, f)))!])) });
  phase('template');
}

/**
 * Cells also run on a twin copy by the CLI as a process of its own: the batch runner's main()
 * must end exactly as the real command does (same exit status, same stderr).
 */
const FIDELITY = new Set(['missing|get-vm', 'missing|remove-vmsnapshot', 'missing|run Remove-VMSnapshot', 'missing|read-vhd', 'ro-disk|checkpoint-vm', 'unreadable-state|get-vm', 'disk-full|checkpoint-vm', 'state-truncated|get-vm', 'state-version|run Get-VM', 'lock-state|write-vm', 'lock-disk|write-vm']);

/** A message with the twin's paths and the random parts (GUIDs of new files) made comparable. */
const normalise = (t: string, base: string, as: string): string => t.replaceAll(base, as).replace(/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}/gi, '<GUID>');

/** Columns run together (each group's cells exist only while it runs: memory stays bounded). */
const GROUPS: string[][] = [['control'], ['missing', 'lock-state', 'lock-disk', 'ro-disk', 'ro-state', 'unreadable-disk', 'unreadable-state'], ['disk-full', 'state-truncated', 'state-type', 'state-badpath', 'state-dupname', 'state-version'], ['twice']];

const cellBase = (col: string, cmd: Cmd): string => path.join(work, 'cells', col, cmd.id.replace(/\s/g, '_'));

/** Everything of one group of columns: cells, the commands, the lift, get-vm, pictures, reruns, verdicts. */
async function runGroup(ids: string[]): Promise<void> {
  const cols = COLUMNS.filter((c) => ids.includes(c.id) && columnEnabled(c) === true);
  const list: Cell[] = [];
  const specs: Array<{ base: string; tmpfs?: boolean; owner?: number }> = [];
  for (const col of cols)
    for (const cmd of COMMANDS) {
      if (col.applies(cmd) !== true) continue;
      specs.push({ base: cellBase(col.id, cmd), ...(col.tmpfs ? { tmpfs: true } : {}), ...(col.user ? { owner: NOBODY } : {}) });
      list.push({ col, cmd, p: paths(cellBase(col.id, cmd)), notes: [] });
    }
  // The control group also runs each command twice in a row: what two at once may end in.
  const serial: Cell[] = ids.includes('control') ? COMMANDS.filter((c) => c.kind !== 'workload').map((cmd) => ({ col: COLUMNS[0]!, cmd, p: paths(cellBase('serial', cmd)), notes: [] })) : [];
  for (const c of serial) specs.push({ base: c.p.base });
  const twins = list.filter((c) => FIDELITY.has(key(c.col.id, c.cmd.id)));
  for (const c of twins) {
    c.twin = paths(`${c.p.base}-process`);
    specs.push({ base: c.twin.base, ...(c.col.tmpfs ? { tmpfs: true } : {}), ...(c.col.user ? { owner: NOBODY } : {}) });
  }
  await newCells(specs, stash, tplRoot);
  for (const c of [...list, ...serial]) {
    if (c.cmd.script) {
      const f = path.join(c.p.out, 'script.ps1');
      fs.writeFileSync(f, c.cmd.script(c.p) + '\n');
      if (c.col.user) fs.chownSync(f, NOBODY, NOBODY);
    }
    c.col.prepare?.(c);
  }
  for (const c of twins) {
    const t: Cell = { ...c, p: c.twin!, notes: [] };
    if (c.cmd.script) {
      const f = path.join(t.p.out, 'script.ps1');
      fs.writeFileSync(f, c.cmd.script(t.p) + '\n');
      if (c.col.user) fs.chownSync(f, NOBODY, NOBODY);
    }
    c.col.prepare?.(t);
  }
  for (const c of list) cells.set(key(c.col.id, c.cmd.id), c);
  phase('cells');

  // 1. Each command under its mishap (the two-at-once column: two runners in step).
  const twice = list.filter((c) => c.col.id === 'twice');
  const single = list.filter((c) => c.col.id !== 'twice');
  const real = Promise.all(
    twins.map(async (c) => {
      stats.invocations++;
      c.real = await runProcess(rt, { args: c.cmd.args(c.twin!), cwd: c.twin!.base, env: ENV }, { unprivileged: c.col.user === true });
    }),
  );
  await runJobs([
    ...single.map((c) => ({ c, args: c.cmd.args(c.p), put: (r: JobResult) => (c.first = r) })),
    ...serial.flatMap((c) => [
      { c, args: c.cmd.args(c.p), put: () => {} },
      { c, args: c.cmd.args(c.p), put: () => {} },
    ]),
  ]);
  await real;
  if (twice.length) {
    const jobs = twice.map((c) => job(c, c.cmd.args(c.p)));
    stats.invocations += jobs.length;
    const [ra, rb] = await runPair(rt, jobs, jobs, { scratch: work });
    twice.forEach((c, i) => {
      c.first = ra[i];
      c.second = rb[i];
    });
  }
  phase('commands');
  if (ids.includes('control')) {
    for (const cmd of COMMANDS) {
      const ctl = list.find((c) => c.cmd === cmd);
      refA.set(cmd.id, cmd.refuse || cmd.kind === 'workload' || !ctl ? B : pictureOf(ctl));
      const s = serial.find((c) => c.cmd === cmd);
      refAA.set(cmd.id, cmd.refuse || !s ? B : pictureOf(s));
    }
  }

  // 2. Lift the mishap; get-vm must work again (the issue's repro: nothing may be "reconciled" away).
  for (const c of single) c.col.lift?.(c);
  const later = list.filter((c) => c.col.id !== 'control');
  await runJobs(later.map((c) => ({ c, args: ['--root', c.p.root, 'get-vm'], put: (r: JobResult) => (c.after = r) })));
  phase('get-vm after the lift');
  for (const c of list) c.p1 = c.col.id === 'control' ? refA.get(c.cmd.id)! : pictureOf(c);
  phase('pictures');

  // 3. A command that failed under the mishap must now complete (unless it had done its work).
  const again = later.filter((c) => {
    // make-workload writes 268 MB: its cells only show that it fails cleanly.
    if (c.col.id === 'twice' || c.cmd.refuse || c.cmd.kind === 'workload' || succeeded(c.cmd, c.first!)) return false;
    const A = refA.get(c.cmd.id)!;
    return samePicture(A, B) || !samePicture(c.p1!, A);
  });
  await runJobs(again.map((c) => ({ c, args: c.cmd.args(c.p), put: (r: JobResult) => (c.rerun = r) })));
  phase('reruns');
  for (const c of again) c.p2 = pictureOf(c);
  for (const c of list) {
    c.left = leftovers(c.p.base);
    c.found = problems(c);
    stats.cells++;
    if (succeeded(c.cmd, c.first!)) stats.ok++;
    else if (formProblems(c.cmd, c.first!, '').length === 0) stats.oneLine++;
    if (!c.found.some((f) => f.startsWith('LOST'))) stats.nothingLost++;
    if (c.found.length) stats.failing++;
  }
  phase('pictures');
  // The cells are done with: free their room.
  for (const c of [...list, ...serial]) {
    for (const base of [c.p.base, ...(c.twin ? [c.twin.base] : [])]) {
      if (c.col.tmpfs) {
        unmount(base);
        mounts.splice(mounts.indexOf(base), 1);
      }
      if (!process.env.HVSIM_MISHAP_KEEP) fs.rmSync(base, { recursive: true, force: true });
    }
  }
  phase('clean-up');
}

/** Everything wrong with a cell; empty when it holds. */
function problems(c: Cell): string[] {
  const { col, cmd } = c;
  const p: string[] = [...c.notes];
  const first = c.first!;
  const A = refA.get(cmd.id)!;
  p.push(...formProblems(cmd, first, 'the command'));
  // The template has no unfinished merge: a message about one misleads.
  if (/interrupted merge/i.test(first.stderr)) p.push(`speaks of an interrupted merge where none was: ${first.stderr.split('\n').find((l) => /interrupted merge/i.test(l))!.slice(0, 300)}`);
  const ok = succeeded(cmd, first);
  if (col.id === 'twice') {
    const second = c.second!;
    p.push(...formProblems(cmd, second, 'the second command'));
    if (cmd.refuse) {
      if (ok || succeeded(cmd, second)) p.push("a change to a VM's disk was not refused");
    } else if (!ok && !succeeded(cmd, second) && succeeded(cmd, cells.get(key('control', cmd.id))?.first ?? first)) p.push(`neither of the two succeeded: ${brief(first)} / ${brief(second)}`);
    const AA = refAA.get(cmd.id)!;
    if (!samePicture(c.p1!, A) && !samePicture(c.p1!, AA)) p.push(`the points in time are neither one run's nor two runs': ${pictureDiff(A, c.p1!)}`);
  } else if (col.id === 'control') {
    if (cmd.refuse) {
      if (ok) p.push('succeeded: a disk command changed a file of a simulated VM (expected a one-line error naming the VM, issue 14 item 2)');
      else if (!/alpha/.test(first.stderr)) p.push(`refused without naming the VM: ${brief(first)}`);
    } else if (!ok) p.push(`failed: ${brief(first)}`);
  } else {
    if (cmd.refuse && ok) p.push('succeeded: a disk command changed a file of a simulated VM (expected a one-line error naming the VM)');
    if (col.id === 'missing' && !ok && !cmd.refuse && !first.stderr.includes(path.basename(c.p.mid))) p.push(`the error does not name the missing file ${path.basename(c.p.mid)}: ${brief(first)}`);
    if ((col.id === 'missing' || col.id === 'state-badpath') && (cmd.id === 'get-vm' || cmd.id === 'run Get-VM')) {
      const file = col.id === 'missing' ? path.basename(c.p.mid) : 'ghost.vhdx';
      if (!ok) p.push(`get-vm failed while a file was missing: ${brief(first)}`);
      else if (!first.stdout.includes(file)) p.push(`get-vm does not name the missing file ${file} (Status): ${first.stdout.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
    if (c.after && !succeeded(GET_VM, c.after)) p.push(`get-vm after the mishap was lifted: ${brief(c.after)}`);
    if (cmd.kind !== 'workload' && (col.exact?.(cmd) ?? true)) {
      if (ok && !samePicture(c.p1!, A)) p.push(`succeeded, but the points in time are not what the command makes of them: ${pictureDiff(A, c.p1!)}`);
      if (!ok && !cmd.partial && !samePicture(c.p1!, B) && !samePicture(c.p1!, A)) p.push(`failed, and the points in time are neither as before nor as after: ${pictureDiff(B, c.p1!)}`);
    }
    if (c.rerun) {
      p.push(...formProblems(cmd, c.rerun, 'the rerun'));
      if (!succeeded(cmd, c.rerun)) p.push(`the rerun after the mishap was lifted failed: ${brief(c.rerun)}`);
      else if (cmd.kind !== 'workload' && !samePicture(c.p2!, A)) p.push(`the rerun's points in time: ${pictureDiff(A, c.p2!)}`);
    }
  }
  for (const pic of [c.p1, c.p2]) {
    if (!pic) continue;
    const lost = lostPoints(B, A, pic);
    if (lost.length) p.push(`LOST: ${lost.join('; ')}`);
  }
  if (ok && cmd.verify) {
    const v = cmd.verify(c.p, B);
    if (v) p.push(v);
  }
  if (c.left?.length) p.push(`left behind: ${c.left.join(', ')}`);
  if (c.real) {
    const got = normalise(c.real.stderr, c.twin!.base, c.p.base);
    if (c.real.code !== first.code || got !== normalise(first.stderr, c.p.base, c.p.base))
      p.push(`as a process of its own the command ends otherwise: ${brief(c.real)} (${JSON.stringify(got.slice(0, 300))}) — in the batch runner: ${brief(first)}`);
  }
  return p;
}

/** A record of every cell (HVSIM_MISHAP_REPORT=file): what docs/reliability.md's matrix is made from. */
function writeReport(file: string): void {
  const rows = [...cells.values()].map((c) => ({
    column: c.col.id,
    command: c.cmd.id,
    first: c.first && { code: c.first.code, stderr: c.first.stderr, stdout: c.first.stdout.slice(0, 2000), hang: c.first.hang ?? false, uncaught: c.first.uncaught },
    second: c.second && { code: c.second.code, stderr: c.second.stderr },
    process: c.real && { code: c.real.code, stderr: c.real.stderr },
    after: c.after && { code: c.after.code, stderr: c.after.stderr },
    rerun: c.rerun && { code: c.rerun.code, stderr: c.rerun.stderr },
    outcome: c.first ? (succeeded(c.cmd, c.first) ? 'result' : formProblems(c.cmd, c.first, '').length ? 'bad' : 'error') : 'not run',
    found: c.found,
  }));
  fs.writeFileSync(file, JSON.stringify(rows, null, 1));
}

/**
 * Cells that fail on today's code (each a defect reported to the engineers fixing issue 14), run
 * with it.fails until fixed: such a test fails as soon as its cell holds, so it is flipped then.
 */
const KNOWN_FAILING = new Set<string>([]);

describe('the mishap matrix: CLI commands and hvsim run cmdlets, through the built CLI', () => {
  beforeAll(async () => {
    try {
      await setup();
      for (const g of GROUPS) await runGroup(g);
    } catch (e) {
      setupError = e;
    }
  }, 400_000);

  afterAll(() => {
    const ph = [...phases].map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ');
    console.log(
      `[reliability-mishap] ${stats.cells} cells tried (${stats.na} not applicable${stats.skipped ? `, ${stats.skipped} skipped` : ''}): ` +
        `${stats.ok} correct results, ${stats.oneLine} one-line errors, ${stats.failing} with problems; nothing lost in ${stats.nothingLost} of ${stats.cells}; ` +
        `${stats.points} points in time compared (${stats.pointsRead} read, the rest byte-identical files); ${stats.invocations} hvsim invocations; ${cpuLine()}`,
    );
    console.log(`[reliability-mishap] phases: ${ph}`);
    if (process.env.HVSIM_MISHAP_REPORT) writeReport(process.env.HVSIM_MISHAP_REPORT);
    for (const m of mounts.reverse()) unmount(m);
    if (work && !process.env.HVSIM_MISHAP_KEEP) {
      unmount(work);
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  for (const col of COLUMNS) {
    describe(col.title, () => {
      for (const cmd of COMMANDS) {
        const applies = col.applies(cmd);
        // Not applicable (the reason is in docs/reliability.md's table): no test to run.
        if (applies !== true) {
          stats.na++;
          continue;
        }
        const name = `${cmd.id}${KNOWN_FAILING.has(key(col.id, cmd.id)) ? ' (KNOWN FAILING today: see the report)' : ''}`;
        (KNOWN_FAILING.has(key(col.id, cmd.id)) ? it.fails : it)(name, (ctx) => {
          if (setupError) throw setupError;
          const enabled = columnEnabled(col);
          if (enabled !== true) {
            stats.skipped++;
            console.log(`[reliability-mishap] ${col.id} × ${cmd.id}: ${enabled}`);
            ctx.skip();
            return;
          }
          const c = cells.get(key(col.id, cmd.id))!;
          expect(c.found, `${col.id} × ${cmd.id}: ${brief(c.first)}${c.second ? ` / ${brief(c.second)}` : ''}`).toEqual([]);
        });
      }
    });
  }
});


// ------------------------------------------------------------------ e. I/O errors (in-process, the fault layer)

const VMROOT = '/mem/vms';
const MEM_PATHS: Paths = { base: '/mem', root: '/mem', out: '/mem/out', leaf: '', mid: '', diskDir: '', aside: '' };

interface MemWorld {
  files: Map<string, Uint8Array>;
  ro: Set<string>;
  json: string;
}

/** The template again, in memory: the same steps through the Host interface. */
async function buildMemTemplate(): Promise<MemWorld> {
  const { h, storage, store } = memoryHost({ vmRoot: VMROOT, startTime: Date.parse(ENV.HVSIM_START_TIME), defaultDiskSize: 2 * MiB });
  const w = (k: keyof typeof WRITES): Promise<void> => h.writeGuest(WRITES[k].vm, fill(WRITES[k].len, WRITES[k].seed), WRITES[k].offset);
  await h.newVM({ name: 'alpha', diskSize: 2 * MiB, checkpointType: 'Standard' });
  await h.newVM({ name: 'beta', diskSize: 2 * MiB, checkpointType: 'Standard' });
  await h.newVM({ name: 'gamma', diskSize: 2 * MiB });
  await h.startVM(['alpha', 'beta']);
  await w('a1');
  await h.checkpointVM(['alpha'], { snapshotName: 'c1' });
  await w('a2');
  await h.checkpointVM(['alpha'], { snapshotName: 'c2' });
  await w('a3');
  await w('b1');
  await checkpointGroup(h, ['alpha', 'beta'], { snapshotName: 'grp' });
  await w('a4');
  await w('b2');
  await h.suspendVM(['beta']);
  h.close();
  return { files: store.snapshot(), ro: store.readOnlyPaths(), json: storage.savedJson! };
}

/**
 * A store whose mutating operation number `failAt` (from 0: writes, truncates and flushes of
 * writable handles, creates, removes, renames, journal writes) fails as the OS would report a
 * failing disk, EIO; every other operation works.
 */
class FlakyStore implements DiskStore {
  ops = 0;
  constructor(
    readonly inner: MemoryDiskStore,
    private readonly failAt: number,
  ) {}
  private step(file: string, what: string): void {
    if (this.ops++ === this.failAt) throw new HvsimError('IO', `${file}: ${what} failed: EIO: i/o error (injected)`, { file });
  }
  private wrap(f: BlockFile): BlockFile {
    const step = (what: string): void => this.step(f.name, what);
    return {
      name: f.name,
      readOnly: f.readOnly,
      read: (b, o) => f.read(b, o),
      write: (b, o) => {
        step('write');
        f.write(b, o);
      },
      size: () => f.size(),
      truncate: (n) => {
        step('truncate');
        f.truncate(n);
      },
      flush: () => {
        step('flush');
        f.flush();
      },
      close: () => f.close(),
    };
  }
  open(p: string, mode: 'r' | 'rw'): BlockFile {
    const f = this.inner.open(p, mode);
    return mode === 'rw' ? this.wrap(f) : f;
  }
  create(p: string): BlockFile {
    this.step(p, 'create');
    return this.wrap(this.inner.create(p));
  }
  exists(p: string): boolean {
    return this.inner.exists(p);
  }
  remove(p: string): void {
    if (this.inner.exists(p)) this.step(p, 'unlink');
    this.inner.remove(p);
  }
  isReadOnly(p: string): boolean {
    return this.inner.isReadOnly(p);
  }
  setReadOnly(p: string, readOnly: boolean): void {
    this.inner.setReadOnly(p, readOnly);
  }
  readText(p: string): string | undefined {
    return this.inner.readText(p);
  }
  writeTextAtomic(p: string, text: string): void {
    this.step(p, 'write');
    this.inner.writeTextAtomic(p, text);
  }
  rename(from: string, to: string): void {
    this.step(to, 'rename');
    this.inner.rename(from, to);
  }
  lockWriter(): { release(): void } {
    return this.inner.lockWriter();
  }
  list(dir: string): string[] {
    return this.inner.list(dir);
  }
  mkdirp(dir: string): void {
    this.inner.mkdirp(dir);
  }
  absolutePath(p: string): string {
    return this.inner.absolutePath(p);
  }
}

type IoModel = (typeof E_MODELS)[number];

interface MemRun {
  stderr: string;
  /** Something other than an HvsimError escaped the session. */
  thrown?: string;
  files: Map<string, Uint8Array>;
  ro: Set<string>;
  json: string;
  /** Mutating operations counted by each model's counter. */
  ops: [number, number, number];
}

/** The state's storage, whose save number `failAt` (from 0) fails with EIO. */
class FlakyStorage extends MemoryStorage {
  saves = 0;
  constructor(
    store: DiskStore,
    json: string,
    private readonly failAt: number,
  ) {
    super(store, VMROOT, json);
  }
  override save(state: HostState): void {
    if (this.saves++ === this.failAt) throw new HvsimError('IO', '/mem/state.json: write failed: EIO: i/o error (injected)', { file: '/mem/state.json' });
    super.save(state);
  }
}

const describeError = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
const errorText = (t: string): string[] => t.split('\n').filter((l) => l.trim() && !l.startsWith('WARNING: '));

/**
 * Run `script` on a host over the template whose store fails as `model` says at operation k
 * (Infinity: never), then let the background merges it started run (wait-vm), still on that store.
 */
async function runMem(world: MemWorld, script: string, model: IoModel | undefined, k: number): Promise<MemRun> {
  const budget = faultBudget(model === E_MODELS[1] ? k : Infinity, 'keep-all');
  const base = MemoryDiskStore.from(world.files, budget, world.ro);
  const flaky = new FlakyStore(base, model === E_MODELS[0] ? k : Infinity);
  const storage = new FlakyStorage(flaky, world.json, model === E_MODELS[2] ? k : Infinity);
  let stderr = '';
  let thrown: string | undefined;
  let h: Simulator | undefined;
  const run = async (f: () => Promise<unknown>): Promise<void> => {
    try {
      await f();
    } catch (e) {
      if (e instanceof HvsimError) stderr += `hvsim: ${e.message}\n`;
      else thrown ??= describeError(e);
    }
  };
  await run(async () => {
    h = Simulator.open({ storage, timeZone: 'UTC', defaultDiskSize: 2 * MiB });
  });
  if (h) {
    const host = h;
    await run(() => createSession(host, { stdout: () => {}, stderr: (t) => (stderr += t), yes: true }).run(script));
    await run(() => host.waitVM(['alpha', 'beta', 'gamma']));
    await run(async () => host.close());
  }
  return { stderr, ...(thrown !== undefined ? { thrown } : {}), files: base.snapshot(), ro: base.readOnlyPaths(), json: storage.savedJson ?? world.json, ops: [flaky.ops, budget.ops, storage.saves] };
}

/** The template's disk records and file bytes per VM Id (a VM left as it was reads as B). */
let memTpl: { sigs: Map<string, string>; files: Map<string, Uint8Array>; B: Picture; ids: Map<string, string> } | undefined;

/** Reopen what a run left (no faults now) and read every point in time. */
function reopenMem(run: { files: Map<string, Uint8Array>; ro: Set<string>; json: string }): { h: Simulator; pic: Picture; storage: MemoryStorage; store: MemoryDiskStore } | string {
  const store = MemoryDiskStore.from(run.files, undefined, run.ro);
  const storage = new MemoryStorage(store, VMROOT, run.json);
  let h: Simulator;
  try {
    h = Simulator.open({ storage, timeZone: 'UTC', defaultDiskSize: 2 * MiB });
  } catch (e) {
    return `the host does not reopen: ${describeError(e)}`;
  }
  return { h, pic: memPicture(JSON.parse(storage.savedJson ?? run.json) as HostState, store), storage, store };
}

/** Like pictureOf(): VMs whose records and files are byte for byte the template's take B's points; the others are read. */
function memPicture(s: HostState, store: MemoryDiskStore): Picture {
  const t = memTpl!;
  const files = store.snapshot();
  const same = new Set<string>();
  for (const vm of s.vms) {
    if (t.sigs.get(vm.id) !== diskSignature(vm, VMROOT)) continue;
    if (filesOf(vm).every((f) => files.has(f) && t.files.has(f) && Buffer.from(files.get(f)!).equals(t.files.get(f)!))) same.add(vm.id);
  }
  const lbl = (id: string, name: string): string | undefined => (same.has(id) ? undefined : (t.ids.get(id) ?? `+${name}`));
  const pic = picture(s, lbl, store);
  for (const id of same) for (const [k, v] of t.B) if (k.startsWith(`${t.ids.get(id)}/`)) pic.set(k, v);
  stats.points += pic.size;
  return pic;
}

let memWorld: Promise<MemWorld> | undefined;
const memRefs = new Map<string, Promise<MemRun>>();
const eStats = { cells: 0, runs: 0, faults: 0, nothingToFail: 0, nothingLost: 0, ms: 0 };
/** Per cmdlet × model: operations the run makes, how many were failed, what went wrong (for the report). */
const eResults: Array<{ command: string; model: string; ops: number; tried: number; found: string[] }> = [];

/** Problems of one cmdlet × one I/O model, failing at up to 5 operations spread over the run. */
async function ioCell(cmd: Cmd, model: IoModel): Promise<string[]> {
  const world = await (memWorld ??= buildMemTemplate().then((w) => {
    const s = JSON.parse(w.json) as HostState;
    const ids = new Map(s.vms.map((v) => [v.id, v.name]));
    const store = MemoryDiskStore.from(w.files, undefined, w.ro);
    memTpl = { sigs: new Map(s.vms.map((v) => [v.id, diskSignature(v, VMROOT)])), files: w.files, B: picture(s, (id) => ids.get(id), store), ids };
    return w;
  }));
  const script = cmd.script!(MEM_PATHS);
  let refP = memRefs.get(cmd.id);
  if (!refP) memRefs.set(cmd.id, (refP = runMem(world, script, undefined, Infinity)));
  const ref = await refP;
  if (ref.thrown || errorText(ref.stderr).length) return [`the reference run failed: ${ref.thrown ?? ref.stderr}`];
  const after = reopenMem(ref);
  if (typeof after === 'string') return [after];
  after.h.close();
  const Bm = memTpl!.B;
  const Am = after.pic;
  const n = ref.ops[E_MODELS.indexOf(model)] ?? 0;
  const m = Math.min(n, 5);
  const ks = [...new Set(Array.from({ length: m }, (_, i) => Math.round((i * (n - 1)) / Math.max(1, m - 1))))];
  if (ks.length === 0) eStats.nothingToFail++;
  const p: string[] = [];
  eResults.push({ command: cmd.id, model, ops: n, tried: ks.length, found: p });
  for (const k of ks) {
    const run = await runMem(world, script, model, k);
    eStats.runs++;
    eStats.faults++;
    const at = `operation ${k + 1} of ${n}`;
    if (run.thrown) p.push(`${at}: an untyped error escaped: ${run.thrown}`);
    if (/internal error/i.test(run.stderr)) p.push(`${at}: "internal error"`);
    const re = reopenMem(run);
    if (typeof re === 'string') {
      p.push(`${at}: ${re}`);
      continue;
    }
    try {
      const lost = lostPoints(Bm, Am, re.pic);
      if (lost.length) p.push(`${at}: LOST: ${lost.join('; ')}`);
      else if (!samePicture(re.pic, Bm) && !samePicture(re.pic, Am)) p.push(`${at}: neither before nor after: ${pictureDiff(Bm, re.pic)}`);
      else if (samePicture(re.pic, Bm) && !samePicture(Bm, Am)) {
        // It did not happen: once the disk works again, it must.
        let err = '';
        await createSession(re.h, { stdout: () => {}, stderr: (t) => (err += t), yes: true }).run(script);
        await re.h.waitVM(['alpha', 'beta', 'gamma']);
        if (errorText(err).length) p.push(`${at}: the rerun failed: ${errorText(err)[0]}`);
        const again = memPicture(JSON.parse(re.storage.savedJson!) as HostState, re.store);
        if (!samePicture(again, Am)) p.push(`${at}: the rerun's points in time: ${pictureDiff(Am, again)}`);
      }
    } catch (e) {
      p.push(`${at}: ${describeError(e)}`);
    } finally {
      re.h.close();
    }
  }
  return p;
}

describe('e. an I/O error (the fault layer, in-process: cmdlets on a Host over a faulty MemoryDiskStore)', () => {
  afterAll(() => {
    console.log(
      `[reliability-mishap] I/O errors: ${eStats.cells} cmdlet × model cells, ${eStats.faults} failing operations tried ` +
        `(${eStats.nothingToFail} cells write nothing, so nothing could fail); nothing lost in ${eStats.nothingLost} of ${eStats.cells}; ${(eStats.ms / 1000).toFixed(1)} s`,
    );
    if (process.env.HVSIM_MISHAP_REPORT) fs.writeFileSync(`${process.env.HVSIM_MISHAP_REPORT}.io.json`, JSON.stringify(eResults, null, 1));
  });
  for (const cmd of COMMANDS) {
    // The fault layer is in-process: the Host calls the CLI commands make are tried through their cmdlets.
    if (cmd.kind !== 'cmdlet') continue;
    for (const model of E_MODELS) {
      it(`${cmd.id}: ${model}`, async () => {
        const t0 = performance.now();
        eStats.cells++;
        const found = await ioCell(cmd, model);
        eStats.ms += performance.now() - t0;
        if (!found.some((f) => f.includes('LOST'))) eStats.nothingLost++;
        expect(found).toEqual([]);
      }, 60_000);
    }
  }
});

// ------------------------------------------------------------------ the issue's repros, as separate processes

describe("the issue's data-loss repros, each step a separate hvsim process (items 1 and 2)", () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-mishap-repro-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const hv = (root: string, args: string[]): CliResult => runCli(['--root', root, ...args], { bin: BIN, cwd: dir, env: ENV, timeout: 60_000 });
  const ok = (root: string, args: string[]): string => okStdout(args, hv(root, args));

  /** new-vm x; write AAAA; checkpoint c1; write BBBB; checkpoint c2 (and CCCC after it): the issue's steps. */
  function build(name: string): { root: string; oldest: string; files: string[]; expect: Record<string, Buffer> } {
    const root = path.join(dir, name);
    ok(root, ['new-vm', '--name', 'x', '--disk-size', DISK]);
    ok(root, ['start-vm', '--name', 'x']);
    const size = 2 * MiB;
    const views: Record<string, Buffer> = {};
    let cur = Buffer.alloc(size);
    for (const [i, t] of ['AAAA', 'BBBB', 'CCCC'].entries()) {
      ok(root, ['write-vm', '--name', 'x', '--offset', String(4096 * (i + 1)), '--text', t]);
      cur = Buffer.from(cur);
      cur.write(t, 4096 * (i + 1));
      if (i < 2) {
        ok(root, ['checkpoint-vm', '--name', 'x', '--snapshot-name', `c${i + 1}`]);
        views[`c${i + 1}`] = cur;
      } else views.Now = cur;
    }
    const disks = path.join(root, 'vms', 'x', 'Virtual Hard Disks');
    const state = readWholeState(root)!;
    const oldest = state.vms[0]!.snapshots.find((s) => s.name === 'c2')!.drives[0]!;
    return { root, oldest, files: fs.readdirSync(disks).sort(), expect: views };
  }

  /** Every file still there, and each point in time reads its content (read-vm, a reader). */
  function nothingLost(w: ReturnType<typeof build>, what: string): void {
    expect(fs.readdirSync(path.dirname(w.oldest)).filter((n) => /\.a?vhdx$/.test(n)).sort(), `${what}: the disk files`).toEqual(w.files.filter((n) => /\.a?vhdx$/.test(n)));
    for (const [s, want] of Object.entries(w.expect)) {
      const r = hv(w.root, ['read-vm', '--name', 'x', ...(s === 'Now' ? [] : ['--snapshot', s])]);
      expect(r.code, `${what}: read-vm ${s}: ${r.stderr}`).toBe(0);
      expect(r.bytes.equals(want), `${what}: ${s} does not read as before`).toBe(true);
    }
    expect(ok(w.root, ['get-vmsnapshot', '--vm-name', 'x', '--tree']).trim().split('\n').map((l) => l.trim())).toEqual(['x', '└─ c1', '└─ c2', '└─ Now']);
  }

  it('item 1: the oldest .avhdx away, get-vm, back, get-vm: nothing is deleted and every checkpoint reads as before', () => {
    const w = build('item1');
    const aside = path.join(dir, 'aside.avhdx');
    fs.renameSync(w.oldest, aside);
    const r = hv(w.root, ['get-vm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout, 'get-vm names the missing file').toContain(path.basename(w.oldest));
    const read = hv(w.root, ['read-vm', '--name', 'x']);
    expect(read.code, 'read-vm fails while the file is away').not.toBe(0);
    expect(read.code).not.toBe(70);
    expect(read.stderr.trim().split('\n').filter((l) => !l.startsWith('WARNING: ')), 'one line naming the missing file').toEqual([expect.stringContaining(path.basename(w.oldest))]);
    fs.renameSync(aside, w.oldest);
    expect(hv(w.root, ['get-vm']).code).toBe(0);
    nothingLost(w, 'after the file came back');
  });

  it('item 1, second form: remove-vmsnapshot fails while the file is away; once it is back, nothing is lost and the removal works', () => {
    const w = build('item1b');
    const aside = path.join(dir, 'aside-b.avhdx');
    fs.renameSync(w.oldest, aside);
    const r = hv(w.root, ['remove-vmsnapshot', '--vm-name', 'x', '--name', 'c1']);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.code).not.toBe(70);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('WARNING: '))).toEqual([expect.stringMatching(/^hvsim: /)]);
    fs.renameSync(aside, w.oldest);
    expect(hv(w.root, ['get-vm']).code).toBe(0);
    nothingLost(w, 'after the file came back');
    ok(w.root, ['remove-vmsnapshot', '--vm-name', 'x', '--name', 'c1']);
    for (const [s, want] of Object.entries(w.expect).filter(([k]) => k !== 'c1')) {
      const got = hv(w.root, ['read-vm', '--name', 'x', ...(s === 'Now' ? [] : ['--snapshot', s])]);
      expect(got.bytes.equals(want), `${s} after removing c1`).toBe(true);
    }
  });

  it("item 2: merge-vhd on a running VM's newest .avhdx is refused, naming the VM; nothing changes", () => {
    const w = build('item2');
    const state = readWholeState(w.root)!;
    const leaf = state.vms[0]!.drives[0]!.path;
    const r = hv(w.root, ['merge-vhd', '--path', leaf]);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.code).not.toBe(70);
    expect(r.stderr.trim().split('\n'), 'one line naming the VM').toEqual([expect.stringMatching(/^hvsim: .*'x'/)]);
    nothingLost(w, 'after merge-vhd');
  });
});
