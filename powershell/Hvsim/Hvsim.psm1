# hvsim's Hyper-V cmdlets for your own PowerShell (docs/powershell.md, "The hvsim module").
#
# Each function has the Hyper-V cmdlet's parameters, parameter sets, positions, aliases, pipeline
# binding and ConfirmImpact (taken from the Hyper-V module stub, docs/hyperv.md "Sources") and
# sends its bound parameters to ONE long-lived `hvsim serve --stdio` per session (JSON lines;
# the protocol is described in src/cli/serve-stdio.ts). The simulator applies the rules; this
# file only binds, asks ShouldProcess, and rebuilds objects, warnings and error records.
#
# Where hvsim is found: $env:HVSIM_CLI (the path of hvsim's dist/cli/bin.cjs), else the package
# this folder ships in (../../dist/cli/bin.cjs), run with $env:HVSIM_NODE, else `node` on PATH.
# The state directory: $env:HVSIM_ROOT, else .hvsim in the current directory.
# Windows PowerShell 5.1 syntax only.

Set-StrictMode -Off

# ------------------------------------------------------------------ types

function Initialize-HvsimType {
    if ('Hvsim.HyperVErrorRecord' -as [type]) { return }
    $source = [IO.File]::ReadAllText((Join-Path $PSScriptRoot 'HvsimTypes.cs'))
    if ('Microsoft.HyperV.PowerShell.VMState' -as [type]) {
        # The real Hyper-V module is loaded: keep its enums and exception, add only hvsim's own types.
        $source = [regex]::Replace($source, '(?s)namespace Microsoft\.HyperV\.PowerShell\s*\{.*?\n\}\r?\n', '')
    }
    $sha = [Security.Cryptography.SHA256]::Create()
    $hash = -join ($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($source))[0..7] | ForEach-Object { $_.ToString('x2') })
    $cache = $env:HVSIM_PWSH_CACHE
    if (-not $cache) { $cache = Join-Path ([IO.Path]::GetTempPath()) 'hvsim-pwsh' }
    $dll = Join-Path $cache ('HvsimTypes-{0}{1}-{2}.dll' -f $PSVersionTable.PSEdition, $PSVersionTable.PSVersion.Major, $hash)
    if (Test-Path -LiteralPath $dll) {
        try { Add-Type -Path $dll; return } catch { Write-Verbose "hvsim: cached types unusable: $_" }
    }
    # Compiling takes seconds: do it once and keep the assembly for the next sessions.
    try {
        if (-not (Test-Path -LiteralPath $cache)) { [void](New-Item -ItemType Directory -Path $cache -Force) }
        $tmp = '{0}.{1}.tmp' -f $dll, $PID
        Add-Type -TypeDefinition $source -OutputAssembly $tmp -OutputType Library
        try { Move-Item -LiteralPath $tmp -Destination $dll -Force } catch { Remove-Item -LiteralPath $tmp -ErrorAction SilentlyContinue }
        Add-Type -Path $dll
    } catch {
        if (-not ('Hvsim.HyperVErrorRecord' -as [type])) { Add-Type -TypeDefinition $source }
    }
}
Initialize-HvsimType

# ------------------------------------------------------------------ the server

$script:Server = $null
$script:ServerIn = $null
$script:ServerKey = $null
$script:NextId = 0
$script:JsonDateKind = (Get-Command ConvertFrom-Json).Parameters.ContainsKey('DateKind')

$script:DefaultCli = [IO.Path]::GetFullPath([IO.Path]::Combine($PSScriptRoot, '..', '..', 'dist', 'cli', 'bin.cjs'))

function Get-HvsimStateRoot {
    if ($env:HVSIM_ROOT) { return $env:HVSIM_ROOT }
    return [IO.Path]::Combine($ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath, '.hvsim')
}

function Stop-HvsimServer {
    if ($null -ne $script:Server) {
        try { $script:ServerIn.Close() } catch { Write-Verbose "hvsim: $_" }
        try { if (-not $script:Server.WaitForExit(2000)) { $script:Server.Kill() } } catch { Write-Verbose "hvsim: $_" }
        $script:Server.Dispose()
    }
    $script:Server = $null
    $script:ServerIn = $null
}

