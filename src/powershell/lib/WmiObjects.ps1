# WmiObjects.ps1 - reading CIM instances into plain records, object paths, SIDs, the autorecover
# MOF list and MOF rendering. Instances are read through CimSystemProperties / CimInstanceProperties
# only, so the test doubles (Pester mocks, the lab module) can stand in for real CimInstances.

$script:WmiHunterAutorecoverKey = 'HKLM:\SOFTWARE\Microsoft\Wbem\CIMOM'
$script:WmiHunterAutorecoverValue = 'Autorecover MOFs'
$script:WmiHunterKindOrder = @('binding', 'consumer', 'filter', 'timer')

# Checks one object reference of a request or backup (kind, namespace, className, key, contentHash)
# and returns it; $What names it in the error ("target", "backed-up object").
function Assert-WmiHunterObjectRef {
    param([object]$Object, [string]$What)
    if ($Object -isnot [System.Collections.IDictionary]) { throw (New-WmiHunterFailure 'bad-input' "each $What must be an object") }
    foreach ($field in @('kind', 'namespace', 'className', 'key', 'contentHash')) { [void](Get-WmiHunterRequired $Object $field 'string') }
    if ($script:WmiHunterKindOrder -notcontains $Object['kind']) { throw (New-WmiHunterFailure 'bad-input' "unknown object kind $(ConvertTo-WmiHunterJsonString $Object['kind'])") }
    if ($Object['contentHash'] -cnotmatch '^[0-9a-f]{64}$') { throw (New-WmiHunterFailure 'bad-input' "each $What needs a lower-case SHA-256 hex contentHash") }
    return , $Object
}
$script:WmiHunterWellKnownSids = @{
    'S-1-5-18' = 'NT AUTHORITY\SYSTEM'; 'S-1-5-19' = 'NT AUTHORITY\LOCAL SERVICE'; 'S-1-5-20' = 'NT AUTHORITY\NETWORK SERVICE'
    'S-1-5-32-544' = 'BUILTIN\Administrators'; 'S-1-5-32-545' = 'BUILTIN\Users'
}

function Get-WmiHunterClassName { param($Instance) return [string]$Instance.CimSystemProperties.ClassName }

function Test-WmiHunterInstanceLike {
    param($Value)
    return $null -ne $Value -and $null -ne $Value.PSObject.Properties['CimSystemProperties'] -and $null -ne $Value.PSObject.Properties['CimInstanceProperties']
}

function ConvertTo-WmiHunterDmtfDateTime {
    param([datetime]$Value)
    return $Value.ToUniversalTime().ToString('yyyyMMddHHmmss.ffffff', [System.Globalization.CultureInfo]::InvariantCulture) + '+000'
}

