// main.ts loads only the module of the command that runs, and defines only that command: its table
// must name every command each module registers (a missing name still works, but loads everything),
// and help must list them all.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, commandGroups } from '../../src/cli/main.js';
import { commandIndex } from '../../src/cli/command-name.js';

describe('lazy command groups (src/cli/main.ts)', () => {
  it("each group's name list is exactly what its module registers, and no name is in two groups", async () => {
    const seen = new Set<string>();
    for (const g of commandGroups) {
      const p = new Command();
      await g.register(p);
      expect(p.commands.map((c) => c.name())).toEqual(g.names);
      for (const n of g.names) {
        expect(seen.has(n)).toBe(false);
        seen.add(n);
      }
    }
    expect(seen.size).toBeGreaterThan(40);
  });

  it('a command line defines only its command; none, help or an unknown name define all', async () => {
    const names = (p: Command): string[] => p.commands.map((c) => c.name());
    const all = commandGroups.flatMap((g) => g.names);
    expect(names(await buildProgram(['--root', 'x', 'get-vm', '--name', 'a']))).toEqual(['get-vm']);
    expect(names(await buildProgram(['read-vhd', 'f.vhdx']))).toEqual(['read-vhd']);
    // Every command of a group defined alone is the same command as among all (its options).
    const whole = await buildProgram([]);
    for (const n of all) {
      const alone = (await buildProgram([n])).commands;
      expect(alone.map((c) => c.name())).toEqual([n]);
      expect(alone[0]!.options.map((o) => o.flags)).toEqual(whole.commands.find((c) => c.name() === n)!.options.map((o) => o.flags));
    }
    for (const argv of [[], ['help'], ['--help'], ['no-such-command'], ['--root', 'get-vm']]) expect(names(await buildProgram(argv))).toEqual(all);
  });

  it('the command name comes after the global options and their values', () => {
    expect(commandIndex(['--root', 'r', '--host=sim', '--inject-fault', 'checkpoint:a', 'run', 'x.ps1'])).toBe(5);
    expect(commandIndex(['--root'])).toBe(1);
    expect(commandIndex([])).toBe(0);
  });
});
