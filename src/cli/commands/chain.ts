/** Chain commands: merge-vhd, convert-vhd, resume-merge, test-tree. Thin: parse, call, print. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { openLayer } from '../../engine/chain.js';
import { flattenFormatForPath } from '../../engine/flatten.js';
import { journalFiles, journalsFor, pendingJournals } from '../../engine/merge.js';
import { refuseVmDisks } from '../vm-disks.js';
import { mergedFiles } from '../../sim/merge-vhd.js';
import { stateRoot, type Globals } from '../sim-host.js';
import { NodeDiskStore } from '../../engine/store.js';
import { checkTree } from '../../engine/tree.js';
import { parseList, parseSize } from '../options.js';
import { runJob } from '../job.js';
import { listOfRows, tableOfRows, out, toJson, type Row } from '../output.js';

function diskRow(path: string): Row {
  const img = openLayer(new NodeDiskStore(), path, false);
  try {
    return img.info() as unknown as Row;
  } finally {
    img.close();
  }
}

/** After an interrupted merge of `file`: how to finish it (a journal is left), or that nothing changed. */
function unfinishedMerge(file: string): string {
  const store = new NodeDiskStore();
  const abs = store.absolutePath(file);
  const dir = path.dirname(abs);
  const left = pendingJournals(store, dir).some((j) => journalFiles(j.journal).includes(abs));
  return left ? `run \`hvsim resume-merge ${dir}\` to finish it` : 'nothing was changed';
}

export function registerChainCommands(program: Command): void {
  program
    .command('merge-vhd')
    .description('merge a differencing disk (and the layers between) into an ancestor, like Merge-VHD; the merged files are removed')
    .requiredOption('--path <child>', 'the differencing disk to merge (a leaf)')
    .option('--destination-path <ancestor>', 'the ancestor to merge into (default: its parent)')
    .option('--force', 'merge even when other children of the layers involved would break')
    .option('--passthru', 'print the destination disk afterwards')
    .option('--json', 'print the result as JSON')
    .action(async (o: { path: string; destinationPath?: string; force?: boolean; passthru?: boolean; json?: boolean }, cmd: Command) => {
      const store = new NodeDiskStore();
      refuseVmDisks(cmd, 'merge-vhd', mergedFiles(store, o.path, o.destinationPath), 'merge');
      const r = await runJob('merge-vhd', { path: o.path, roots: [stateRoot(cmd.optsWithGlobals() as Globals)], ...(o.destinationPath !== undefined ? { destinationPath: o.destinationPath } : {}), ...(o.force ? { force: true } : {}) }, {
        progress: 'merging',
        interrupted: () => `merge-vhd of ${o.path}; ${unfinishedMerge(o.path)}`,
      });
      if (o.json) out(toJson({ Path: r.destination, Removed: r.removed, Resumed: r.resumed, ...(o.passthru ? { Disk: diskRow(r.destination) } : {}) }));
      else if (o.passthru) out(listOfRows([diskRow(r.destination)]));
    });

  program
    .command('convert-vhd')
    .description('write the content of a disk (through its whole chain) as a new standalone disk; format from DST\'s extension')
    .argument('<src>', 'disk file (the leaf of a chain)')
    .argument('<dst>', 'new file: .vhdx/.avhdx (dynamic VHDX), .vhd/.avhd (dynamic VHD), .raw/.img (raw, sparse)')
    .option('--block-size <size>', 'block size of the new VHDX/VHD', parseSize)
    .option('--passthru', 'print the new disk afterwards')
    .option('--json', 'print the result as JSON')
    .action(async (src: string, dst: string, o: { blockSize?: number; passthru?: boolean; json?: boolean }, cmd: Command) => {
      refuseVmDisks(cmd, 'convert-vhd', [dst], 'merge');
      const format = flattenFormatForPath(dst);
      const r = await runJob('convert-vhd', { src, dst, ...(o.blockSize !== undefined ? { blockSize: o.blockSize } : {}) }, {
        progress: 'converting',
        interrupted: () => `convert-vhd of ${src}; nothing was written (${dst} was not created)`,
      });
      const row: Row = format === 'RAW' ? { Path: r.path, Format: 'RAW', Size: r.virtualSize } : diskRow(r.path);
      if (o.json) out(toJson({ ...row, DataBytes: r.dataBytes }));
      else if (o.passthru) out(listOfRows([row]));
    });

  program
    .command('resume-merge')
    .description('complete merges that were interrupted (journals next to the disks)')
    .argument('<path>', 'a folder, a disk file or a .hvsim-merge.json journal')
    .option('--json', 'print what was completed as JSON')
    .action(async (path: string, o: { json?: boolean }, cmd: Command) => {
      const store = new NodeDiskStore();
      refuseVmDisks(cmd, 'resume-merge', journalsFor(store, path).flatMap((x) => journalFiles(x.journal)), 'merge');
      const done = await runJob('resume-merge', { path }, { interrupted: () => `resume-merge of ${path}; run it again to finish` });
      const rows = done.map((r) => (r.op === 'merge-down' ? { Operation: r.op, Path: r.destination, Removed: r.removed } : { Operation: r.op, Path: r.layer, Removed: r.removed }));
      if (o.json) out(toJson(rows));
      else if (rows.length === 0) out('no interrupted merge found\n');
      else out(tableOfRows(rows, ['Operation', 'Path', 'Removed']));
    });

  program
    .command('test-tree')
    .description('check every disk file of a folder as one tree: links, sizes, read-only parents, unreferenced files, pending merges')
    .argument('<dir>', 'folder with the disk files')
    .option('--in-use <paths>', 'comma-separated disks in use (a VM\'s current disks and checkpoint disks): others are reported as unreferenced', parseList)
    .option('--json', 'report as JSON')
    .action((dir: string, o: { inUse?: string[]; json?: boolean }) => {
      const report = checkTree(new NodeDiskStore(), dir, o.inUse ? { inUse: o.inUse } : {});
      if (o.json) out(toJson(report));
      else {
        for (const f of report.Findings) out(`${f.severity.toUpperCase()} ${f.code} ${f.message}\n`);
        out(`${report.Valid ? 'True' : 'False'}\n`);
      }
      if (!report.Valid) process.exitCode = 1;
    });
}
