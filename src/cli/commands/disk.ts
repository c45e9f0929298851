/** Disk commands: new-vhd, get-vhd, test-vhd, read-vhd, write-vhd. Thin: parse, call, print. */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { ioBuffer } from '../../vhd/common/bytes.js';
import { HvsimError } from '../../vhd/common/errors.js';
import type { VhdInfo } from '../../vhd/disk.js';
import { openDisk } from '../../vhd/open.js';
import { Chain } from '../../engine/chain.js';
import { createBaseDisk, createChild, layerAllocation } from '../../engine/layers.js';
import { checkChainFile } from '../../engine/check.js';
import { parseOffset, parseSectorSize, parseSize } from '../options.js';
import { formatList, formatTable, out, toJson } from '../output.js';

const CHUNK = 4 * 1024 * 1024;

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
    .action((path: string, o: { size?: number; parent?: string; fixed?: boolean; blockSize?: number; logicalSectorSize?: number; physicalSectorSize?: number; json?: boolean }) => {
      let img;
      if (o.parent) {
        if (o.size !== undefined || o.fixed) throw usage('--parent takes its size from the parent; drop --size/--fixed');
        img = createChild(o.parent, path, o.blockSize);
      } else {
        if (o.size === undefined) throw usage('new-vhd needs --size SIZE (or --parent PARENT)');
        img = createBaseDisk(path, {
          virtualSize: o.size,
          ...(o.fixed ? { type: 'Fixed' as const } : {}),
          ...(o.blockSize !== undefined ? { blockSize: o.blockSize } : {}),
          ...(o.logicalSectorSize !== undefined ? { logicalSectorSize: o.logicalSectorSize } : {}),
          ...(o.physicalSectorSize !== undefined ? { physicalSectorSize: o.physicalSectorSize } : {}),
        });
      }
      const info = img.info();
      img.close();
      out(o.json ? toJson(info) : formatList([info as unknown as Record<string, unknown>]));
    });

  program
    .command('get-vhd')
    .description('show a disk like Get-VHD; --chain lists every layer down to the base')
    .argument('<path>', 'disk file')
    .option('--chain', 'every layer of the chain with its allocation')
    .option('--json', 'JSON with Get-VHD property names')
    .action((path: string, o: { chain?: boolean; json?: boolean }) => {
      if (!o.chain) {
        const img = openDisk(path, false);
        const info = img.info();
        img.close();
        out(o.json ? toJson(info) : formatList([info as unknown as Record<string, unknown>]));
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
        out(o.json ? toJson(rows) : formatTable(rows, ['Depth', 'VhdType', 'FileSize', 'AllocatedBlocks', 'PartialBlocks', 'DataBytes', 'Path']));
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
    .action((path: string, o: { offset: number; length?: number; output?: string }) => {
      const chain = Chain.open(path);
      let fd: number | undefined;
      try {
        const size = chain.virtualSize;
        if (o.offset > size) throw usage(`--offset ${o.offset} is past the end of the ${size}-byte disk`);
        const length = o.length ?? size - o.offset;
        if (o.offset + length > size) throw usage(`--offset + --length run past the end of the ${size}-byte disk`);
        fd = o.output ? fs.openSync(o.output, 'w') : 1;
        const buf = ioBuffer(Math.min(CHUNK, Math.max(1, length)));
        for (let done = 0; done < length; ) {
          const n = Math.min(buf.length, length - done);
          const part = buf.subarray(0, n);
          chain.read(part, o.offset + done);
          writeAllSync(fd, part);
          done += n;
        }
      } finally {
        if (fd !== undefined && fd !== 1) fs.closeSync(fd);
        chain.close();
      }
    });

  program
    .command('write-vhd')
    .description('write bytes from stdin or a file into the virtual disk (its writable leaf)')
    .argument('<path>', 'disk file (the leaf of a chain)')
    .requiredOption('--offset <n>', 'first byte to write', parseOffset)
    .option('--input <file>', 'read the data from this file instead of stdin')
    .action((path: string, o: { offset: number; input?: string }) => {
      const chain = Chain.open(path, { writable: true });
      let fd: number | undefined;
      try {
        fd = o.input ? fs.openSync(o.input, 'r') : 0;
        const buf = ioBuffer(CHUNK);
        let pos = o.offset;
        for (;;) {
          const n = readSomeSync(fd, buf);
          if (n === 0) break;
          if (pos + n > chain.virtualSize) throw usage(`the input runs past the end of the ${chain.virtualSize}-byte disk`);
          chain.write(buf.subarray(0, n), pos);
          pos += n;
        }
      } finally {
        if (fd !== undefined && fd !== 0) fs.closeSync(fd);
        chain.close();
      }
    });
}

function usage(message: string): HvsimError {
  return new HvsimError('INVALID_ARGUMENT', message);
}

function writeAllSync(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(fd, data, done, data.length - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw e;
    }
  }
}

/** Fill as much of `buf` as the input gives before EOF (pipes return short reads). */
function readSomeSync(fd: number, buf: Uint8Array): number {
  let got = 0;
  while (got < buf.length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, got, buf.length - got, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    got += n;
  }
  return got;
}
