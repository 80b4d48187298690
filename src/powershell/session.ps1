# session.ps1 - loaded once into every pooled pwsh session (src/powershell/pwsh-session.ts); runs a
# script here or on a remote host and writes its one JSON document to stdout.
#
# Parameters of Invoke-WmiHunterRequest: -RequestBase64 <base64 of UTF-8 JSON>
#   { "script": "collect"|"remove"|"restore"|<a script name in scriptsRoot>, "scriptsRoot": string,
#     "argument": <the script's own base64 argument>, "maxOutputChars": integer,
#     "transport": { "kind": "local" }
#                | { "kind": "ssh", "hostName", "userName", "keyFilePath", "port", "knownHostsFile"?, "connectTimeoutSeconds"? }
#                | { "kind": "winrm", "computerName", "port"?, "useSsl", "authentication"?, "configurationName"?,
#                    "userName"?, "passwordFile"?, "passwordEnv"? } }
# Output: one line on stdout: the script's JSON document, or the error envelope of lib/Envelope.ps1.
#   Nothing is written to stderr; every failure is a document.
# Exit codes carried in the envelope (src/powershell/exit-codes.ts): the script's own, plus
#   4 configuration, 10 host unreachable, 11 authentication failed, 12 output too large.
# Nothing from the request is ever turned into code: the script text sent to a remote host is the
# project's own files, and the request travels as an argument.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding ($false)
foreach ($library in @('CanonicalJson.ps1', 'Envelope.ps1', 'WmiObjects.ps1')) { . (Join-Path (Join-Path $PSScriptRoot 'lib') $library) }
$script:WmiHunterExitCodes['configuration'] = 4
$script:WmiHunterRemoteScripts = @{}
# JEA endpoints run in NoLanguage mode: only a single command with $using: arguments can cross.
$script:WmiHunterJeaCommands = @{
    collect = { Invoke-WmiHunterCollect -InputBase64 $using:ScriptArgument }
    remove = { Invoke-WmiHunterRemove -InputBase64 $using:ScriptArgument }
    restore = { Invoke-WmiHunterRestore -InputBase64 $using:ScriptArgument }
}

function New-WmiHunterErrorDocument {
    param([string]$Reason, [string]$Message)
    $failure = New-WmiHunterMap
    $failure['exitCode'] = $script:WmiHunterExitCodes[$Reason]
    $failure['reason'] = $Reason
    $failure['message'] = $Message
    $envelope = New-WmiHunterMap
    $envelope['wmiHunterError'] = $failure
    return ConvertTo-WmiHunterOutputJson $envelope
}

# The script as one script block for a remote host: its param block, the library, then its body.
function Get-WmiHunterRemoteScript {
    param([string]$ScriptsRoot, [string]$Name)
    $path = Join-Path $ScriptsRoot ($Name + '.ps1')
    if (-not $script:WmiHunterRemoteScripts.ContainsKey($path)) {
        $tokens = $null
        $parseErrors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref]$tokens, [ref]$parseErrors)
        if ($parseErrors.Count -gt 0) { throw "script $Name does not parse: $($parseErrors[0].Message)" }
        $library = foreach ($file in @('CanonicalJson.ps1', 'Envelope.ps1', 'WmiObjects.ps1')) {
            [System.IO.File]::ReadAllText((Join-Path (Join-Path $ScriptsRoot 'lib') $file))
        }
        $parameters = if ($null -ne $ast.ParamBlock) { $ast.ParamBlock.Extent.Text } else { '' }
        # The end block's extent starts with the param block; the body is what follows its first statement.
        $source = $ast.Extent.Text
        $body = $source.Substring($ast.EndBlock.Statements[0].Extent.StartOffset - $ast.Extent.StartOffset)
        $text = $parameters + "`n" + (@($library) -join "`n") + "`n" + $body
        $script:WmiHunterRemoteScripts[$path] = [scriptblock]::Create($text)
    }
    return $script:WmiHunterRemoteScripts[$path]
}

function Get-WmiHunterTransportCredential {
    param([System.Collections.IDictionary]$Transport)
    $secret = $null
    if ($Transport.Contains('passwordFile') -and $Transport['passwordFile']) {
        $file = [string]$Transport['passwordFile']
        if (-not (Test-Path -LiteralPath $file -PathType Leaf)) { throw (New-WmiHunterFailure 'configuration' 'the WinRM password file does not exist') }
        $secret = ([System.IO.File]::ReadAllText($file)).TrimEnd("`r", "`n")
    }
    elseif ($Transport.Contains('passwordEnv') -and $Transport['passwordEnv']) {
        $secret = [Environment]::GetEnvironmentVariable([string]$Transport['passwordEnv'])
        if (-not $secret) { throw (New-WmiHunterFailure 'configuration' "the environment variable $($Transport['passwordEnv']) holding the WinRM password is not set") }
    }
    else { throw (New-WmiHunterFailure 'configuration' 'a WinRM user needs passwordFile or passwordEnv') }
    $secure = ConvertTo-SecureString -String $secret -AsPlainText -Force
    return New-Object System.Management.Automation.PSCredential ([string]$Transport['userName'], $secure)
}

