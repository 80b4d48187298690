# remove.ps1 - removes approved WMI subscription objects in two phases, so no object is ever removed
# without a backup the caller has already kept.
#
# Parameters: -InputBase64 <base64 of UTF-8 JSON>
#   { "phase": "backup"|"remove", "host": string, "approvalId": string,
#     "targets": [ { "kind": "filter"|"consumer"|"binding"|"timer", "namespace": string,
#                    "className": string, "key": string, "contentHash": sha256 hex } ],
#     "backup": RemovalBackup   (remove phase only: the backup the caller persisted) }
# Output: one JSON document on stdout, or the error envelope of lib/Envelope.ps1:
#   backup phase: { host, backup, results, hostCopy } - changes nothing on the host. Each target is
#     read and its content hash recomputed; unchanged ones are backed up (all properties + MOF +
#     the autorecover entries that would recreate them); results[] says why the others were not.
#     A copy of the backup is also written on the host (hostCopy: its path, or null if it could not be).
#   remove phase: RemovalResult (src/domain/ports.ts). Removes only objects of the given backup whose
#     content hash still equals the backed-up one: binding, then consumer, then filter, then timer;
#     drops the backup's autorecover entries; re-reads to verify. An object of the backup that is
#     already gone is reported 'removed-earlier' (a retried removal), not as a failure.
# Exit codes: 0 ok (per-object outcomes are in results[]), 1 script error, 2 bad input,
#   3 access denied (see src/powershell/exit-codes.ts).
# Objects are found by enumerating their class and comparing keys in PowerShell: no key text ever
# becomes part of a query.
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
        Assert-WmiHunterObjectRef $target 'target'
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

function Read-Phase {
    param([System.Collections.IDictionary]$Request)
    $phase = [string](Get-WmiHunterRequired $Request 'phase' 'string')
    if (@('backup', 'remove') -cnotcontains $phase) { throw (New-WmiHunterFailure 'bad-input' "unknown phase $(ConvertTo-WmiHunterJsonString $phase): expected backup or remove") }
    return $phase
}

function Get-AutorecoverEntriesFor {
    param([object[]]$BackedUp)
    $matching = New-Object System.Collections.Generic.List[string]
    if ($BackedUp.Count -eq 0) { return , $matching.ToArray() }
    foreach ($entry in (Get-WmiHunterAutorecoverList)) {
        $path = [Environment]::ExpandEnvironmentVariables($entry)
        if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { continue }
        $text = [string](Get-Content -LiteralPath $path -Raw)
        foreach ($object in $BackedUp) {
            if (Test-MofRecreates $text $object) { $matching.Add($entry); break }
        }
    }
    return , $matching.ToArray()
}

function Remove-AutorecoverEntries {
    param([string[]]$Entries)
    if ($Entries.Count -eq 0) { return , @() }
    $current = Get-WmiHunterAutorecoverList
    $dropped = [string[]]@($current | Where-Object { $Entries -contains $_ })
    if ($dropped.Count -gt 0) { Set-WmiHunterAutorecoverList ([string[]]@($current | Where-Object { $Entries -notcontains $_ })) }
    return , $dropped
}

# The host keeps its own copy, so a backup survives even when the service never got the result.
function Save-HostCopy {
    param([string]$ApprovalId, [System.Collections.IDictionary]$Backup)
    try {
        $root = if ($env:ProgramData) { Join-Path $env:ProgramData 'wmi-hunter' } else { Join-Path ([System.IO.Path]::GetTempPath()) 'wmi-hunter' }
        $directory = Join-Path $root 'backups'
        [void](New-Item -ItemType Directory -Force -Path $directory)
        $json = ConvertTo-WmiHunterCanonicalJson $Backup
        $hash = Get-WmiHunterSha256Hex $json
        $safeId = if ($ApprovalId -cmatch '^[A-Za-z0-9_-]{1,64}$') { $ApprovalId } else { 'approval' }
        $path = Join-Path $directory "$safeId-$($hash.Substring(0, 16)).json"
        [System.IO.File]::WriteAllText($path, $json, (New-Object System.Text.UTF8Encoding($false)))
        return $path
    }
    catch { return $null }
}

function Find-Target {
    param($Target)
    return Find-WmiHunterObject $Target['kind'] $Target['namespace'] $Target['className'] $Target['key']
}

function Test-SameObject {
    param($Left, $Right)
    foreach ($field in @('kind', 'namespace', 'className', 'key')) { if ([string]$Left[$field] -cne [string]$Right[$field]) { return $false } }
    return $true
}

function Invoke-BackupPhase {
    param([string]$HostName, [string]$ApprovalId, [object[]]$Targets)
    $outcomes = New-Object System.Collections.ArrayList
    $backupObjects = New-Object System.Collections.ArrayList
    foreach ($target in $Targets) {
        try { $found = Find-Target $target }
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
        [void]$backupObjects.Add($backedUp)
    }
    $objects = @($backupObjects | ForEach-Object { , $_ })
    $takenAt = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [System.Globalization.CultureInfo]::InvariantCulture)
    $backup = New-WmiHunterMap
    $backup['host'] = $HostName
    $backup['takenAt'] = $takenAt
    $backup['objects'] = $objects
    $backup['mof'] = ConvertTo-WmiHunterMof -Objects $objects -Comment ("wmi-hunter backup of $($objects.Count) object(s) taken $takenAt")
    $backup['autorecoverEntries'] = Get-AutorecoverEntriesFor -BackedUp $objects

    $result = New-WmiHunterMap
    $result['host'] = $HostName
    $result['backup'] = $backup
    $result['results'] = @($outcomes | ForEach-Object { , $_ })
    $result['hostCopy'] = if ($objects.Count -gt 0) { Save-HostCopy $ApprovalId $backup } else { $null }
    return , $result
}

