BeforeAll {
    . (Join-Path $PSScriptRoot 'TestDoubles.ps1')
    . (Join-Path $PSScriptRoot '../../../src/powershell/lib/CanonicalJson.ps1')
}

Describe 'restore.ps1' {
    BeforeEach {
        $script:Repo = New-TestRepository
        $script:CreatedByMock = New-Object System.Collections.ArrayList
        Mock Get-CimInstance { Get-TestInstances $Repo $Namespace $ClassName }
        Mock New-CimInstance {
            $keys = if ($ClassName -eq '__FilterToConsumerBinding') { @('Filter', 'Consumer') } else { @('Name') }
            $properties = [ordered]@{}
            foreach ($name in $Property.Keys) { $properties[$name] = $Property[$name] }
            [void]$CreatedByMock.Add([pscustomobject]@{ ClassName = $ClassName; Property = $Property })
            Add-TestObject $Repo $Namespace $ClassName $properties -Keys $keys
        }
        Mock Get-ItemProperty { [pscustomobject]@{ 'Autorecover MOFs' = @('C:\keep.mof') } }
        Mock Set-ItemProperty { }
        $filter = [ordered]@{ Name = "F'`$(x)"; Query = 'SELECT * FROM __TimerEvent'; QueryLanguage = 'WQL' }
        $consumer = [ordered]@{ Name = 'C'; CommandLineTemplate = 'cmd' }
        $binding = [ordered]@{ Filter = '__EventFilter.Name="F''$(x)"'; Consumer = 'CommandLineEventConsumer.Name="C"'; DeliveryQoS = 0 }
        function New-Backed { param($Kind, $ClassName, $Key, $Properties) @{ kind = $Kind; namespace = 'root\subscription'; className = $ClassName; key = $Key; contentHash = (Get-WmiHunterContentHash 'root\subscription' $ClassName $Properties); properties = $Properties; creatorSid = $null } }
        $script:Backup = @{
            host = 'h1'; takenAt = '2024-01-01T00:00:00.000Z'; mof = ''; autorecoverEntries = @('C:\evil.mof')
            objects = @(
                (New-Backed 'binding' '__FilterToConsumerBinding' ($binding.Filter + '|' + $binding.Consumer) $binding),
                (New-Backed 'consumer' 'CommandLineEventConsumer' 'C' $consumer),
                (New-Backed 'filter' '__EventFilter' $filter.Name $filter)
            )
        }
    }

    It 'recreates filter and consumer before the binding, passing live references, and verifies each' {
        $result = Invoke-TestScript restore @{ host = 'h1'; backup = $script:Backup }
        $result.ExitCode | Should -Be 0
        @($CreatedByMock.ClassName) | Should -Be @('__EventFilter', 'CommandLineEventConsumer', '__FilterToConsumerBinding')
        $CreatedByMock[2].Property['Filter'].CimSystemProperties.ClassName | Should -Be '__EventFilter'
        $result.Document.results.status | Should -Be @('restored', 'restored', 'restored')
        $result.Document.verified | Should -BeTrue
        Should -Invoke Set-ItemProperty -Times 1 -ParameterFilter { ($Value -join ',') -eq 'C:\keep.mof,C:\evil.mof' }
    }

    It 'leaves an object that is already there alone' {
        Add-TestObject $Repo 'root\subscription' 'CommandLineEventConsumer' ([ordered]@{ Name = 'C'; CommandLineTemplate = 'cmd' })
        $result = Invoke-TestScript restore @{ host = 'h1'; backup = $script:Backup }
        ($result.Document.results | Where-Object { $_.target.kind -eq 'consumer' }).status | Should -Be 'already-present'
        @($CreatedByMock.ClassName) | Should -Not -Contain 'CommandLineEventConsumer'
    }

    It 'reports a restore whose content differs from the backup as failed' {
        Mock New-CimInstance { Add-TestObject $Repo $Namespace $ClassName ([ordered]@{ Name = $Property['Name']; CommandLineTemplate = 'tampered'; Query = 'x' }) }
        $result = Invoke-TestScript restore @{ host = 'h1'; backup = $script:Backup }
        ($result.Document.results | Where-Object { $_.target.kind -eq 'consumer' }).status | Should -Be 'failed'
        $result.Document.verified | Should -BeFalse
    }
}
