/** hvsim command line: builds the commands, runs one, turns errors into one line on stderr. */
import { Command, CommanderError } from 'commander';
import { EXIT_BUG, EXIT_CODES, HvsimError } from '../errors.js';
import { errnoCode, fsError } from '../vhd/io/fs-error.js';
import { commandIndex } from './command-name.js';
import { Interrupted } from './interrupt.js';

import { VERSION } from './version.js';

export { VERSION };

/**
 * The commands, in the order help lists them: the names each module registers, and the module,
 * imported only when one of its commands runs (bench/README.md, "CLI start-up": each module and
 * what it imports is a chunk of the bundle of its own). A name missing here still works: a
 * command line whose name no entry lists loads every module (test/cli/command-groups.test.ts
 * checks that the lists are complete).
 */
const COMMAND_GROUPS: ReadonlyArray<{ names: readonly string[]; register: (program: Command) => Promise<void> }> = [
  { names: ['new-vhd', 'get-vhd', 'test-vhd', 'read-vhd', 'write-vhd'], register: async (p) => (await import('./commands/disk.js')).registerDiskCommands(p) },
  { names: ['merge-vhd', 'convert-vhd', 'resume-merge', 'test-tree'], register: async (p) => (await import('./commands/chain.js')).registerChainCommands(p) },
  {
    names: ['new-vm', 'set-vm', 'get-vm', 'hosts', 'start-vm', 'stop-vm', 'suspend-vm', 'resume-vm', 'save-vm', 'wait-vm', 'checkpoint-vm', 'get-vmsnapshot', 'restore-vmsnapshot', 'remove-vmsnapshot', 'rename-vmsnapshot', 'export-vmsnapshot', 'export-vm', 'import-vm', 'remove-vm', 'get-vmharddiskdrive', 'add-vmharddiskdrive', 'write-vm', 'read-vm', 'checkpoint-group', 'restore-group', 'remove-group', 'get-group', 'demo', 'remove-orphans'],
    register: async (p) => (await import('./commands/vm.js')).registerVmCommands(p),
  },
  { names: ['run'], register: async (p) => (await import('./commands/run.js')).registerRunCommand(p) },
  { names: ['ui'], register: async (p) => (await import('./commands/ui.js')).registerUiCommand(p) },
  { names: ['serve'], register: async (p) => (await import('./commands/serve.js')).registerServeCommand(p) },
  { names: ['pwsh-module'], register: async (p) => (await import('./commands/pwsh.js')).registerPwshCommands(p) },
  { names: ['make-workload', 'analyze-chain'], register: async (p) => (await import('./commands/analysis.js')).registerAnalysisCommands(p) },
  { names: ['files', 'outbox'], register: async (p) => (await import('./commands/files.js')).registerFilesCommands(p) },
];

/** The command groups (main.ts's table), for the test that checks their name lists. */
export const commandGroups = COMMAND_GROUPS;

/**
 * The program with the commands `argv` needs: only the group that lists its command's name, or
 * every group (no argv, help, an unknown name: commander's help and suggestions see them all).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('hvsim')
    .description('Hyper-V checkpoint simulator and VHDX/VHD differencing-disk chain engine')
    .version(VERSION)
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride()
    .option('--root <dir>', 'simulator state directory (default: HVSIM_ROOT, else ./.hvsim)')
    .option('--inject-fault <op:vm>', 'make operation OP on VM fail once, e.g. checkpoint:web01 (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--computer-name <name>', 'the simulated host (reported as ComputerName)')
    .option('--host <host>', 'sim (default), or hyperv / hyperv:COMPUTER: a real Hyper-V host through PowerShell (docs/real-host.md)');
  const name = argv?.[commandIndex(argv)];
  const one = name === undefined ? undefined : COMMAND_GROUPS.find((g) => g.names.includes(name));
  for (const g of one ? [one] : COMMAND_GROUPS) await g.register(program);
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
  try {
    const program = await buildProgram(argv);
    const args = argv[commandIndex(argv)] === 'run' ? (await import('./commands/run.js')).protectScriptArgs(argv) : argv;
    await program.parseAsync(args, { from: 'user' });
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
