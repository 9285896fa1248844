import { describe, expect, it } from 'vitest';
import { emptyFilter, eventFilterViolations, eventMatches, type EventFilter, type FilterableEvent } from './event-filter.js';

const ID = '01900000-0000-7000-8000-000000000001';
const taskEvent = (type: string, labels: Record<string, string> = {}): FilterableEvent => ({ type, aggregateId: ID, task: { taskType: 'email.send', labels } });
const filter = (f: Partial<EventFilter>): EventFilter => ({ ...emptyFilter(), ...f });

describe('eventMatches', () => {
  it('an empty filter matches everything', () => {
    expect(eventMatches(emptyFilter(), taskEvent('task.created'))).toBe(true);
    expect(eventMatches(emptyFilter(), { type: 'schedule.fired', aggregateId: ID })).toBe(true);
  });

  it('types: exact, a "prefix.*", or "*"; any entry may match', () => {
    expect(eventMatches(filter({ types: ['task.succeeded'] }), taskEvent('task.succeeded'))).toBe(true);
    expect(eventMatches(filter({ types: ['task.succeeded'] }), taskEvent('task.failed'))).toBe(false);
    expect(eventMatches(filter({ types: ['workflow.*', 'task.*'] }), taskEvent('task.failed'))).toBe(true);
    expect(eventMatches(filter({ types: ['task.*'] }), { type: 'schedule.fired', aggregateId: ID })).toBe(false);
    expect(eventMatches(filter({ types: ['*'] }), { type: 'schedule.fired', aggregateId: ID })).toBe(true);
  });

  it('aggregate ids, case-insensitively', () => {
    expect(eventMatches(filter({ aggregateIds: [ID.toUpperCase()] }), taskEvent('task.created'))).toBe(true);
    expect(eventMatches(filter({ aggregateIds: ['01900000-0000-7000-8000-000000000002'] }), taskEvent('task.created'))).toBe(false);
  });

  it('task types and labels match task events only; every label must be present', () => {
    expect(eventMatches(filter({ taskTypes: ['email.send'] }), taskEvent('task.created'))).toBe(true);
    expect(eventMatches(filter({ taskTypes: ['noop'] }), taskEvent('task.created'))).toBe(false);
    expect(eventMatches(filter({ taskTypes: ['email.send'] }), { type: 'workflow.failed', aggregateId: ID })).toBe(false);
    expect(eventMatches(filter({ labels: ['team=a', 'tier=gold'] }), taskEvent('task.created', { team: 'a', tier: 'gold', x: 'y' }))).toBe(true);
    expect(eventMatches(filter({ labels: ['team=a', 'tier=gold'] }), taskEvent('task.created', { team: 'a' }))).toBe(false);
    expect(eventMatches(filter({ labels: ['expr=a=b'] }), taskEvent('task.created', { expr: 'a=b' }))).toBe(true);
    expect(eventMatches(filter({ labels: ['team=a'] }), { type: 'schedule.fired', aggregateId: ID })).toBe(false);
  });

  it('every non-empty list must match', () => {
    const f = filter({ types: ['task.succeeded'], taskTypes: ['email.send'], labels: ['team=a'] });
    expect(eventMatches(f, taskEvent('task.succeeded', { team: 'a' }))).toBe(true);
    expect(eventMatches(f, taskEvent('task.succeeded', { team: 'b' }))).toBe(false);
    expect(eventMatches(f, taskEvent('task.failed', { team: 'a' }))).toBe(false);
  });
});

describe('eventFilterViolations', () => {
  it('accepts a valid filter', () => {
    expect(eventFilterViolations(filter({ types: ['task.*', 'task.dead_lettered', '*'], aggregateIds: [ID], taskTypes: ['x'], labels: ['a=', 'k=v'] }), 'f')).toEqual([]);
  });

  it('names each bad entry and the rule it broke', () => {
    const v = eventFilterViolations(filter({ types: ['', 'Task.X', 'a*b'], aggregateIds: ['nope'], taskTypes: [''], labels: ['novalue', '=v'] }), 'subscription.filter');
    expect(v.map((x) => x.field)).toEqual([
      'subscription.filter.types[0]', 'subscription.filter.types[1]', 'subscription.filter.types[2]', 'subscription.filter.aggregate_ids[0]',
      'subscription.filter.task_types[0]', 'subscription.filter.labels[0]', 'subscription.filter.labels[1]',
    ]);
    expect(v[3]!.description).toBe('must be a UUID');
    expect(eventFilterViolations(filter({ types: Array.from({ length: 101 }, () => 'task.*') }), 'f')).toEqual([
      { field: 'f.types', description: 'must have at most 100 entries' },
    ]);
  });
});
