/**
 * The one PowerShell script hvsim ever runs (docs/real-host.md). It is fixed text: passed once per
 * process with -EncodedCommand, never built from names or paths. Requests arrive on standard
 * input, one per line, as Base64 of UTF-8 JSON (request.ts); each request is a short list of
 * steps, each step one allowed cmdlet with named parameters whose values are data:
 *
 *   - a cmdlet is looked up in $HvCommands (module-qualified, so VMware's Get-VM cannot shadow
 *     Hyper-V's); anything else is refused;
 *   - parameter names must be letters only; parameter values are JSON strings (each carries an
 *     "s:" tag so that no JSON reader turns a date-like name into a DateTime), numbers, booleans
 *     or lists of strings, and are splatted, so PowerShell binds them as values, never parses them;
 *   - a parameter may instead take the objects an earlier step produced (r), and a step may keep
 *     the objects of an earlier step whose property equals one of some strings (f/k/v);
 *   - a step runs only if the steps it uses (f, r, d) succeeded;
 *   - a step's objects are piped through Select-Object and ConvertTo-Json -Depth 4 -Compress.
 * The answer is one line "@@hvsim <json>" on standard output, written with [Console]::Out so that
 * no formatting or line wrapping applies, with every character outside printable ASCII written as
 * \uXXXX so that the console's code page cannot garble names. Cmdlet errors are caught with
 * -ErrorVariable (non-terminating) and try/catch (terminating) and returned with their
 * FullyQualifiedErrorId, category and message; warnings with -WarningVariable.
 *
 * The stand-in PowerShell of the tests (test/helpers/fake-powershell.ts) checks that it is given
 * exactly this text; real pwsh 7 runs it in the tests with a stand-in Hyper-V module (docs/real-host.md).
 */

/** The cmdlets a request may name, and the module-qualified command each runs. */
export const COMMANDS: Readonly<Record<string, string>> = Object.freeze({
  'Get-VMHost': 'Hyper-V\\Get-VMHost',
  'Get-VM': 'Hyper-V\\Get-VM',
  'New-VM': 'Hyper-V\\New-VM',
  'Set-VM': 'Hyper-V\\Set-VM',
  'Start-VM': 'Hyper-V\\Start-VM',
  'Stop-VM': 'Hyper-V\\Stop-VM',
  'Suspend-VM': 'Hyper-V\\Suspend-VM',
  'Resume-VM': 'Hyper-V\\Resume-VM',
  'Save-VM': 'Hyper-V\\Save-VM',
  'Wait-VM': 'Hyper-V\\Wait-VM',
  'Checkpoint-VM': 'Hyper-V\\Checkpoint-VM',
  'Get-VMSnapshot': 'Hyper-V\\Get-VMSnapshot',
  'Restore-VMSnapshot': 'Hyper-V\\Restore-VMSnapshot',
  'Remove-VMSnapshot': 'Hyper-V\\Remove-VMSnapshot',
  'Rename-VMSnapshot': 'Hyper-V\\Rename-VMSnapshot',
  'Export-VMSnapshot': 'Hyper-V\\Export-VMSnapshot',
  'Get-VMHardDiskDrive': 'Hyper-V\\Get-VMHardDiskDrive',
  'Add-VMHardDiskDrive': 'Hyper-V\\Add-VMHardDiskDrive',
  'New-VHD': 'Hyper-V\\New-VHD',
  'Get-VHD': 'Hyper-V\\Get-VHD',
  'Merge-VHD': 'Hyper-V\\Merge-VHD',
  'Export-VM': 'Hyper-V\\Export-VM',
  'Import-VM': 'Hyper-V\\Import-VM',
  'Remove-VM': 'Hyper-V\\Remove-VM',
  'Get-VMIntegrationService': 'Hyper-V\\Get-VMIntegrationService',
  'Enable-VMIntegrationService': 'Hyper-V\\Enable-VMIntegrationService',
  'Disable-VMIntegrationService': 'Hyper-V\\Disable-VMIntegrationService',
  'Get-ChildItem': 'Microsoft.PowerShell.Management\\Get-ChildItem',
});

