import type { AlertSource } from '../config/config.js';
import { sha256Hex } from '../domain/canonical-json.js';
import { isValidHostName } from '../domain/host.js';
import { CodedError, ErrorCode } from '../errors.js';
import type { AlertSignals } from '../playbooks/playbook-registry.js';

/**
 * SIEM payloads reduced to one shape: the alert's id (for de-duplication), the hosts it is about,
 * a summary, and the signals playbook triggers match on (event ids, channels, ATT&CK tags,
 * process images and parent images). Each source has its own field names; nothing else differs.
 */
export interface NormalizedAlert {
  alertId: string;
  hosts: string[];
  summary: string;
  rule: string | null;
  /** The playbook the detection names (Splunk `playbook`, Sentinel custom detail, Elastic `wmi-hunter:<name>` tag). */
  playbook: string | null;
  signals: AlertSignals;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a field by dotted path, nested (`{host:{name}}`) or flattened (`{"host.name": ...}`), as ECS exports vary. */
function field(source: unknown, path: string): unknown {
  if (!isObject(source)) return undefined;
  if (path in source) return source[path];
  const parts = path.split('.');
  for (let split = 1; split < parts.length; split += 1) {
    const head = parts.slice(0, split).join('.');
    if (head in source) {
      const found = field(source[head], parts.slice(split).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function texts(...values: unknown[]): string[] {
  const out: string[] = [];
  const visit = (value: unknown) => {
    if (typeof value === 'string' && value.trim() !== '') out.push(value.trim());
    else if (typeof value === 'number') out.push(String(value));
    else if (Array.isArray(value)) value.forEach(visit);
  };
  values.forEach(visit);
  return [...new Set(out)];
}

function firstText(...values: unknown[]): string | null {
  return texts(...values)[0] ?? null;
}

function eventIds(...values: unknown[]): number[] {
  return [...new Set(texts(...values).map(Number).filter((value) => Number.isInteger(value) && value >= 0))];
}

/** Splunk's `source` is `XmlWinEventLog:<channel>` or `WinEventLog:<channel>`. */
function channelOf(value: string): string {
  return value.replace(/^(Xml)?WinEventLog:/i, '');
}

const TECHNIQUE = /\bT\d{4}(?:\.\d{3})?\b/gi;

/** ATT&CK tags as Sigma writes them (attack.t1546.003), from explicit tags and technique ids in any text. */
function attackTags(explicit: string[], ...free: string[]): string[] {
  const tags = new Set(explicit.map((tag) => tag.toLowerCase()).filter((tag) => /^[a-z0-9_.-]+$/.test(tag)));
  for (const text of [...explicit, ...free]) {
    for (const match of text.matchAll(TECHNIQUE)) {
      const id = match[0].toLowerCase();
      tags.add(`attack.${id}`);
      if (id.includes('.')) tags.add(`attack.${id.split('.')[0]}`);
    }
  }
  return [...tags];
}

function requireAlertId(value: string | null, source: AlertSource): string {
  if (!value || value.length > 200) throw new CodedError(ErrorCode.BadInput, `${source} alert has no usable alert id`, { field: 'alertId' });
  return value;
}

function requireHosts(values: string[], source: AlertSource): string[] {
  const hosts = [...new Map(values.map((host) => [host.toLowerCase(), host])).values()];
  if (hosts.length === 0) throw new CodedError(ErrorCode.BadInput, `${source} alert names no host`, { field: 'host' });
  for (const host of hosts) {
    if (!isValidHostName(host)) throw new CodedError(ErrorCode.InvalidHostName, `${source} alert names an invalid host ${JSON.stringify(host.slice(0, 80))}`, { field: 'host' });
  }
  return hosts;
}

function parseGeneric(body: Json): NormalizedAlert {
  const rule = firstText(body.rule, body.ruleName);
  const tags = texts(body.tags);
  const summary = firstText(body.title, body.summary, rule) ?? 'alert';
  return {
    alertId: requireAlertId(firstText(body.alertId, body.id), 'generic'),
    hosts: requireHosts(texts(body.host, body.hostname, body.hosts), 'generic'),
    summary,
    rule,
    playbook: firstText(body.playbook),
    signals: {
      eventIds: eventIds(body.eventId, body.eventIds),
      channels: texts(body.channel, body.channels),
      tags: attackTags(tags, summary, rule ?? ''),
      images: texts(body.image, body.images),
      parentImages: texts(body.parentImage, body.parentImages),
    },
  };
}

/** Splunk's webhook alert action: `{ sid, search_name, result: { ...first result row } }`. */
function parseSplunk(body: Json): NormalizedAlert {
  const result = isObject(body.result) ? body.result : {};
  const rule = firstText(body.search_name);
  const channels = texts(result.Channel, result.LogName, result.channel, result.source).map(channelOf);
  return {
    alertId: requireAlertId(firstText(result.alert_id, body.sid), 'splunk'),
    hosts: requireHosts(texts(firstText(result.ComputerName, result.Computer, result.host, result.dest, result.dvc)), 'splunk'),
    summary: rule ?? 'Splunk alert',
    rule: firstText(result.rule, rule),
    playbook: firstText(result.playbook),
    signals: {
      eventIds: eventIds(result.EventCode, result.EventID, result.signature_id),
      channels,
      tags: attackTags(texts(result.tag, result.tags, result.annotations), rule ?? '', ...texts(result.mitre_technique_id, result.technique_id)),
      images: texts(result.Image, result.process_path, result.process_name, result.NewProcessName),
      parentImages: texts(result.ParentImage, result.parent_process_path, result.parent_process_name, result.ParentProcessName),
    },
  };
}

function entitiesOf(value: unknown): Json[] {
  if (typeof value === 'string') {
    try {
      return entitiesOf(JSON.parse(value));
    } catch {
      return [];
    }
  }
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Microsoft Sentinel alert (SecurityAlert schema, as an automation rule or Logic App forwards it). */
function parseSentinel(body: Json): NormalizedAlert {
  const alert = isObject(body.alert) ? body.alert : body;
  const entities = entitiesOf(alert.Entities ?? alert.entities);
  const kind = (entity: Json) => String(entity.Type ?? entity.type ?? '').toLowerCase();
  const hosts = entities.filter((entity) => kind(entity) === 'host').map((entity) => {
    const name = firstText(entity.FQDN, entity.HostName, entity.hostName);
    const domain = firstText(entity.DnsDomain);
    return name && domain && !name.includes('.') ? `${name}.${domain}` : name;
  });
  const processes = entities.filter((entity) => kind(entity) === 'process');
  const imageName = (entity: unknown) => (isObject(entity) ? firstText(field(entity, 'ImageFile.Name'), field(entity, 'ImageFile.FullPath')) : null);
  const extended = isObject(alert.ExtendedProperties) ? alert.ExtendedProperties : {};
  const customDetails = jsonObject(extended['Custom Details']);
  const rule = firstText(alert.AlertName, alert.AlertDisplayName, alert.DisplayName, alert.alertDisplayName);
  return {
    alertId: requireAlertId(firstText(alert.SystemAlertId, alert.systemAlertId, alert.AlertId), 'sentinel'),
    hosts: requireHosts(texts(hosts, extended.Computer, extended.HostName), 'sentinel'),
    summary: rule ?? 'Sentinel alert',
    rule,
    playbook: firstText(customDetails.wmi_hunter_playbook),
    signals: {
      eventIds: eventIds(extended.EventID, extended.EventId, extended.EventCode),
      channels: texts(extended.Channel, extended.EventLog),
      tags: attackTags(texts(alert.Techniques, alert.SubTechniques).map((value) => value.toLowerCase()), rule ?? ''),
      images: texts(processes.map(imageName)),
      parentImages: texts(processes.map((entity) => imageName(entity.ParentProcess))),
    },
  };
}

/** Microsoft Defender: the Defender for Endpoint alert API shape and the Graph security alert (v2) shape. */
function parseDefender(body: Json): NormalizedAlert {
  const evidence = Array.isArray(body.evidence) ? body.evidence.filter(isObject) : [];
  const odataType = (entry: Json) => String(entry['@odata.type'] ?? entry.entityType ?? '').toLowerCase();
  const devices = evidence.filter((entry) => odataType(entry).includes('device')).map((entry) => firstText(entry.deviceDnsName, entry.hostName));
  const processes = evidence.filter((entry) => odataType(entry).includes('process'));
  const rule = firstText(body.title, body.detectorId);
  return {
    alertId: requireAlertId(firstText(body.id, body.alertId), 'defender'),
    hosts: requireHosts(texts(body.computerDnsName, body.deviceDnsName, devices), 'defender'),
    summary: rule ?? 'Defender alert',
    rule,
    playbook: null,
    signals: {
      eventIds: [],
      channels: [],
      tags: attackTags(texts(body.mitreTechniques).map((value) => value.toLowerCase()), rule ?? '', firstText(body.description) ?? ''),
      images: texts(processes.map((entry) => firstText(field(entry, 'imageFile.fileName'), entry.fileName))),
      parentImages: texts(processes.map((entry) => firstText(field(entry, 'parentProcessImageFile.fileName'), entry.parentProcessFileName))),
    },
  };
}

/**
 * Elastic Security: the Kibana webhook connector body (`{ rule, context: { alerts: [...] } }`) or a
 * single detection alert document (ECS, nested or with dotted keys).
 */
function parseElastic(body: Json): NormalizedAlert {
  const context = isObject(body.context) ? body.context : {};
  const alerts = Array.isArray(context.alerts) ? context.alerts.filter(isObject) : [body];
  if (alerts.length === 0) throw new CodedError(ErrorCode.BadInput, 'elastic alert carries no alerts', { field: 'context.alerts' });
  const ruleTags = texts(field(body, 'rule.tags'), alerts.map((alert) => field(alert, 'kibana.alert.rule.tags')));
  const rule = firstText(field(body, 'rule.name'), alerts.map((alert) => field(alert, 'kibana.alert.rule.name')), field(body, 'signal.rule.name'));
  const ids = texts(alerts.map((alert) => firstText(field(alert, 'kibana.alert.uuid'), alert._id, field(alert, 'signal.id'), alert.id)));
  const alertId = ids.length <= 1 ? (ids[0] ?? null) : `batch-${sha256Hex(ids.sort().join('|')).slice(0, 32)}`;
  const playbookTag = ruleTags.find((tag) => tag.toLowerCase().startsWith('wmi-hunter:'));
  return {
    alertId: requireAlertId(alertId, 'elastic'),
    hosts: requireHosts(texts(alerts.map((alert) => firstText(field(alert, 'host.name'), field(alert, 'host.hostname'), field(alert, 'winlog.computer_name')))), 'elastic'),
    summary: rule ?? 'Elastic alert',
    rule,
    playbook: playbookTag ? playbookTag.slice('wmi-hunter:'.length) : null,
    signals: {
      eventIds: eventIds(alerts.map((alert) => [field(alert, 'event.code'), field(alert, 'winlog.event_id')])),
      channels: texts(alerts.map((alert) => field(alert, 'winlog.channel'))),
      tags: attackTags([...ruleTags, ...texts(alerts.map((alert) => threatTechniques(field(alert, 'threat'))))], rule ?? ''),
      images: texts(alerts.map((alert) => [field(alert, 'process.executable'), field(alert, 'process.name')])),
      parentImages: texts(alerts.map((alert) => [field(alert, 'process.parent.executable'), field(alert, 'process.parent.name')])),
    },
  };
}

function threatTechniques(threat: unknown): unknown[] {
  if (!Array.isArray(threat)) return [];
  return threat.filter(isObject).flatMap((entry) => {
    const techniques = Array.isArray(entry.technique) ? entry.technique.filter(isObject) : [];
    return techniques.flatMap((technique) => [technique.id, ...(Array.isArray(technique.subtechnique) ? technique.subtechnique.filter(isObject).map((sub) => sub.id) : [])]);
  });
}

function jsonObject(value: unknown): Json {
  if (isObject(value)) return value;
  if (typeof value !== 'string') return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

const PARSERS: Record<AlertSource, (body: Json) => NormalizedAlert> = {
  generic: parseGeneric,
  splunk: parseSplunk,
  sentinel: parseSentinel,
  defender: parseDefender,
  elastic: parseElastic,
};

export function parseAlert(source: AlertSource, body: unknown): NormalizedAlert {
  if (!isObject(body)) throw new CodedError(ErrorCode.BadInput, `${source} alert must be a JSON object`, { field: '(body)' });
  return PARSERS[source](body);
}
