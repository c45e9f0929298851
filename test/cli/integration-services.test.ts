/**
 * new-vm --disable-integration-service (docs/hyperv.md, "Integration services"): a guest without
 * the backup service, whose Production checkpoints fall back to Standard; hvsim run sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { okStdout, runCli, SIM_ENV, type CliResult } from '../helpers/cli.js';

let work: string;
let root: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-intsvc-'));
  root = path.join(work, 'state');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const hv = (args: string[], input?: string): CliResult => runCli(args, { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root }, ...(input !== undefined ? { input } : {}) });
const ok = (args: string[], input?: string): string => okStdout(args, hv(args, input));

describe('hvsim new-vm --disable-integration-service', () => {
  it('creates a guest without the backup service: its Production checkpoint is Standard with the warning', () => {
    ok(['new-vm', '--name', 'nobackup', '--disable-integration-service', 'Backup (volume shadow copy),Time Synchronization']);
    ok(['start-vm', '--name', 'nobackup']);
    const r = hv(['checkpoint-vm', '--name', 'nobackup', '--snapshot-name', 'c1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ CheckpointType: string }>)[0]!.CheckpointType).toBe('Standard');
    expect(r.stderr).toContain("Production checkpoints cannot be created for 'nobackup' (the Backup (volume shadow copy) integration service is disabled)");
    const out = ok(['run', '-'], "(Get-VMIntegrationService nobackup | Where-Object { -not $_.Enabled } | ForEach-Object Name) -join ','\n");
    expect(out.trim()).toBe('Guest Service Interface,Time Synchronization,VSS');
  });

  it('an unknown service name is a one-line error and creates no VM', () => {
    const r = hv(['new-vm', '--name', 'x', '--disable-integration-service', 'Backup']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(70);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^hvsim: New-VM: The virtual machine 'x' has no integration service named 'Backup'/)]);
    expect(hv(['get-vm', '--name', 'x']).code).not.toBe(0);
  });
});
