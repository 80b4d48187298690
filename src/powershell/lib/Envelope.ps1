# Envelope.ps1 - how every script takes its input and gives its output.
# In:  one argument, base64 of a UTF-8 JSON object (never anything interpolated into code).
# Out: one JSON document on the success stream: the result, or
#      {"wmiHunterError":{"exitCode":N,"reason":"...","message":"..."}} on failure.
# Exit codes (mapped to ErrorCode in src/powershell/exit-codes.ts, keep both in step):
#   0 ok, 1 script error, 2 bad input, 3 access denied, 10 host unreachable,
#   11 authentication failed, 12 output too large.

$script:WmiHunterExitCodes = @{ ok = 0; 'script-error' = 1; 'bad-input' = 2; 'access-denied' = 3; 'host-unreachable' = 10; 'authentication-failed' = 11; 'output-too-large' = 12 }
$script:WmiHunterExitCode = 0

function New-WmiHunterFailure {
    param([string]$Reason, [string]$Message)
    $exception = New-Object System.InvalidOperationException $Message
    $exception.Data['WmiHunterReason'] = $Reason
    return $exception
}

function Get-WmiHunterFailureReason {
    param($ErrorRecord)
    $exception = $ErrorRecord.Exception
    if ($null -ne $exception -and $exception.Data.Contains('WmiHunterReason')) { return [string]$exception.Data['WmiHunterReason'] }
    if (Test-WmiHunterAccessDenied $ErrorRecord) { return 'access-denied' }
    return 'script-error'
}

function Test-WmiHunterAccessDenied {
    param($ErrorRecord)
    if ($null -eq $ErrorRecord) { return $false }
    if ($ErrorRecord.CategoryInfo.Category -eq 'PermissionDenied') { return $true }
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception) {
        if ($exception -is [System.UnauthorizedAccessException]) { return $true }
        $native = $exception.PSObject.Properties['NativeErrorCode']
        if ($null -ne $native -and [string]$native.Value -eq 'AccessDenied') { return $true }
        if ($exception.Message -match '(?i)access (is )?denied') { return $true }
        $exception = $exception.InnerException
    }
    return $false
}

# JSON to ordered, case-sensitive maps and arrays, with strings left as strings (PowerShell 7's
# ConvertFrom-Json would turn date-like strings into DateTime and change the content).
function ConvertFrom-WmiHunterJson {
    param([string]$Json)
    if ($PSVersionTable.PSVersion.Major -ge 6) {
        $document = [System.Text.Json.JsonDocument]::Parse($Json)
        try { return , (ConvertFrom-WmiHunterJsonElement $document.RootElement) } finally { $document.Dispose() }
    }
    return , (ConvertFrom-WmiHunterJsonObject (ConvertFrom-Json -InputObject $Json))
}

function ConvertFrom-WmiHunterJsonElement {
    param($Element)
    switch ([string]$Element.ValueKind) {
        'Object' {
            $map = New-WmiHunterMap
            foreach ($member in $Element.EnumerateObject()) { $map[$member.Name] = ConvertFrom-WmiHunterJsonElement $member.Value }
            return , $map
        }
        'Array' {
            $list = New-Object System.Collections.ArrayList
            foreach ($item in $Element.EnumerateArray()) { [void]$list.Add((ConvertFrom-WmiHunterJsonElement $item)) }
            return , $list.ToArray()
        }
        'String' { return $Element.GetString() }
        'Number' {
            $integer = [long]0
            if ($Element.TryGetInt64([ref]$integer)) { return $integer }
            return $Element.GetDouble()
        }
        'True' { return $true }
        'False' { return $false }
        default { return $null }
    }
}

function ConvertFrom-WmiHunterJsonObject {
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $map = New-WmiHunterMap
        foreach ($property in $Value.PSObject.Properties) { $map[$property.Name] = ConvertFrom-WmiHunterJsonObject $property.Value }
        return , $map
    }
    if ($Value -is [System.Array]) {
        $items = @(foreach ($item in $Value) { , (ConvertFrom-WmiHunterJsonObject $item) })
        return , $items
    }
    return $Value
}

function ConvertFrom-WmiHunterArgument {
    param([string]$InputBase64)
    if ([string]::IsNullOrWhiteSpace($InputBase64) -or $InputBase64 -notmatch '^[A-Za-z0-9+/]+={0,2}$') {
        throw (New-WmiHunterFailure 'bad-input' 'the argument must be one base64-encoded JSON object')
    }
    try {
        $json = (New-Object System.Text.UTF8Encoding ($false, $true)).GetString([Convert]::FromBase64String($InputBase64))
        $value = ConvertFrom-WmiHunterJson $json
    }
    catch { throw (New-WmiHunterFailure 'bad-input' "the argument is not base64 of UTF-8 JSON: $($_.Exception.Message)") }
    if ($value -isnot [System.Collections.IDictionary]) { throw (New-WmiHunterFailure 'bad-input' 'the argument must decode to a JSON object') }
    return , $value
}

function ConvertTo-WmiHunterOutputJson {
    param($Document)
    $convert = Get-Command ConvertTo-Json
    if ($convert.Parameters.ContainsKey('EscapeHandling')) {
        # ASCII-only output survives any console code page and keeps lone surrogates exact.
        return ConvertTo-Json -InputObject $Document -Depth 64 -Compress -EscapeHandling EscapeNonAscii
    }
    return ConvertTo-Json -InputObject $Document -Depth 64 -Compress
}

function Get-WmiHunterRequired {
    param([System.Collections.IDictionary]$Map, [string]$Name, [string]$Type)
    if (-not $Map.Contains($Name) -or $null -eq $Map[$Name]) { throw (New-WmiHunterFailure 'bad-input' "input field '$Name' is required") }
    $value = $Map[$Name]
    $ok = switch ($Type) {
        'string' { $value -is [string] }
        'integer' { $value -is [long] -or $value -is [int] }
        'number' { $value -is [long] -or $value -is [int] -or $value -is [double] }
        'array' { $value -is [System.Array] }
        'object' { $value -is [System.Collections.IDictionary] }
        default { $true }
    }
    if (-not $ok) { throw (New-WmiHunterFailure 'bad-input' "input field '$Name' must be of type $Type") }
    return , $value
}

# Runs a script body: decodes the argument, writes the one JSON document, sets the exit code.
function Invoke-WmiHunterMain {
    param([string]$InputBase64, [scriptblock]$Body)
    try {
        $request = ConvertFrom-WmiHunterArgument $InputBase64
        $document = & $Body $request
        $script:WmiHunterExitCode = 0
        Write-Output (ConvertTo-WmiHunterOutputJson $document)
    }
    catch {
        $reason = Get-WmiHunterFailureReason $_
        $script:WmiHunterExitCode = $script:WmiHunterExitCodes[$reason]
        $failure = New-WmiHunterMap
        $failure['exitCode'] = $script:WmiHunterExitCode
        $failure['reason'] = $reason
        $failure['message'] = [string]$_.Exception.Message
        $envelope = New-WmiHunterMap
        $envelope['wmiHunterError'] = $failure
        Write-Output (ConvertTo-WmiHunterOutputJson $envelope)
    }
}
