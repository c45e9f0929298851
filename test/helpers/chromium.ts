/**
 * A real browser for the hvsim ui tests: Debian's chromium (/usr/bin/chromium, or HVSIM_CHROMIUM)
 * driven by playwright-core (npm's own browser downloads do not work here).
 *
 * Gating, as for pwsh (pwsh.ts): `chromiumGate()` at collection time, then `describe.skipIf(!ok)`.
 * When HVSIM_REQUIRE_CHROMIUM is set (non-empty, not "0", as in .ci/run) a missing chromium
 * makes the gate throw, so the test file fails instead of skipping.
 */
import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_INSTALL = 'apt-get install -y chromium';

export const CHROMIUM: string = process.env['HVSIM_CHROMIUM'] || '/usr/bin/chromium';

/** The flags the browser runs with: headless, no sandbox (root in CI), nothing fetched from outside. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function chromiumRequired(): boolean {
  const v = process.env['HVSIM_REQUIRE_CHROMIUM'];
  return v !== undefined && v !== '' && v !== '0';
}

let announced = false;

/** true if chromium can be used; otherwise throws under HVSIM_REQUIRE_CHROMIUM, or says once why it skips. */
export function chromiumGate(): boolean {
  let ok = false;
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    ok = true;
  } catch {
    ok = false;
  }
  if (ok) return true;
  const why = `${CHROMIUM} is missing`;
  if (chromiumRequired()) throw new Error(`chromium is required because HVSIM_REQUIRE_CHROMIUM is set: ${why}; ${CHROMIUM_INSTALL}`);
  if (!announced) {
    announced = true;
    console.warn(`[chromium] skipping the browser tests of hvsim ui: ${why} (${CHROMIUM_INSTALL}; set HVSIM_REQUIRE_CHROMIUM=1 to make this an error)`);
  }
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
