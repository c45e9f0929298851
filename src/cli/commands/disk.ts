/** Disk commands: new-vhd, get-vhd, test-vhd, read-vhd, write-vhd. Thin: parse, call, print. */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import type { Command } from 'commander';
import { ioBuffer } from '../../vhd/common/bytes.js';
import { HvsimError } from '../../errors.js';
import type { VhdInfo } from '../../vhd/disk.js';
import { Chain, openLayer, passBuffer } from '../../engine/chain.js';
import { NodeDiskStore } from '../../engine/store.js';
import { createBaseDisk, createChild, layerAllocation } from '../../engine/layers.js';
import { checkChainFile } from '../../engine/check.js';
import { parseOffset, parseSectorSize, parseSize } from '../options.js';
import { listOfRows, tableOfRows, out, toJson } from '../output.js';
import { openInput, openOutput } from '../stream.js';
import { Interrupted } from '../interrupt.js';
import { runSteps, type Step } from '../job.js';
import { fsCall } from '../../vhd/io/fs-error.js';
import { refuseVmDisks } from '../vm-disks.js';

const CHUNK = 4 * 1024 * 1024;

/**
 * read-vhd's first BASELINE_BYTES run without V8's optimizing compiler (TurboFan; `--max-opt=2`,
 * a V8 flag like bin.ts's): in a process that short its background compiles cost more than they
 * save — read-vhd of the depth-64 workload (256 MiB): 0.52 → 0.42 s of CPU and peak memory
 * 63 → 56 MiB (README.md, "Whole processes", issue 20). A longer read lets V8 optimize the rest;
 * the default is restored when the read ends (read-vhd also runs inside other processes' tests).
 */
const BASELINE_BYTES = 1024 * 1024 * 1024;
const V8_DEFAULT_MAX_OPT = '--max-opt=999';

export function registerDiskCommands(program: Command): void {
  program
    .command('new-vhd')
    .description('create a dynamic (or fixed) disk, or a differencing disk with --parent; format from the extension')
    .argument('<path>', 'file to create (.vhdx, .avhdx, .vhd, .avhd)')
    .option('--size <size>', 'virtual size (bytes or K/M/G/T)', parseSize)
    .option('--parent <path>', 'make a differencing disk of this parent (marks the parent read-only)')
    .option('--fixed', 'allocate every block now (fixed disk)')
    .option('--block-size <size>', 'block size (VHDX: 1M..256M, power of two)', parseSize)
    .option('--logical-sector-size <n>', '512 or 4096 (VHDX)', parseSectorSize)
    .option('--physical-sector-size <n>', '512 or 4096 (VHDX)', parseSectorSize)
    .option('--json', 'print the new disk as JSON')
    .action((path: string, o: { size?: number; parent?: string; fixed?: boolean; blockSize?: number; logicalSectorSize?: number; physicalSectorSize?: number; json?: boolean }, cmd: Command) => {
      const store = new NodeDiskStore();
      let file: string;
      if (o.parent) {
        if (o.size !== undefined || o.fixed) throw usage('--parent takes its size from the parent; drop --size/--fixed');
        refuseVmDisks(cmd, 'new-vhd', [o.parent], 'freeze');
        file = createChild(store, o.parent, path, o.blockSize);
      } else {
        if (o.size === undefined) throw usage('new-vhd needs --size SIZE (or --parent PARENT)');
        file = createBaseDisk(store, path, {
          virtualSize: o.size,
          ...(o.fixed ? { type: 'Fixed' as const } : {}),
          ...(o.blockSize !== undefined ? { blockSize: o.blockSize } : {}),
          ...(o.logicalSectorSize !== undefined ? { logicalSectorSize: o.logicalSectorSize } : {}),
          ...(o.physicalSectorSize !== undefined ? { physicalSectorSize: o.physicalSectorSize } : {}),
        });
      }
      const img = openLayer(store, file, false);
      const info = img.info();
      img.close();
      out(o.json ? toJson(info) : listOfRows([info as unknown as Record<string, unknown>]));
    });

  program
    .command('get-vhd')
    .description('show a disk like Get-VHD; --chain lists every layer down to the base')
    .argument('<path>', 'disk file')
    .option('--chain', 'every layer of the chain with its allocation')
    .option('--json', 'JSON with Get-VHD property names')
    .action((path: string, o: { chain?: boolean; json?: boolean }) => {
      if (!o.chain) {
        const img = openLayer(new NodeDiskStore(), path, false);
        const info = img.info();
        img.close();
        out(o.json ? toJson(info) : listOfRows([info as unknown as Record<string, unknown>]));
        return;
      }
      const chain = Chain.open(path);
      try {
        const rows = chain.layers.map((l, i) => {
          const a = layerAllocation(l);
          const info: VhdInfo = l.info();
          return {
            Depth: i,
            Path: chain.paths[i],
            VhdFormat: info.VhdFormat,
            VhdType: info.VhdType,
            FileSize: info.FileSize,
            BlockSize: info.BlockSize,
            AllocatedBlocks: a.fullBlocks + a.partialBlocks,
            PartialBlocks: a.partialBlocks,
            ZeroBlocks: a.zeroBlocks,
            DataBytes: a.dataBytes,
            ParentPath: info.ParentPath,
            Identity: l.identity.toUpperCase(),
          };
        });
        out(o.json ? toJson(rows) : tableOfRows(rows, ['Depth', 'VhdType', 'FileSize', 'AllocatedBlocks', 'PartialBlocks', 'DataBytes', 'Path']));
      } finally {
        chain.close();
      }
    });

  program
    .command('test-vhd')
    .description('validate a disk file and its chain; exits non-zero when it finds an error')
    .argument('<path>', 'disk file')
    .option('--json', 'findings as JSON')
    .action((path: string, o: { json?: boolean }) => {
      fsCall(path, 'open', () => fs.statSync(path)); // a missing file is NOT_FOUND (exit 3), not a finding
      const report = checkChainFile(path);
      if (o.json) out(toJson(report));
      else {
        for (const f of report.Findings) out(`${f.severity.toUpperCase()} ${f.message}\n`);
        out(`${report.Valid ? 'True' : 'False'}\n`);
      }
      if (!report.Valid) process.exitCode = 1;
    });

  program
    .command('read-vhd')
    .description('read bytes of the virtual disk (through its whole chain) to stdout or a file')
    .argument('<path>', 'disk file (the leaf of a chain)')
    .option('--offset <n>', 'first byte', parseOffset, 0)
    .option('--length <n>', 'bytes to read (default: to the end of the disk)', parseOffset)
    .option('--output <file>', 'write here instead of stdout')
    .action(async (path: string, o: { offset: number; length?: number; output?: string }) => {
      await runSteps((step) => readVhd({ path, ...o }, step), {
        ...(o.output !== undefined ? { progress: 'reading' } : { blocking: true }),
        interrupted: () => `read-vhd of ${path}${o.output !== undefined ? `; ${o.output} was not written` : ''}`,
      });
    });

  program
    .command('write-vhd')
    .description('write bytes from stdin or a file into the virtual disk (its writable leaf)')
    .argument('<path>', 'disk file (the leaf of a chain)')
    .requiredOption('--offset <n>', 'first byte to write', parseOffset)
    .option('--input <file>', 'read the data from this file instead of stdin')
    .action(async (path: string, o: { offset: number; input?: string }, cmd: Command) => {
      refuseVmDisks(cmd, 'write-vhd', [path], 'write');
      await runSteps((step) => writeVhd({ path, ...o }, step), {
        ...(o.input !== undefined ? { progress: 'writing' } : { blocking: true }),
        interrupted: (detail) => `write-vhd of ${path}; ${detail ?? 'the input was written in part'}`,
      });
    });
}

