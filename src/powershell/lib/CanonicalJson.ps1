# CanonicalJson.ps1 - canonical JSON and content hashes, the PowerShell twin of
# src/domain/canonical-json.ts and contentHashOf in src/domain/wmi-object.ts.
# Both sides must agree byte for byte; test/vectors/content-hash.json is checked by Pester.
# Written for Windows PowerShell 5.1 and PowerShell 7 alike (the scripts run on Windows hosts).

$script:WmiHunterMaxSafeInteger = [long]9007199254740991
$script:WmiHunterNeedsEscape = [regex]'[\x00-\x1f"\\\ud800-\udfff]'

function ConvertTo-WmiHunterJsonString {
    param([AllowEmptyString()][string]$Text)
    if (-not $script:WmiHunterNeedsEscape.IsMatch($Text)) { return '"' + $Text + '"' }
    $builder = New-Object System.Text.StringBuilder ($Text.Length + 16)
    [void]$builder.Append('"')
    for ($i = 0; $i -lt $Text.Length; $i++) {
        $char = $Text[$i]
        $code = [int]$char
        if ($code -eq 0x22) { [void]$builder.Append('\"') }
        elseif ($code -eq 0x5c) { [void]$builder.Append('\\') }
        elseif ($code -eq 0x08) { [void]$builder.Append('\b') }
        elseif ($code -eq 0x09) { [void]$builder.Append('\t') }
        elseif ($code -eq 0x0a) { [void]$builder.Append('\n') }
        elseif ($code -eq 0x0c) { [void]$builder.Append('\f') }
        elseif ($code -eq 0x0d) { [void]$builder.Append('\r') }
        elseif ($code -lt 0x20) { [void]$builder.Append('\u' + $code.ToString('x4')) }
        elseif ($code -ge 0xd800 -and $code -le 0xdbff -and ($i + 1) -lt $Text.Length -and [int]$Text[$i + 1] -ge 0xdc00 -and [int]$Text[$i + 1] -le 0xdfff) {
            # A well-formed surrogate pair stays literal, as JSON.stringify leaves it.
            [void]$builder.Append($char).Append($Text[$i + 1])
            $i++
        }
        elseif ($code -ge 0xd800 -and $code -le 0xdfff) { [void]$builder.Append('\u' + $code.ToString('x4')) }
        else { [void]$builder.Append($char) }
    }
    [void]$builder.Append('"')
    return $builder.ToString()
}

function Test-WmiHunterIntegerType {
    param($Value)
    return ($Value -is [int] -or $Value -is [long] -or $Value -is [uint32] -or $Value -is [uint64] -or
        $Value -is [int16] -or $Value -is [uint16] -or $Value -is [byte] -or $Value -is [sbyte])
}

function ConvertTo-WmiHunterCanonicalJson {
    param([AllowNull()]$Value)
    if ($null -eq $Value) { return 'null' }
    if ($Value -is [string]) { return ConvertTo-WmiHunterJsonString $Value }
    if ($Value -is [char]) { return ConvertTo-WmiHunterJsonString ([string]$Value) }
    if ($Value -is [bool]) { if ($Value) { return 'true' } else { return 'false' } }
    if (Test-WmiHunterIntegerType $Value) {
        $number = [decimal]$Value
        if ([Math]::Abs($number) -gt $script:WmiHunterMaxSafeInteger) { throw "canonical JSON takes only safe integers, got $Value" }
        return $number.ToString([System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [double] -or $Value -is [single] -or $Value -is [decimal]) {
        $number = [decimal]$Value
        if ($number -ne [Math]::Truncate($number) -or [Math]::Abs($number) -gt $script:WmiHunterMaxSafeInteger) {
            throw "canonical JSON takes only safe integers, got $Value"
        }
        return ([long]$number).ToString([System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [System.Collections.IDictionary]) {
        $keys = [string[]]@($Value.Keys | Where-Object { $null -ne $Value[$_] })
        [Array]::Sort($keys, [StringComparer]::Ordinal)
        $members = foreach ($key in $keys) { (ConvertTo-WmiHunterJsonString $key) + ':' + (ConvertTo-WmiHunterCanonicalJson $Value[$key]) }
        return '{' + (@($members) -join ',') + '}'
    }
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $map = New-WmiHunterMap
        foreach ($property in $Value.PSObject.Properties) { $map[$property.Name] = $property.Value }
        return ConvertTo-WmiHunterCanonicalJson $map
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        $items = foreach ($item in $Value) { ConvertTo-WmiHunterCanonicalJson $item }
        return '[' + (@($items) -join ',') + ']'
    }
    throw "canonical JSON cannot encode a $($Value.GetType().FullName)"
}

function Get-WmiHunterSha256Hex {
    param([AllowEmptyString()][string]$Text)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { $digest = $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Text)) } finally { $sha.Dispose() }
    return -join ($digest | ForEach-Object { $_.ToString('x2') })
}

# `root/CimV2`, `\\.\ROOT\cimv2` and `//./root/cimv2` all become `root\cimv2` (as normalizeNamespace).
function ConvertTo-WmiHunterNormalizedNamespace {
    param([string]$Namespace)
    $value = $Namespace.Trim().Replace('/', '\')
    $value = $value -replace '^\\\\[^\\]+\\', ''
    $value = ($value -replace '^\\+', '') -replace '\\+$', ''
    $value = $value -replace '\\{2,}', '\'
    return $value.ToLowerInvariant()
}

function Test-WmiHunterDefiningProperty {
    param([string]$Name)
    return -not $Name.StartsWith('__') -and $Name.ToLowerInvariant() -ne 'creatorsid'
}

# SHA-256 of {"class": <lower>, "namespace": <normalized>, "properties": {<defining, non-null>}}.
function Get-WmiHunterContentHash {
    param([string]$Namespace, [string]$ClassName, [System.Collections.IDictionary]$Properties)
    $defining = New-WmiHunterMap
    foreach ($name in @($Properties.Keys)) {
        if (Test-WmiHunterDefiningProperty $name) { $defining[$name] = $Properties[$name] }
    }
    $document = New-WmiHunterMap
    $document['class'] = $ClassName.ToLowerInvariant()
    $document['namespace'] = ConvertTo-WmiHunterNormalizedNamespace $Namespace
    $document['properties'] = $defining
    return Get-WmiHunterSha256Hex (ConvertTo-WmiHunterCanonicalJson $document)
}

# Property maps are case-sensitive and keep insertion order, like a JavaScript object.
function New-WmiHunterMap {
    return New-Object System.Collections.Specialized.OrderedDictionary ([StringComparer]::Ordinal)
}
