# remove.ps1 - removes approved WMI subscription objects, only when unchanged, after backing them up.
#
# Parameters: -InputBase64 <base64 of UTF-8 JSON>
#   { "host": string, "approvalId": string,
#     "targets": [ { "kind": "filter"|"consumer"|"binding"|"timer", "namespace": string,
#                    "className": string, "key": string, "contentHash": sha256 hex } ] }
# Output: one JSON document on stdout: RemovalResult (src/domain/ports.ts), or the error envelope
#   of lib/Envelope.ps1.
# Exit codes: 0 ok (per-object outcomes are in results[]), 1 script error, 2 bad input,
#   3 access denied (see src/powershell/exit-codes.ts).
# Steps: read each target and recompute its content hash (skip it, saying why, when it changed or
#   vanished); back every remaining object up (all properties + MOF); remove binding, then consumer,
#   then filter, then timer; drop autorecover MOF entries that would recreate a removed object;
#   re-read to verify. Objects are found by enumerating their class and comparing keys in
#   PowerShell: no key text ever becomes part of a query.
param([Parameter(Mandatory = $true)][string]$InputBase64)

Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# From disk the library is dot-sourced; sent to a remote host, it travels inlined ahead of this line.
if ($PSScriptRoot -and (Test-Path -LiteralPath (Join-Path $PSScriptRoot 'lib'))) {
    foreach ($library in @('CanonicalJson.ps1', 'Envelope.ps1', 'WmiObjects.ps1')) { . (Join-Path (Join-Path $PSScriptRoot 'lib') $library) }
}

function Read-Targets {
    param([System.Collections.IDictionary]$Request)
    $targets = foreach ($target in (Get-WmiHunterRequired $Request 'targets' 'array')) {
        if ($target -isnot [System.Collections.IDictionary]) { throw (New-WmiHunterFailure 'bad-input' 'each target must be an object') }
        foreach ($field in @('kind', 'namespace', 'className', 'key', 'contentHash')) { [void](Get-WmiHunterRequired $target $field 'string') }
        if ($script:WmiHunterKindOrder -notcontains $target['kind']) { throw (New-WmiHunterFailure 'bad-input' "unknown object kind $(ConvertTo-WmiHunterJsonString $target['kind'])") }
        if ($target['contentHash'] -cnotmatch '^[0-9a-f]{64}$') { throw (New-WmiHunterFailure 'bad-input' 'contentHash must be a lower-case SHA-256 hex digest') }
        , $target
    }
    return , @($targets)
}

function New-Outcome {
    param($Target, [string]$Status, [string]$Message, $CurrentHash)
    $outcome = New-WmiHunterMap
    $outcome['target'] = $Target
    $outcome['status'] = $Status
    $outcome['message'] = $Message
    $outcome['currentHash'] = $CurrentHash
    return , $outcome
}

function New-BackedUpObject {
    param($Target, $Record)
    $backedUp = New-WmiHunterMap
    foreach ($field in @('kind', 'namespace', 'className', 'key', 'contentHash')) { $backedUp[$field] = $Target[$field] }
    $backedUp['properties'] = $Record['properties']
    $backedUp['creatorSid'] = $Record['creatorSid']
    return , $backedUp
}

function Get-FailureText {
    param($ErrorRecord)
    if (Test-WmiHunterAccessDenied $ErrorRecord) { return "access denied: $($ErrorRecord.Exception.Message)" }
    return [string]$ErrorRecord.Exception.Message
}