# The parameters Invoke-Command gets for a transport (ScriptBlock and ArgumentList aside).
function New-WmiHunterInvokeParameters {
    param([System.Collections.IDictionary]$Transport)
    switch ([string]$Transport['kind']) {
        'ssh' {
            $options = @{ BatchMode = 'yes'; PasswordAuthentication = 'no'; StrictHostKeyChecking = 'yes' }
            if ($Transport.Contains('knownHostsFile') -and $Transport['knownHostsFile']) { $options['UserKnownHostsFile'] = [string]$Transport['knownHostsFile'] }
            if ($Transport.Contains('connectTimeoutSeconds') -and $Transport['connectTimeoutSeconds']) { $options['ConnectTimeout'] = [string]$Transport['connectTimeoutSeconds'] }
            return @{
                HostName = [string]$Transport['hostName']
                UserName = [string]$Transport['userName']
                KeyFilePath = [string]$Transport['keyFilePath']
                Port = [int]$Transport['port']
                Options = $options
            }
        }
        'winrm' {
            $parameters = @{ ComputerName = [string]$Transport['computerName'] }
            if ($Transport['useSsl']) { $parameters['UseSSL'] = $true }
            if ($Transport.Contains('port') -and $Transport['port']) { $parameters['Port'] = [int]$Transport['port'] }
            if ($Transport.Contains('authentication') -and $Transport['authentication']) { $parameters['Authentication'] = [string]$Transport['authentication'] }
            if ($Transport.Contains('configurationName') -and $Transport['configurationName']) { $parameters['ConfigurationName'] = [string]$Transport['configurationName'] }
            if ($Transport.Contains('userName') -and $Transport['userName']) { $parameters['Credential'] = Get-WmiHunterTransportCredential $Transport }
            return $parameters
        }
        default { throw (New-WmiHunterFailure 'configuration' "unknown transport kind $(ConvertTo-WmiHunterJsonString ([string]$Transport['kind']))") }
    }
}

function Get-WmiHunterRemoteFailureReason {
    param($ErrorRecord)
    $text = [string]$ErrorRecord.Exception.Message
    if ($ErrorRecord.FullyQualifiedErrorId) { $text += ' ' + $ErrorRecord.FullyQualifiedErrorId }
    if ($text -match '(?i)permission denied|publickey|authenticat|logon failure|user name or password|credentials') { return 'authentication-failed' }
    if ($text -match '(?i)connection refused|could not resolve|name or service not known|no route to host|timed out|network is unreachable|cannot connect|connection (was )?(closed|reset)|WinRM cannot complete|cannot find the computer|host key verification failed|PSRemotingTransportException|PSSessionStateBroken|transport process|remote session might have ended') { return 'host-unreachable' }
    if (Test-WmiHunterAccessDenied $ErrorRecord) { return 'access-denied' }
    return 'script-error'
}

function Invoke-WmiHunterScript {
    param([System.Collections.IDictionary]$Request)
    $name = [string](Get-WmiHunterRequired $Request 'script' 'string')
    if ($name -cnotmatch '^[a-z][a-z0-9-]*$') { throw (New-WmiHunterFailure 'bad-input' 'script names are lower-case words') }
    $scriptsRoot = [string](Get-WmiHunterRequired $Request 'scriptsRoot' 'string')
    $ScriptArgument = [string](Get-WmiHunterRequired $Request 'argument' 'string')
    $transport = Get-WmiHunterRequired $Request 'transport' 'object'

    if ($transport['kind'] -eq 'local') {
        $path = Join-Path $scriptsRoot ($name + '.ps1')
        if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { throw (New-WmiHunterFailure 'configuration' "no script named $name") }
        $output = & $path -InputBase64 $ScriptArgument 2>&1 3>$null 4>$null 5>$null 6>$null
    }
    else {
        $parameters = New-WmiHunterInvokeParameters $transport
        if ($transport['kind'] -eq 'winrm' -and $parameters.ContainsKey('ConfigurationName') -and $script:WmiHunterJeaCommands.ContainsKey($name)) {
            $parameters['ScriptBlock'] = $script:WmiHunterJeaCommands[$name]
        }
        else {
            $parameters['ScriptBlock'] = Get-WmiHunterRemoteScript $scriptsRoot $name
            $parameters['ArgumentList'] = @($ScriptArgument)
        }
        try { $output = Invoke-Command @parameters -ErrorAction Stop 2>&1 3>$null 4>$null 5>$null 6>$null }
        catch { throw (New-WmiHunterFailure (Get-WmiHunterRemoteFailureReason $_) $_.Exception.Message) }
    }
    $records = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    $documents = @($output | Where-Object { $_ -is [string] })
    if ($documents.Count -eq 0) {
        $why = if ($records.Count -gt 0) { [string]$records[0].Exception.Message } else { 'no output' }
        throw (New-WmiHunterFailure 'script-error' "script $name gave no JSON document: $why")
    }
    return $documents[$documents.Count - 1]
}

function Invoke-WmiHunterRequest {
    param([string]$RequestBase64)
    $maxOutputChars = [long]::MaxValue
    try {
        $request = ConvertFrom-WmiHunterArgument $RequestBase64
        if ($request.Contains('maxOutputChars')) { $maxOutputChars = [long]$request['maxOutputChars'] }
        $document = Invoke-WmiHunterScript $request
        if ($document.Length -gt $maxOutputChars) {
            $document = New-WmiHunterErrorDocument 'output-too-large' "the script wrote $($document.Length) characters, over the limit of $maxOutputChars"
        }
    }
    catch { $document = New-WmiHunterErrorDocument (Get-WmiHunterFailureReason $_) ([string]$_.Exception.Message) }
    [Console]::Out.WriteLine($document)
}
