/**
 * hvsim run: Merge-VHD (issue 18 part 5) — merges a differencing disk file into its parent or an
 * ancestor with the engine, -Passthru writes the destination as Get-VHD shows it, -WhatIf changes
 * nothing, a chain a VM uses is refused ("Merge is an offline operation; the virtual hard disk
 * chain must not be attached": https://learn.microsoft.com/powershell/module/hyper-v/merge-vhd),
 * a missing file is ObjectNotFound.
 */
import { describe, expect, it } from 'vitest';
import { Chain } from '../../src/engine/chain.js';
import { createBaseDisk, createChild } from '../../src/engine/layers.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectoryStorage, MemoryStorage } from '../../src/sim/storage.js';
import { NodeDiskStore } from '../../src/engine/store.js';
import { Facilities } from '../../src/powershell/windows.js';
import { simHost } from '../helpers/sim-host.js';
import { runPs } from '../helpers/powershell.js';

const MiB = 1024 * 1024;

/** /d/base.vhdx ← /d/mid.avhdx ← /d/leaf.avhdx, each layer writing its own name at its own offset. */
function chain(store: MemoryDiskStore): void {
  const put = (leaf: string, text: string, offset: number): void => {
    const c = Chain.open(leaf, { store, writable: true });
    try {
      const buf = new Uint8Array(512);
      buf.set(new TextEncoder().encode(text));
      c.write(buf, offset);
      c.flush();
    } finally {
      c.close();
    }
  };
  createBaseDisk(store, '/d/base.vhdx', { virtualSize: 8 * MiB });
  put('/d/base.vhdx', 'base', 0);
  createChild(store, '/d/base.vhdx', '/d/mid.avhdx');
  put('/d/mid.avhdx', 'mid', 512);
  createChild(store, '/d/mid.avhdx', '/d/leaf.avhdx');
  put('/d/leaf.avhdx', 'leaf', 1024);
}

function read(store: MemoryDiskStore, file: string, offset: number, n: number): string {
  const c = Chain.open(file, { store });
  try {
    const buf = new Uint8Array(n);
    c.read(buf, offset);
    return new TextDecoder().decode(buf);
  } finally {
    c.close();
  }
}

function setup(): { h: ReturnType<typeof simHost>; store: MemoryDiskStore } {
  const store = new MemoryDiskStore();
  const h = simHost({ computerName: 'HV1', storage: new MemoryStorage(store, '/hv/vms'), defaultMemory: 32 * MiB });
  chain(store);
  return { h, store };
}

