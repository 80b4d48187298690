import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isValidHostName } from '../../src/domain/host.js';
import { parseAlert } from '../../src/http/alert-parsers.js';
import { PlaybookRegistry } from '../../src/playbooks/playbook-registry.js';
import {
  DETECTIONS_DIR,
  EXAMPLES_DIR,
  PLAYBOOKS_DIR,
  listFiles,
  playbookNames,
  searchBody,
  searchHeader,
  sigmaRules,
} from './detection-files.js';
import { REPO_ROOT } from './recorded-events.js';
import { compileDetection } from './sigma-subset.js';

const REQUIRED_SIGMA_FIELDS = [
  'title',
  'id',
  'status',
  'description',
  'references',
  'author',
  'date',
  'tags',
  'logsource',
  'detection',
  'falsepositives',
  'level',
  'playbook',
] as const;
/** The Sigma specification's rule fields, plus `playbook` (the wmi-hunter playbook the alert triggers). */
const KNOWN_SIGMA_FIELDS = new Set<string>([...REQUIRED_SIGMA_FIELDS, 'name', 'related', 'taxonomy', 'license', 'modified', 'fields', 'scope']);
const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
const STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** SigmaHQ's file-name prefixes for the log sources these rules use. */
const FILE_PREFIX_BY_LOGSOURCE: Record<string, string> = {
  'category:wmi_event': 'sysmon_',
  'category:process_creation': 'proc_creation_win_',
  'service:wmi': 'win_wmi_',
};
const SEARCH_HEADER_FIELDS = ['name', 'finds', 'sigma', 'playbook', 'alert action', 'schedule', 'payload'] as const;

const rules = sigmaRules();
const playbooks = playbookNames();
if (!playbooks.fromFiles) {
  console.warn(`[detections] playbooks/ holds no playbook files yet: checking playbook names against the issue's list (${playbooks.names.join(', ')})`);
}

function logsourceKey(logsource: Record<string, unknown>): string {
  if (typeof logsource.category === 'string') return `category:${logsource.category}`;
  return `service:${String(logsource.service)}`;
}

