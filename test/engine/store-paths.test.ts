/**
 * A Windows drive path is not a path of this machine off Windows (src/engine/store.ts,
 * refuseForeignDrivePath): resolved, `C:\Exports` would name a file called "C:\Exports" in the
 * working folder. The file store refuses it (the memory store writes no real file, and keeps such
 * names as they are); through hvsim run on a host with real files but without its simulated drives,
 * Export-VMSnapshot -Path C:\… is an error record and nothing appears in the working folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeDiskStore } from '../../src/engine/store.js';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage } from '../../src/sim/storage.js';
import { HvsimError } from '../../src/errors.js';
import { runPs } from '../helpers/powershell.js';

const onWindows = path.sep === '\\';

describe.skipIf(onWindows)('Windows drive paths off Windows', () => {
  it('the file store refuses C:\\… and C:/…, and takes ordinary paths', () => {
    for (const store of [new NodeDiskStore()]) {
      for (const p of ['C:\\Exports\\web01', 'd:/backups', 'C:']) {
        let err: unknown;
        try {
          store.absolutePath(p);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(HvsimError);
        expect((err as HvsimError).code).toBe('INVALID_ARGUMENT');
        expect((err as HvsimError).message).toMatch(/a Windows drive path, not a path of this machine/);
      }
      expect(store.absolutePath('/tmp/x')).toBe('/tmp/x');
    }
  });

  it('Export-VMSnapshot -Path C:\\… without simulated drives fails and writes nothing in the working folder', async () => {
    const cwd = process.cwd();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-drive-'));
    process.chdir(dir);
    try {
      const h = Simulator.open({ storage: new DirectoryStorage(path.join(dir, '..', `${path.basename(dir)}-state`)), computerName: 'HV1', clockMode: 'simulated' });
      await h.newVM({ name: 'web01', diskSize: 8 * 1024 * 1024 });
      await h.checkpointVM(['web01'], { snapshotName: 'a' });
      const r = await runPs(h, "Export-VMSnapshot -VMName web01 -Name a -Path 'C:\\Exports'");
      expect(r.err).toMatch(/a Windows drive path, not a path of this machine/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(`${dir}-state`, { recursive: true, force: true });
    }
  });
});