describe('hvsim run: Merge-VHD', () => {
  it('merges a differencing disk into its parent; -Passthru writes the parent as Get-VHD shows it', async () => {
    const { h, store } = setup();
    const r = await runPs(h, `
$v = Merge-VHD -Path /d/leaf.avhdx -Passthru
$v.GetType().FullName
$v.Path + ' ' + $v.VhdType + ' ' + $v.ParentPath + ' ' + $v.Attached + ' ' + $v.ComputerName + ' ' + $v.Size
@(Merge-VHD /d/mid.avhdx).Count
`);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l !== '')).toEqual(['Microsoft.Vhd.PowerShell.VirtualHardDisk', '/d/mid.avhdx Differencing /d/base.vhdx False HV1 8388608', '0']);
    expect(store.exists('/d/leaf.avhdx')).toBe(false);
    expect(store.exists('/d/mid.avhdx')).toBe(false);
    expect(read(store, '/d/base.vhdx', 0, 4) + read(store, '/d/base.vhdx', 512, 3) + read(store, '/d/base.vhdx', 1024, 4)).toBe('basemidleaf');
  });

  it('-DestinationPath merges the layers between as well; -WhatIf changes nothing', async () => {
    const { h, store } = setup();
    const r = await runPs(h, `
Merge-VHD -Path /d/leaf.avhdx -DestinationPath /d/base.vhdx -WhatIf
Test-Path /d/leaf.avhdx
Merge-VHD /d/leaf.avhdx /d/base.vhdx -Confirm:$false
`);
    expect(r.err).toBe('');
    expect(r.out).toContain('What if: Performing the operation "Merge-VHD" on target "/d/leaf.avhdx".');
    expect(store.exists('/d/leaf.avhdx')).toBe(false);
    expect(store.exists('/d/mid.avhdx')).toBe(false);
    expect(read(store, '/d/base.vhdx', 1024, 4)).toBe('leaf');
  });

  it("refuses a chain a VM uses, running or off (InvalidOperation), and a missing file (ObjectNotFound); the VM's files are untouched", async () => {
    const { h, store } = setup();
    await h.newVM({ name: 'web01', checkpointType: 'Standard' });
    await h.checkpointVM(['web01'], { snapshotName: 'one' });
    const vm = (await h.getVM(['web01']))[0]!;
    const current = vm.HardDrives[0]!.Path;
    const r = await runPs(h, `
try { Merge-VHD -Path '${current}' -ErrorAction Stop } catch { $_.CategoryInfo.Category.ToString() + ' ' + $_.FullyQualifiedErrorId }
Start-VM web01
try { Merge-VHD -Path '${current}' -ErrorAction Stop } catch { $_.CategoryInfo.Category.ToString() + ' ' + ($_.Exception.Message -match 'offline') }
try { Merge-VHD -Path /d/none.avhdx -ErrorAction Stop } catch { $_.CategoryInfo.Category.ToString() + ' ' + $_.FullyQualifiedErrorId }
`);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l !== '')).toEqual([
      'InvalidOperation InvalidOperation,Microsoft.Vhd.PowerShell.Cmdlets.MergeVHD',
      'InvalidOperation True',
      'ObjectNotFound ObjectNotFound,Microsoft.Vhd.PowerShell.Cmdlets.MergeVHD',
    ]);
    expect(store.exists(current)).toBe(true);
    expect((await h.getVMSnapshot({ vmNames: ['web01'] })).map((s) => s.Name)).toEqual(['one']);
  });

  it("is the Hyper-V module's: Hyper-V\\Merge-VHD", async () => {
    const { h, store } = setup();
    const r = await runPs(h, 'Hyper-V\\Merge-VHD /d/leaf.avhdx');
    expect(r.err).toBe('');
    expect(store.exists('/d/leaf.avhdx')).toBe(false);
  });

  it("places -Path as the file cmdlets do: relative to Set-Location, and C:\\ on the simulated host's drive", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-merge-vhd-'));
    try {
      const root = path.join(tmp, 'state');
      const h = simHost({ computerName: 'HV1', storage: new DirectoryStorage(root) });
      try {
        const fac = new Facilities(root);
        const store = new NodeDiskStore();
        const mk = (dir: string): void => {
          fs.mkdirSync(dir, { recursive: true });
          createBaseDisk(store, path.join(dir, 'base.vhdx'), { virtualSize: 8 * MiB });
          createChild(store, path.join(dir, 'base.vhdx'), path.join(dir, 'child.avhdx'));
        };
        const mine = path.join(tmp, 'mine');
        mk(mine);
        const onDrive = fac.files.locate('C:\\Disks').real;
        mk(onDrive);
        const r = await runPs(h, `
Set-Location -LiteralPath '${mine}'
Merge-VHD child.avhdx -WhatIf
(Merge-VHD child.avhdx -Passthru).Path
Merge-VHD C:\\Disks\\child.avhdx -WhatIf
(Merge-VHD C:\\Disks\\child.avhdx -Passthru).Path
`, { facilities: fac });
        expect(r.err).toBe('');
        expect(r.out.split('\n').filter((l) => l !== '')).toEqual([
          `What if: Performing the operation "Merge-VHD" on target "${path.join(mine, 'child.avhdx')}".`,
          path.join(mine, 'base.vhdx'),
          'What if: Performing the operation "Merge-VHD" on target "C:\\Disks\\child.avhdx".',
          path.join(onDrive, 'base.vhdx'),
        ]);
        expect(fs.existsSync(path.join(mine, 'child.avhdx'))).toBe(false);
        expect(fs.existsSync(path.join(onDrive, 'child.avhdx'))).toBe(false);
      } finally {
        h.close();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
