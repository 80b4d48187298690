# collect.ps1 - reads every permanent WMI event subscription on this host (collection schema v1).
#
# Parameters: -InputBase64 <base64 of UTF-8 JSON>
#   { "lookbackHours": number >= 0, "maxEvents": integer >= 0, "maxEventBytes": integer > 0 (optional) }
# Output: one JSON document on stdout: the collection (src/domain/collection.ts), or the error
#   envelope of lib/Envelope.ps1.
# Exit codes: 0 ok, 1 script error, 2 bad input, 3 access denied (see lib/Envelope.ps1 and
#   src/powershell/exit-codes.ts). A namespace that denies access is data (errors[]), not a failure.
# Reads: root\__NAMESPACE recursively; in each namespace __EventFilter, __EventConsumer (all
#   subclasses), __FilterToConsumerBinding, __TimerInstruction (all subclasses); the autorecover MOF
#   list; the event logs below; host facts. Changes nothing.
param([Parameter(Mandatory = $true)][string]$InputBase64)

Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# From disk the library is dot-sourced; sent to a remote host, it travels inlined ahead of this line.
if ($PSScriptRoot -and (Test-Path -LiteralPath (Join-Path $PSScriptRoot 'lib'))) {
    foreach ($library in @('CanonicalJson.ps1', 'Envelope.ps1', 'WmiObjects.ps1')) { . (Join-Path (Join-Path $PSScriptRoot 'lib') $library) }
}

$CollectorVersion = '1.0.0'
$DefaultMaxEventBytes = 8MB
$MaxEventFieldChars = 32768
# Most specific first, so that when the bound is hit it is the broad process-creation records that are cut.
$EventQueries = @(
    @{ LogName = 'Microsoft-Windows-Sysmon/Operational'; Id = @(19, 20, 21) },
    @{ LogName = 'Microsoft-Windows-WMI-Activity/Operational'; Id = @(5857, 5858, 5859, 5860, 5861) },
    @{ LogName = 'Microsoft-Windows-PowerShell/Operational'; Id = @(4104, 4103) },
    @{ LogName = 'Windows PowerShell'; Id = @(400, 800) },
    @{ LogName = 'Security'; Id = @(4688, 4662) },
    @{ LogName = 'Microsoft-Windows-Sysmon/Operational'; Id = @(1) }
)
$ObjectClasses = @(
    @{ Kind = 'filter'; ClassName = '__EventFilter' },
    @{ Kind = 'consumer'; ClassName = '__EventConsumer' },
    @{ Kind = 'binding'; ClassName = '__FilterToConsumerBinding' },
    @{ Kind = 'timer'; ClassName = '__TimerInstruction' }
)

function New-NamespaceError {
    param([string]$Namespace, $ErrorRecord)
    $code = 'query-failed'
    if (Test-WmiHunterAccessDenied $ErrorRecord) { $code = 'access-denied' }
    elseif ([string]$ErrorRecord.Exception.Message -match '(?i)invalid namespace') { $code = 'invalid-namespace' }
    $entry = New-WmiHunterMap
    $entry['namespace'] = $Namespace
    $entry['code'] = $code
    $entry['message'] = [string]$ErrorRecord.Exception.Message
    return , $entry
}

