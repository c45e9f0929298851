# `hvsim run --pwsh` puts this folder's parent first on PSModulePath: the script's Hyper-V cmdlets
# (auto-loaded on first use, or `Import-Module Hyper-V`) are then the hvsim module's.
@{
    RootModule = '../../Hvsim/Hvsim.psm1'
    ModuleVersion = '0.1.0'
    GUID = 'c4a1d2e3-7b5f-4a8c-8d3e-6f9b2a4c8d01'
    Author = 'hvsim'
    Description = 'Hyper-V cmdlets backed by the hvsim simulator (hvsim run --pwsh)'
    PowerShellVersion = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess = @('../../Hvsim/Hvsim.format.ps1xml')
    TypesToProcess = @('../../Hvsim/Hvsim.types.ps1xml')
    FunctionsToExport = @(
        'Get-VMHost', 'Get-VM', 'New-VM', 'Remove-VM', 'Set-VM', 'Start-VM', 'Stop-VM', 'Save-VM', 'Suspend-VM', 'Resume-VM', 'Wait-VM', 'Export-VM', 'Import-VM',
        'Checkpoint-VM', 'Get-VMSnapshot', 'Restore-VMSnapshot', 'Remove-VMSnapshot', 'Rename-VMSnapshot', 'Export-VMSnapshot',
        'Get-VMHardDiskDrive', 'Add-VMHardDiskDrive', 'New-VHD', 'Get-VHD', 'Merge-VHD',
        'Get-VMIntegrationService', 'Enable-VMIntegrationService', 'Disable-VMIntegrationService'
    )
    AliasesToExport = @('Get-VMCheckpoint', 'Restore-VMCheckpoint', 'Remove-VMCheckpoint', 'Rename-VMCheckpoint', 'Export-VMCheckpoint')
    CmdletsToExport = @()
    VariablesToExport = @()
}
