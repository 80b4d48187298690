@{
    RootModule = 'WmiHunter.psm1'
    ModuleVersion = '1.0.0'
    GUID = '0c6f3f55-8a51-4f0e-b1e7-2d8a7c4e9b12'
    Description = 'wmi-hunter JEA commands: collect, remove, restore WMI event subscriptions'
    PowerShellVersion = '5.1'
    FunctionsToExport = @('Invoke-WmiHunterCollect', 'Invoke-WmiHunterRemove', 'Invoke-WmiHunterRestore')
    CmdletsToExport = @()
    VariablesToExport = @()
    AliasesToExport = @()
}
