# JEA module: the only commands a wmi-hunter JEA endpoint exposes. Each runs the project's script
# (copied beside this module under scripts/ by jea/Install-WmiHunterJea.ps1) with its one base64 argument.
$script:ScriptsRoot = Join-Path $PSScriptRoot 'scripts'

function Invoke-WmiHunterCollect { param([Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9+/]+={0,2}$')][string]$InputBase64) & (Join-Path $script:ScriptsRoot 'collect.ps1') -InputBase64 $InputBase64 }
function Invoke-WmiHunterRemove { param([Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9+/]+={0,2}$')][string]$InputBase64) & (Join-Path $script:ScriptsRoot 'remove.ps1') -InputBase64 $InputBase64 }
function Invoke-WmiHunterRestore { param([Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9+/]+={0,2}$')][string]$InputBase64) & (Join-Path $script:ScriptsRoot 'restore.ps1') -InputBase64 $InputBase64 }

Export-ModuleMember -Function Invoke-WmiHunterCollect, Invoke-WmiHunterRemove, Invoke-WmiHunterRestore
