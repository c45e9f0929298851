# Lists what in the given PowerShell files Windows PowerShell 5.1 would not run: syntax added in
# PowerShell 6/7 and cmdlets, parameters and variables 5.1 lacks (docs/powershell.md, "Windows
# PowerShell 5.1"). Sources: "What's New in PowerShell 7.0" … "7.4" and "Differences between
# Windows PowerShell 5.1 and PowerShell 7.x" (learn.microsoft.com/powershell/scripting/whats-new).
# One line per finding: file:line: what. A line ending in the comment `# PS7+ guarded` is taken as
# checked by hand (the 7-only code runs only where $PSVersionTable says it can).
param([Parameter(Mandatory, ValueFromRemainingArguments)][string[]]$Path)

$ErrorActionPreference = 'Stop'
# Cmdlets new in 6.x/7.x (the reference's "What's new" pages).
$newCmdlets = @('Get-Error', 'Join-String', 'Test-Json', 'Get-Uptime', 'Remove-Alias', 'Remove-Service',
    'ConvertFrom-Markdown', 'Show-Markdown', 'Get-MarkdownOption', 'Set-MarkdownOption', 'Clear-RecycleBin',
    'Get-PSSubsystem', 'Enable-ExperimentalFeature', 'Disable-ExperimentalFeature', 'Get-ExperimentalFeature',
    'ConvertTo-CliXml', 'ConvertFrom-CliXml', 'Get-SecureRandom')
# Parameters new in 6.x/7.x, by cmdlet (prefixes are matched as PowerShell binds them).
$newParams = @{
    'ForEach-Object'   = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob', 'UseNewRunspace')
    'ConvertFrom-Json' = @('AsHashtable', 'Depth', 'NoEnumerate', 'DateKind')
    'ConvertTo-Json'   = @('AsArray', 'EscapeHandling')
    'Get-Content'      = @('AsByteStream')
    'Set-Content'      = @('AsByteStream', 'NoNewline')
    'Add-Content'      = @('AsByteStream')
    'Start-Sleep'      = @('Duration')
    'Get-Date'         = @('AsUTC', 'UnixTimeSeconds')
    'Sort-Object'      = @('Top', 'Bottom', 'Stable')
    'Split-Path'       = @('Extension', 'LeafBase')
    'Where-Object'     = @('Not')
    'Select-String'    = @('Raw', 'NoEmphasis')
    'Select-Object'    = @('SkipIndex')
    'Test-Connection'  = @('TargetName', 'Ping', 'Repeat', 'TcpPort', 'MtuSize', 'Traceroute')
    'Invoke-WebRequest' = @('SkipCertificateCheck', 'Authentication', 'SslProtocol', 'StatusCodeVariable', 'SkipHeaderValidation', 'Resume')
    'Invoke-RestMethod' = @('SkipCertificateCheck', 'Authentication', 'SslProtocol', 'StatusCodeVariable', 'SkipHeaderValidation', 'ResponseHeadersVariable')
}
$newVariables = @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSStyle', 'EnabledExperimentalFeatures', 'PSNativeCommandArgumentPassing')

foreach ($file in $Path) {
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile((Resolve-Path -LiteralPath $file).Path, [ref]$tokens, [ref]$errors)
    $lines = [System.IO.File]::ReadAllLines((Resolve-Path -LiteralPath $file).Path)
    $report = {
        param($extent, [string]$what)
        $n = $extent.StartLineNumber
        if ($lines[$n - 1] -match '#\s*PS7\+ guarded\s*$') { return }
        '{0}:{1}: {2}' -f (Split-Path -Leaf $file), $n, $what
    }
    foreach ($e in $errors) { & $report $e.Extent "does not parse: $($e.Message)" }
    $nodes = $ast.FindAll({ $true }, $true)
    foreach ($a in $nodes) {
        $type = $a.GetType().Name
        switch ($type) {
            'TernaryExpressionAst' { & $report $a.Extent 'the ternary operator ? : (PowerShell 7.0)' }
            'PipelineChainAst' { & $report $a.Extent "the pipeline chain operator $($a.Operator -replace 'AndAnd','&&' -replace 'OrOr','||') (PowerShell 7.0)" }
            'BinaryExpressionAst' { if ($a.Operator -eq 'QuestionQuestion') { & $report $a.Extent 'the null-coalescing operator ?? (PowerShell 7.0)' } }
            'AssignmentStatementAst' { if ($a.Operator -eq 'QuestionQuestionEquals') { & $report $a.Extent 'the null-coalescing assignment ??= (PowerShell 7.0)' } }
            { $_ -in 'MemberExpressionAst', 'InvokeMemberExpressionAst', 'IndexExpressionAst' } {
                if ($a.NullConditional) { & $report $a.Extent 'a null-conditional ?. or ?[] (PowerShell 7.1)' }
            }
            'ScriptBlockAst' { if ($null -ne $a.CleanBlock) { & $report $a.CleanBlock.Extent 'a clean block (PowerShell 7.3)' } }
            'VariableExpressionAst' {
                if ($a.VariablePath.UserPath -in $newVariables) { & $report $a.Extent "the variable `$$($a.VariablePath.UserPath), which 5.1 lacks" }
            }
            { $_ -in 'StringConstantExpressionAst', 'ExpandableStringExpressionAst' } {
                if ($a.StringConstantType -ne 'BareWord' -and $a.Extent.Text -match '`u\{') { & $report $a.Extent 'the escape `u{…} (PowerShell 6.0)' }
            }
            'ConstantExpressionAst' {
                if ($a.Extent.Text -match '^(0x[0-9a-f]+|[0-9.]+(e[+-]?\d+)?)(u|y|uy|s|us|ul|n)(kb|mb|gb|tb|pb)?$') { & $report $a.Extent "the number suffix of $($a.Extent.Text) (PowerShell 6.2/7.0)" }
                if ($a.Extent.Text -match '^0b[01]+') { & $report $a.Extent "the binary literal $($a.Extent.Text) (PowerShell 7.0)" }
            }
            'CommandAst' {
                $name = $a.GetCommandName()
                if (-not $name) { break }
                $short = ($name -split '\\')[-1]
                if ($short -in $newCmdlets) { & $report $a.Extent "the cmdlet $short, which 5.1 lacks" }
                $params = $newParams[$short]  # a hashtable's keys are case-insensitive
                if ($params) {
                    foreach ($el in $a.CommandElements) {
                        if ($el -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
                        foreach ($p in $params) {
                            if ($p.StartsWith($el.ParameterName, [StringComparison]::OrdinalIgnoreCase) -and $el.ParameterName.Length -ge 2) {
                                & $report $el.Extent "$short -$p, which 5.1 lacks"
                            }
                        }
                    }
                }
            }
        }
    }
}
