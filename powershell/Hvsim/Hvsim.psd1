# The hvsim module: Hyper-V's cmdlets against hvsim's simulated host (docs/powershell.md,
# "The hvsim module"). `Import-Module (hvsim pwsh-module)`.
@{
    RootModule = 'Hvsim.psm1'
    ModuleVersion = '0.1.0'
    GUID = 'b3f0c1d2-6a4e-4f7b-9c2d-5e8a1f3b7c90'
    Author = 'hvsim'
    Description = 'Hyper-V cmdlets (Get-VM, Checkpoint-VM, ...) backed by the hvsim simulator'
    PowerShellVersion = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess = @('Hvsim.format.ps1xml')
    TypesToProcess = @('Hvsim.types.ps1xml')
    FunctionsToExport = @(
        'Get-VMHost', 'Get-VM',
        'New-VM',
        'Remove-VM',
        'Set-VM',
        'Start-VM',
        'Stop-VM',
        'Save-VM',
        'Suspend-VM',
        'Resume-VM',
        'Wait-VM',
        'Export-VM',
        'Import-VM',
        'Checkpoint-VM',
        'Get-VMSnapshot',
        'Restore-VMSnapshot',
        'Remove-VMSnapshot',
        'Rename-VMSnapshot',
        'Export-VMSnapshot',
        'Get-VMHardDiskDrive',
        'Add-VMHardDiskDrive',
        'New-VHD',
        'Get-VHD',
        'Merge-VHD',
        'Get-VMIntegrationService',
        'Enable-VMIntegrationService',
        'Disable-VMIntegrationService'
    )
    AliasesToExport = @(
        'Get-VMCheckpoint',
        'Restore-VMCheckpoint',
        'Remove-VMCheckpoint',
        'Rename-VMCheckpoint',
        'Export-VMCheckpoint'
    )
    CmdletsToExport = @()
    VariablesToExport = @()
}
