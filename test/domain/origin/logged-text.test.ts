import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasAutorecoverPragma, mofInstances, sidFromByteList, sysmonValue } from '../../../src/domain/origin/logged-text.js';

describe('values as Windows logs them', () => {
  it('undoes Sysmon quoting: leading space, quotes, doubled backslashes, escaped quotes, XML entities', () => {
    expect(sysmonValue(' "root\\\\CimV2"')).toBe('root\\CimV2');
    expect(sysmonValue(' "CommandLineEventConsumer.Name=\\"Evil\\""')).toBe('CommandLineEventConsumer.Name="Evil"');
    expect(sysmonValue(' "powershell -enc &lt;blah&gt;"')).toBe('powershell -enc <blah>');
    expect(sysmonValue('Command Line')).toBe('Command Line');
    expect(sysmonValue(undefined)).toBeNull();
  });

  it('turns the CreatorSID byte list WMI-Activity prints into a SID string', () => {
    expect(sidFromByteList('{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 148, 201, 44, 47, 92, 247, 22, 107, 113, 39, 52, 166, 88, 4, 0, 0}')).toBe(
      'S-1-5-21-791464340-1796667228-2788435825-1112',
    );
    expect(sidFromByteList('{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0}')).toBe('S-1-5-32-544');
    expect(sidFromByteList('{1, 2, 0, 0}')).toBeNull();
    expect(sidFromByteList('{1, 1, 0, 0, 0, 0, 0, 5, 300, 0, 0, 0}')).toBeNull();
  });

  it('reads MOF instances: strings with escapes, numbers, booleans, arrays, aliases and comments', () => {
    const text = `#pragma autorecover
// dropped by setup
instance of __EventFilter as $F
{
  Name = "a \\"quoted\\" name";
  Query = "SELECT * FROM X WHERE Path = 'C:\\\\t;x'";
  QueryLanguage = "WQL";
};
instance of CommandLineEventConsumer as $C { Name = "c"; CommandLineTemplate = "cmd.exe" " /c x"; RunInteractively = FALSE; KillTimeout = 5; CreatorSID = {1, 2}; };
instance of __FilterToConsumerBinding { Filter = $F; Consumer = $C; };`;
    const instances = mofInstances(text);
    expect(instances.map((i) => [i.className, i.alias])).toEqual([
      ['__EventFilter', '$F'],
      ['CommandLineEventConsumer', '$C'],
      ['__FilterToConsumerBinding', null],
    ]);
    expect(instances[0]!.properties).toEqual({ Name: 'a "quoted" name', Query: "SELECT * FROM X WHERE Path = 'C:\\t;x'", QueryLanguage: 'WQL' });
    expect(instances[1]!.properties).toEqual({ Name: 'c', CommandLineTemplate: 'cmd.exe /c x', RunInteractively: false, KillTimeout: 5, CreatorSID: [1, 2] });
    expect(instances[2]!.properties).toEqual({ Filter: '$F', Consumer: '$C' });
    expect(hasAutorecoverPragma(text)).toBe(true);
    expect(hasAutorecoverPragma('instance of X { Name = "#pragma autorecover"; };')).toBe(false);
  });

  it('reads any MOF string back exactly as written, escapes and all, and no instance from an unterminated one', () => {
    const escaped = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'Z', ' ', ';', '}', '"', '\\', '\n', '\t', 'n', 't', 'é'), { maxLength: 60 }), fc.string({ maxLength: 8 }), (chars, tail) => {
        const value = chars.join('');
        const [instance] = mofInstances(`instance of X { Name = "${escaped(value)}"; Other = "${escaped(tail)}" "${escaped(value)}"; };`);
        expect(instance!.properties).toEqual({ Name: value, Other: tail + value });
        expect(mofInstances(`instance of X { Name = "${escaped(value)}`)).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // An escape the reader does not know stands for its character; one at the very end ends nothing.
    expect(mofInstances('instance of X { A = "a\\qb\\"c"; };')[0]!.properties).toEqual({ A: 'aqb"c' });
    expect(mofInstances('instance of X { A = "ab\\')).toEqual([]);
  });
});
