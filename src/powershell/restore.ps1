# restore.ps1 - recreates WMI subscription objects from a removal backup and verifies them.
#
# Parameters: -InputBase64 <base64 of UTF-8 JSON>
#   { "host": string, "backup": RemovalBackup (src/domain/ports.ts) }
# Output: one JSON document on stdout: RestoreResult (src/domain/ports.ts), or the error envelope
#   of lib/Envelope.ps1.
# Exit codes: 0 ok (per-object outcomes are in results[]), 1 script error, 2 bad input,
#   3 access denied (see src/powershell/exit-codes.ts).
# Steps: timers, filters, consumers, then bindings (so references resolve); an object already there
#   is left alone; each recreated object is re-read and its content hash compared with the backup;
#   autorecover MOF entries the removal took out are put back.
param([Parameter(Mandatory = $true)][string]$InputBase64)

Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# From disk the library is dot-sourced; sent to a remote host, it travels inlined ahead of this line.
if ($PSScriptRoot -and (Test-Path -LiteralPath (Join-Path $PSScriptRoot 'lib'))) {
    foreach ($library in @('CanonicalJson.ps1', 'Envelope.ps1', 'WmiObjects.ps1')) { . (Join-Path (Join-Path $PSScriptRoot 'lib') $library) }
}

function Read-BackupObjects {
    param([System.Collections.IDictionary]$Backup)
    $objects = foreach ($object in (Get-WmiHunterRequired $Backup 'objects' 'array')) {
        [void](Assert-WmiHunterObjectRef $object 'backed-up object')
        [void](Get-WmiHunterRequired $object 'properties' 'object')
        , $object
    }
    return , @($objects)
}

# A binding's Filter / Consumer as the live instance it names, which real WMI wants for a REF
# property; the path text itself when nothing by that path is found.
function Resolve-Reference {
    param([string]$Path, [string]$Namespace)
    $namespaceOfPath = $Namespace
    $relative = $Path
    if ($Path -match '^\\\\[^\\]+\\([^:"]+):(.*)$') { $namespaceOfPath = $Matches[1]; $relative = $Matches[2] }
    if ($relative -notmatch '^([A-Za-z_][A-Za-z0-9_]*)\.') { return $Path }
    $className = $Matches[1]
    try { $instances = @(Get-CimInstance -Namespace $namespaceOfPath -ClassName $className -ErrorAction Stop) } catch { return $Path }
    foreach ($instance in $instances) {
        if ((Format-WmiHunterObjectPath -Instance $instance -CurrentNamespace $namespaceOfPath) -eq $relative) { return $instance }
    }
    return $Path
}

function New-Outcome {
    param($Object, [string]$Status, [string]$Message)
    $target = New-WmiHunterMap
    foreach ($field in @('kind', 'namespace', 'className', 'key', 'contentHash')) { $target[$field] = $Object[$field] }
    $outcome = New-WmiHunterMap
    $outcome['target'] = $target
    $outcome['status'] = $Status
    $outcome['message'] = $Message
    return , $outcome
}

function Restore-Object {
    param([System.Collections.IDictionary]$Object)
    $kind = [string]$Object['kind']
    $namespace = [string]$Object['namespace']
    $className = [string]$Object['className']
    $existing = Find-WmiHunterObject $kind $namespace $className $Object['key']
    if ($null -ne $existing) {
        $same = $existing.Record['contentHash'] -eq $Object['contentHash']
        $note = if ($same) { 'already present with the backed-up content' } else { 'already present with different content: left as it is' }
        return , (New-Outcome $Object 'already-present' $note)
    }
    $properties = @{}
    foreach ($name in @($Object['properties'].Keys)) {
        $value = $Object['properties'][$name]
        if ($null -eq $value -or -not (Test-WmiHunterDefiningProperty $name)) { continue }
        if ($kind -eq 'binding' -and ($name -eq 'Filter' -or $name -eq 'Consumer')) { $value = Resolve-Reference ([string]$value) $namespace }
        $properties[$name] = $value
    }
    [void](New-CimInstance -Namespace $namespace -ClassName $className -Property $properties -ErrorAction Stop)
    $created = Find-WmiHunterObject $kind $namespace $className $Object['key']
    if ($null -eq $created) { return , (New-Outcome $Object 'failed' 'created, but not found when read back') }
    if ($created.Record['contentHash'] -ne $Object['contentHash']) {
        return , (New-Outcome $Object 'failed' "created, but its content hashes to $($created.Record['contentHash']) instead of the backed-up hash")
    }
    return , (New-Outcome $Object 'restored' 'recreated and verified against the backed-up content hash')
}

function Invoke-Restore {
    param([System.Collections.IDictionary]$Request)
    $hostName = [string](Get-WmiHunterRequired $Request 'host' 'string')
    $backup = Get-WmiHunterRequired $Request 'backup' 'object'
    $objects = Read-BackupObjects $backup
    $autorecover = @()
    if ($backup.Contains('autorecoverEntries') -and $null -ne $backup['autorecoverEntries']) {
        $autorecover = [object[]](Get-WmiHunterRequired $backup 'autorecoverEntries' 'array')
    }

    $outcomes = New-Object System.Collections.ArrayList
    foreach ($kind in @('timer', 'filter', 'consumer', 'binding')) {
        foreach ($object in @($objects | Where-Object { $_['kind'] -eq $kind })) {
            try { [void]$outcomes.Add((Restore-Object $object)) }
            catch {
                $why = if (Test-WmiHunterAccessDenied $_) { 'access denied: ' } else { '' }
                [void]$outcomes.Add((New-Outcome $object 'failed' ($why + $_.Exception.Message)))
            }
        }
    }

    $verified = @($outcomes | Where-Object { $_['status'] -eq 'failed' }).Count -eq 0
    if ($autorecover.Count -gt 0) {
        try {
            $entries = Get-WmiHunterAutorecoverList
            $missing = @($autorecover | Where-Object { $entries -notcontains $_ })
            if ($missing.Count -gt 0) { Set-WmiHunterAutorecoverList ([string[]]@(@($entries) + $missing)) }
        }
        catch { $verified = $false }
    }

    $result = New-WmiHunterMap
    $result['host'] = $hostName
    $result['results'] = $outcomes.ToArray()
    $result['verified'] = $verified
    return , $result
}

Invoke-WmiHunterMain -InputBase64 $InputBase64 -Body ${function:Invoke-Restore}
exit $script:WmiHunterExitCode
