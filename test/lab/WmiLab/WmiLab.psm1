# Emulates the CIM cmdlets the wmi-hunter scripts call, over a repository kept in a JSON file
# ($env:WMI_LAB_REPO; format in test/lab/README.md). Instances come back shaped like CimInstances
# (CimSystemProperties, CimInstanceProperties with Key flags) so the real scripts run unchanged.

$script:BaseClasses = @{
    ActiveScriptEventConsumer = '__EventConsumer'; CommandLineEventConsumer = '__EventConsumer'
    LogFileEventConsumer = '__EventConsumer'; NTEventLogEventConsumer = '__EventConsumer'; SMTPEventConsumer = '__EventConsumer'
    __IntervalTimerInstruction = '__TimerInstruction'; __AbsoluteTimerInstruction = '__TimerInstruction'
}
$script:KeyProperties = @{ __FilterToConsumerBinding = @('Filter', 'Consumer'); __IntervalTimerInstruction = @('TimerId'); __AbsoluteTimerInstruction = @('TimerId') }

function Get-LabRepositoryPath {
    if ($env:WMI_LAB_REPO) { return $env:WMI_LAB_REPO }
    return Join-Path $HOME 'repository.json'
}

function Read-LabRepository {
    $text = [System.IO.File]::ReadAllText((Get-LabRepositoryPath))
    return ConvertFrom-Json -InputObject $text -AsHashtable -DateKind String -Depth 64
}

function Save-LabRepository {
    param($Repository)
    $path = Get-LabRepositoryPath
    $temporary = "$path.$PID.tmp"
    [System.IO.File]::WriteAllText($temporary, (ConvertTo-Json -InputObject $Repository -Depth 64))
    # rename(2): readers see the old file or the new one, never none (Move-Item -Force deletes first).
    [System.IO.File]::Move($temporary, $path, $true)
}