function Get-HvsimServer {
    $root = Get-HvsimStateRoot
    $node = $env:HVSIM_NODE
    if (-not $node) { $node = 'node' }
    $cli = $env:HVSIM_CLI
    if (-not $cli) { $cli = $script:DefaultCli }
    $key = '{0}|{1}|{2}|{3}|{4}' -f $root, $node, $cli, $env:HVSIM_COMPUTER_NAME, $env:HVSIM_CLOCK
    if ($null -ne $script:Server -and -not $script:Server.HasExited -and $script:ServerKey -eq $key) { return $script:Server }
    Stop-HvsimServer
    if (-not (Test-Path -LiteralPath $cli)) {
        throw "hvsim: $cli not found: set HVSIM_CLI to hvsim's dist/cli/bin.cjs (npm run build makes it)"
    }
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $node
    $psi.Arguments = '"{0}" serve --stdio' -f $cli
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.StandardOutputEncoding = New-Object System.Text.UTF8Encoding $false
    $psi.WorkingDirectory = $ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath
    $psi.EnvironmentVariables['HVSIM_ROOT'] = [IO.Path]::GetFullPath($root)
    try { $p = [System.Diagnostics.Process]::Start($psi) }
    catch { throw "hvsim: cannot start '$node' (set HVSIM_NODE to node's path): $($_.Exception.Message)" }
    $script:Server = $p
    $script:ServerIn = New-Object System.IO.StreamWriter ($p.StandardInput.BaseStream, (New-Object System.Text.UTF8Encoding $false))
    $script:ServerIn.AutoFlush = $true
    $script:ServerKey = $key
    return $p
}

# The next answer to request $Id (answers to an earlier request, left unread, are skipped).
function Read-HvsimAnswer($Server, $Id) {
    while ($true) {
        $answer = $Server.StandardOutput.ReadLine()
        if ($null -eq $answer) { Stop-HvsimServer; throw 'hvsim: the server ended while answering (run `hvsim serve --stdio` to see why); the next call starts a new one' }
        $msg = ConvertFrom-HvsimJson $answer
        if ($msg.id -eq $Id) { return $msg }
    }
}

function ConvertFrom-HvsimJson([string]$Line) {
    if ($script:JsonDateKind) { return ConvertFrom-Json -InputObject $Line -DateKind String } # PS7+ guarded
    return ConvertFrom-Json -InputObject $Line
}

# ------------------------------------------------------------------ objects

$script:TypeNamesCache = @{}

# {"t":[type names],"p":{properties},"k":{property: kind}} → an object with Hyper-V's type names;
# kind says how to rebuild a value JSON carries as text (serve-stdio.ts, PROPERTY_KINDS).
function ConvertTo-HvsimObject($Encoded) {
    $o = $Encoded.p
    if ($null -ne $Encoded.k) {
        foreach ($prop in $Encoded.k.PSObject.Properties) {
            $name = $prop.Name
            $v = $o.$name
            if ($null -eq $v) { continue }
            $kind = [string]$prop.Value
            if ($kind -eq 'DateTime') {
                if ($v -isnot [datetime]) { $v = [datetime]::Parse([string]$v, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind) }
                $o.$name = $v.ToLocalTime()
            } elseif ($kind -eq 'TimeSpan') { $o.$name = [timespan]::Parse([string]$v, [Globalization.CultureInfo]::InvariantCulture) }
            elseif ($kind -eq 'Guid') { $o.$name = [guid][string]$v }
            elseif ($kind -eq 'Object') { $o.$name = ConvertTo-HvsimObject $v }
            elseif ($kind -eq 'Object[]') { $o.$name = [object[]]@(foreach ($x in $v) { ConvertTo-HvsimObject $x }) }
            elseif ($kind.EndsWith('[]')) {
                $t = $script:Enums[$kind.Substring(0, $kind.Length - 2)]
                $a = [Array]::CreateInstance($t, @($v).Count)
                $i = 0
                foreach ($x in $v) { $a[$i] = [Enum]::Parse($t, [string]$x); $i++ }
                $o.$name = $a
            } else { $o.$name = [Enum]::Parse($script:Enums[$kind], [string]$v) }
        }
    }
    $names = $o.PSObject.TypeNames
    $names.Clear()
    foreach ($t in $Encoded.t) { $names.Add($t) }
    return $o
}

$script:Enums = @{}
foreach ($e in 'VMState', 'VMOperationalStatus', 'CheckpointType', 'SnapshotType', 'ControllerType') { $script:Enums[$e] = [type]('Microsoft.HyperV.PowerShell.' + $e) }

# ------------------------------------------------------------------ calls

$script:CommonParameters = @('Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ErrorVariable', 'WarningVariable',
    'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'WhatIf', 'Confirm', 'ProgressAction', 'AsJob')
$script:PathParameters = @('Path', 'VHDPath', 'NewVHDPath', 'DestinationPath', 'VhdDestinationPath', 'VirtualMachinePath', 'SnapshotFilePath', 'SmartPagingFilePath', 'VhdSourcePath')

# A bound value as the server takes it: Hyper-V objects by identity and computer (so that an object
# of another simulated host acts there), CimSessions by computer, switches as booleans, enums and Guids as text.
function ConvertTo-HvsimParam($Value) {
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.Management.Automation.SwitchParameter]) { return $Value.IsPresent }
    if ($Value -is [string] -or $Value -is [bool]) { return $Value }
    if ($Value -is [enum] -or $Value -is [guid] -or $Value -is [datetime] -or $Value -is [version]) { return $Value.ToString() }
    if ($Value -is [ValueType]) { return $Value }
    if ($Value -is [System.Collections.IList]) { return ,@(foreach ($x in $Value) { ConvertTo-HvsimParam $x }) }
    $names = @($Value.PSObject.TypeNames | Where-Object { $_ -like 'Microsoft.HyperV.PowerShell.*' -or $_ -eq 'Microsoft.Management.Infrastructure.CimSession' })
    if ($names.Count -gt 0) {
        $ref = [ordered]@{ '$type' = $names }
        foreach ($k in 'Name', 'Id', 'VMName', 'VMId', 'ComputerName') {
            $v = $Value.$k
            if ($null -ne $v) { $ref[$k] = [string]$v }
        }
        return $ref
    }
    return [string]$Value
}