describe('Sigma rules', () => {
  it('ships at least one rule for each detection the issue names', () => {
    const eventIds = rules.map(({ rule }) => JSON.stringify(rule.detection));
    expect(rules.length).toBeGreaterThanOrEqual(5);
    expect(eventIds.some((text) => text.includes('19') && text.includes('20') && text.includes('21'))).toBe(true);
    expect(eventIds.some((text) => text.includes('5861'))).toBe(true);
    expect(eventIds.some((text) => /wmiprvse\.exe/i.test(text))).toBe(true);
    expect(eventIds.some((text) => /scrcons\.exe/i.test(text))).toBe(true);
    expect(eventIds.some((text) => /mofcomp\.exe/i.test(text))).toBe(true);
  });

  it.each(rules)('$file has every required field and no field outside the Sigma specification', ({ rule }) => {
    for (const field of REQUIRED_SIGMA_FIELDS) expect(rule, field).toHaveProperty(field);
    expect(Object.keys(rule).filter((key) => !KNOWN_SIGMA_FIELDS.has(key))).toEqual([]);
    expect(typeof rule.title).toBe('string');
    expect(String(rule.title).length).toBeLessThanOrEqual(110);
    expect(typeof rule.description).toBe('string');
    expect(typeof rule.author).toBe('string');
  });

  it.each(rules)('$file has a UUID id, a known status and level, and a YYYY-MM-DD date', ({ rule, text }) => {
    expect(rule.id).toMatch(UUID);
    expect(STATUSES).toContain(rule.status);
    expect(LEVELS).toContain(rule.level);
    // YAML may read an unquoted date as a Date; the text is what the SIEM's Sigma tooling reads.
    expect(text).toMatch(/^date: \d{4}-\d{2}-\d{2}$/m);
  });

  it('gives every rule a distinct id and a distinct title', () => {
    const ids = rules.map(({ rule }) => rule.id);
    const titles = rules.map(({ rule }) => rule.title);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it.each(rules)('$file is tagged with ATT&CK T1546.003 or T1047 and the matching tactic', ({ rule }) => {
    const tags = rule.tags as unknown[];
    expect(Array.isArray(tags)).toBe(true);
    for (const tag of tags) expect(tag).toMatch(/^attack\.[a-z0-9]+(?:[.-][a-z0-9]+)*$/);
    expect(tags.includes('attack.t1546.003') || tags.includes('attack.t1047')).toBe(true);
    if (tags.includes('attack.t1546.003')) expect(tags).toContain('attack.persistence');
    if (tags.includes('attack.t1047')) expect(tags).toContain('attack.execution');
  });

  it.each(rules)('$file has https references and at least one false-positive note', ({ rule }) => {
    const references = rule.references as unknown[];
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(reference).toMatch(/^https:\/\/\S+$/);
    expect((rule.falsepositives as unknown[]).length).toBeGreaterThan(0);
  });

  it.each(rules)('$file is named by the Sigma convention for its log source', ({ file, rule }) => {
    expect(file).toMatch(/^[a-z0-9]+(?:_[a-z0-9]+)*\.yml$/);
    const prefix = FILE_PREFIX_BY_LOGSOURCE[logsourceKey(rule.logsource as Record<string, unknown>)];
    expect(prefix, `no naming rule for logsource ${JSON.stringify(rule.logsource)}`).toBeDefined();
    expect(file.startsWith(prefix as string)).toBe(true);
  });

  it.each(rules)('$file has a detection whose condition names only selections it defines', ({ rule }) => {
    expect(() => compileDetection(rule.detection as Record<string, unknown>)).not.toThrow();
  });

  it.each(rules)('$file names a playbook that exists', ({ rule }) => {
    expect(playbooks.names).toContain(rule.playbook);
  });
});

for (const kind of ['spl', 'kql'] as const) {
  const dir = join(DETECTIONS_DIR, kind === 'spl' ? 'splunk' : 'kql');
  const files = listFiles(dir, `.${kind}`).map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
  const requiredFields = kind === 'kql' ? [...SEARCH_HEADER_FIELDS, 'entity mapping'] : [...SEARCH_HEADER_FIELDS];

  describe(`${kind === 'spl' ? 'Splunk searches' : 'KQL queries'}`, () => {
    it('include one per Sigma rule, under the same name, and the scheduled sweep', () => {
      const names = files.map(({ file }) => file.replace(/\.\w+$/, ''));
      for (const { file } of rules) expect(names).toContain(file.replace(/\.yml$/, ''));
      expect(files.some(({ text }) => searchHeader(text, kind).playbook === 'wmi-subscription-sweep' || /sweep/.test(searchHeader(text, kind).name ?? ''))).toBe(true);
    });

    it.each(files)('$file has every header field', ({ text }) => {
      const header = searchHeader(text, kind);
      for (const field of requiredFields) expect(header, field).toHaveProperty(field);
      expect(searchBody(text, kind).length).toBeGreaterThan(0);
    });

    it.each(files)('$file returns the host, an alert id and the playbook in every result', ({ text }) => {
      const body = searchBody(text, kind);
      if (kind === 'spl') {
        const table = body.split('\n').filter((line) => line.startsWith('| table ')).at(-1) ?? '';
        expect(table.split(/\s+/)).toEqual(expect.arrayContaining(['host', 'alert_id', 'playbook']));
      } else {
        const project = body.split('\n').filter((line) => line.startsWith('| project ')).at(-1) ?? '';
        const columns = project.replace('| project ', '').split(/,\s*/);
        expect(columns).toContain('wmi_hunter_playbook');
        expect(columns.some((column) => ['HostName', 'DeviceName', 'Computer'].includes(column))).toBe(true);
        // Sentinel makes the alert id; a Defender custom detection needs these three columns.
        if (columns.includes('DeviceName')) expect(columns).toEqual(expect.arrayContaining(['Timestamp', 'DeviceId', 'ReportId']));
      }
    });

    it.each(files)('$file names an existing playbook, Sigma rule and example payload', ({ text }) => {
      const header = searchHeader(text, kind);
      expect(playbooks.names).toContain(header.playbook);
      expect(searchBody(text, kind)).toContain(`"${header.playbook}"`);
      expect(existsSync(join(REPO_ROOT, header.payload ?? 'missing'))).toBe(true);
      if (!header.sigma?.startsWith('none')) {
        const sigmaFile = header.sigma?.replace(/^detections\/sigma\//, '');
        const rule = rules.find(({ file }) => file === sigmaFile);
        expect(rule, `sigma rule ${header.sigma}`).toBeDefined();
        expect(header.name).toBe(rule?.rule.title);
        expect(header.playbook).toBe(rule?.rule.playbook);
      }
    });
  });
}

describe('detections/README.md', () => {
  it('maps every detection file to its playbook', () => {
    const readme = readFileSync(join(DETECTIONS_DIR, 'README.md'), 'utf8');
    for (const { file } of rules) expect(readme).toContain(file);
    for (const dir of ['splunk', 'kql']) {
      for (const file of listFiles(join(DETECTIONS_DIR, dir), dir === 'splunk' ? '.spl' : '.kql')) expect(readme).toContain(file);
    }
    for (const name of new Set(rules.map(({ rule }) => String(rule.playbook)))) expect(readme).toContain(name);
  });
});

/** Where each product puts the host and the alert id in its own alert JSON. */
const ALERT_SHAPES: Record<string, (payload: any) => { hosts: string[]; alertId: unknown }> = {
  'generic.json': (payload) => ({ hosts: [payload.host], alertId: payload.alertId }),
  'splunk.json': (payload) => ({ hosts: [payload.result?.host], alertId: payload.sid }),
  'sentinel.json': (payload) => ({
    hosts: (payload.Entities ?? [])
      .filter((entity: any) => entity.Type === 'host')
      .map((entity: any) => (entity.DnsDomain ? `${entity.HostName}.${entity.DnsDomain}` : entity.HostName)),
    alertId: payload.SystemAlertId,
  }),
  'defender.json': (payload) => ({
    hosts: (payload.evidence ?? [])
      .filter((item: any) => item['@odata.type'] === '#microsoft.graph.security.deviceEvidence')
      .map((item: any) => item.deviceDnsName),
    alertId: payload.id,
  }),
  'elastic.json': (payload) => ({
    hosts: (payload.context?.alerts ?? []).map((alert: any) => alert.host?.name),
    alertId: payload.context?.alerts?.[0]?._id,
  }),
};

describe('example alert payloads', () => {
  it('cover every SIEM the documentation names', () => {
    expect(listFiles(EXAMPLES_DIR, '.json').sort()).toEqual(Object.keys(ALERT_SHAPES).sort());
  });

  it('name existing playbooks where each product carries them', () => {
    const load = (file: string) => JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as any;
    const sentinelDetails = JSON.parse(load('sentinel.json').ExtendedProperties['Custom Details']) as Record<string, string[]>;
    const elasticTag = (load('elastic.json').rule.tags as string[]).find((tag) => tag.startsWith('wmi-hunter:'));
    const named = [load('generic.json').playbook, load('splunk.json').result.playbook, sentinelDetails.wmi_hunter_playbook?.[0], elasticTag?.slice('wmi-hunter:'.length)];
    for (const name of named) expect(playbooks.names).toContain(name);
  });

  it.each(Object.keys(ALERT_SHAPES))('%s parses as JSON and carries a valid host and an alert id where the product puts them', (file) => {
    const payload = JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as unknown;
    const { hosts, alertId } = (ALERT_SHAPES[file] as (payload: unknown) => { hosts: string[]; alertId: unknown })(payload);
    expect(hosts.length).toBeGreaterThan(0);
    for (const host of hosts) expect(isValidHostName(host), `host ${host}`).toBe(true);
    expect(typeof alertId).toBe('string');
    expect(String(alertId).length).toBeGreaterThan(0);
  });

  it.each([
    ['generic', 'wmi-persistence-hunt', 'named'],
    ['splunk', 'wmi-persistence-hunt', 'named'],
    ['sentinel', 'wmi-persistence-hunt', 'named'],
    ['defender', 'mofcomp-execution-triage', 'matched'],
    ['elastic', 'wmiprvse-child-triage', 'named'],
  ] as const)('the %s example starts %s through the service\'s own alert parser (%s)', async (source, playbook, how) => {
    const registry = await PlaybookRegistry.load(PLAYBOOKS_DIR);
    const alert = parseAlert(source, JSON.parse(readFileSync(join(EXAMPLES_DIR, `${source}.json`), 'utf8')));
    if (how === 'named') expect(alert.playbook).toBe(playbook);
    else {
      expect(alert.playbook).toBeNull();
      expect(registry.matchAlert(alert.signals)?.playbook.name).toBe(playbook);
    }
  });
});
