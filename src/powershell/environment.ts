/**
 * The simulated host's environment ($env:X, [Environment]::GetEnvironmentVariable) and the
 * automatic variables scripts read ($PSVersionTable, $Host, $PID, $HOME …). The simulated host is
 * a Windows Server 2022 Hyper-V host whose user is the local Administrator; the values are the
 * defaults of such a machine (docs/powershell.md, "Environment and automatic variables"). Nothing
 * here reads the real machine's environment: a script sees the same values everywhere.
 */
import { versionObject } from './statics.js';
import { PsHashtable, PsObject, type PsValue } from './value.js';

/** Environment variables, case-insensitive as on Windows, spelled as first set. */
export class SimEnvironment {
  private readonly vars = new Map<string, { name: string; value: string }>();

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [k, v] of entries) this.set(k, v);
  }

  get(name: string): string | undefined {
    return this.vars.get(name.toLowerCase())?.value;
  }

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    this.vars.set(key, { name: this.vars.get(key)?.name ?? name, value });
  }

  delete(name: string): void {
    this.vars.delete(name.toLowerCase());
  }

  entries(): Array<[string, string]> {
    return [...this.vars.values()].map((e) => [e.name, e.value]);
  }
}

/** The simulated user and where Windows puts its profile. */
const USER = 'Administrator';
const PROFILE = `C:\\Users\\${USER}`;

/** The environment of the simulated host `computerName` (a default Windows Server 2022 with PowerShell 5.1). */
export function simulatedEnvironment(computerName: string): SimEnvironment {
  return new SimEnvironment([
    ['ALLUSERSPROFILE', 'C:\\ProgramData'],
    ['APPDATA', `${PROFILE}\\AppData\\Roaming`],
    ['CommonProgramFiles', 'C:\\Program Files\\Common Files'],
    ['CommonProgramFiles(x86)', 'C:\\Program Files (x86)\\Common Files'],
    ['COMPUTERNAME', computerName],
    ['ComSpec', 'C:\\Windows\\system32\\cmd.exe'],
    ['HOMEDRIVE', 'C:'],
    ['HOMEPATH', `\\Users\\${USER}`],
    ['LOCALAPPDATA', `${PROFILE}\\AppData\\Local`],
    ['LOGONSERVER', `\\\\${computerName}`],
    ['NUMBER_OF_PROCESSORS', '4'],
    ['OS', 'Windows_NT'],
    ['Path', 'C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\;C:\\Windows\\System32\\OpenSSH\\'],
    ['PATHEXT', '.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC;.CPL'],
    ['PROCESSOR_ARCHITECTURE', 'AMD64'],
    ['ProgramData', 'C:\\ProgramData'],
    ['ProgramFiles', 'C:\\Program Files'],
    ['ProgramFiles(x86)', 'C:\\Program Files (x86)'],
    ['ProgramW6432', 'C:\\Program Files'],
    ['PSModulePath', `${PROFILE}\\Documents\\WindowsPowerShell\\Modules;C:\\Program Files\\WindowsPowerShell\\Modules;C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules`],
    ['PUBLIC', 'C:\\Users\\Public'],
    ['SystemDrive', 'C:'],
    ['SystemRoot', 'C:\\Windows'],
    ['TEMP', `${PROFILE}\\AppData\\Local\\Temp`],
    ['TMP', `${PROFILE}\\AppData\\Local\\Temp`],
    ['USERDOMAIN', computerName],
    ['USERDOMAIN_ROAMINGPROFILE', computerName],
    ['USERNAME', USER],
    ['USERPROFILE', PROFILE],
    ['windir', 'C:\\Windows'],
  ]);
}

/** The PowerShell hvsim imitates: Windows PowerShell 5.1 of Windows Server 2022 (docs/powershell.md). */
export const IMITATED_PS_VERSION = '5.1.20348.2849';

export function psVersionTable(): PsHashtable {
  return new PsHashtable([
    ['PSVersion', versionObject(IMITATED_PS_VERSION)],
    ['PSEdition', 'Desktop'],
    ['PSCompatibleVersions', ['1.0', '2.0', '3.0', '4.0', '5.0', '5.1.20348.2849'].map(versionObject)],
    ['BuildVersion', versionObject('10.0.20348.2849')],
    ['CLRVersion', versionObject('4.0.30319.42000')],
    ['WSManStackVersion', versionObject('3.0')],
    ['PSRemotingProtocolVersion', versionObject('2.3')],
    ['SerializationVersion', versionObject('1.1.0.1')],
  ]);
}

const size = (w: number, h: number): PsObject => new PsObject('System.Management.Automation.Host.Size', [['Width', w], ['Height', h]]);

/**
 * $Host.UI.RawUI: a Windows PowerShell 5.1 console window as an elevated session opens it, 120
 * columns wide as hvsim formats output. Scripts set WindowTitle and colours; that is accepted and
 * shows nothing (there is no window), as in a redirected run.
 */
function rawUi(): PsObject {
  return new PsObject('System.Management.Automation.Internal.Host.InternalHostRawUserInterface', [
    ['ForegroundColor', 'DarkYellow'],
    ['BackgroundColor', 'DarkMagenta'],
    ['WindowTitle', 'Administrator: Windows PowerShell'],
    ['WindowSize', size(120, 50)],
    ['BufferSize', size(120, 3000)],
    ['MaxWindowSize', size(120, 50)],
    ['CursorSize', 25],
  ]);
}

/** $Host: the console host (Name 'ConsoleHost', as powershell.exe -File has). */
export function hostObject(): PsObject {
  return new PsObject('System.Management.Automation.Internal.Host.InternalHost', [
    ['Name', 'ConsoleHost'],
    ['Version', versionObject(IMITATED_PS_VERSION)],
    ['InstanceId', '9b3a1c4e-1f0e-4c59-8d0e-7c2a4f0a9b11'],
    ['UI', new PsObject('System.Management.Automation.Internal.Host.InternalHostUserInterface', [['RawUI', rawUi()]])],
    ['CurrentCulture', 'en-US'],
    ['CurrentUICulture', 'en-US'],
  ]);
}

/** The process id $PID shows (fixed, so runs are reproducible). */
export const SIM_PID = 4242;

/** Automatic variables that do not depend on the run ($true/$null/$Error are the interpreter's). */
export function automaticVariable(name: string, env: SimEnvironment): PsValue | undefined {
  switch (name) {
    case 'psversiontable':
      return psVersionTable();
    case 'host':
      return hostObject();
    case 'pid':
      return SIM_PID;
    case 'home':
      return env.get('USERPROFILE') ?? PROFILE;
    case 'pshome':
      return 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0';
    case 'psculture':
      return 'en-US';
    case 'psuiculture':
      return 'en-US';
    case 'shellid':
      return 'Microsoft.PowerShell';
    case 'iswindows':
      return true;
    case 'islinux':
    case 'ismacos':
    case 'iscoreclr':
      return false;
    case 'nestedpromptlevel':
      return 0;
    default:
      return undefined;
  }
}
