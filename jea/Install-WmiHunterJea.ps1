# Installs the wmi-hunter JEA module (with the scripts it runs) and registers the endpoint.
# Run elevated on the Windows host, from a checkout:  .\jea\Install-WmiHunterJea.ps1 -Group 'CONTOSO\wmi-hunter-workers'
param([Parameter(Mandatory = $true)][string]$Group, [string]$Name = 'WmiHunter')
$ErrorActionPreference = 'Stop'
$target = Join-Path $env:ProgramFiles 'WindowsPowerShell\Modules\WmiHunter'
New-Item -ItemType Directory -Force -Path (Join-Path $target 'scripts\lib') | Out-Null
Copy-Item -Recurse -Force (Join-Path $PSScriptRoot 'WmiHunter\*') $target
foreach ($script in 'collect.ps1', 'remove.ps1', 'restore.ps1') { Copy-Item -Force (Join-Path $PSScriptRoot "..\src\powershell\$script") (Join-Path $target 'scripts') }
Copy-Item -Force (Join-Path $PSScriptRoot '..\src\powershell\lib\*.ps1') (Join-Path $target 'scripts\lib')
$config = Join-Path $env:TEMP 'WmiHunter.pssc'
(Get-Content -Raw (Join-Path $PSScriptRoot 'WmiHunter.pssc')).Replace('CONTOSO\wmi-hunter-workers', $Group) | Set-Content -Encoding UTF8 $config
Test-PSSessionConfigurationFile -Path $config | Out-Null
Register-PSSessionConfiguration -Name $Name -Path $config -Force