function ConvertTo-LabNamespace { param([string]$Namespace) return $Namespace.Replace('/', '\').Trim('\').ToLowerInvariant() }

function Get-LabKeyNames {
    param([string]$ClassName)
    if ($script:KeyProperties.ContainsKey($ClassName)) { return $script:KeyProperties[$ClassName] }
    return @('Name')
}

function Test-LabIsA {
    param($Repository, [string]$ClassName, [string]$Wanted)
    $current = $ClassName
    while ($current) {
        if ($current -eq $Wanted) { return $true }
        $next = $null
        if ($Repository.ContainsKey('classes') -and $Repository['classes'].ContainsKey($current)) { $next = $Repository['classes'][$current] }
        elseif ($script:BaseClasses.ContainsKey($current)) { $next = $script:BaseClasses[$current] }
        $current = $next
    }
    return $false
}

function New-LabInstanceView {
    param([string]$Namespace, [string]$ClassName, $Properties)
    $keys = Get-LabKeyNames $ClassName
    $cimProperties = foreach ($name in @($Properties.Keys)) {
        $flags = if ($keys -contains $name) { 'Property, Key' } else { 'Property' }
        [pscustomobject]@{ Name = $name; Value = $Properties[$name]; CimType = 'Unknown'; Flags = $flags }
    }
    return [pscustomobject]@{
        CimSystemProperties = [pscustomobject]@{ ClassName = $ClassName; Namespace = $Namespace.Replace('\', '/'); ServerName = 'WMILAB'; Path = $null }
        CimInstanceProperties = @($cimProperties)
    }
}

function Assert-LabNamespace {
    param($Repository, [string]$Namespace)
    $normalized = ConvertTo-LabNamespace $Namespace
    if (@($Repository['deniedNamespaces'] | ForEach-Object { ConvertTo-LabNamespace $_ }) -contains $normalized) {
        $exception = New-Object System.UnauthorizedAccessException "Access denied to namespace $Namespace"
        throw (New-Object System.Management.Automation.ErrorRecord $exception, 'HRESULT 0x80041003', ([System.Management.Automation.ErrorCategory]::PermissionDenied), $Namespace)
    }
    if (@($Repository['namespaces'] | ForEach-Object { ConvertTo-LabNamespace $_ }) -notcontains $normalized) {
        $exception = New-Object System.ArgumentException "Invalid namespace $Namespace"
        throw (New-Object System.Management.Automation.ErrorRecord $exception, 'HRESULT 0x8004100e', ([System.Management.Automation.ErrorCategory]::ObjectNotFound), $Namespace)
    }
}

function Test-LabSameInstance {
    param($Stored, [string]$Namespace, [string]$ClassName, $Properties)
    if ((ConvertTo-LabNamespace $Stored['namespace']) -ne (ConvertTo-LabNamespace $Namespace) -or $Stored['className'] -ne $ClassName) { return $false }
    foreach ($key in (Get-LabKeyNames $ClassName)) {
        if ([string]$Stored['properties'][$key] -ne [string]$Properties[$key]) { return $false }
    }
    return $true
}

function Get-CimInstance {
    [CmdletBinding()]
    param([string]$Namespace = 'root\cimv2', [Parameter(Mandatory = $true)][string]$ClassName)
    $repository = Read-LabRepository
    Assert-LabNamespace $repository $Namespace
    $normalized = ConvertTo-LabNamespace $Namespace
    if ($ClassName -eq '__NAMESPACE') {
        foreach ($candidate in @($repository['namespaces'])) {
            $child = ConvertTo-LabNamespace $candidate
            if ($child.StartsWith($normalized + '\') -and -not $child.Substring($normalized.Length + 1).Contains('\')) {
                $name = ([string]$candidate).Replace('/', '\').Split('\')[-1]
                New-LabInstanceView $Namespace '__NAMESPACE' ([ordered]@{ Name = $name })
            }
        }
        return
    }
    foreach ($instance in @($repository['instances'])) {
        if ((ConvertTo-LabNamespace $instance['namespace']) -ne $normalized) { continue }
        if (-not (Test-LabIsA $repository $instance['className'] $ClassName)) { continue }
        New-LabInstanceView $instance['namespace'] $instance['className'] $instance['properties']
    }
}

function Remove-CimInstance {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true)]$InputObject)
    $repository = Read-LabRepository
    $namespace = [string]$InputObject.CimSystemProperties.Namespace
    Assert-LabNamespace $repository $namespace
    $className = [string]$InputObject.CimSystemProperties.ClassName
    $properties = @{}
    foreach ($property in $InputObject.CimInstanceProperties) { $properties[$property.Name] = $property.Value }
    $kept = @($repository['instances'] | Where-Object { -not (Test-LabSameInstance $_ $namespace $className $properties) })
    if ($kept.Count -eq @($repository['instances']).Count) { throw "Not found: $className in $namespace" }
    $repository['instances'] = $kept
    Save-LabRepository $repository
}

function New-CimInstance {
    [CmdletBinding()]
    param([string]$Namespace = 'root\cimv2', [Parameter(Mandatory = $true)][string]$ClassName, [System.Collections.IDictionary]$Property = @{})
    $repository = Read-LabRepository
    Assert-LabNamespace $repository $Namespace
    $properties = [ordered]@{}
    foreach ($name in @($Property.Keys)) {
        $value = $Property[$name]
        if ($null -ne $value -and $null -ne $value.PSObject.Properties['CimSystemProperties']) {
            # A reference given as an instance is stored as the object path WMI would report.
            $key = @($value.CimInstanceProperties | Where-Object { $_.Name -eq 'Name' })[0].Value
            $path = $value.CimSystemProperties.ClassName + '.Name="' + ([string]$key).Replace('\', '\\').Replace('"', '\"') + '"'
            # An instance in another namespace is named by its full path, as WMI reports it.
            $referenced = ([string]$value.CimSystemProperties.Namespace).Replace('/', '\')
            if ((ConvertTo-LabNamespace $referenced) -ne (ConvertTo-LabNamespace $Namespace)) { $path = '\\.\' + $referenced.Trim('\') + ':' + $path }
            $value = $path
        }
        $properties[$name] = $value
    }
    foreach ($existing in @($repository['instances'])) {
        if (Test-LabSameInstance $existing $Namespace $ClassName $properties) { throw "Already exists: $ClassName in $Namespace" }
    }
    $repository['instances'] = @($repository['instances']) + @([ordered]@{ namespace = $Namespace; className = $ClassName; properties = $properties })
    Save-LabRepository $repository
    New-LabInstanceView $Namespace $ClassName $properties
}

function Get-LabComputerName {
    if ($env:COMPUTERNAME) { return $env:COMPUTERNAME }
    return [Environment]::MachineName
}

function ConvertTo-LabEventXml {
    param($Entry, [string]$Computer)
    $escape = { param([string]$Text) [System.Security.SecurityElement]::Escape($Text) }
    $data = foreach ($name in @($Entry['data'].Keys)) { '<Data Name="' + (& $escape $name) + '">' + (& $escape ([string]$Entry['data'][$name])) + '</Data>' }
    return '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>' +
        '<Provider Name="' + (& $escape $Entry['provider']) + '"/><EventID>' + $Entry['eventId'] + '</EventID>' +
        '<TimeCreated SystemTime="' + $Entry['time'] + '"/><EventRecordID>' + $Entry['recordId'] + '</EventRecordID>' +
        '<Channel>' + (& $escape $Entry['channel']) + '</Channel><Computer>' + (& $escape $Computer) + '</Computer></System>' +
        '<EventData>' + ($data -join '') + '</EventData></Event>'
}

# Emulates the two forms the collector uses: -FilterHashtable (LogName, Id, StartTime) with
# -MaxEvents, newest first, and -ListLog. Records come from the repository's `events`; like the real
# cmdlet, a query that matches nothing throws.
function Get-WinEvent {
    [CmdletBinding()]
    param([hashtable]$FilterHashtable, [long]$MaxEvents = [int]::MaxValue, [string]$ListLog)
    $repository = Read-LabRepository
    $events = @(if ($repository.ContainsKey('events')) { $repository['events'] })
    if ($ListLog) {
        return [pscustomobject]@{ LogName = $ListLog; IsEnabled = $true; RecordCount = @($events | Where-Object { $_['channel'] -eq $ListLog }).Count }
    }
    $ids = @($FilterHashtable['Id'] | ForEach-Object { [long]$_ })
    $since = if ($FilterHashtable.ContainsKey('StartTime')) { ([datetime]$FilterHashtable['StartTime']).ToUniversalTime() } else { [datetime]::MinValue }
    $computer = Get-LabComputerName
    $matched = @($events | Where-Object {
            $_['channel'] -eq $FilterHashtable['LogName'] -and ($ids.Count -eq 0 -or $ids -contains [long]$_['eventId']) -and
            [datetime]::Parse($_['time'], [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal) -ge $since
        } | Sort-Object { $_['time'] } -Descending | Select-Object -First ([int][Math]::Min($MaxEvents, [int]::MaxValue)))
    if ($matched.Count -eq 0) { throw 'No events were found that match the specified selection criteria.' }
    foreach ($entry in $matched) {
        $record = [pscustomobject]@{
            MachineName = $computer; LogName = $entry['channel']; ProviderName = $entry['provider']; Id = [long]$entry['eventId']; RecordId = [long]$entry['recordId']
            TimeCreated = [datetime]::Parse($entry['time'], [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal)
        }
        $xml = ConvertTo-LabEventXml $entry $computer
        Add-Member -InputObject $record -MemberType ScriptMethod -Name ToXml -Value ([scriptblock]::Create("'" + $xml.Replace("'", "''") + "'"))
        $record
    }
}

Export-ModuleMember -Function Get-CimInstance, New-CimInstance, Remove-CimInstance, Get-WinEvent
