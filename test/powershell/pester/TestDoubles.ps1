# Test doubles for the Pester suites: stand-ins for the CIM / event-log cmdlets Linux pwsh lacks
# (so Mock has a command to replace), instance-shaped objects, and an in-memory repository.

function global:Get-CimInstance { param([string]$Namespace, [string]$ClassName, [string]$Filter) throw 'Get-CimInstance stub: mock it' }
function global:Remove-CimInstance { param($InputObject) throw 'Remove-CimInstance stub: mock it' }
function global:New-CimInstance { param([string]$Namespace, [string]$ClassName, [System.Collections.IDictionary]$Property) throw 'New-CimInstance stub: mock it' }
if (-not (Get-Command Get-WinEvent -ErrorAction SilentlyContinue)) {
    function global:Get-WinEvent { param([hashtable]$FilterHashtable, [long]$MaxEvents, [string]$ListLog) throw 'Get-WinEvent stub: mock it' }
}

function New-FakeInstance {
    param([string]$Namespace, [string]$ClassName, [System.Collections.IDictionary]$Properties, [string[]]$Keys = @('Name'))
    $cimProperties = foreach ($name in @($Properties.Keys)) {
        $flags = if ($Keys -contains $name) { 'Property, Key' } else { 'Property' }
        [pscustomobject]@{ Name = $name; Value = $Properties[$name]; CimType = 'Unknown'; Flags = $flags }
    }
    [pscustomobject]@{
        CimSystemProperties = [pscustomobject]@{ ClassName = $ClassName; Namespace = $Namespace; ServerName = 'TESTHOST'; Path = $null }
        CimInstanceProperties = @($cimProperties)
    }
}

function ConvertTo-TestArgument { param($Value) [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -InputObject $Value -Depth 20 -Compress))) }

function Invoke-TestScript {
    param([string]$Name, $Argument)
    $encoded = if ($Argument -is [string]) { $Argument } else { ConvertTo-TestArgument $Argument }
    $output = & (Join-Path $PSScriptRoot "../../../src/powershell/$Name.ps1") -InputBase64 $encoded
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = [string]$output; Document = (ConvertFrom-Json -InputObject ([string]$output) -Depth 64 -DateKind String) }
}

# A repository the CIM mocks read and change: a list of @{ Namespace; Instance; Kind }.
function New-TestRepository { , (New-Object System.Collections.ArrayList) }

function Add-TestObject {
    param($Repository, [string]$Namespace, [string]$ClassName, [System.Collections.IDictionary]$Properties, [string[]]$Keys = @('Name'))
    [void]$Repository.Add((New-FakeInstance $Namespace $ClassName $Properties $Keys))
}

function Get-TestBaseClass {
    param([string]$ClassName)
    $bases = @{
    ActiveScriptEventConsumer = '__EventConsumer'; CommandLineEventConsumer = '__EventConsumer'; LogFileEventConsumer = '__EventConsumer'
    NTEventLogEventConsumer = '__EventConsumer'; SMTPEventConsumer = '__EventConsumer'; Custom_Consumer = '__EventConsumer'
    __IntervalTimerInstruction = '__TimerInstruction'; __AbsoluteTimerInstruction = '__TimerInstruction'
    }
    return $bases[$ClassName]
}

# Mock bodies run in the scope of the script under test, so test state is read by plain name
# (found up the call stack), never through $script:.
function Get-TestInstances {
    param($Repository, [string]$Namespace, [string]$ClassName)
    foreach ($instance in $Repository) {
        $class = $instance.CimSystemProperties.ClassName
        if ($instance.CimSystemProperties.Namespace -ne $Namespace) { continue }
        if ($class -eq $ClassName -or (Get-TestBaseClass $class) -eq $ClassName) { $instance }
    }
}
