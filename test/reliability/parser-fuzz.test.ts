import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_SOURCES } from '../../src/config/config.js';
import { parseCollection } from '../../src/domain/collection.js';
import { assertValidHostName, isValidHostName } from '../../src/domain/host.js';
import { CodedError } from '../../src/errors.js';
import { parseAlert } from '../../src/http/alert-parsers.js';
import { partsFromEventXml } from '../../src/ingest/event-xml-reader.js';
import { eventRecordFromJson, RecordShapeError } from '../../src/ingest/flat-record.js';
import { EventPartsError, eventRecordFromParts } from '../../src/ingest/windows-event.js';
import { lintPlaybookText } from '../../src/playbooks/playbook-lint.js';
import { parseCommand } from '../../src/slack/command-grammar.js';
import { REPO_ROOT } from './support/lab-worker.js';
import { recordFigures } from './support/figures.js';

/**
 * Property-based fuzzing (fast-check, 10,000 runs per parser): whatever the input, each parser
 * returns a value or throws its own typed error (a CodedError, or the reader's shape error that the
 * reader turns into a per-record problem). Any other exception (TypeError, RangeError, a stack
 * overflow) would crash a request or a job, and fails the property.
 */
const RUNS = Number(process.env.WMI_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.WMI_FUZZ_SEED ?? Date.now() % 2_147_483_647);
const settings = { numRuns: RUNS, seed: SEED };
const SAMPLE_COLLECTION = 'apt29-activescript-startup.json';

function expectTyped(run: () => unknown, allowed: Array<new (...args: never[]) => Error> = []): void {
  try {
    run();
  } catch (error) {
    if (error instanceof CodedError || allowed.some((type) => error instanceof type)) return;
    throw error;
  }
}

/** Strings built from the characters that break parsers and shells, plus any unicode. */
const hostile = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'\'"`$();|&<>\\/\n\r\t\0 {}[]=:,.-_@#%*?!~'.split('')), maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);
const tokenised = (words: string[]) => fc.array(fc.oneof(fc.constantFrom(...words), hostile), { maxLength: 8 }).map((parts) => parts.join(' '));

