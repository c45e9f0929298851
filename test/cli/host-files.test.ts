/**
 * The CLI's export-vm, import-vm, remove-vm and the VM files in a state directory (issue 18):
 * what a student who lists the folder sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { okStdout, runCli, SIM_ENV, type CliResult } from '../helpers/cli.js';

let work: string;
let root: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-hostfiles-'));
  root = path.join(work, 'state');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const hv = (args: string[]): CliResult => runCli(args, { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root } });
const ok = (args: string[]): string => okStdout(args, hv(args));
const json = <T>(args: string[]): T => JSON.parse(ok([...args, '--json'])) as T;

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('hvsim export-vm, import-vm, remove-vm', () => {
  it("the VM folder as Hyper-V lays it out; the seed's clone end to end; remove-vm keeps the disks", () => {
    const [vm] = json<Array<{ Id: string; ConfigurationLocation: string; SnapshotFileLocation: string }>>(['new-vm', '--name', 'web01', '--disk-size', '64M', '--memory', '64M', '--checkpoint-type', 'Standard']);
    const id = vm!.Id.toUpperCase();
    const folder = path.join(root, 'vms', 'web01');
    expect(vm!.ConfigurationLocation).toBe(folder);
    ok(['start-vm', '--name', 'web01']);
    fs.writeFileSync(path.join(work, 'data'), 'checkpoint data');
    ok(['write-vm', '--name', 'web01', '--offset', '8192', '--input', path.join(work, 'data')]);
    ok(['save-vm', '--name', 'web01']);
    ok(['checkpoint-vm', '--name', 'web01', '--snapshot-name', 'c1']);
    const [snap] = json<Array<{ Id: string }>>(['get-vmsnapshot', '--vm-name', 'web01']);
    const sid = snap!.Id.toUpperCase();
    const files = tree(folder);
    expect(files.filter((f) => !f.endsWith('.avhdx'))).toEqual([
      `Snapshots/${sid}.vmcx`, `Snapshots/${sid}.vmrs`, 'Virtual Hard Disks/web01.vhdx',
      `Virtual Machines/${id}.vmcx`, `Virtual Machines/${id}.vmgs`, `Virtual Machines/${id}.vmrs`,
    ]);
    // Saved: the .vmrs holds the memory (sparse), and so does the checkpoint's.
    expect(fs.statSync(path.join(folder, 'Virtual Machines', `${id}.vmrs`)).size).toBe(64 * 1024 * 1024);
    expect(fs.statSync(path.join(folder, 'Snapshots', `${sid}.vmrs`)).size).toBe(64 * 1024 * 1024);
    ok(['start-vm', '--name', 'web01']);
    expect(fs.statSync(path.join(folder, 'Virtual Machines', `${id}.vmrs`)).size).toBeLessThan(1024 * 1024);

    ok(['export-vmsnapshot', '--vm-name', 'web01', '--name', 'c1', '--path', path.join(work, 'exports')]);
    const exp = path.join(work, 'exports', 'web01');
    expect(tree(exp)).toEqual(['Virtual Hard Disks/web01.vhdx', `Virtual Machines/${id}.vmcx`, `Virtual Machines/${id}.vmgs`, `Virtual Machines/${id}.vmrs`]);
    const vmcx = path.join(exp, 'Virtual Machines', `${id}.vmcx`);
    const dup = hv(['import-vm', '--path', vmcx]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/same identifier already exists/);
    const [clone] = json<Array<{ Name: string; Id: string; State: string }>>(['import-vm', '--path', vmcx, '--copy', '--generate-new-id', '--name', 'clone']);
    expect([clone!.Name, clone!.State, clone!.Id === vm!.Id]).toEqual(['clone', 'Off', false]);
    ok(['start-vm', '--name', 'clone']);
    expect(ok(['read-vm', '--name', 'clone', '--offset', '8192', '--length', '15'])).toBe('checkpoint data');

    const removed = hv(['remove-vm', '--name', 'web01']);
    expect(removed.code).not.toBe(0); // running
    ok(['stop-vm', '--name', 'web01', '--turn-off']);
    ok(['remove-vm', '--name', 'web01']);
    expect(json<Array<{ Name: string }>>(['get-vm']).map((v) => v.Name)).toEqual(['clone']);
    const left = tree(folder);
    expect(left.filter((f) => !/\.a?vhdx$/.test(f))).toEqual([]);
    expect(left).toContain('Virtual Hard Disks/web01.vhdx');
    expect(left.filter((f) => f.endsWith('.avhdx')).length).toBeGreaterThan(0);
    // Exported whole (export-vm), then imported in place under its own Id, which is free again.
    ok(['export-vm', '--name', 'clone', '--path', path.join(work, 'ex2')]);
    const cvmcx = path.join(work, 'ex2', 'clone', 'Virtual Machines', `${clone!.Id.toUpperCase()}.vmcx`);
    expect(hv(['import-vm', '--path', cvmcx]).stderr).toMatch(/same identifier/);
  });
});