function Read-Backup {
    param([System.Collections.IDictionary]$Request, [string]$HostName)
    $backup = Get-WmiHunterRequired $Request 'backup' 'object'
    if ([string]$backup['host'] -ne $HostName) { throw (New-WmiHunterFailure 'bad-input' 'the backup is of another host') }
    $objects = Get-WmiHunterRequired $backup 'objects' 'array'
    foreach ($object in $objects) { [void](Assert-WmiHunterObjectRef $object 'backed-up object') }
    return , $backup
}

function Invoke-RemovePhase {
    param([string]$HostName, [object[]]$Targets, [System.Collections.IDictionary]$Backup)
    $outcomes = New-Object System.Collections.ArrayList
    $candidates = New-Object System.Collections.ArrayList
    $gone = New-Object System.Collections.ArrayList
    foreach ($target in $Targets) {
        $backedUp = @($Backup['objects']) | Where-Object { Test-SameObject $_ $target } | Select-Object -First 1
        try { $found = Find-Target $target }
        catch { [void]$outcomes.Add((New-Outcome $target 'failed' ('could not read it: ' + (Get-FailureText $_)) $null)); continue }
        if ($null -eq $backedUp) {
            if ($null -eq $found) { [void]$outcomes.Add((New-Outcome $target 'skipped-missing' 'not found on the host: nothing to remove' $null)) }
            elseif ($found.Record['contentHash'] -ne $target['contentHash']) { [void]$outcomes.Add((New-Outcome $target 'skipped-changed' 'its content changed since it was approved: not removed' $found.Record['contentHash'])) }
            else { [void]$outcomes.Add((New-Outcome $target 'failed' 'it is not in the backup, so it is not removed' $found.Record['contentHash'])) }
            continue
        }
        if ($null -eq $found) { [void]$gone.Add($target); continue }
        $currentHash = $found.Record['contentHash']
        if ($currentHash -ne $backedUp['contentHash']) {
            [void]$outcomes.Add((New-Outcome $target 'skipped-changed' 'its content changed since it was backed up: not removed' $currentHash))
            continue
        }
        [void]$candidates.Add([pscustomobject]@{ Target = $target; Instance = $found.Instance })
    }

    $removed = New-Object System.Collections.ArrayList
    foreach ($kind in $script:WmiHunterKindOrder) {
        foreach ($candidate in @($candidates | Where-Object { $_.Target['kind'] -eq $kind })) {
            try {
                Remove-CimInstance -InputObject $candidate.Instance -ErrorAction Stop
                [void]$removed.Add($candidate.Target)
            }
            catch { [void]$outcomes.Add((New-Outcome $candidate.Target 'failed' ('removal failed: ' + (Get-FailureText $_)) $candidate.Target['contentHash'])) }
        }
    }

    $autorecoverRemoved = @()
    if ($removed.Count + $gone.Count -gt 0) { $autorecoverRemoved = Remove-AutorecoverEntries -Entries ([string[]]@($Backup['autorecoverEntries'])) }

    $verified = $true
    foreach ($target in @($removed) + @($gone)) {
        $still = $null
        try { $still = Find-Target $target }
        catch { $still = $_ }
        if ($null -eq $still) {
            if ($gone -contains $target) { [void]$outcomes.Add((New-Outcome $target 'removed-earlier' 'already gone when this removal ran (an earlier attempt removed it); its backup was kept first' $null)) }
            else { [void]$outcomes.Add((New-Outcome $target 'removed' 'backed up, removed, and verified gone' $target['contentHash'])) }
        }
        else {
            $verified = $false
            $why = if ($still -is [System.Management.Automation.ErrorRecord]) { 're-read failed: ' + (Get-FailureText $still) } else { 'still present after removal' }
            [void]$outcomes.Add((New-Outcome $target 'failed' $why $target['contentHash']))
        }
    }

    $ordered = foreach ($target in $Targets) { $outcomes | Where-Object { [object]::ReferenceEquals($_['target'], $target) } | Select-Object -First 1 }
    $result = New-WmiHunterMap
    $result['host'] = $HostName
    $result['backup'] = $Backup
    $result['results'] = @($ordered)
    $result['autorecoverRemoved'] = $autorecoverRemoved
    $result['verified'] = $verified
    return , $result
}

function Invoke-Remove {
    param([System.Collections.IDictionary]$Request)
    $phase = Read-Phase $Request
    $hostName = [string](Get-WmiHunterRequired $Request 'host' 'string')
    $approvalId = [string](Get-WmiHunterRequired $Request 'approvalId' 'string')
    $targets = Read-Targets $Request
    if ($phase -eq 'backup') { return , (Invoke-BackupPhase $hostName $approvalId $targets) }
    return , (Invoke-RemovePhase $hostName $targets (Read-Backup $Request $hostName))
}

Invoke-WmiHunterMain -InputBase64 $InputBase64 -Body ${function:Invoke-Remove}
exit $script:WmiHunterExitCode