function Read-Namespaces {
    param($Result)
    $pending = New-Object System.Collections.Generic.Queue[string]
    $pending.Enqueue('root')
    $seen = New-Object System.Collections.Generic.HashSet[string] ([StringComparer]::OrdinalIgnoreCase)
    while ($pending.Count -gt 0) {
        $namespace = $pending.Dequeue()
        if (-not $seen.Add($namespace)) { continue }
        $Result.namespaces.Add($namespace)
        try {
            foreach ($child in @(Get-CimInstance -Namespace $namespace -ClassName '__NAMESPACE' -ErrorAction Stop)) {
                $name = [string]($child.CimInstanceProperties | Where-Object { $_.Name -eq 'Name' } | Select-Object -First 1).Value
                if ($name) { $pending.Enqueue($namespace + '\' + $name) }
            }
        }
        catch {
            [void]$Result.errors.Add((New-NamespaceError $namespace $_))
            continue
        }
        Read-SubscriptionObjects -Namespace $namespace -Result $Result
    }
}

function Read-SubscriptionObjects {
    param([string]$Namespace, $Result)
    foreach ($objectClass in $ObjectClasses) {
        try { $instances = @(Get-CimInstance -Namespace $Namespace -ClassName $objectClass.ClassName -ErrorAction Stop) }
        catch {
            # A namespace without the subscription classes (or one that refuses the query) is recorded once.
            [void]$Result.errors.Add((New-NamespaceError $Namespace $_))
            return
        }
        foreach ($instance in $instances) {
            $record = ConvertTo-WmiHunterObjectRecord $instance $Namespace
            [void]$Result[$objectClass.Kind].Add($record)
        }
    }
}

function Read-Autorecover {
    $entries = foreach ($path in (Get-WmiHunterAutorecoverList)) {
        $entry = New-WmiHunterMap
        $entry['path'] = $path
        $hash = $null
        try { $hash = Get-WmiHunterFileSha256 $path } catch { $hash = $null }
        $entry['present'] = $null -ne $hash
        $entry['sha256'] = $hash
        , $entry
    }
    return , @($entries)
}

function ConvertTo-EventRecord {
    param($LogRecord)
    $data = New-WmiHunterMap
    [xml]$xml = $LogRecord.ToXml()
    $root = $xml.DocumentElement
    $eventData = $root.ChildNodes | Where-Object { $_.LocalName -eq 'EventData' } | Select-Object -First 1
    $userData = $root.ChildNodes | Where-Object { $_.LocalName -eq 'UserData' } | Select-Object -First 1
    if ($null -ne $eventData) {
        $index = 0
        foreach ($node in @($eventData.ChildNodes | Where-Object { $_.NodeType -eq 'Element' })) {
            $name = $node.GetAttribute('Name')
            if (-not $name) { $name = 'Data' + $index }
            $data[$name] = Limit-Text $node.InnerText
            $index++
        }
    }
    elseif ($null -ne $userData) {
        foreach ($node in @($userData.SelectNodes('.//*[not(*)]'))) { $data[$node.LocalName] = Limit-Text $node.InnerText }
    }
    $record = New-WmiHunterMap
    $record['host'] = [string]$LogRecord.MachineName
    $record['channel'] = [string]$LogRecord.LogName
    $record['provider'] = [string]$LogRecord.ProviderName
    $record['eventId'] = [long]$LogRecord.Id
    $record['recordId'] = if ($null -ne $LogRecord.RecordId) { [long]$LogRecord.RecordId } else { $null }
    $record['time'] = ([datetime]$LogRecord.TimeCreated).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [System.Globalization.CultureInfo]::InvariantCulture)
    $record['data'] = $data
    return , $record
}

function Limit-Text {
    param([string]$Text)
    if ($Text.Length -le $MaxEventFieldChars) { return $Text }
    return $Text.Substring(0, $MaxEventFieldChars)
}

function Read-Events {
    param([double]$LookbackHours, [long]$MaxEvents, [long]$MaxBytes, $Result)
    if ($LookbackHours -le 0 -or $MaxEvents -le 0) { return }
    $since = (Get-Date).AddHours(-$LookbackHours)
    $bytes = [long]0
    foreach ($query in $EventQueries) {
        $remaining = $MaxEvents - $Result.events.Count
        if ($remaining -le 0) { $Result.eventsTruncated = $true; return }
        $filter = @{ LogName = $query.LogName; Id = $query.Id; StartTime = $since }
        try { $events = @(Get-WinEvent -FilterHashtable $filter -MaxEvents ($remaining + 1) -ErrorAction Stop) }
        catch { continue } # a channel that is absent, disabled or empty has nothing to give
        if ($events.Count -gt $remaining) { $Result.eventsTruncated = $true; $events = $events[0..($remaining - 1)] }
        foreach ($logRecord in $events) {
            $record = ConvertTo-EventRecord $logRecord
            $size = (ConvertTo-WmiHunterOutputJson $record).Length
            if ($bytes + $size -gt $MaxBytes) { $Result.eventsTruncated = $true; return }
            $bytes += $size
            [void]$Result.events.Add($record)
        }
    }
}

function Get-HostFacts {
    $facts = New-WmiHunterMap
    $name = Get-WmiHunterHostName
    $facts['name'] = $name
    $facts['fqdn'] = $null
    try { $facts['fqdn'] = [System.Net.Dns]::GetHostEntry($name).HostName } catch { $facts['fqdn'] = $null }
    $facts['osBuild'] = [Environment]::OSVersion.Version.ToString()
    try {
        $os = @(Get-CimInstance -Namespace 'root\cimv2' -ClassName 'Win32_OperatingSystem' -ErrorAction Stop) | Select-Object -First 1
        if ($null -ne $os) { $facts['osBuild'] = [string]($os.CimInstanceProperties | Where-Object { $_.Name -eq 'Version' } | Select-Object -First 1).Value }
    }
    catch { $facts['osBuild'] = $facts['osBuild'] }
    $facts['powershellVersion'] = $PSVersionTable.PSVersion.ToString()
    $facts['sysmon'] = Get-SysmonFacts
    $facts['wmiActivityLogEnabled'] = $null
    try { $facts['wmiActivityLogEnabled'] = [bool](Get-WinEvent -ListLog 'Microsoft-Windows-WMI-Activity/Operational' -ErrorAction Stop).IsEnabled } catch { $facts['wmiActivityLogEnabled'] = $null }
    return , $facts
}

function Get-SysmonFacts {
    $sysmon = New-WmiHunterMap
    $sysmon['present'] = $false
    $sysmon['version'] = $null
    try {
        $services = @(Get-CimInstance -Namespace 'root\cimv2' -ClassName 'Win32_Service' -ErrorAction Stop |
            Where-Object { [string]($_.CimInstanceProperties | Where-Object { $_.Name -eq 'Name' }).Value -like 'Sysmon*' })
    }
    catch { return , $sysmon }
    if ($services.Count -eq 0) { return , $sysmon }
    $sysmon['present'] = $true
    $path = [string]($services[0].CimInstanceProperties | Where-Object { $_.Name -eq 'PathName' }).Value
    $path = $path.Trim('"')
    if ($path -and (Test-Path -LiteralPath $path -PathType Leaf)) { $sysmon['version'] = [string](Get-Item -LiteralPath $path).VersionInfo.FileVersion }
    return , $sysmon
}

function Invoke-Collect {
    param([System.Collections.IDictionary]$Request)
    $lookbackHours = [double](Get-WmiHunterRequired $Request 'lookbackHours' 'number')
    $maxEvents = [long](Get-WmiHunterRequired $Request 'maxEvents' 'integer')
    if ($lookbackHours -lt 0 -or $maxEvents -lt 0) { throw (New-WmiHunterFailure 'bad-input' 'lookbackHours and maxEvents must not be negative') }
    $maxBytes = [long]$DefaultMaxEventBytes
    if ($Request.Contains('maxEventBytes')) { $maxBytes = [long](Get-WmiHunterRequired $Request 'maxEventBytes' 'integer') }

    $result = @{
        namespaces = New-Object System.Collections.Generic.List[string]
        errors = New-Object System.Collections.ArrayList
        filter = New-Object System.Collections.ArrayList
        consumer = New-Object System.Collections.ArrayList
        binding = New-Object System.Collections.ArrayList
        timer = New-Object System.Collections.ArrayList
        events = New-Object System.Collections.ArrayList
        eventsTruncated = $false
    }
    Read-Namespaces -Result $result
    Read-Events -LookbackHours $lookbackHours -MaxEvents $maxEvents -MaxBytes $maxBytes -Result $result

    $collector = New-WmiHunterMap
    $collector['name'] = 'wmi-hunter-collect'
    $collector['version'] = $CollectorVersion
    $collection = New-WmiHunterMap
    $collection['schemaVersion'] = 1
    $collection['host'] = Get-HostFacts
    $collection['collectedAt'] = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [System.Globalization.CultureInfo]::InvariantCulture)
    $collection['collector'] = $collector
    $collection['namespaces'] = $result.namespaces.ToArray()
    $collection['filters'] = $result.filter.ToArray()
    $collection['consumers'] = $result.consumer.ToArray()
    $collection['bindings'] = $result.binding.ToArray()
    $collection['timers'] = $result.timer.ToArray()
    $collection['errors'] = $result.errors.ToArray()
    $collection['autorecoverMofs'] = Read-Autorecover
    $collection['events'] = $result.events.ToArray()
    $collection['eventsTruncated'] = $result.eventsTruncated
    $collection['lookbackHours'] = if ($lookbackHours -gt 0) { $lookbackHours } else { $null }
    return , $collection
}

Invoke-WmiHunterMain -InputBase64 $InputBase64 -Body ${function:Invoke-Collect}
exit $script:WmiHunterExitCode
