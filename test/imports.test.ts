/**
 * The direction of imports between hvsim's layers (README "Layout"): dependency-cruiser checks
 * src/ against the rules in .dependency-cruiser.mjs (`npx depcruise src` shows the same).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const REPO = path.resolve(import.meta.dirname, '..');

/**
 * Imports that break a rule today, each removed by another step of issue 15 (the shared rules
 * move to src/host, DiskImage gains what merges need). To be emptied: from then on every
 * violation fails, and so does an entry here that no longer occurs.
 */
const KNOWN_VIOLATIONS_TO_REMOVE: readonly string[] = [];

/** Cruise `dir` (relative to `baseDir`) with the repository's rules. */
async function cruiseWithRules(baseDir: string, dir: string): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(path.join(REPO, '.dependency-cruiser.mjs'));
  const tsConfig = extractTSConfig(path.join(REPO, 'tsconfig.json'));
  const { output } = await cruise([dir], { ...options, baseDir }, {}, { tsConfig });
  if (typeof output === 'string') throw new Error(`dependency-cruiser returned text: ${output}`);
  return output;
}

/** One line per violation: "rule: from → to", a cycle from its smallest module round to it again. */
function describeViolation(v: IViolation): string {
  if (v.cycle && v.cycle.length > 0) {
    const names = [v.from, ...v.cycle.map((d) => d.name)].slice(0, -1);
    const first = names.indexOf([...names].sort()[0]!);
    const round = [...names.slice(first), ...names.slice(0, first)];
    return `${v.rule.name}: ${[...round, round[0]].join(' → ')}`;
  }
  return `${v.rule.name}: ${v.from} → ${v.to}`;
}

function violations(result: ICruiseResult): string[] {
  return [...new Set(result.summary.violations.map(describeViolation))].sort();
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') || f.endsWith('.tsx'));
}

describe('imports between layers (.dependency-cruiser.mjs)', () => {
  it('src/ follows the rules, apart from the known violations still to remove', async () => {
    const result = await cruiseWithRules(REPO, 'src');
    // Every source file was seen, so no rule passes for want of modules.
    expect(result.modules.filter((m) => m.source.startsWith('src/')).length).toBe(tsFiles(path.join(REPO, 'src')).length);
    const found = violations(result);
    expect(found.filter((v) => !KNOWN_VIOLATIONS_TO_REMOVE.includes(v)), 'new violations').toEqual([]);
    expect(KNOWN_VIOLATIONS_TO_REMOVE.filter((v) => !found.includes(v)), 'fixed: remove from KNOWN_VIOLATIONS_TO_REMOVE').toEqual([]);
  });

  describe('the rules catch what they are for', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-imports-'));
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
    const write = (file: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
      fs.writeFileSync(path.join(work, file), text);
    };

    it('an upward import, a lateral one (type-only too), node:fs above the seam, a cycle', async () => {
      write('src/errors.ts', "export const E = 1;\n");
      write('src/vhd/io/file.ts', "import * as fs from 'node:fs';\nexport const F = fs.constants;\n");
      write('src/vhd/open.ts', "import * as fs from 'node:fs';\nimport { S } from '../sim/sim.js';\nexport const O = [fs, S];\n");
      write('src/engine/chain.ts', "import { O } from '../vhd/open.js';\nimport { E } from '../errors.js';\nimport * as fs from 'node:fs';\nexport const C = [O, E, fs];\n");
      write('src/host/a.ts', "import { B } from './b.js';\nexport const A = () => B;\n");
      write('src/host/b.ts', "import { A } from './a.js';\nexport const B = () => A;\n");
      write('src/sim/sim.ts', "import { C } from '../engine/chain.js';\nexport const S = C;\n");
      write('src/powershell/ps.ts', "import { S } from '../sim/sim.js';\nexport const P = S;\n");
      write('src/hyperv/driver.ts', "import type { S } from '../sim/sim.js';\nexport type D = typeof S;\n");
      write('src/cli/main.ts', "import { P } from '../powershell/ps.js';\nimport { S } from '../sim/sim.js';\nexport const M = [P, S];\n");
      const found = violations(await cruiseWithRules(work, 'src'));
      expect(found).toEqual([
        'engine-fs-only-in-store-and-workload: src/engine/chain.ts → fs',
        'hyperv-imports-only-host+vhd/common+vhd/formats+errors: src/hyperv/driver.ts → src/sim/sim.ts',
        'no-circular: src/engine/chain.ts → src/vhd/open.ts → src/sim/sim.ts → src/engine/chain.ts',
        'no-circular: src/host/a.ts → src/host/b.ts → src/host/a.ts',
        'powershell-imports-only-host+vhd/common+vhd/formats+errors: src/powershell/ps.ts → src/sim/sim.ts',
        'vhd-fs-only-in-io: src/vhd/open.ts → fs',
        'vhd-imports-only-errors: src/vhd/open.ts → src/sim/sim.ts',
      ]);
    });
  });
});
