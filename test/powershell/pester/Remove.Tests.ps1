BeforeAll {
    . (Join-Path $PSScriptRoot 'TestDoubles.ps1')
    $lib = Join-Path $PSScriptRoot '../../../src/powershell/lib'
    . (Join-Path $lib 'CanonicalJson.ps1')
    $script:Marker = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-pwned-" + [guid]::NewGuid())
    $script:Hostile = "Evil'; `$(Set-Content -Path '$($script:Marker)' -Value 1); ```"`n;" + [char]0x0441 + 'md'
    # Both phases as the service runs them: backup (no change), then remove against that backup.
    function Invoke-Removal {
        param([hashtable]$Request)
        $backupPhase = Invoke-TestScript remove ($Request + @{ phase = 'backup' })
        if ($backupPhase.ExitCode -ne 0) { return $backupPhase }
        $backup = (ConvertFrom-Json -InputObject $backupPhase.Text -AsHashtable -Depth 64 -DateKind String)['backup']
        return Invoke-TestScript remove ($Request + @{ phase = 'remove'; backup = $backup })
    }
    function New-Target { param([string]$Kind, [string]$ClassName, [string]$Key, [System.Collections.IDictionary]$Properties)
        @{ kind = $Kind; namespace = 'root\subscription'; className = $ClassName; key = $Key; contentHash = (Get-WmiHunterContentHash 'root\subscription' $ClassName $Properties) }
    }
}

Describe 'remove.ps1' {
    BeforeEach {
        $script:Repo = New-TestRepository
        $script:RemovedClasses = New-Object System.Collections.ArrayList
        $script:Filter = [ordered]@{ Name = $script:Hostile; Query = 'SELECT * FROM __TimerEvent'; QueryLanguage = 'WQL' }
        $script:Consumer = [ordered]@{ Name = 'Payload'; CommandLineTemplate = 'cmd /c $(calc)' }
        $script:Binding = [ordered]@{ Filter = '__EventFilter.Name="' + $script:Hostile.Replace('\', '\\').Replace('"', '\"') + '"'; Consumer = 'CommandLineEventConsumer.Name="Payload"' }
        $script:Timer = [ordered]@{ TimerId = 'T1'; IntervalBetweenEvents = [uint32]60000 }
        Add-TestObject $Repo 'root\subscription' '__EventFilter' $script:Filter
        Add-TestObject $Repo 'root\subscription' 'CommandLineEventConsumer' $script:Consumer
        Add-TestObject $Repo 'root\subscription' '__FilterToConsumerBinding' $script:Binding -Keys @('Filter', 'Consumer')
        Add-TestObject $Repo 'root\subscription' '__IntervalTimerInstruction' $script:Timer -Keys @('TimerId')
        Mock Get-CimInstance { Get-TestInstances $Repo $Namespace $ClassName }
        Mock Remove-CimInstance { [void]$RemovedClasses.Add($InputObject.CimSystemProperties.ClassName); $Repo.Remove($InputObject) }
        Mock Get-ItemProperty { throw 'no registry here' }
        Mock Set-ItemProperty { }
        $script:AllTargets = @(
            (New-Target 'timer' '__IntervalTimerInstruction' 'T1' $script:Timer),
            (New-Target 'filter' '__EventFilter' $script:Hostile $script:Filter),
            (New-Target 'consumer' 'CommandLineEventConsumer' 'Payload' $script:Consumer),
            (New-Target 'binding' '__FilterToConsumerBinding' ($script:Binding.Filter + '|' + $script:Binding.Consumer) $script:Binding)
        )
    }

    It 'removes binding, then consumer, then filter, then timer, and verifies they are gone' {
        $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }
        $result.ExitCode | Should -Be 0 -Because $result.Text
        @($RemovedClasses) | Should -Be @('__FilterToConsumerBinding', 'CommandLineEventConsumer', '__EventFilter', '__IntervalTimerInstruction')
        $result.Document.results.status | Should -Be @('removed', 'removed', 'removed', 'removed')
        $result.Document.verified | Should -BeTrue
        $Repo.Count | Should -Be 0
        Test-Path $script:Marker | Should -BeFalse
    }

    It 'backs every object up with all properties and a MOF that names them' {
        $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }
        $result.Document.backup.objects.Count | Should -Be 4
        $consumer = $result.Document.backup.objects | Where-Object { $_.kind -eq 'consumer' }
        $consumer.properties.CommandLineTemplate | Should -BeExactly 'cmd /c $(calc)'
        $mof = $result.Document.backup.mof
        $mof | Should -Match '#pragma namespace\("\\\\\\\\\.\\\\root\\\\subscription"\)'
        $mof | Should -Match 'instance of __IntervalTimerInstruction[\s\S]*instance of __EventFilter[\s\S]*instance of CommandLineEventConsumer[\s\S]*instance of __FilterToConsumerBinding'
        # The hostile name is one escaped MOF string: no raw quote, newline or non-ASCII character escapes it.
        $mof | Should -Match ([regex]::Escape('Name = "Evil''; $(Set-Content -Path ') + '[^"\r\n]*' + [regex]::Escape('-Value 1); `\"\n;\x0441md";'))
    }

    It 'removes nothing when the content hash changed' {
        $changed = $script:AllTargets[2].Clone()
        $changed.contentHash = '0' * 64
        $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = @($changed) }
        $result.Document.results[0].status | Should -Be 'skipped-changed'
        $result.Document.results[0].currentHash | Should -Be $script:AllTargets[2].contentHash
        $RemovedClasses.Count | Should -Be 0
        $result.Document.backup.objects.Count | Should -Be 0
    }

    It 'skips, saying why, an object that vanished' {
        $gone = New-Target 'consumer' 'CommandLineEventConsumer' 'Gone' ([ordered]@{ Name = 'Gone' })
        $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = @($gone) }
        $result.Document.results[0].status | Should -Be 'skipped-missing'
        $result.Document.results[0].message | Should -Match 'not found'
    }

    It 'drops the autorecover entry whose MOF would recreate a removed object' {
        $mof = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-test-" + [guid]::NewGuid() + '.mof')
        Set-Content -LiteralPath $mof -Value "instance of CommandLineEventConsumer`n{`n Name = `"Payload`";`n};"
        $unrelated = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-test-" + [guid]::NewGuid() + '.mof')
        Set-Content -LiteralPath $unrelated -Value "instance of CommandLineEventConsumer`n{`n Name = `"Other`";`n};"
        $script:Written = $null
        Mock Get-ItemProperty { [pscustomobject]@{ 'Autorecover MOFs' = @($unrelated, $mof) } }
        Mock Set-ItemProperty { $script:Written = $Value } -ParameterFilter { $Name -eq 'Autorecover MOFs' }
        try {
            $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = @($script:AllTargets[2]) }
            $result.Document.autorecoverRemoved | Should -Be @($mof)
            $result.Document.backup.autorecoverEntries | Should -Be @($mof)
            Should -Invoke Set-ItemProperty -Times 1 -ParameterFilter { @($Value).Count -eq 1 -and $Value[0] -eq $unrelated }
        }
        finally { Remove-Item -LiteralPath $mof, $unrelated -Force }
    }

    It 'reports a removal the host refuses as failed, and keeps going' {
        Mock Remove-CimInstance {
            if ($InputObject.CimSystemProperties.ClassName -eq 'CommandLineEventConsumer') { throw (New-Object System.UnauthorizedAccessException 'Access denied') }
            $Repo.Remove($InputObject)
        }
        $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }
        ($result.Document.results | Where-Object { $_.target.kind -eq 'consumer' }).status | Should -Be 'failed'
        ($result.Document.results | Where-Object { $_.target.kind -eq 'consumer' }).message | Should -Match 'access denied'
        ($result.Document.results | Where-Object { $_.target.kind -eq 'filter' }).status | Should -Be 'removed'
    }

    It 'refuses a target without a well-formed hash, changing nothing' {
        $bad = $script:AllTargets[0].Clone()
        $bad.contentHash = 'ABC'
        $result = Invoke-Removal @{ host = 'h1'; approvalId = 'A-1'; targets = @($bad) }
        $result.ExitCode | Should -Be 2
        $RemovedClasses.Count | Should -Be 0
    }

    It 'changes nothing in the backup phase, and keeps a copy of the backup on the host' {
        $env:ProgramData = Join-Path ([System.IO.Path]::GetTempPath()) ("wmi-hunter-programdata-" + [guid]::NewGuid())
        try {
            $result = Invoke-TestScript remove @{ phase = 'backup'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }
            $result.ExitCode | Should -Be 0 -Because $result.Text
            $RemovedClasses.Count | Should -Be 0
            $Repo.Count | Should -Be 4
            $result.Document.backup.objects.Count | Should -Be 4
            @($result.Document.results).Count | Should -Be 0
            $result.Document.hostCopy | Should -BeLike (Join-Path $env:ProgramData 'wmi-hunter*')
            $copy = Get-Content -LiteralPath $result.Document.hostCopy -Raw | ConvertFrom-Json -Depth 64
            $copy.objects.Count | Should -Be 4
            $copy.mof | Should -BeExactly $result.Document.backup.mof
        }
        finally {
            Remove-Item -LiteralPath $env:ProgramData -Recurse -Force -ErrorAction SilentlyContinue
            Remove-Item Env:ProgramData
        }
    }

    It 'reports objects an earlier attempt removed as removed-earlier, removing nothing twice' {
        $backupPhase = Invoke-TestScript remove @{ phase = 'backup'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }
        $backup = (ConvertFrom-Json -InputObject $backupPhase.Text -AsHashtable -Depth 64 -DateKind String)['backup']
        $first = Invoke-TestScript remove @{ phase = 'remove'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets; backup = $backup }
        $first.Document.results.status | Should -Be @('removed', 'removed', 'removed', 'removed')
        $RemovedClasses.Clear()
        $retry = Invoke-TestScript remove @{ phase = 'remove'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets; backup = $backup }
        $retry.ExitCode | Should -Be 0 -Because $retry.Text
        $retry.Document.results.status | Should -Be @('removed-earlier', 'removed-earlier', 'removed-earlier', 'removed-earlier')
        $retry.Document.verified | Should -BeTrue
        $RemovedClasses.Count | Should -Be 0
        $retry.Document.backup.objects.Count | Should -Be 4
    }

    It 'removes nothing that changed after it was backed up' {
        $backupPhase = Invoke-TestScript remove @{ phase = 'backup'; host = 'h1'; approvalId = 'A-1'; targets = @($script:AllTargets[2]) }
        $backup = (ConvertFrom-Json -InputObject $backupPhase.Text -AsHashtable -Depth 64 -DateKind String)['backup']
        $instance = $Repo | Where-Object { $_.CimSystemProperties.ClassName -eq 'CommandLineEventConsumer' }
        ($instance.CimInstanceProperties | Where-Object { $_.Name -eq 'CommandLineTemplate' }).Value = 'cmd /c other'
        $result = Invoke-TestScript remove @{ phase = 'remove'; host = 'h1'; approvalId = 'A-1'; targets = @($script:AllTargets[2]); backup = $backup }
        $result.Document.results[0].status | Should -Be 'skipped-changed'
        $RemovedClasses.Count | Should -Be 0
    }

    It 'removes nothing that is not in the given backup' {
        $empty = @{ host = 'h1'; takenAt = '2026-01-01T00:00:00.000Z'; objects = @(); mof = ''; autorecoverEntries = @() }
        $result = Invoke-TestScript remove @{ phase = 'remove'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets; backup = $empty }
        $result.Document.results.status | Should -Be @('failed', 'failed', 'failed', 'failed')
        $RemovedClasses.Count | Should -Be 0
    }

    It 'refuses an unknown phase or a missing backup, changing nothing' {
        (Invoke-TestScript remove @{ phase = 'all'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }).ExitCode | Should -Be 2
        (Invoke-TestScript remove @{ host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }).ExitCode | Should -Be 2
        (Invoke-TestScript remove @{ phase = 'remove'; host = 'h1'; approvalId = 'A-1'; targets = $script:AllTargets }).ExitCode | Should -Be 2
        $RemovedClasses.Count | Should -Be 0
    }
}
