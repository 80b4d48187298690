import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/domain/analysis/analyze.js';
import { bindingObject, commandLineConsumer, filterObject, subscription, wmiObject } from './build-objects.js';

const QUERY = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_Service'";
const analyze = (objects: Parameters<typeof analyzeObjects>[0]) => analyzeObjects(objects, { allowlist: [] });

describe('joining bindings to filters and consumers', () => {
  it('joins a binding to its filter and consumer into one subscription finding', () => {
    const [finding, ...rest] = analyze(subscription(filterObject('F', QUERY), commandLineConsumer('C', 'C:\\Tools\\a.exe')));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'subscription',
      filterName: 'F',
      filterQuery: QUERY,
      consumerName: 'C',
      consumerType: 'CommandLine',
      consumerAction: 'C:\\Tools\\a.exe',
      binding: '__EventFilter.Name="F" -> CommandLineEventConsumer.Name="C"',
      namespace: 'root\\subscription',
    });
    expect(finding!.objects.map((o) => o.kind)).toEqual(['filter', 'consumer', 'binding']);
  });

  it('matches names case-insensitively, as WMI does', () => {
    const objects = [filterObject('BotFilter82', QUERY), commandLineConsumer('BotConsumer23', 'cmd.exe'), bindingObject('__EventFilter.Name="botfilter82"', 'CommandLineEventConsumer.Name="BOTCONSUMER23"')];
    expect(analyze(objects).map((f) => f.kind)).toEqual(['subscription']);
  });

  it('follows a binding whose Filter path names another namespace', () => {
    const filter = filterObject('Remote', QUERY, 'root\\cimv2');
    const consumer = commandLineConsumer('C', 'C:\\Tools\\a.exe');
    const binding = bindingObject('\\\\.\\root\\cimv2:__EventFilter.Name="Remote"', 'CommandLineEventConsumer.Name="C"');
    const [finding] = analyze([filter, consumer, binding]);
    expect(finding!.kind).toBe('subscription');
    expect(finding!.reasons.map((r) => r.rule)).toContain('binding.cross-namespace');
    expect(finding!.objects.find((o) => o.kind === 'filter')!.namespace).toBe('root\\cimv2');
  });

  it('does not join a relative path to an object of the same name in another namespace', () => {
    const objects = [filterObject('F', QUERY, 'root\\cimv2'), commandLineConsumer('C', 'a.exe'), bindingObject('__EventFilter.Name="F"', 'CommandLineEventConsumer.Name="C"')];
    const kinds = analyze(objects).map((f) => f.kind).sort();
    expect(kinds).toEqual(['dangling-binding', 'orphan-filter']);
  });

  it('reports a consumer without a binding as an orphan', () => {
    const [finding] = analyze([commandLineConsumer('Lonely', 'C:\\Tools\\a.exe')]);
    expect(finding).toMatchObject({ kind: 'orphan-consumer', consumerName: 'Lonely', filterName: null, binding: null });
    expect(finding!.reasons.map((r) => r.rule)).toEqual(expect.arrayContaining(['orphan.consumer', 'consumer.commandline']));
    expect(finding!.reasons.find((r) => r.rule === 'consumer.commandline')!.level).toBe('Medium');
  });

  it('reports a filter without a binding as an orphan', () => {
    const [finding] = analyze([filterObject('Alone', QUERY)]);
    expect(finding).toMatchObject({ kind: 'orphan-filter', filterName: 'Alone', riskLevel: 'Low' });
  });

  it('reports a binding that points at a missing consumer, keeping the filter it found', () => {
    const objects = [filterObject('F', QUERY), bindingObject('__EventFilter.Name="F"', 'CommandLineEventConsumer.Name="Gone"')];
    const [finding] = analyze(objects);
    expect(finding).toMatchObject({ kind: 'dangling-binding', filterName: 'F', consumerName: null, riskLevel: 'Medium' });
    expect(finding!.reasons.find((r) => r.rule === 'binding.dangling')!.message).toContain('CommandLineEventConsumer.Name="Gone"');
  });

  it('treats a binding to a consumer of another class as dangling', () => {
    const objects = [filterObject('F', QUERY), commandLineConsumer('C', 'a.exe'), bindingObject('__EventFilter.Name="F"', 'ActiveScriptEventConsumer.Name="C"')];
    expect(analyze(objects).map((f) => f.kind).sort()).toEqual(['dangling-binding', 'orphan-consumer']);
  });

  it('treats an unparsable binding path as dangling rather than guessing', () => {
    const objects = [filterObject('F', QUERY), bindingObject('not a path ===', 'also not')];
    expect(analyze(objects).map((f) => f.kind).sort()).toEqual(['dangling-binding', 'orphan-filter']);
  });

  it('makes one finding per binding when a filter feeds two consumers', () => {
    const filter = filterObject('F', QUERY);
    const objects = [
      filter,
      commandLineConsumer('A', 'a.exe'),
      commandLineConsumer('B', 'b.exe'),
      bindingObject('__EventFilter.Name="F"', 'CommandLineEventConsumer.Name="A"'),
      bindingObject('__EventFilter.Name="F"', 'CommandLineEventConsumer.Name="B"'),
    ];
    expect(analyze(objects).map((f) => f.consumerName).sort()).toEqual(['A', 'B']);
  });

  it('never joins objects of different hosts', () => {
    const objects = [filterObject('F', QUERY, undefined, { host: 'A' }), commandLineConsumer('C', 'a.exe', undefined, { host: 'B' }), bindingObject('__EventFilter.Name="F"', 'CommandLineEventConsumer.Name="C"', undefined, { host: 'A' })];
    expect(analyze(objects).map((f) => `${f.host}:${f.kind}`).sort()).toEqual(['A:dangling-binding', 'B:orphan-consumer']);
  });

  it('attaches the timer instruction a __TimerEvent filter waits for, and reports an unused one', () => {
    const filter = filterObject('F', "SELECT * FROM __TimerEvent WHERE TimerID = 'T1'");
    const used = wmiObject('timer', 'root\\cimv2', '__IntervalTimerInstruction', { TimerId: 'T1', IntervalBetweenEvents: 60000 });
    const unused = wmiObject('timer', 'root\\cimv2', '__IntervalTimerInstruction', { TimerId: 'T2', IntervalBetweenEvents: 60000 });
    const findings = analyze([...subscription(filter, commandLineConsumer('C', 'a.exe')), used, unused]);
    const sub = findings.find((f) => f.kind === 'subscription')!;
    expect(sub.objects.map((o) => `${o.kind}:${o.key}`)).toContain('timer:T1');
    const timer = findings.find((f) => f.kind === 'timer')!;
    expect(timer.objects[0]!.key).toBe('T2');
    expect(timer.reasons.map((r) => r.rule)).toEqual(['timer.unused']);
  });

  it('carries created, user context and deletion from event-log objects, even without properties', () => {
    const filter = filterObject('F', QUERY, undefined, { source: 'eventlog', createdAt: '2019-05-18T18:43:40.000Z', loggedUser: 'SHIRE\\nmartha', deletedAt: '2019-05-18T19:00:00.000Z' });
    const consumer = wmiObject('consumer', 'root\\subscription', 'CommandLineEventConsumer', { Name: 'C' }, { source: 'eventlog', createdAt: '2019-05-18T18:43:39.000Z', loggedUser: 'SHIRE\\nmartha' });
    const binding = bindingObject('__EventFilter.Name="F"', 'CommandLineEventConsumer.Name="C"', undefined, { source: 'collection', creatorSid: 'S-1-5-21-1-2-3-1106' });
    const [finding] = analyze([filter, consumer, binding]);
    expect(finding).toMatchObject({
      kind: 'subscription',
      created: '2019-05-18T18:43:39.000Z',
      userContext: 'S-1-5-21-1-2-3-1106',
      deleted: '2019-05-18T19:00:00.000Z',
      source: 'collection+eventlog',
      consumerAction: null,
    });
    const propertyless = wmiObject('consumer', 'root\\subscription', 'ActiveScriptEventConsumer', {}, { source: 'eventlog' });
    expect(() => analyze([propertyless, wmiObject('binding', 'root\\subscription', '__FilterToConsumerBinding', {})])).not.toThrow();
  });

  it('prefers the creator account, then a well-known SID by name, then the logged user', () => {
    const withAccount = commandLineConsumer('C', 'a.exe', undefined, { creatorAccount: 'CORP\\bob', creatorSid: 'S-1-5-18' });
    expect(analyze([withAccount])[0]!.userContext).toBe('CORP\\bob');
    expect(analyze([commandLineConsumer('C', 'a.exe', undefined, { creatorSid: 'S-1-5-18' })])[0]!.userContext).toBe('NT AUTHORITY\\SYSTEM');
    expect(analyze([commandLineConsumer('C', 'a.exe', undefined, { loggedUser: 'IEWIN7\\IEUser' })])[0]!.userContext).toBe('IEWIN7\\IEUser');
  });

  it('joins objects whose namespace is given as logged (//./root/subscription)', () => {
    const objects = subscription(filterObject('F', QUERY), commandLineConsumer('C', 'a.exe')).map((o) => ({ ...o, namespace: '//./ROOT/subscription' }));
    expect(analyze(objects).map((f) => [f.kind, f.namespace])).toEqual([['subscription', 'root\\subscription']]);
  });

  it('reads the same object twice (two collections of one host) as one', () => {
    const objects = subscription(filterObject('F', QUERY), commandLineConsumer('C', 'a.exe'));
    expect(analyze([...objects, ...objects.map((o) => ({ ...o }))])).toHaveLength(1);
  });
});
