/**
 * #Requires statements (about_Requires): checked before the script runs, as PowerShell does.
 * The simulator satisfies -Modules Hyper-V (and PowerShell's own modules) and -RunAsAdministrator
 * (its user is the local Administrator); -Version and -PSEdition are checked against the
 * PowerShell hvsim imitates (Windows PowerShell 5.1, Desktop edition); anything else is refused,
 * naming the line.
 */
import * as path from 'node:path';
import { IMITATED_PS_VERSION } from './environment.js';
import { ScriptSyntaxError, UnsupportedError } from './errors.js';

/** Modules hvsim run provides: Hyper-V and the PowerShell modules its cmdlets come from. */
const PROVIDED = ['hyper-v', 'microsoft.powershell.management', 'microsoft.powershell.utility', 'microsoft.powershell.core', 'microsoft.powershell.host', 'microsoft.powershell.security'];

/** A module specification's name: Hyper-V, or @{ModuleName='Hyper-V'; ModuleVersion='2.0'}. */
function moduleNames(spec: string): string[] {
  const out: string[] = [];
  const re = /@\{[^}]*\}|"[^"]*"|'[^']*'|[^,\s]+/g;
  for (const m of spec.matchAll(re)) {
    const t = m[0];
    if (t.startsWith('@{')) {
      const name = /ModuleName\s*=\s*["']?([^"';}]+)/i.exec(t)?.[1];
      if (name) out.push(name.trim());
    } else out.push(t.replace(/^["']|["']$/g, ''));
  }
  return out;
}

function versionAtLeast(have: string, want: string): boolean {
  const a = have.split('.').map(Number);
  const b = want.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export function checkRequires(source: string, file: string | undefined): void {
  const name = file === undefined ? 'the script' : `'${path.basename(file)}'`;
  source.split(/\r?\n/).forEach((text, i) => {
    const m = /^\s*#requires\s+(.*)$/i.exec(text);
    if (!m) return;
    const line = i + 1;
    const parts = m[1]!.split(/\s+(?=-)/);
    for (const part of parts) {
      const pm = /^-(\w+)\s*(.*)$/.exec(part.trim());
      if (!pm) throw new ScriptSyntaxError(line, `the #requires statement is incorrectly formatted: "${text.trim()}"`);
      const [, key = '', value = ''] = pm;
      switch (key.toLowerCase()) {
        case 'modules':
        case 'module': {
          const missing = moduleNames(value).filter((n) => !PROVIDED.includes(n.toLowerCase()));
          if (missing.length) throw new UnsupportedError(line, `#Requires -Modules ${missing.join(', ')} (hvsim run provides the Hyper-V module and PowerShell's own) is`);
          break;
        }
        case 'runasadministrator':
          break; // the simulated user is the local Administrator
        case 'version': {
          const want = value.trim();
          if (!/^\d+(\.\d+){0,3}$/.test(want)) throw new ScriptSyntaxError(line, `the #requires -Version value "${want}" is not a version`);
          if (!versionAtLeast(IMITATED_PS_VERSION, want))
            throw new UnsupportedError(line, `${name}: #Requires -Version ${want} (hvsim run imitates Windows PowerShell ${IMITATED_PS_VERSION}; PowerShell would refuse the script too: "The version of Windows PowerShell that is required by the script does not match the currently running version") is`);
          break;
        }
        case 'pseditions':
        case 'psedition': {
          if (value.trim().toLowerCase() !== 'desktop') throw new UnsupportedError(line, `#Requires -PSEdition ${value.trim()} (hvsim run imitates Windows PowerShell 5.1, the Desktop edition) is`);
          break;
        }
        default:
          throw new UnsupportedError(line, `#Requires -${key} is`);
      }
    }
  });
}