# Whether an autorecover MOF would create this object again when WMI rebuilds its repository.
function Test-MofRecreates {
    param([string]$MofText, $BackedUp)
    if ($MofText -notmatch ('(?i)instance\s+of\s+' + [regex]::Escape([string]$BackedUp['className']) + '\b')) { return $false }
    $names = @()
    if ($BackedUp['kind'] -eq 'binding') {
        foreach ($path in @($BackedUp['properties']['Filter'], $BackedUp['properties']['Consumer'])) {
            if ([string]$path -match 'Name="((?:[^"\\]|\\.)*)"') { $names += ($Matches[1] -replace '\\(.)', '$1') }
        }
    }
    else { $names = @([string]$BackedUp['key']) }
    foreach ($name in $names) {
        if (-not $name) { continue }
        if ($MofText.Contains((ConvertTo-WmiHunterMofString $name)) -or $MofText.Contains('"' + $name.Replace('\', '\\').Replace('"', '\"') + '"')) { return $true }
    }
    return $false
}

function Remove-AutorecoverEntries {
    param([object[]]$Removed)
    $entries = Get-WmiHunterAutorecoverList
    $dropped = New-Object System.Collections.Generic.List[string]
    foreach ($entry in $entries) {
        $path = [Environment]::ExpandEnvironmentVariables($entry)
        if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { continue }
        $text = [string](Get-Content -LiteralPath $path -Raw)
        foreach ($backedUp in $Removed) {
            if (Test-MofRecreates $text $backedUp) { $dropped.Add($entry); break }
        }
    }
    if ($dropped.Count -gt 0) {
        $kept = [string[]]@($entries | Where-Object { $dropped -notcontains $_ })
        Set-WmiHunterAutorecoverList $kept
    }
    return , $dropped.ToArray()
}

function Invoke-Remove {
    param([System.Collections.IDictionary]$Request)
    $hostName = [string](Get-WmiHunterRequired $Request 'host' 'string')
    [void](Get-WmiHunterRequired $Request 'approvalId' 'string')
    $targets = Read-Targets $Request

    $outcomes = New-Object System.Collections.ArrayList
    $candidates = New-Object System.Collections.ArrayList
    foreach ($target in $targets) {
        try { $found = Find-WmiHunterObject $target['kind'] $target['namespace'] $target['className'] $target['key'] }
        catch { [void]$outcomes.Add((New-Outcome $target 'failed' ('could not read it: ' + (Get-FailureText $_)) $null)); continue }
        if ($null -eq $found) { [void]$outcomes.Add((New-Outcome $target 'skipped-missing' 'not found on the host: nothing to remove' $null)); continue }
        $currentHash = $found.Record['contentHash']
        if ($currentHash -ne $target['contentHash']) {
            [void]$outcomes.Add((New-Outcome $target 'skipped-changed' 'its content changed since it was approved: not removed' $currentHash))
            continue
        }
        $backedUp = New-BackedUpObject $target $found.Record
        try { [void](ConvertTo-WmiHunterMof -Objects @($backedUp) -Comment 'probe') }
        catch { [void]$outcomes.Add((New-Outcome $target 'failed' ('cannot be backed up, so not removed: ' + $_.Exception.Message) $currentHash)); continue }
        [void]$candidates.Add([pscustomobject]@{ Target = $target; Instance = $found.Instance; BackedUp = $backedUp })
    }

    $takenAt = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [System.Globalization.CultureInfo]::InvariantCulture)
    $backupObjects = @($candidates | ForEach-Object { , $_.BackedUp })
    $backup = New-WmiHunterMap
    $backup['host'] = $hostName
    $backup['takenAt'] = $takenAt
    $backup['objects'] = $backupObjects
    $backup['mof'] = ConvertTo-WmiHunterMof -Objects $backupObjects -Comment ("wmi-hunter backup of $($backupObjects.Count) object(s) taken $takenAt")
    $backup['autorecoverEntries'] = @()

    $removed = New-Object System.Collections.ArrayList
    foreach ($kind in $script:WmiHunterKindOrder) {
        foreach ($candidate in @($candidates | Where-Object { $_.Target['kind'] -eq $kind })) {
            try {
                Remove-CimInstance -InputObject $candidate.Instance -ErrorAction Stop
                [void]$removed.Add($candidate)
            }
            catch { [void]$outcomes.Add((New-Outcome $candidate.Target 'failed' ('removal failed: ' + (Get-FailureText $_)) $candidate.BackedUp['contentHash'])) }
        }
    }

    $autorecoverRemoved = @()
    if ($removed.Count -gt 0) {
        $autorecoverRemoved = Remove-AutorecoverEntries -Removed @($removed | ForEach-Object { , $_.BackedUp })
        $backup['autorecoverEntries'] = $autorecoverRemoved
    }

    $verified = $true
    foreach ($candidate in $removed) {
        $target = $candidate.Target
        $still = $null
        try { $still = Find-WmiHunterObject $target['kind'] $target['namespace'] $target['className'] $target['key'] }
        catch { $still = $_ }
        if ($null -eq $still) {
            [void]$outcomes.Add((New-Outcome $target 'removed' 'backed up, removed, and verified gone' $target['contentHash']))
        }
        else {
            $verified = $false
            $why = if ($still -is [System.Management.Automation.ErrorRecord]) { 're-read failed: ' + (Get-FailureText $still) } else { 'still present after removal' }
            [void]$outcomes.Add((New-Outcome $target 'failed' $why $target['contentHash']))
        }
    }

    $ordered = foreach ($target in $targets) { $outcomes | Where-Object { [object]::ReferenceEquals($_['target'], $target) } | Select-Object -First 1 }
    $result = New-WmiHunterMap
    $result['host'] = $hostName
    $result['backup'] = $backup
    $result['results'] = @($ordered)
    $result['autorecoverRemoved'] = $autorecoverRemoved
    $result['verified'] = $verified
    return , $result
}

Invoke-WmiHunterMain -InputBase64 $InputBase64 -Body ${function:Invoke-Remove}
exit $script:WmiHunterExitCode
