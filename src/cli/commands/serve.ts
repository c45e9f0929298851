/**
 * hvsim serve --stdio: Hyper-V cmdlet calls as JSON lines, for the PowerShell module
 * (powershell/Hvsim; protocol in ../serve-stdio.ts, loaded only when the server starts).
 */
import type { Command } from 'commander';
import { HvsimError } from '../../errors.js';
import type { Globals } from '../sim-host.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('answer Hyper-V cmdlet calls as JSON lines on stdin/stdout, for the hvsim PowerShell module (docs/powershell.md)')
    .option('--stdio', 'JSON lines on standard input and output (the only transport)')
    .action(async (o: { stdio?: boolean }, cmd: Command) => {
      if (!o.stdio) throw new HvsimError('INVALID_ARGUMENT', 'serve needs --stdio (JSON lines on standard input and output)');
      const g = cmd.optsWithGlobals() as Globals;
      const { serve, SyncLineReader, writeLineSync } = await import('../serve-stdio.js');
      const reader = new SyncLineReader(0);
      await serve(g, { readLine: () => reader.next(), write: (line) => writeLineSync(1, line) });
    });
}
