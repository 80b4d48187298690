BeforeAll {
    $root = Join-Path $PSScriptRoot '../../../src/powershell/lib'
    . (Join-Path $root 'CanonicalJson.ps1')
    . (Join-Path $root 'Envelope.ps1')
    $script:Vectors = ConvertFrom-WmiHunterJson ([System.IO.File]::ReadAllText((Join-Path $PSScriptRoot '../../vectors/content-hash.json')))
}

Describe 'canonical JSON and content hashes' {
    It 'reproduces every shared vector exactly (canonical JSON and hash)' {
        $script:Vectors['cases'].Count | Should -BeGreaterThan 0
        foreach ($case in $script:Vectors['cases']) {
            $defining = New-WmiHunterMap
            foreach ($name in $case['properties'].Keys) { if (Test-WmiHunterDefiningProperty $name) { $defining[$name] = $case['properties'][$name] } }
            $document = New-WmiHunterMap
            $document['class'] = $case['className'].ToLowerInvariant()
            $document['namespace'] = ConvertTo-WmiHunterNormalizedNamespace $case['namespace']
            $document['properties'] = $defining
            ConvertTo-WmiHunterCanonicalJson $document | Should -BeExactly $case['canonicalJson'] -Because $case['name']
            Get-WmiHunterContentHash $case['namespace'] $case['className'] $case['properties'] | Should -BeExactly $case['contentHash'] -Because $case['name']
        }
    }

    It 'escapes a lone surrogate as JSON.stringify does' {
        ConvertTo-WmiHunterJsonString ("a" + [char]0xd800 + "b") | Should -BeExactly '"a\ud800b"'
    }

    It 'refuses numbers that are not safe integers' {
        { ConvertTo-WmiHunterCanonicalJson 1.5 } | Should -Throw '*safe integers*'
        { ConvertTo-WmiHunterCanonicalJson ([long]9007199254740992) } | Should -Throw '*safe integers*'
    }

    It 'keeps date-like strings as strings when parsing input' {
        $parsed = ConvertFrom-WmiHunterJson '{"when":"2020-01-01T00:00:00Z"}'
        $parsed['when'] | Should -BeOfType [string]
    }
}
