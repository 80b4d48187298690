# Writes the lab WMI repository: the seed (seed-repository.json) plus the objects of every
# collection found under the samples directory (schema v1 JSON files), deduplicated by
# namespace + class + key, and the seeded event records with absolute times. Used by setup.sh.
param([Parameter(Mandatory = $true)][string]$OutFile, [string]$SamplesDir = '')

$ErrorActionPreference = 'Stop'
$repository = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText((Join-Path $PSScriptRoot 'seed-repository.json'))) -AsHashtable -DateKind String -Depth 64
$seen = New-Object System.Collections.Generic.HashSet[string] ([StringComparer]::OrdinalIgnoreCase)
function Get-Identity {
    param($Instance)
    $properties = $Instance['properties']
    $key = if ($properties.ContainsKey('Filter')) { "$($properties['Filter'])|$($properties['Consumer'])" } elseif ($properties.ContainsKey('TimerId')) { $properties['TimerId'] } else { $properties['Name'] }
    return ($Instance['namespace'].Replace('/', '\').Trim('\') + '|' + $Instance['className'] + '|' + $key)
}
foreach ($instance in $repository['instances']) { [void]$seen.Add((Get-Identity $instance)) }

$instances = [System.Collections.ArrayList]@($repository['instances'])
$namespaces = [System.Collections.ArrayList]@($repository['namespaces'])
if ($SamplesDir -and (Test-Path -LiteralPath $SamplesDir)) {
    foreach ($file in Get-ChildItem -LiteralPath $SamplesDir -Recurse -Filter '*.json' -File) {
        try { $collection = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($file.FullName)) -AsHashtable -DateKind String -Depth 64 }
        catch { continue }
        if ($collection -isnot [hashtable] -or $collection['schemaVersion'] -ne 1) { continue }
        foreach ($group in @('filters', 'consumers', 'bindings', 'timers')) {
            foreach ($object in @($collection[$group])) {
                $namespace = ([string]$object['namespace']).Replace('/', '\').Trim('\')
                $instance = [ordered]@{ namespace = $namespace; className = $object['className']; properties = $object['properties'] }
                if (-not $seen.Add((Get-Identity $instance))) { continue }
                [void]$instances.Add($instance)
                $parts = $namespace.Split('\')
                for ($i = 1; $i -le $parts.Length; $i++) {
                    $prefix = $parts[0..($i - 1)] -join '\'
                    if (@($namespaces | Where-Object { $_ -ieq $prefix }).Count -eq 0) { [void]$namespaces.Add($prefix) }
                }
            }
        }
        [Console]::Error.WriteLine("[lab] seeded from sample $($file.Name)")
    }
}
# Event records are seeded relative to now (`minutesAgo`), so they fall inside a hunt's look-back.
$seededAt = (Get-Date).ToUniversalTime()
$events = foreach ($entry in @($repository['events'])) {
    if ($null -eq $entry) { continue }
    $time = $seededAt.AddMinutes(-[double]$entry['minutesAgo'])
    $data = $entry['data']
    if ($entry['provider'] -eq 'Microsoft-Windows-Sysmon' -and -not $data.Contains('UtcTime')) {
        $data['UtcTime'] = $time.ToString('yyyy-MM-dd HH:mm:ss.fff', [System.Globalization.CultureInfo]::InvariantCulture)
    }
    [ordered]@{
        channel = $entry['channel']; provider = $entry['provider']; eventId = $entry['eventId']; recordId = $entry['recordId']
        time = $time.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [System.Globalization.CultureInfo]::InvariantCulture); data = $data
    }
}
$repository['events'] = @($events)
$repository['instances'] = $instances.ToArray()
$repository['namespaces'] = $namespaces.ToArray()
[System.IO.File]::WriteAllText($OutFile, (ConvertTo-Json -InputObject $repository -Depth 64))
