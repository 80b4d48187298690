@{
    # Test-only emulation of a WMI repository for the SSH lab host (test/lab/README.md). Not part of
    # the product: it stands in for the CIM cmdlets and Get-WinEvent that Linux pwsh lacks.
    RootModule = 'WmiLab.psm1'
    ModuleVersion = '1.0.0'
    GUID = '5b0e7f0c-3d2a-4f63-9a55-6f1c2b8d9e41'
    Author = 'wmi-hunter tests'
    Description = 'Emulated WMI repository (JSON file) for the wmi-hunter SSH lab host'
    PowerShellVersion = '7.0'
    FunctionsToExport = @('Get-CimInstance', 'New-CimInstance', 'Remove-CimInstance', 'Get-WinEvent')
    CmdletsToExport = @()
    VariablesToExport = @()
    AliasesToExport = @()
}