function New-HvsimErrorRecord($E, [string]$Command) {
    $ex = New-Object Microsoft.HyperV.PowerShell.VirtualizationException ([string]$E.message)
    $category = [System.Management.Automation.ErrorCategory]::NotSpecified
    try { $category = [System.Management.Automation.ErrorCategory][string]$E.category } catch { Write-Verbose "hvsim: category $($E.category)" }
    $target = $null
    if ($E.target) { $target = [string]$E.target }
    $r = New-Object Hvsim.HyperVErrorRecord ($ex, [string]$E.id, $category, $target)
    if ($E.reason -and $E.reason -ne 'VirtualizationException') { $r.CategoryInfo.Reason = [string]$E.reason }
    $r.CategoryInfo.Activity = $Command
    return $r
}

$script:Impact = @{}

# Whether $Cmdlet.ShouldProcess would answer Yes without a word: no -WhatIf, no prompt (the
# ConfirmImpact below $ConfirmPreference, or -Confirm:$false), no -Verbose line. Then the server is
# told not to ask (one round trip less per target). Reads the preferences Invoke-HvsimCmdlet set.
function Test-HvsimSilentYes($Cmdlet, $Bound) {
    $name = $Cmdlet.MyInvocation.MyCommand.Name
    $impact = $script:Impact[$name]
    if ($null -eq $impact) {
        $impact = -1
        foreach ($a in $Cmdlet.MyInvocation.MyCommand.ScriptBlock.Attributes) {
            if ($a -is [System.Management.Automation.CmdletBindingAttribute] -and $a.SupportsShouldProcess) { $impact = [int]$a.ConfirmImpact }
        }
        $script:Impact[$name] = $impact
    }
    if ($impact -lt 0) { return $false }
    if ($WhatIfPreference) { return $false }
    if ($VerbosePreference -ne 'SilentlyContinue' -and $VerbosePreference -ne 'Ignore') { return $false }
    if ($Bound.ContainsKey('Confirm')) { return -not [bool]$Bound['Confirm'] }
    $pref = [int][System.Management.Automation.ConfirmImpact]$ConfirmPreference
    return ($pref -eq 0) -or ($impact -lt $pref)
}

