/**
 * docs/powershell.md, "Checked against real PowerShell", reports the differential corpus's size and
 * its listed differences: the figures must be the corpus's own (no pwsh needed to count them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { HYPERV_DIR, corpusScripts, readKnown } from '../helpers/ps-diff.js';

const DOC = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'powershell.md'), 'utf8').replace(/\s+/g, ' ');

it('the corpus size and the listed differences in docs/powershell.md are the corpus files', () => {
  const scripts = corpusScripts();
  const hv = scripts.filter((s) => s.startsWith(HYPERV_DIR)).length;
  expect(DOC.match(/\*\*\d+ scripts\*\* \(\d+ of the language, \d+ with the Hyper-V cmdlets\)/)?.[0]).toBe(`**${scripts.length} scripts** (${scripts.length - hv} of the language, ${hv} with the Hyper-V cmdlets)`);
  const known = readKnown();
  const listed = Object.keys(known.scripts);
  const listedHv = listed.filter((s) => s.startsWith(HYPERV_DIR)).length;
  expect(DOC.match(/\*\*\d+ scripts \(\d+ of the language, \d+ Hyper-V\), \d+ kinds\*\*/)?.[0]).toBe(`**${listed.length} scripts (${listed.length - listedHv} of the language, ${listedHv} Hyper-V), ${Object.keys(known.kinds).length} kinds**`);
  for (const s of listed) expect(scripts, `${s} is listed in known-differences.json but is not in the corpus`).toContain(s);
});
