/**
 * hvsim files [PATH] / hvsim files --cat PATH / hvsim outbox: read-only views of what scripts
 * left on the simulated host (docs/powershell.md, "The simulated file system"): its drives'
 * files (<state>/files), and the mails Send-MailMessage and SmtpClient.Send delivered (<state>/outbox).
 */
import type { Command } from 'commander';
import { HvsimError } from '../../errors.js';
import { SimulatedFileSystem } from '../../host/files.js';
import { out, tableOfRows, toJson } from '../output.js';
import { stateRoot, type Globals } from '../sim-host.js';

interface FilesOpts {
  cat?: string;
  json?: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function registerFilesCommands(program: Command): void {
  program
    .command('files')
    .description("list the simulated host's files (C:\\… paths that hvsim run scripts wrote), or print one with --cat")
    .argument('[path]', 'a drive path of the simulated host, e.g. C:\\Exports (default: every drive)')
    .option('--cat <path>', 'print the file at this drive path')
    .option('--json', 'print the list as JSON')
    .action((p: string | undefined, o: FilesOpts, cmd: Command) => {
      const files = SimulatedFileSystem.forState(stateRoot(cmd.optsWithGlobals() as Globals));
      if (o.cat !== undefined) {
        const st = files.stat(o.cat);
        if (!st) throw new HvsimError('NOT_FOUND', `${o.cat}: no such file on the simulated host (hvsim files lists them)`);
        if (st.isDirectory) throw new HvsimError('INVALID_ARGUMENT', `${o.cat}: is a directory (hvsim files ${o.cat} lists it)`);
        out(files.readFile(o.cat));
        return;
      }
      const rows = files.walk(p).map((e) => ({ Type: e.isDirectory ? 'dir' : 'file', Length: e.isDirectory ? '' : e.length, LastWriteTime: iso(e.lastWriteTime), Path: e.fullName }));
      if (o.json) out(toJson(rows));
      else out(tableOfRows(rows, ['Type', 'Length', 'LastWriteTime', 'Path']));
    });
  program
    .command('outbox')
    .description('list the mails hvsim run scripts sent (Send-MailMessage, SmtpClient.Send), or print one with --show N')
    .option('--show <n>', 'print message number N (1 is the first sent)')
    .action(async (o: { show?: string }, cmd: Command) => {
      const { Facilities } = await import('../../powershell/index.js');
      const box = new Facilities(stateRoot(cmd.optsWithGlobals() as Globals)).outbox();
      const header = (text: string, name: string): string => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1]?.replace(/\r$/, '') ?? '';
      if (o.show !== undefined) {
        const n = Number(o.show);
        const m = Number.isInteger(n) && n >= 1 ? box[n - 1] : undefined;
        if (!m) throw new HvsimError('NOT_FOUND', `outbox: no message ${o.show} (there ${box.length === 1 ? 'is 1' : `are ${box.length}`})`);
        out(m.text.replace(/\r\n/g, '\n'));
        return;
      }
      out(tableOfRows(box.map((m, i) => ({ N: i + 1, Date: header(m.text, 'Date'), From: header(m.text, 'From'), To: header(m.text, 'To'), Subject: header(m.text, 'Subject') }))));
    });
}
