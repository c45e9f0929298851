/** hvsim command line: builds the commands, runs one, turns errors into one line on stderr. */
import { Command, CommanderError } from 'commander';
import { EXIT_BUG, EXIT_CODES, HvsimError } from '../errors.js';
import { errnoCode, fsError } from '../vhd/io/fs-error.js';
import { err, out } from './output.js';
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

/** Takes every call a command's definition makes and defines nothing (onlyCommand). */
const UNUSED: Command = new Proxy(() => {}, { get: (_t, key) => (key === 'then' ? undefined : () => UNUSED) }) as unknown as Command;

/**
 * `program` as a group's register sees it when the command line names one of the group's commands:
 * `.command(spec)` defines that command alone, the others' definitions go to UNUSED (commander's
 * objects for the ~30 VM commands are ~4 ms of every start; bench/README.md, "CLI start-up").
 */
function onlyCommand(program: Command, name: string): Command {
  return new Proxy(program, {
    get: (target, key, receiver) =>
      key === 'command' ? (spec: string, ...rest: unknown[]) => (spec.split(' ')[0] === name ? (Reflect.apply(target.command, target, [spec, ...rest]) as Command) : UNUSED) : Reflect.get(target, key, receiver),
  });
}

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
    .configureOutput({ writeOut: out, writeErr: err, outputError: () => {} })
    .exitOverride()
    .option('--root <dir>', 'simulator state directory (default: HVSIM_ROOT, else ./.hvsim)')
    .option('--inject-fault <op:vm>', 'make operation OP on VM fail once, e.g. checkpoint:web01 (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--computer-name <name>', 'the simulated host (reported as ComputerName)')
    .option('--host <host>', 'sim (default), or hyperv / hyperv:COMPUTER: a real Hyper-V host through PowerShell (docs/real-host.md)');
  const name = argv?.[commandIndex(argv)];
  const one = name === undefined ? undefined : COMMAND_GROUPS.find((g) => g.names.includes(name));
  if (one) await one.register(onlyCommand(program, name!));
  else for (const g of COMMAND_GROUPS) await g.register(program);
  return program;
}

/** 0, or what a failed write of the output set (output.ts). */
const exitStatus = (): number => (typeof process.exitCode === 'number' ? process.exitCode : 0);

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    const args = argv[commandIndex(argv)] === 'run' ? (await import('./commands/run.js')).protectScriptArgs(argv) : argv;
    await program.parseAsync(args, { from: 'user' });
    return exitStatus();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return exitStatus(); // --help, --version
      if (e.code === 'commander.help') return 2; // no command: the help went to stderr
      err(`hvsim: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    if (errnoCode(e) === 'EPIPE') return 0; // stdout closed by its reader: stop quietly
    if (process.env.HVSIM_DEBUG === '1' && e instanceof Error) err(`${e.stack}\n`);
    if (e instanceof Interrupted) {
      err(`hvsim: interrupted: ${e.message}\n`);
      return e.status;
    }
    // An fs error no layer converted: still one line naming the file, never "internal error".
    const error = errnoCode(e) !== undefined ? fsError(e, (e as NodeJS.ErrnoException).path ?? 'file system', (e as NodeJS.ErrnoException).syscall ?? 'access') : e;
    if (error instanceof HvsimError) {
      // Several VMs' errors (a cmdlet's non-terminating errors) come one to a line.
      for (const line of error.message.split('\n')) err(`hvsim: ${line}\n`);
      return EXIT_CODES[error.code];
    }
    const msg = error instanceof Error ? error.message : String(error);
    err(`hvsim: internal error: ${msg.split('\n')[0]}\n`);
    return EXIT_BUG;
  }
}
