BeforeAll {
    . (Join-Path $PSScriptRoot 'TestDoubles.ps1')
    $script:Marker = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-pwned-" + [guid]::NewGuid())
    $script:Hostile = "x'; `$(Set-Content -Path '$($script:Marker)' -Value 1); ```"`n;`r`t" + [char]0x0441 + 'md ' + [char]0x2019 + '$(whoami)'
}

Describe 'collect.ps1' {
    BeforeEach {
        $script:Repo = New-TestRepository
        $script:Namespaces = @{ 'root' = @('subscription', 'cimv2', 'Locked'); 'root\cimv2' = @('Deep'); 'root\cimv2\Deep' = @(); 'root\subscription' = @() }
        Mock Get-CimInstance {
            if ($Namespace -eq 'root\Locked') {
                $exception = New-Object System.UnauthorizedAccessException 'Access denied'
                throw (New-Object System.Management.Automation.ErrorRecord $exception, 'AccessDenied', 'PermissionDenied', $Namespace)
            }
            if ($ClassName -eq '__NAMESPACE') {
                foreach ($child in @($Namespaces[$Namespace])) { New-FakeInstance $Namespace '__NAMESPACE' @{ Name = $child } }
                return
            }
            Get-TestInstances $Repo $Namespace $ClassName
        }
        Mock Get-WinEvent { throw 'no such log' }
        Mock Get-ItemProperty { throw 'no registry here' }
    }

    It 'walks nested namespaces and records a denied one as data, not a failure' {
        Add-TestObject $Repo 'root\cimv2\Deep' '__EventFilter' ([ordered]@{ Name = 'DeepFilter'; Query = 'SELECT * FROM __TimerEvent'; QueryLanguage = 'WQL' })
        $result = Invoke-TestScript collect @{ lookbackHours = 0; maxEvents = 0 }
        $result.ExitCode | Should -Be 0
        $result.Document.namespaces | Should -Be @('root', 'root\subscription', 'root\cimv2', 'root\Locked', 'root\cimv2\Deep')
        $result.Document.errors.Count | Should -Be 1
        $result.Document.errors[0].namespace | Should -Be 'root\Locked'
        $result.Document.errors[0].code | Should -Be 'access-denied'
        $result.Document.filters[0].namespace | Should -Be 'root\cimv2\Deep'
    }

    It 'reads instances of every consumer class, all properties included' {
        $classes = @('ActiveScriptEventConsumer', 'CommandLineEventConsumer', 'LogFileEventConsumer', 'NTEventLogEventConsumer', 'SMTPEventConsumer', 'Custom_Consumer')
        foreach ($class in $classes) {
            Add-TestObject $Repo 'root\subscription' $class ([ordered]@{ Name = "c-$class"; ScriptText = "text of $class"; KillTimeout = [uint32]7; Flags = @('a', 'b') })
        }
        $result = Invoke-TestScript collect @{ lookbackHours = 0; maxEvents = 0 }
        $result.Document.consumers.className | Should -Be $classes
        $result.Document.consumers[0].properties.ScriptText | Should -Be 'text of ActiveScriptEventConsumer'
        $result.Document.consumers[0].properties.KillTimeout | Should -Be 7
        $result.Document.consumers[0].properties.Flags | Should -Be @('a', 'b')
    }

    It 'renders binding references as object paths and resolves CreatorSID' {
        $filterReference = New-FakeInstance 'root/subscription' '__EventFilter' @{ Name = 'F "quoted" \ name' }
        $consumerReference = New-FakeInstance 'root/subscription' 'CommandLineEventConsumer' @{ Name = 'C' }
        $sid = [byte[]]@(1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0)
        Add-TestObject $Repo 'root\subscription' '__FilterToConsumerBinding' ([ordered]@{ Filter = $filterReference; Consumer = $consumerReference; CreatorSID = $sid; DeliveryQoS = [uint32]0 }) -Keys @('Filter', 'Consumer')
        Add-TestObject $Repo 'root\subscription' '__IntervalTimerInstruction' ([ordered]@{ TimerId = 'T1'; IntervalBetweenEvents = [uint32]1000; SkipIfPassed = $false }) -Keys @('TimerId')
        $result = Invoke-TestScript collect @{ lookbackHours = 0; maxEvents = 0 }
        $binding = $result.Document.bindings[0]
        $binding.properties.Filter | Should -BeExactly '__EventFilter.Name="F \"quoted\" \\ name"'
        $binding.properties.Consumer | Should -BeExactly 'CommandLineEventConsumer.Name="C"'
        $binding.properties.PSObject.Properties.Name | Should -Not -Contain 'CreatorSID'
        $binding.creatorSid | Should -Be 'S-1-5-18'
        $binding.creatorAccount | Should -Be 'NT AUTHORITY\SYSTEM'
        $result.Document.timers[0].properties.TimerId | Should -Be 'T1'
    }

    It 'returns hostile strings as data and never runs them' {
        Add-TestObject $Repo 'root\subscription' 'CommandLineEventConsumer' ([ordered]@{ Name = $script:Hostile; CommandLineTemplate = $script:Hostile })
        $result = Invoke-TestScript collect @{ lookbackHours = 0; maxEvents = 0 }
        $result.Document.consumers[0].properties.Name | Should -BeExactly $script:Hostile
        $result.Document.consumers[0].properties.CommandLineTemplate | Should -BeExactly $script:Hostile
        Test-Path $script:Marker | Should -BeFalse
    }

    It 'lists autorecover MOFs with presence and SHA-256' {
        $mof = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-test-" + [guid]::NewGuid() + '.mof')
        Set-Content -LiteralPath $mof -Value 'instance of __EventFilter { Name = "x"; };' -NoNewline
        Mock Get-ItemProperty { [pscustomobject]@{ 'Autorecover MOFs' = @($mof, '/no/such/file.mof') } } -ParameterFilter { $Name -eq 'Autorecover MOFs' }
        try {
            $result = Invoke-TestScript collect @{ lookbackHours = 0; maxEvents = 0 }
            $result.Document.autorecoverMofs[0].present | Should -BeTrue
            $result.Document.autorecoverMofs[0].sha256 | Should -Be (Get-FileHash -LiteralPath $mof -Algorithm SHA256).Hash.ToLowerInvariant()
            $result.Document.autorecoverMofs[1].present | Should -BeFalse
            $result.Document.autorecoverMofs[1].sha256 | Should -BeNullOrEmpty
        }
        finally { Remove-Item -LiteralPath $mof -Force }
    }

    It 'reads event records of the look-back window, bounded in count' {
        Mock Get-WinEvent {
            $count = [Math]::Min(3, $MaxEvents)
            foreach ($i in 1..$count) {
                $xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System/><EventData><Data Name='Consumer'>c$i</Data><Data Name='Operation'>Created</Data></EventData></Event>"
                $record = [pscustomobject]@{ MachineName = 'TESTHOST'; LogName = $FilterHashtable.LogName; ProviderName = 'P'; Id = $FilterHashtable.Id[0]; RecordId = $i; TimeCreated = [datetime]::new(2024, 1, 2, 3, 4, 5, [DateTimeKind]::Utc) }
                $record | Add-Member -MemberType ScriptMethod -Name ToXml -Value ([scriptblock]::Create("@`"`n$xml`n`"@"))
                $record
            }
        } -ParameterFilter { $null -ne $FilterHashtable }
        $result = Invoke-TestScript collect @{ lookbackHours = 24; maxEvents = 4 }
        $result.Document.events.Count | Should -Be 4
        $result.Document.eventsTruncated | Should -BeTrue
        $result.Document.events[0].channel | Should -Be 'Microsoft-Windows-Sysmon/Operational'
        $result.Document.events[0].eventId | Should -Be 19
        $result.Document.events[0].data.Consumer | Should -Be 'c1'
        $result.Document.events[0].time | Should -Be '2024-01-02T03:04:05.000Z'
        $result.Document.lookbackHours | Should -Be 24
    }

    It 'answers bad input with exit code 2 and an error document' {
        $result = Invoke-TestScript collect 'not base64 at all!'
        $result.ExitCode | Should -Be 2
        $result.Document.wmiHunterError.reason | Should -Be 'bad-input'
        (Invoke-TestScript collect @{ lookbackHours = -1; maxEvents = 0 }).ExitCode | Should -Be 2
    }
}