# Run the cmdlet $Cmdlet stands for with its bound parameters; write (or, for -AsJob, keep) what it answers.
function Invoke-HvsimCmdlet([System.Management.Automation.PSCmdlet]$Cmdlet, [hashtable]$Bound) {
    $command = $Cmdlet.MyInvocation.MyCommand.Name
    # A compiled cmdlet honours its caller's preference variables; a module's function sees the
    # module's scope instead. Take the caller's, unless the call gave the common parameter.
    $caller = $Cmdlet.SessionState.PSVariable
    if (-not $Bound.ContainsKey('ErrorAction')) { $ErrorActionPreference = $caller.GetValue('ErrorActionPreference') }
    if (-not $Bound.ContainsKey('WarningAction')) { $WarningPreference = $caller.GetValue('WarningPreference') }
    if (-not $Bound.ContainsKey('WhatIf')) { $WhatIfPreference = $caller.GetValue('WhatIfPreference') }
    if (-not $Bound.ContainsKey('Confirm')) { $ConfirmPreference = $caller.GetValue('ConfirmPreference') }
    if (-not $Bound.ContainsKey('Verbose')) { $VerbosePreference = $caller.GetValue('VerbosePreference') }
    $params = [ordered]@{}
    foreach ($k in $Bound.Keys) {
        if ($script:CommonParameters -contains $k) { continue }
        $v = $Bound[$k]
        if ($script:PathParameters -contains $k -and $v -is [string]) { $v = $Cmdlet.GetUnresolvedProviderPathFromPSPath($v) }
        elseif ($script:PathParameters -contains $k -and $v -is [System.Collections.IList]) { $v = @(foreach ($x in $v) { $Cmdlet.GetUnresolvedProviderPathFromPSPath([string]$x) }) }
        $params[$k] = ConvertTo-HvsimParam $v
    }
    $job = $null
    if ($Bound.ContainsKey('AsJob') -and $Bound['AsJob']) {
        $job = New-Object Hvsim.HvsimJob ($Cmdlet.MyInvocation.Line, ('Job{0}' -f ($script:NextId + 1)))
    }
    $stop = ($ErrorActionPreference -eq 'Stop') -and ($null -eq $job)
    $failed = $false
    $server = Get-HvsimServer
    $script:NextId++
    $id = $script:NextId
    $request = [ordered]@{ id = $id; cmdlet = $command; params = $params }
    if (Test-HvsimSilentYes $Cmdlet $Bound) { $request['confirm'] = $true }
    $line = ConvertTo-Json -InputObject $request -Depth 8 -Compress
    try { $script:ServerIn.WriteLine($line) } catch { Stop-HvsimServer; throw "hvsim: the server ended: $($_.Exception.Message)" }
    # Until the server says done, a confirmation it asked must be answered: if this call is
    # stopped in between (an error, Ctrl-C, Select-Object -First), the finally block answers No
    # and reads the rest, so the next call starts in step.
    $finished = $false
    $asked = $false
    try {
        while ($true) {
            $msg = Read-HvsimAnswer $server $id
            if ($msg.done) { $finished = $true }
            foreach ($ev in @($msg.events)) {
                if ($null -eq $ev) { continue }
                if ($null -ne $ev.o) {
                    $obj = ConvertTo-HvsimObject $ev.o
                    if ($null -ne $job) { $job.Output.Add([psobject]$obj) } else { $Cmdlet.WriteObject($obj) }
                } elseif ($null -ne $ev.w) {
                    if ($null -ne $job) { $job.Warning.Add((New-Object System.Management.Automation.WarningRecord ([string]$ev.w))) } else { $Cmdlet.WriteWarning([string]$ev.w) }
                } elseif ($null -ne $ev.e) {
                    $failed = $true
                    $record = New-HvsimErrorRecord $ev.e $command
                    if ($null -ne $job) { $job.Error.Add($record) }
                    elseif ($stop) { throw $record }
                    else { $Cmdlet.WriteError($record) }
                } elseif ($null -ne $ev.h) {
                    Write-Host ([string]$ev.h) -NoNewline
                }
            }
            if ($msg.done) { break }
            if ($null -ne $msg.confirm) {
                $asked = $true
                $c = $msg.confirm
                if ($c.description) { $ok = $Cmdlet.ShouldProcess([string]$c.description, [string]$c.description, [string]$c.action) }
                else { $ok = $Cmdlet.ShouldProcess([string]$c.target, [string]$c.action) }
                $script:ServerIn.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ id = $id; confirm = [bool]$ok }) -Compress))
                $asked = $false
            }
        }
    } finally {
        if (-not $finished -and $null -ne $script:Server -and -not $script:Server.HasExited) {
            try {
                if ($asked) { $script:ServerIn.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ id = $id; confirm = $false }) -Compress)) }
                while ($true) {
                    $rest = Read-HvsimAnswer $server $id
                    if ($rest.done) { break }
                    if ($null -ne $rest.confirm) { $script:ServerIn.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ id = $id; confirm = $false }) -Compress)) }
                }
            } catch { Stop-HvsimServer }
        }
    }
    if ($null -ne $job) {
        $job.Finish($failed)
        $Cmdlet.JobRepository.Add($job)
        $Cmdlet.WriteObject($job)
    }
}

# ------------------------------------------------------------------ the cmdlets