describe('parsers never crash on any input (fast-check)', () => {
  it(`host name validator: ${RUNS} runs`, () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.domain(), fc.ipV4(), fc.anything()), (value) => {
        const valid = typeof value === 'string' && isValidHostName(value);
        if (valid) expect(/^[A-Za-z0-9.-]+$/.test(value as string)).toBe(true);
        expectTyped(() => assertValidHostName(value));
      }),
      settings,
    );
  });

  it(`Slack command grammar: ${RUNS} runs`, () => {
    const words = ['hunt', 'status', 'report', 'trace', 'remove', 'restore', 'help', '--lookback', '--playbook', 'TH-WMI-20261129-001', 'host01', 'group:', '<@U123>', '&lt;', '*'];
    fc.assert(
      fc.property(tokenised(words), (text) => {
        expectTyped(() => {
          const command = parseCommand(text);
          if (command.name === 'hunt' && command.target.kind === 'hosts') for (const host of command.target.hosts) expect(isValidHostName(host)).toBe(true);
        });
      }),
      settings,
    );
  });

  it(`alert payloads of every SIEM source: ${RUNS} runs per source`, () => {
    const field = fc.oneof(hostile, fc.integer(), fc.constant(null), fc.boolean(), fc.array(hostile, { maxLength: 3 }));
    const alertish = fc.dictionary(
      fc.constantFrom('host', 'hostname', 'computer', 'Computer', 'DeviceName', 'result', 'search_name', 'alertId', 'id', 'title', 'rule', 'entities', 'properties', 'evidence', 'signal', 'host.name', 'kibana.alert.uuid', 'EventID', 'tags', 'playbook'),
      fc.oneof(field, fc.dictionary(hostile, field, { maxKeys: 4 })),
      { maxKeys: 8 },
    );
    for (const source of ALERT_SOURCES) {
      fc.assert(
        fc.property(fc.oneof(alertish, fc.jsonValue({ maxDepth: 3 })), (body) => {
          expectTyped(() => {
            const alert = parseAlert(source, body);
            for (const host of alert.hosts) expect(isValidHostName(host)).toBe(true);
          });
        }),
        settings,
      );
    }
  });

  it(`collection schema: ${RUNS} runs (arbitrary JSON and mutations of a valid collection)`, () => {
    const valid = JSON.parse(readFileSync(`${REPO_ROOT}/samples/collections/${SAMPLE_COLLECTION}`, 'utf8')) as Record<string, unknown>;
    const mutation = fc.tuple(fc.constantFrom(...Object.keys(valid)), fc.jsonValue({ maxDepth: 2 })).map(([key, value]) => ({ ...valid, [key]: value }));
    fc.assert(fc.property(fc.oneof(mutation, fc.jsonValue({ maxDepth: 3 })), (document) => expectTyped(() => parseCollection(document))), settings);
  });

  it(`playbook schema and YAML: ${RUNS} runs`, () => {
    const text = readFileSync(`${REPO_ROOT}/playbooks/wmi-persistence-hunt.yaml`, 'utf8');
    const lines = text.split('\n');
    const mutated = fc
      .tuple(fc.nat({ max: lines.length - 1 }), fc.oneof(hostile, fc.constantFrom('  - id: x', 'action: remove', '  when: {', ': :', '- - -', '&a [*a]', '!!js/function x', '~', 'steps: 3')))
      .map(([index, replacement]) => lines.map((line, at) => (at === index ? replacement : line)).join('\n'));
    fc.assert(
      fc.property(fc.oneof(mutated, hostile), (yamlText) => {
        const result = lintPlaybookText(yamlText, 'fuzz.yaml');
        expect(result.playbook !== null || result.problems.length > 0).toBe(true);
      }),
      settings,
    );
  });

  it(`event readers (flat / evtx_dump JSON records and event XML): ${RUNS} runs each`, () => {
    const record = fc.dictionary(
      fc.constantFrom('EventID', 'EventId', 'event_id', 'Channel', 'Provider', 'Computer', 'RecordID', 'TimeCreated', 'UtcTime', 'Event', 'System', 'EventData', '_source', 'result', 'winlog', 'Data', 'Image', 'Operation'),
      fc.oneof(hostile, fc.integer(), fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
      { maxKeys: 8 },
    );
    fc.assert(
      fc.property(fc.oneof(record, fc.jsonValue({ maxDepth: 3 })), (value) => expectTyped(() => eventRecordFromJson(value), [RecordShapeError])),
      settings,
    );

    const xmlPiece = fc.constantFrom('<Event>', '</Event>', '<System>', '</System>', '<EventID>19</EventID>', '<Data Name="Operation">', '</Data>', '<![CDATA[', ']]>', '<!DOCTYPE x [<!ENTITY e "x">]>', '&e;', '&amp;', '<?xml version="1.0"?>', '<EventData>', '</EventData>', '<Computer>h</Computer>', '<TimeCreated SystemTime="2026-01-01T00:00:00Z"/>', '<Provider Name="p"/>');
    const xml = fc.array(fc.oneof(xmlPiece, hostile), { maxLength: 12 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(xml, (text) => {
        // The XML reader reports any syntax error of one event as a problem and reads on; a
        // programming error (TypeError, RangeError ...) inside the parser would still be a defect.
        let parts: ReturnType<typeof partsFromEventXml>;
        try {
          parts = partsFromEventXml(text);
        } catch (error) {
          if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) throw error;
          return;
        }
        expectTyped(() => eventRecordFromParts(parts), [EventPartsError]);
      }),
      settings,
    );
    recordFigures('parser-fuzz', { runsPerParser: RUNS, seed: SEED, parsers: ['host name', 'slack command', ...ALERT_SOURCES.map((source) => `alert:${source}`), 'collection', 'playbook', 'event json', 'event xml'] });
  });
});
