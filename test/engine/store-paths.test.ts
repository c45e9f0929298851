/**
 * A Windows drive path is not a path of this machine off Windows (src/engine/store.ts,
 * refuseForeignDrivePath): resolved, `C:\Exports` would name a file called "C:\Exports" in the
 * working folder. Both stores refuse it; through hvsim run without a state directory (no simulated
 * drives), Export-VMSnapshot -Path C:\… is an error record and nothing appears in the working folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryDiskStore, NodeDiskStore } from '../../src/engine/store.js';
import { HvsimError } from '../../src/errors.js';
import { runPs } from '../helpers/powershell.js';
import { simHost } from '../helpers/sim-host.js';

const onWindows = path.sep === '\\';

describe.skipIf(onWindows)('Windows drive paths off Windows', () => {
  it('both stores refuse C:\\… and C:/…, and take ordinary paths', () => {
    for (const store of [new NodeDiskStore(), new MemoryDiskStore()]) {
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
      const h = simHost({ computerName: 'HV1' });
      await h.newVM({ name: 'web01' });
      await h.checkpointVM(['web01'], { snapshotName: 'a' });
      const r = await runPs(h, "Export-VMSnapshot -VMName web01 -Name a -Path 'C:\\Exports'");
      expect(r.err).toMatch(/a Windows drive path, not a path of this machine/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