function Get-VMHost {
    [CmdletBinding(DefaultParameterSetName='ComputerName')]
    [OutputType('Microsoft.HyperV.PowerShell.VMHost')]
    param (
        [Parameter(ParameterSetName='CimSession', Mandatory=$true, Position=0, ValueFromPipelineByPropertyName=$true)]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='ComputerName', Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='ComputerName', Position=1, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Get-VM {
    [CmdletBinding(DefaultParameterSetName='Name')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name', Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [Parameter(ParameterSetName='Name')]
        [Parameter(ParameterSetName='Id')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [Parameter(ParameterSetName='Id')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [Parameter(ParameterSetName='Id')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='Id', Position=0, ValueFromPipeline=$true, ValueFromPipelineByPropertyName=$true)]
        [ValidateNotNull()]
        [System.Nullable[guid]]
        ${Id},

        [Parameter(ParameterSetName='ClusterObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.FailoverClusters.PowerShell.ClusterObject')]
        [psobject]
        ${ClusterObject}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function New-VM {
    [CmdletBinding(DefaultParameterSetName='No VHD', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(Position=0, ValueFromPipeline=$true, ValueFromPipelineByPropertyName=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Name},

        [Parameter(Position=1)]
        [ValidateNotNull()]
        [System.Nullable[long]]
        ${MemoryStartupBytes},

        [ValidateNotNullOrEmpty()]
        [object]
        ${BootDevice},

        [Parameter(ParameterSetName='No VHD')]
        [switch]
        ${NoVHD},

        [ValidateNotNullOrEmpty()]
        [string]
        ${SwitchName},

        [Parameter(ParameterSetName='New VHD', Mandatory=$true)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${NewVHDPath},

        [Parameter(ParameterSetName='New VHD', Mandatory=$true)]
        [ValidateNotNullOrEmpty()]
        [uint64]
        ${NewVHDSizeBytes},

        [Parameter(ParameterSetName='Existing VHD', Mandatory=$true)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${VHDPath},

        [ValidateNotNullOrEmpty()]
        [string]
        ${Path},

        [ValidateNotNull()]
        [version]
        ${Version},

        [switch]
        ${Prerelease},

        [switch]
        ${Experimental},

        [Parameter(Position=2)]
        [ValidateSet('1','2')]
        [ValidateNotNullOrEmpty()]
        [System.Nullable[int16]]
        ${Generation},

        [switch]
        ${Force},

        [switch]
        ${AsJob},

        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Remove-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [switch]
        ${Force},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Set-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [bool]
        ${GuestControlledCacheTypes},

        [uint32]
        ${LowMemoryMappedIoSpace},

        [uint64]
        ${HighMemoryMappedIoSpace},

        [bool]
        ${BatteryPassthroughEnabled},

        [ValidateNotNull()]
        [System.Nullable[long]]
        ${ProcessorCount},

        [switch]
        ${DynamicMemory},

        [switch]
        ${StaticMemory},

        [ValidateNotNull()]
        [System.Nullable[long]]
        ${MemoryMinimumBytes},

        [ValidateNotNull()]
        [System.Nullable[long]]
        ${MemoryMaximumBytes},

        [ValidateNotNull()]
        [System.Nullable[long]]
        ${MemoryStartupBytes},

        [ValidateNotNullOrEmpty()]
        [object]
        ${AutomaticStartAction},

        [ValidateNotNullOrEmpty()]
        [object]
        ${AutomaticStopAction},

        [ValidateNotNull()]
        [System.Nullable[int]]
        ${AutomaticStartDelay},

        [ValidateNotNullOrEmpty()]
        [object]
        ${AutomaticCriticalErrorAction},

        [ValidateNotNull()]
        [System.Nullable[int]]
        ${AutomaticCriticalErrorActionTimeout},

        [ValidateNotNull()]
        [System.Nullable[bool]]
        ${AutomaticCheckpointsEnabled},

        [ValidateNotNull()]
        [object]
        ${LockOnDisconnect},

        [ValidateNotNull()]
        [string]
        ${Notes},

        [ValidateNotNullOrEmpty()]
        [string]
        ${NewVMName},

        [ValidateNotNullOrEmpty()]
        [string]
        ${SnapshotFileLocation},

        [ValidateNotNullOrEmpty()]
        [string]
        ${SmartPagingFilePath},
        [System.Nullable[Microsoft.HyperV.PowerShell.CheckpointType]]
        ${CheckpointType},
        [object]
        ${EnhancedSessionTransportType},

        [switch]
        ${Passthru},

        [switch]
        ${AllowUnverifiedPaths}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Start-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Stop-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${Save},

        [switch]
        ${TurnOff},

        [switch]
        ${Force},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Save-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Suspend-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Resume-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Wait-VM {
    [CmdletBinding(DefaultParameterSetName='Name')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru},
        [object]
        ${For},

        [ValidateRange(1, 65535)]
        [uint16]
        ${Delay},

        [Alias('TimeoutSec')]
        [ValidateRange(-1, 2147483647)]
        [int]
        ${Timeout}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Export-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [Parameter(Mandatory=$true, Position=1)]
        [string]
        ${Path},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru},

        [ValidateNotNull()]
        [object]
        ${CaptureLiveState}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Import-VM {
    [CmdletBinding(DefaultParameterSetName='Register', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VirtualMachine')]
    param (
        [Parameter(ParameterSetName='Register')]
        [Parameter(ParameterSetName='Copy')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Register')]
        [Parameter(ParameterSetName='Copy')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Register')]
        [Parameter(ParameterSetName='Copy')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='CompatibilityReport', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [object]
        ${CompatibilityReport},

        [Parameter(ParameterSetName='Register', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Parameter(ParameterSetName='Copy', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Path},

        [Parameter(ParameterSetName='Copy', Position=1)]
        [string]
        ${VhdDestinationPath},

        [Parameter(ParameterSetName='Register')]
        [switch]
        ${Register},

        [Parameter(ParameterSetName='Copy', Mandatory=$true)]
        [switch]
        ${Copy},

        [Parameter(ParameterSetName='Copy')]
        [string]
        ${VirtualMachinePath},

        [Parameter(ParameterSetName='Copy')]
        [Alias('CheckpointFileLocation','SnapshotFileLocation')]
        [string]
        ${SnapshotFilePath},

        [Parameter(ParameterSetName='Copy')]
        [string]
        ${SmartPagingFilePath},

        [Parameter(ParameterSetName='Copy')]
        [string]
        ${VhdSourcePath},

        [Parameter(ParameterSetName='Copy')]
        [switch]
        ${GenerateNewId},

        [switch]
        ${AsJob}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Checkpoint-VM {
    [CmdletBinding(DefaultParameterSetName='Name', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VMSnapshot')]
    param (
        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='Name')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='Name', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [Parameter(Position=1)]
        [Alias('CheckpointName')]
        [ValidateNotNullOrEmpty()]
        [string]
        ${SnapshotName},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Get-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName='VMName')]
    [OutputType('Microsoft.HyperV.PowerShell.VMSnapshot')]
    param (
        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='VMName')]
        [Parameter(ParameterSetName='Id')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='VMName')]
        [Parameter(ParameterSetName='Id')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='VMName')]
        [Parameter(ParameterSetName='Id')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='Id', Mandatory=$true, Position=0, ValueFromPipeline=$true, ValueFromPipelineByPropertyName=$true)]
        [ValidateNotNull()]
        [System.Nullable[guid]]
        ${Id},

        [Parameter(ParameterSetName='VMName', Position=1)]
        [Parameter(ParameterSetName='Parent', Position=0)]
        [Parameter(ParameterSetName='Child', Position=0)]
        [Parameter(ParameterSetName='VMObject', Position=1)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Name},

        [Parameter(ParameterSetName='Child', Mandatory=$true)]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject]
        ${ChildOf},

        [Parameter(ParameterSetName='Parent', Mandatory=$true)]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachineBase')]
        [psobject]
        ${ParentOf},

        [Parameter(ParameterSetName='VMObject')]
        [Parameter(ParameterSetName='Parent')]
        [Parameter(ParameterSetName='Child')]
        [Parameter(ParameterSetName='VMName')]
        [Alias('VMRecoveryCheckpoint')]
        [ValidateNotNullOrEmpty()]
        [Microsoft.HyperV.PowerShell.SnapshotType]
        ${SnapshotType}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Restore-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName='SnapshotName', SupportsShouldProcess=$true, ConfirmImpact='High')]
    [OutputType('Microsoft.HyperV.PowerShell.VMSnapshot')]
    param (
        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='SnapshotObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMCheckpoint')]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject]
        ${VMSnapshot},

        [Parameter(ParameterSetName='VM', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject]
        ${VM},

        [Parameter(ParameterSetName='VM', Mandatory=$true)]
        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true, Position=0)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Name},

        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true, Position=1)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${VMName},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Remove-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName='SnapshotName', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VMSnapshot')]
    param (
        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true, Position=0)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='SnapshotObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMCheckpoint')]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject[]]
        ${VMSnapshot},

        [Parameter(ParameterSetName='SnapshotName', Position=1, ValueFromPipeline=$true)]
        [Parameter(ParameterSetName='VMObject', Position=1)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [Alias('IncludeAllChildCheckpoints')]
        [switch]
        ${IncludeAllChildSnapshots},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process {
        Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters
        # A removed checkpoint's object shows IsDeleted (docs/hyperv.md, "Cmdlets").
        if ($PSBoundParameters.ContainsKey('VMSnapshot')) {
            foreach ($s in @($VMSnapshot)) {
                $left = @(Get-VMSnapshot -VMName $s.VMName -ErrorAction SilentlyContinue | Where-Object { $_.Id -eq $s.Id })
                if ($left.Count -eq 0) { $s.IsDeleted = $true }
            }
        }
    }
}

function Rename-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName='SnapshotName', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VMSnapshot')]
    param (
        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='SnapshotObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMCheckpoint')]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject]
        ${VMSnapshot},

        [Parameter(ParameterSetName='VM', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject]
        ${VM},

        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true, Position=0)]
        [Parameter(ParameterSetName='VM', Mandatory=$true)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Name},

        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true, Position=1)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${VMName},

        [Parameter(Mandatory=$true, Position=2)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${NewName},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Export-VMSnapshot {
    [CmdletBinding(DefaultParameterSetName='SnapshotName', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VMSnapshot')]
    param (
        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='SnapshotName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='SnapshotObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMCheckpoint')]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject[]]
        ${VMSnapshot},

        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Parameter(ParameterSetName='VMObject', Mandatory=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [Parameter(Mandatory=$true, Position=1)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Path},

        [Parameter(ParameterSetName='SnapshotName', Mandatory=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Get-VMHardDiskDrive {
    [CmdletBinding(DefaultParameterSetName='VMName')]
    [OutputType('Microsoft.HyperV.PowerShell.HardDiskDrive')]
    param (
        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='VMSnapshot', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [Alias('VMCheckpoint')]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject]
        ${VMSnapshot},

        [ValidateNotNull()]
        [System.Nullable[int]]
        ${ControllerLocation},

        [Parameter(ParameterSetName='VMDriveController', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [object[]]
        ${VMDriveController},

        [Parameter(ParameterSetName='VMName')]
        [Parameter(ParameterSetName='VMObject')]
        [Parameter(ParameterSetName='VMSnapshot')]
        [ValidateNotNull()]
        [System.Nullable[int]]
        ${ControllerNumber},

        [Parameter(ParameterSetName='VMName')]
        [Parameter(ParameterSetName='VMObject')]
        [Parameter(ParameterSetName='VMSnapshot')]
        [System.Nullable[Microsoft.HyperV.PowerShell.ControllerType]]
        ${ControllerType}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Add-VMHardDiskDrive {
    [CmdletBinding(DefaultParameterSetName='VMName', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.HardDiskDrive')]
    param (
        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='VMName')]
        [Alias('PSComputerName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='VMDriveController', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [object]
        ${VMDriveController},

        [Parameter(ParameterSetName='VMName', Position=1)]
        [Parameter(ParameterSetName='VMObject', Position=1)]
        [System.Nullable[Microsoft.HyperV.PowerShell.ControllerType]]
        ${ControllerType},

        [Parameter(ParameterSetName='VMObject', Position=2)]
        [Parameter(ParameterSetName='VMName', Position=2)]
        [ValidateNotNull()]
        [System.Nullable[int]]
        ${ControllerNumber},

        [Parameter(Position=3)]
        [ValidateNotNull()]
        [System.Nullable[int]]
        ${ControllerLocation},

        [Parameter(Position=4)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Path},

        [Parameter(ValueFromPipelineByPropertyName=$true)]
        [Alias('Number')]
        [uint32]
        ${DiskNumber},

        [ValidateNotNull()]
        [string]
        ${ResourcePoolName},

        [Alias('ShareVirtualDisk')]
        [switch]
        ${SupportPersistentReservations},

        [switch]
        ${AllowUnverifiedPaths},

        [System.Nullable[uint64]]
        ${MaximumIOPS},

        [System.Nullable[uint64]]
        ${MinimumIOPS},

        [string]
        ${QoSPolicyID},
        [object]
        ${QoSPolicy},

        [switch]
        ${Passthru},
        [object]
        ${OverrideCacheAttributes}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function New-VHD {
    # Parameter sets of Microsoft's New-VHD (learn.microsoft.com/powershell/module/hyper-v/new-vhd);
    # the server creates dynamic and fixed disks (serve-vhd.ts). -WhatIf/-Confirm are asked here,
    # per path, before the request is sent.
    [CmdletBinding(DefaultParameterSetName='DynamicWithoutSource', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.Vhd.PowerShell.VirtualHardDisk')]
    param (
        [Parameter(Mandatory=$true, Position=0, ValueFromPipelineByPropertyName=$true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Path},

        [Parameter(ParameterSetName='Differencing', Mandatory=$true, Position=1)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${ParentPath},

        [Parameter(ParameterSetName='DynamicWithoutSource', Mandatory=$true, Position=1)]
        [Parameter(ParameterSetName='FixedWithoutSource', Mandatory=$true, Position=1)]
        [Parameter(ParameterSetName='Differencing')]
        [ValidateNotNullOrEmpty()]
        [uint64]
        ${SizeBytes},

        [Parameter(ParameterSetName='DynamicWithoutSource')]
        [switch]
        ${Dynamic},

        [Parameter(ParameterSetName='FixedWithoutSource', Mandatory=$true)]
        [switch]
        ${Fixed},

        [Parameter(ParameterSetName='Differencing')]
        [switch]
        ${Differencing},

        [ValidateNotNullOrEmpty()]
        [uint32]
        ${BlockSizeBytes},

        [Parameter(ParameterSetName='DynamicWithoutSource')]
        [Parameter(ParameterSetName='FixedWithoutSource')]
        [ValidateSet(512, 4096)]
        [uint32]
        ${LogicalSectorSizeBytes},

        [ValidateSet(512, 4096)]
        [uint32]
        ${PhysicalSectorSizeBytes},

        [switch]
        ${AsJob},

        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential}
    )

    process {
        foreach ($p in $Path) { if (-not $PSCmdlet.ShouldProcess($p, 'New-VHD')) { return } }
        $bound = @{} + $PSBoundParameters
        $bound['Confirm'] = $false
        $bound.Remove('WhatIf') | Out-Null
        Invoke-HvsimCmdlet $PSCmdlet $bound
    }
}

function Get-VHD {
    [CmdletBinding(DefaultParameterSetName='Path')]
    [OutputType('Microsoft.Vhd.PowerShell.VirtualHardDisk')]
    param (
        [Parameter(ParameterSetName='Disk', Mandatory=$true, Position=0, ValueFromPipelineByPropertyName=$true)]
        [Alias('Number')]
        [ValidateNotNullOrEmpty()]
        [uint32]
        ${DiskNumber},

        [Parameter(ParameterSetName='Path', Mandatory=$true, Position=0, ValueFromPipeline=$true, ValueFromPipelineByPropertyName=$true)]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Path},

        [Parameter(ParameterSetName='VMId', Mandatory=$true, Position=0, ValueFromPipeline=$true, ValueFromPipelineByPropertyName=$true)]
        [Alias('Id')]
        [ValidateNotNullOrEmpty()]
        [guid[]]
        ${VMId},

        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Merge-VHD {
    [CmdletBinding(SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.Vhd.PowerShell.VirtualHardDisk')]
    param (
        [Parameter(Mandatory=$true, Position=0, ValueFromPipeline=$true, ValueFromPipelineByPropertyName=$true)]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string]
        ${Path},

        [Parameter(Position=1)]
        [ValidateNotNullOrEmpty()]
        [string]
        ${DestinationPath},

        [switch]
        ${Force},

        [switch]
        ${AsJob},

        [switch]
        ${Passthru},

        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

# ------------------------------------------------------------------ integration services (docs/hyperv.md, "Integration services")

function Get-VMIntegrationService {
    [CmdletBinding(DefaultParameterSetName='VMName')]
    [OutputType('Microsoft.HyperV.PowerShell.VMIntegrationComponent')]
    param (
        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=0)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='VMSnapshot', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNull()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMSnapshot')]
        [psobject]
        ${VMSnapshot},

        [Parameter(Position=1)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Enable-VMIntegrationService {
    [CmdletBinding(DefaultParameterSetName='VMName', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VMIntegrationComponent')]
    param (
        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=1)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=1, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='VMIntegrationComponent', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMIntegrationComponent')]
        [psobject[]]
        ${VMIntegrationService},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=0)]
        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

function Disable-VMIntegrationService {
    [CmdletBinding(DefaultParameterSetName='VMName', SupportsShouldProcess=$true, ConfirmImpact='Medium')]
    [OutputType('Microsoft.HyperV.PowerShell.VMIntegrationComponent')]
    param (
        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [object[]]
        ${CimSession},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${ComputerName},

        [Parameter(ParameterSetName='VMName')]
        [ValidateNotNullOrEmpty()]
        [pscredential[]]
        ${Credential},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=1)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${VMName},

        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=1, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VirtualMachine')]
        [psobject[]]
        ${VM},

        [Parameter(ParameterSetName='VMIntegrationComponent', Mandatory=$true, Position=0, ValueFromPipeline=$true)]
        [ValidateNotNullOrEmpty()]
        [PSTypeName('Microsoft.HyperV.PowerShell.VMIntegrationComponent')]
        [psobject[]]
        ${VMIntegrationService},

        [Parameter(ParameterSetName='VMName', Mandatory=$true, Position=0)]
        [Parameter(ParameterSetName='VMObject', Mandatory=$true, Position=0)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        ${Name},

        [switch]
        ${Passthru}
    )

    process { Invoke-HvsimCmdlet $PSCmdlet $PSBoundParameters }
}

# ------------------------------------------------------------------ aliases (docs/hyperv.md, "Cmdlets")

Set-Alias -Name Get-VMCheckpoint -Value Get-VMSnapshot
Set-Alias -Name Restore-VMCheckpoint -Value Restore-VMSnapshot
Set-Alias -Name Remove-VMCheckpoint -Value Remove-VMSnapshot
Set-Alias -Name Rename-VMCheckpoint -Value Rename-VMSnapshot
Set-Alias -Name Export-VMCheckpoint -Value Export-VMSnapshot

$ExecutionContext.SessionState.Module.OnRemove = { Stop-HvsimServer }

Export-ModuleMember -Function @(
    'Get-VMHost', 'Get-VM', 'New-VM', 'Remove-VM', 'Set-VM', 'Start-VM', 'Stop-VM', 'Save-VM', 'Suspend-VM', 'Resume-VM', 'Wait-VM', 'Export-VM', 'Import-VM',
    'Checkpoint-VM', 'Get-VMSnapshot', 'Restore-VMSnapshot', 'Remove-VMSnapshot', 'Rename-VMSnapshot', 'Export-VMSnapshot',
    'Get-VMHardDiskDrive', 'Add-VMHardDiskDrive', 'New-VHD', 'Get-VHD', 'Merge-VHD',
    'Get-VMIntegrationService', 'Enable-VMIntegrationService', 'Disable-VMIntegrationService'
) -Alias @('Get-VMCheckpoint', 'Restore-VMCheckpoint', 'Remove-VMCheckpoint', 'Rename-VMCheckpoint', 'Export-VMCheckpoint')