/** Prefix of every line the script answers with (anything else on stdout is ignored). */
export const LINE_PREFIX = '@@hvsim ';

/**
 * Depth given to ConvertTo-Json for a step's objects. ConvertTo-Json counts a level for the array
 * of several piped objects and for each nested array: objects (1) → HardDrives (2) → a drive (3) →
 * its properties (4); scalars and enums are written at any depth, deeper objects as their text.
 */
export const JSON_DEPTH = 4;

const commandTable = Object.entries(COMMANDS)
  .map(([k, v]) => `'${k}'='${v}'`)
  .join(';');

/**
 * The script. Kept terse (it travels on every command line, UTF-16 and Base64 encoded); the
 * comment above explains it. Single-quoted PowerShell strings hold no user text.
 */
export const SCRIPT = [
  "$ErrorActionPreference='Stop'",
  "$ProgressPreference='SilentlyContinue'",
  "$WarningPreference='SilentlyContinue'",
  "$VerbosePreference='SilentlyContinue'",
  'try{Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue}catch{}',
  `$HvCommands=@{${commandTable}}`,
  'function HvText($v){',
  "  if($v -isnot [string] -or -not $v.StartsWith('s:')){throw 'hvsim: a request string lacks its s: tag'}",
  '  $v.Substring(2)',
  '}',
  'function HvValue($v){',
  '  if($null -eq $v -or $v -is [ValueType]){return $v}',
  '  if($v -is [string]){return (HvText $v)}',
  '  if($v -is [System.Collections.IList]){return [string[]]@(foreach($x in $v){HvText $x})}',
  "  throw 'hvsim: unexpected value in a request'",
  '}',
  'function HvName($n){',
  "  if($n -isnot [string] -or $n -notmatch '^[A-Za-z]+$'){throw 'hvsim: bad name in a request'}",
  '  $n',
  '}',
  'function HvError($r){',
  '  if($r -isnot [System.Management.Automation.ErrorRecord] -and $r -is [System.Management.Automation.IContainsErrorRecord]){$r=$r.ErrorRecord}',
  '  if($r -is [System.Management.Automation.ErrorRecord]){',
  '    $m=$r.Exception.Message',
  '    if($null -ne $r.ErrorDetails -and $r.ErrorDetails.Message){$m=$r.ErrorDetails.Message}',
  '    return [ordered]@{FullyQualifiedErrorId=[string]$r.FullyQualifiedErrorId;Category=[string]$r.CategoryInfo.Category;Reason=[string]$r.CategoryInfo.Reason;TargetName=[string]$r.CategoryInfo.TargetName;Exception=$r.Exception.GetType().FullName;Message=[string]$m}',
  '  }',
  "  if($r -is [Exception]){return [ordered]@{FullyQualifiedErrorId=$r.GetType().Name;Category='NotSpecified';Reason=$r.GetType().Name;TargetName='';Exception=$r.GetType().FullName;Message=$r.Message}}",
  "  [ordered]@{FullyQualifiedErrorId='Unknown';Category='NotSpecified';Reason='';TargetName='';Exception='';Message=[string]$r}",
  '}',
  'function HvWrite($o){',
  '  $t=ConvertTo-Json -InputObject $o -Depth 6 -Compress',
  "  $t=[regex]::Replace($t,'[^\\x20-\\x7e]',{param($m) '\\u{0:x4}' -f [int][char]$m.Value})",
  `  [Console]::Out.WriteLine('${LINE_PREFIX}'+$t)`,
  '  [Console]::Out.Flush()',
  '}',
  'function HvRun([string]$line){',
  '  $id=$null',
  '  try{',
  '    $req=ConvertFrom-Json -InputObject ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($line)))',
  '    $id=$req.id',
  '    $res=@{};$st=@{};$out=New-Object System.Collections.ArrayList;$i=0',
  '    foreach($s in @($req.steps)){',
  '      $ins=New-Object System.Collections.ArrayList',
  '      if($null -ne $s.f){[void]$ins.Add([int]$s.f)}',
  '      if($null -ne $s.r){foreach($p in $s.r.PSObject.Properties){[void]$ins.Add([int]$p.Value)}}',
  '      if($null -ne $s.d){foreach($x in @($s.d)){[void]$ins.Add([int]$x)}}',
  "      $state='ok';$r=@();$errs=New-Object System.Collections.ArrayList;$warns=New-Object System.Collections.ArrayList;$json=$null",
  "      foreach($x in $ins){if($x -lt 0 -or $x -ge $i){throw 'hvsim: a step uses a later step'};if($st[$x] -ne 'ok'){$state='skipped'}}",
  "      if($state -eq 'ok'){",
  '        if($null -ne $s.f){',
  '          $k=HvName (HvText $s.k)',
  '          $vals=@(HvValue $s.v)',
  '          $r=@($res[[int]$s.f] | Where-Object {$vals -contains [string]$_.$k})',
  '          if($null -ne $s.n -and $r.Count -ne [int]$s.n){',
  "            $state='failed'",
  "            [void]$errs.Add([ordered]@{FullyQualifiedErrorId='ObjectNotFound,Hvsim.Select';Category='ObjectNotFound';Reason='Hvsim';TargetName=$k;Exception='';Message=('{0} objects have the {1} asked for, not {2}' -f $r.Count,$k,[int]$s.n)})",
  '          }',
  '        }else{',
  '          $cmd=$HvCommands[(HvText $s.c)]',
  "          if($null -eq $cmd){throw 'hvsim: not a command hvsim runs'}",
  '          $a=@{};$empty=$false',
  '          if($null -ne $s.p){foreach($p in $s.p.PSObject.Properties){$a[(HvName $p.Name)]=HvValue $p.Value}}',
  '          if($null -ne $s.r){foreach($p in $s.r.PSObject.Properties){',
  '            $v=@($res[[int]$p.Value])',
  '            if($v.Count -eq 0){$empty=$true}elseif($v.Count -eq 1){$a[(HvName $p.Name)]=$v[0]}else{$a[(HvName $p.Name)]=$v}',
  '          }}',
  '          if(-not $empty){',
  '            $ev=$null;$wv=$null',
  '            try{$r=@(& $cmd @a -ErrorAction SilentlyContinue -ErrorVariable ev -WarningAction SilentlyContinue -WarningVariable wv)}',
  '            catch{[void]$errs.Add((HvError $_))}',
  '            foreach($e in $ev){$h=HvError $e;if(-not @($errs | Where-Object {$_.FullyQualifiedErrorId -eq $h.FullyQualifiedErrorId -and $_.Message -eq $h.Message}).Count){[void]$errs.Add($h)}}',
  '            foreach($w in $wv){[void]$warns.Add([string]$w.Message)}',
  "            if($errs.Count -gt 0){$state='failed'}",
  '          }',
  '        }',
  '        if($null -ne $s.o){',
  '          $props=@(foreach($x in @($s.o)){HvName (HvText $x)})',
  `          $json=$r | Select-Object -Property $props | ConvertTo-Json -Depth ${JSON_DEPTH} -Compress`,
  '        }',
  '      }',
  '      $res[$i]=$r;$st[$i]=$state',
  '      [void]$out.Add([ordered]@{s=$state;j=$json;e=@($errs);w=@($warns)})',
  '      $i++',
  '    }',
  '    HvWrite ([ordered]@{id=$id;ok=$true;steps=@($out)})',
  '  }catch{',
  '    HvWrite ([ordered]@{id=$id;ok=$false;error=(HvError $_)})',
  '  }',
  '}',
  'HvWrite ([ordered]@{ready=$true;ps=[string]$PSVersionTable.PSVersion;edition=[string]$PSVersionTable.PSEdition})',
  'while($true){',
  '  $line=[Console]::In.ReadLine()',
  '  if($null -eq $line){break}',
  '  $line=$line.Trim()',
  '  if($line.Length -eq 0){break}',
  '  HvRun $line',
  '}',
  '',
].join('\n');

/** -EncodedCommand's argument: Base64 of the script's UTF-16LE bytes. */
export function encodeCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** The arguments hvsim starts PowerShell with (the same for powershell.exe and pwsh). */
export function powershellArgs(): string[] {
  return ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encodeCommand(SCRIPT)];
}