# One property value as the collection carries it: string, safe integer, boolean, null or array.
function ConvertTo-WmiHunterValue {
    param($Value, [string]$Namespace)
    if ($null -eq $Value) { return $null }
    if ($Value -is [string] -or $Value -is [bool]) { return $Value }
    if ($Value -is [char]) { return [string]$Value }
    if (Test-WmiHunterIntegerType $Value) {
        if ([Math]::Abs([decimal]$Value) -gt $script:WmiHunterMaxSafeInteger) { return ([decimal]$Value).ToString([System.Globalization.CultureInfo]::InvariantCulture) }
        return [long]$Value
    }
    if ($Value -is [double] -or $Value -is [single] -or $Value -is [decimal]) {
        $number = [decimal]$Value
        if ($number -eq [Math]::Truncate($number) -and [Math]::Abs($number) -le $script:WmiHunterMaxSafeInteger) { return [long]$number }
        return $number.ToString([System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [datetime]) { return ConvertTo-WmiHunterDmtfDateTime $Value }
    if ($Value -is [timespan]) {
        return '{0:D8}{1:D2}{2:D2}{3:D2}.{4:D6}:000' -f $Value.Days, $Value.Hours, $Value.Minutes, $Value.Seconds, ($Value.Milliseconds * 1000)
    }
    if (Test-WmiHunterInstanceLike $Value) { return Format-WmiHunterObjectPath -Instance $Value -CurrentNamespace $Namespace }
    if ($Value -is [System.Collections.IEnumerable]) {
        $items = @(foreach ($item in $Value) { , (ConvertTo-WmiHunterValue $item $Namespace) })
        return , $items
    }
    return [string]$Value
}

function Format-WmiHunterPathValue {
    param($Value)
    if ($Value -is [string]) { return '"' + $Value.Replace('\', '\\').Replace('"', '\"') + '"' }
    if ($Value -is [bool]) { if ($Value) { return 'TRUE' } else { return 'FALSE' } }
    return [string]$Value
}

# Renders a reference the way WMI writes __RELPATH: Class.Key="value" (keys sorted), with a
# \\server\namespace: prefix only when it lives in another namespace.
function Format-WmiHunterObjectPath {
    param($Instance, [string]$CurrentNamespace)
    $className = Get-WmiHunterClassName $Instance
    $properties = @($Instance.CimInstanceProperties | Where-Object { $null -ne $_.Value })
    $keys = @($properties | Where-Object { [string]$_.Flags -match 'Key' })
    if ($keys.Count -eq 0) { $keys = $properties }
    $sortedNames = [string[]]@($keys | ForEach-Object { $_.Name })
    [Array]::Sort($sortedNames, [StringComparer]::OrdinalIgnoreCase)
    $parts = foreach ($name in $sortedNames) {
        $property = $keys | Where-Object { $_.Name -ceq $name } | Select-Object -First 1
        $name + '=' + (Format-WmiHunterPathValue $property.Value)
    }
    $relative = if ($sortedNames.Count -eq 0) { $className } else { $className + '.' + (@($parts) -join ',') }
    $referenceNamespace = [string]$Instance.CimSystemProperties.Namespace
    if ($referenceNamespace -and $CurrentNamespace -and
        (ConvertTo-WmiHunterNormalizedNamespace $referenceNamespace) -ne (ConvertTo-WmiHunterNormalizedNamespace $CurrentNamespace)) {
        $server = [string]$Instance.CimSystemProperties.ServerName
        if (-not $server) { $server = '.' }
        return '\\' + $server + '\' + $referenceNamespace.Replace('/', '\') + ':' + $relative
    }
    return $relative
}

function ConvertFrom-WmiHunterSidBytes {
    param([byte[]]$Bytes)
    if ($null -eq $Bytes -or $Bytes.Length -lt 8) { return $null }
    $count = [int]$Bytes[1]
    if ($Bytes.Length -lt 8 + 4 * $count) { return $null }
    $authority = [uint64]0
    for ($i = 2; $i -lt 8; $i++) { $authority = $authority * 256 + $Bytes[$i] }
    $text = 'S-' + $Bytes[0] + '-' + $authority
    for ($i = 0; $i -lt $count; $i++) { $text += '-' + [BitConverter]::ToUInt32($Bytes, 8 + 4 * $i) }
    return $text
}

function Resolve-WmiHunterAccount {
    param([string]$Sid)
    if (-not $Sid) { return $null }
    try { return ([System.Security.Principal.SecurityIdentifier]::new($Sid)).Translate([System.Security.Principal.NTAccount]).Value }
    catch { return $script:WmiHunterWellKnownSids[$Sid] }
}

# A record as the collection carries it (namespace, className, properties, creatorSid,
# creatorAccount, contentHash); CreatorSID is taken out of the properties and resolved.
function ConvertTo-WmiHunterObjectRecord {
    param($Instance, [string]$Namespace)
    $properties = New-WmiHunterMap
    $sidBytes = $null
    foreach ($property in @($Instance.CimInstanceProperties)) {
        $name = [string]$property.Name
        if ($name.StartsWith('__')) { continue }
        if ($name.ToLowerInvariant() -eq 'creatorsid') { $sidBytes = $property.Value; continue }
        $properties[$name] = ConvertTo-WmiHunterValue $property.Value $Namespace
    }
    $sid = $null
    if ($null -ne $sidBytes) { $sid = ConvertFrom-WmiHunterSidBytes ([byte[]]@($sidBytes)) }
    $className = Get-WmiHunterClassName $Instance
    $record = New-WmiHunterMap
    $record['namespace'] = $Namespace
    $record['className'] = $className
    $record['properties'] = $properties
    $record['creatorSid'] = $sid
    $record['creatorAccount'] = Resolve-WmiHunterAccount $sid
    $record['contentHash'] = Get-WmiHunterContentHash $Namespace $className $properties
    return , $record
}

function Get-WmiHunterKeyOf {
    param([string]$Kind, [System.Collections.IDictionary]$Properties)
    switch ($Kind) {
        'binding' { return [string]$Properties['Filter'] + '|' + [string]$Properties['Consumer'] }
        'timer' { return [string]$Properties['TimerId'] }
        default { return [string]$Properties['Name'] }
    }
}

# Finds one live object by kind + class + key without building a query from the key text.
function Find-WmiHunterObject {
    param([string]$Kind, [string]$Namespace, [string]$ClassName, [string]$Key)
    $instances = @(Get-CimInstance -Namespace $Namespace -ClassName $ClassName -ErrorAction Stop)
    foreach ($instance in $instances) {
        if ((Get-WmiHunterClassName $instance) -ne $ClassName) { continue }
        $record = ConvertTo-WmiHunterObjectRecord $instance $Namespace
        if ((Get-WmiHunterKeyOf $Kind $record['properties']) -eq $Key) {
            return [pscustomobject]@{ Instance = $instance; Record = $record }
        }
    }
    return $null
}

function Get-WmiHunterAutorecoverList {
    try {
        $item = Get-ItemProperty -Path $script:WmiHunterAutorecoverKey -Name $script:WmiHunterAutorecoverValue -ErrorAction Stop
        return , [string[]]@($item.($script:WmiHunterAutorecoverValue) | Where-Object { $_ })
    }
    catch { return , [string[]]@() }
}

function Set-WmiHunterAutorecoverList {
    param([string[]]$Entries)
    Set-ItemProperty -Path $script:WmiHunterAutorecoverKey -Name $script:WmiHunterAutorecoverValue -Value $Entries -ErrorAction Stop
}

function Get-WmiHunterFileSha256 {
    param([string]$Path)
    $expanded = [Environment]::ExpandEnvironmentVariables($Path)
    if (-not (Test-Path -LiteralPath $expanded -PathType Leaf)) { return $null }
    return (Get-FileHash -LiteralPath $expanded -Algorithm SHA256).Hash.ToLowerInvariant()
}

function ConvertTo-WmiHunterMofString {
    param([string]$Text)
    $builder = New-Object System.Text.StringBuilder ($Text.Length + 2)
    [void]$builder.Append('"')
    foreach ($char in $Text.ToCharArray()) {
        $code = [int]$char
        if ($code -eq 0x5c) { [void]$builder.Append('\\') }
        elseif ($code -eq 0x22) { [void]$builder.Append('\"') }
        elseif ($code -eq 0x0a) { [void]$builder.Append('\n') }
        elseif ($code -eq 0x0d) { [void]$builder.Append('\r') }
        elseif ($code -eq 0x09) { [void]$builder.Append('\t') }
        elseif ($code -lt 0x20 -or $code -gt 0x7e) { [void]$builder.Append('\x' + $code.ToString('X4')) }
        else { [void]$builder.Append($char) }
    }
    [void]$builder.Append('"')
    return $builder.ToString()
}

function ConvertTo-WmiHunterMofValue {
    param($Value)
    if ($null -eq $Value) { return 'NULL' }
    if ($Value -is [string]) { return ConvertTo-WmiHunterMofString $Value }
    if ($Value -is [bool]) { if ($Value) { return 'TRUE' } else { return 'FALSE' } }
    if ($Value -is [System.Array]) { return '{' + (@($Value | ForEach-Object { ConvertTo-WmiHunterMofValue $_ }) -join ', ') + '}' }
    return ([decimal]$Value).ToString([System.Globalization.CultureInfo]::InvariantCulture)
}

# MOF that mofcomp compiles back into the objects: one #pragma namespace per namespace, timers and
# filters and consumers before the bindings that reference them.
function ConvertTo-WmiHunterMof {
    param([object[]]$Objects, [string]$Comment)
    $identifier = '^[A-Za-z_][A-Za-z0-9_]*$'
    $lines = New-Object System.Collections.Generic.List[string]
    $lines.Add('// ' + ($Comment -replace '[\r\n]', ' '))
    $creationOrder = @('timer', 'filter', 'consumer', 'binding')
    $ordered = foreach ($kind in $creationOrder) { $Objects | Where-Object { [string]$_['kind'] -eq $kind } }
    $currentNamespace = $null
    foreach ($object in @($ordered)) {
        $className = [string]$object['className']
        if ($className -notmatch $identifier) { throw "class name $(ConvertTo-WmiHunterJsonString $className) cannot be written as MOF" }
        $namespace = [string]$object['namespace']
        if ($namespace -ne $currentNamespace) {
            $lines.Add('#pragma namespace(' + (ConvertTo-WmiHunterMofString ('\\.\' + $namespace.Replace('/', '\'))) + ')')
            $currentNamespace = $namespace
        }
        $lines.Add("instance of $className")
        $lines.Add('{')
        foreach ($name in @($object['properties'].Keys)) {
            $value = $object['properties'][$name]
            if ($null -eq $value -or -not (Test-WmiHunterDefiningProperty $name)) { continue }
            if ($name -notmatch $identifier) { throw "property name $(ConvertTo-WmiHunterJsonString $name) cannot be written as MOF" }
            $lines.Add('    ' + $name + ' = ' + (ConvertTo-WmiHunterMofValue $value) + ';')
        }
        $lines.Add('};')
    }
    return ($lines -join "`r`n") + "`r`n"
}

function Get-WmiHunterHostName {
    if ($env:COMPUTERNAME) { return $env:COMPUTERNAME }
    return [Environment]::MachineName
}
