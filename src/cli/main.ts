/** hvsim command line: builds the commands, runs one, turns errors into one line on stderr. */
import { Command, CommanderError } from 'commander';
import { EXIT_BUG, EXIT_CODES, HvsimError } from '../errors.js';
import { errnoCode, fsError } from '../vhd/io/fs-error.js';
import { registerDiskCommands } from './commands/disk.js';
import { registerChainCommands } from './commands/chain.js';
import { registerVmCommands } from './commands/vm.js';
import { registerAnalysisCommands } from './commands/analysis.js';
import { protectScriptArgs, registerRunCommand } from './commands/run.js';
import { registerUiCommand } from './commands/ui.js';
import { registerServeCommand } from './commands/serve.js';
import { registerPwshCommands } from './commands/pwsh.js';
import { registerFilesCommands } from './commands/files.js';
import { Interrupted } from './interrupt.js';

import { VERSION } from './version.js';

export { VERSION };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('hvsim')
    .description('Hyper-V checkpoint simulator and VHDX/VHD differencing-disk chain engine')
    .version(VERSION)
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  registerDiskCommands(program);
  registerChainCommands(program);
  program
    .option('--root <dir>', 'simulator state directory (default: HVSIM_ROOT, else ./.hvsim)')
    .option('--inject-fault <op:vm>', 'make operation OP on VM fail once, e.g. checkpoint:web01 (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--computer-name <name>', 'the simulated host (reported as ComputerName)')
    .option('--host <host>', 'sim (default), or hyperv / hyperv:COMPUTER: a real Hyper-V host through PowerShell (docs/real-host.md)');
  registerVmCommands(program);
  registerRunCommand(program);
  registerUiCommand(program);
  registerServeCommand(program);
  registerPwshCommands(program);
  registerAnalysisCommands(program);
  registerFilesCommands(program);
  return program;
}

/**
 * A reader that closes stdout early (`hvsim … | head`) ends the command quietly: the writes that
 * fail with EPIPE stop it (status 0); other errors of the standard streams are one line, status 1.
 */
function guardStandardStreams(): void {
  for (const [stream, name] of [[process.stdout, 'standard output'], [process.stderr, 'standard error']] as const)
    if (stream.listenerCount('error') === 0)
      stream.on('error', (e: Error) => {
        if (errnoCode(e) === 'EPIPE') return;
        if (stream !== process.stderr) process.stderr.write(`hvsim: ${fsError(e, name, 'write').message}\n`);
        process.exitCode = 1;
      });
}

export async function main(argv: string[]): Promise<number> {
  guardStandardStreams();
  const program = buildProgram();
  try {
    await program.parseAsync(protectScriptArgs(argv), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      if (e.code === 'commander.help') return 2; // no command: the help went to stderr
      process.stderr.write(`hvsim: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    if (errnoCode(e) === 'EPIPE') return 0; // stdout closed by its reader: stop quietly
    if (process.env.HVSIM_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    if (e instanceof Interrupted) {
      process.stderr.write(`hvsim: interrupted: ${e.message}\n`);
      return e.status;
    }
    // An fs error no layer converted: still one line naming the file, never "internal error".
    const err = errnoCode(e) !== undefined ? fsError(e, (e as NodeJS.ErrnoException).path ?? 'file system', (e as NodeJS.ErrnoException).syscall ?? 'access') : e;
    if (err instanceof HvsimError) {
      // Several VMs' errors (a cmdlet's non-terminating errors) come one to a line.
      for (const line of err.message.split('\n')) process.stderr.write(`hvsim: ${line}\n`);
      return EXIT_CODES[err.code];
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`hvsim: internal error: ${msg.split('\n')[0]}\n`);
    return EXIT_BUG;
  }
}