/** read-vhd: the chain's bytes, a chunk at a time. */
async function readVhd(a: { path: string; offset: number; length?: number; output?: string }, step: Step): Promise<void> {
  let baseline = true;
  v8.setFlagsFromString('--max-opt=2'); // BASELINE_BYTES: from before the open (65 layers at depth 64)
  try {
    const chain = Chain.open(a.path);
    try {
      const size = chain.virtualSize;
      if (a.offset > size) throw usage(`--offset ${a.offset} is past the end of the ${size}-byte disk`);
      const length = a.length ?? size - a.offset;
      if (a.offset + length > size) throw usage(`--offset + --length run past the end of the ${size}-byte disk`);
      const output = openOutput(a.output);
      try {
        const buf = passBuffer(Math.min(CHUNK, Math.max(1, length)), length);
        for (let done = 0; done < length; ) {
          const part = buf.subarray(0, Math.min(buf.length, length - done));
          chain.read(part, a.offset + done);
          output.write(part);
          done += part.length;
          if (baseline && done >= BASELINE_BYTES) {
            v8.setFlagsFromString(V8_DEFAULT_MAX_OPT);
            baseline = false;
          }
          await step(done, length);
        }
        output.finish();
      } catch (e) {
        output.discard();
        throw e;
      }
    } finally {
      chain.close();
    }
  } finally {
    if (baseline) v8.setFlagsFromString(V8_DEFAULT_MAX_OPT);
  }
}

/** write-vhd: the input, a chunk at a time; the bytes written. */
async function writeVhd(a: { path: string; offset: number; input?: string }, step: Step): Promise<number> {
  const input = openInput(a.input);
  let pos = a.offset;
  try {
    const chain = Chain.open(a.path, { writable: true });
    try {
      const past = (n: number): boolean => pos + n > chain.virtualSize;
      if (input.size !== undefined && past(input.size)) throw usage(`${a.input}: its ${input.size} bytes from --offset ${a.offset} run past the end of the ${chain.virtualSize}-byte disk`);
      const buf = ioBuffer(CHUNK);
      for (let n = input.read(buf); n > 0; n = input.read(buf)) {
        if (past(n)) throw usage(`the input runs past the end of the ${chain.virtualSize}-byte disk (${pos - a.offset} bytes written from --offset ${a.offset})`);
        chain.write(buf.subarray(0, n), pos);
        pos += n;
        await step(pos - a.offset, input.size ?? pos - a.offset);
      }
    } finally {
      chain.close();
    }
  } catch (e) {
    if (e instanceof Interrupted) throw new Interrupted(e.signal, `${pos - a.offset} bytes of the input were written, from offset ${a.offset}`);
    throw e;
  } finally {
    input.close();
  }
  return pos - a.offset;
}

function usage(message: string): HvsimError {
  return new HvsimError('INVALID_ARGUMENT', message);
}

