BeforeAll { . (Join-Path $PSScriptRoot '../../../src/powershell/session.ps1') }

Describe 'session.ps1 transport parameters' {
    It 'builds WinRM parameters with SSL, authentication, a JEA endpoint and a credential read from a file' {
        $secretFile = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-secret-" + [guid]::NewGuid())
        Set-Content -LiteralPath $secretFile -Value 'p@ss' -NoNewline
        try {
            $transport = ConvertFrom-WmiHunterJson ('{"kind":"winrm","computerName":"host01","useSsl":true,"port":5986,"authentication":"Kerberos","configurationName":"WmiHunter","userName":"CORP\\svc","passwordFile":' + (ConvertTo-WmiHunterJsonString $secretFile) + '}')
            $parameters = New-WmiHunterInvokeParameters $transport
            $parameters.ComputerName | Should -Be 'host01'
            $parameters.UseSSL | Should -BeTrue
            $parameters.Port | Should -Be 5986
            $parameters.Authentication | Should -Be 'Kerberos'
            $parameters.ConfigurationName | Should -Be 'WmiHunter'
            $parameters.Credential.UserName | Should -Be 'CORP\svc'
            $parameters.Credential.GetNetworkCredential().Password | Should -Be 'p@ss'
        }
        finally { Remove-Item -LiteralPath $secretFile -Force }
    }

    It 'sends a JEA endpoint only a single command whose argument travels as a $using value' {
        $ScriptArgument = 'eyJhIjoxfQ=='
        $usingValues = $null
        $powershell = $script:WmiHunterJeaCommands['collect'].GetPowerShell(@{}, [ref]$usingValues)
        $powershell.Commands.Commands.Count | Should -Be 1
        $powershell.Commands.Commands[0].CommandText | Should -Be 'Invoke-WmiHunterCollect'
    }

    It 'builds SSH parameters that never prompt and always check the host key' {
        $parameters = New-WmiHunterInvokeParameters (ConvertFrom-WmiHunterJson '{"kind":"ssh","hostName":"h","userName":"u","keyFilePath":"/k","port":2222,"knownHostsFile":"/kh","connectTimeoutSeconds":5}')
        $parameters.Port | Should -Be 2222
        $parameters.Options.BatchMode | Should -Be 'yes'
        $parameters.Options.StrictHostKeyChecking | Should -Be 'yes'
        $parameters.Options.UserKnownHostsFile | Should -Be '/kh'
    }
}
