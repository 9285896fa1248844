import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { DEFAULT_SCHEDULE_LIMITS, validateSchedule, type ScheduleSpecInput } from './schedule.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const ok: ScheduleSpecInput = { name: 'nightly', cron: '30 2 * * *', timeZone: 'Europe/Berlin', template: { kind: 'task', task: { type: 'noop' } } };
const violations = (s: ScheduleSpecInput): string[] => {
  try {
    validateSchedule(s, 'schedule', DEFAULT_SCHEDULE_LIMITS, NOW);
  } catch (e) {
    if (e instanceof DomainError) return e.violations.map((v) => `${v.field}: ${v.description}`);
    throw e;
  }
  return [];
};

describe('validateSchedule', () => {
  it('fills defaults', () => {
    const d = validateSchedule({ ...ok, timeZone: '' }, 'schedule', DEFAULT_SCHEDULE_LIMITS, NOW);
    expect(d).toMatchObject({
      namespace: 'default', timeZone: 'UTC', misfirePolicy: 'FIRE_ONCE', misfireCap: 0, misfireGraceMs: 60_000, overlapPolicy: 'ALLOW',
      startAt: null, endAt: null,
    });
    expect(validateSchedule({ ...ok, misfirePolicy: 'FIRE_ALL' }, 'schedule', DEFAULT_SCHEDULE_LIMITS, NOW).misfireCap).toBe(100);
    expect(validateSchedule({ ...ok, cron: '  0   0 * * *  ' }, 'schedule', DEFAULT_SCHEDULE_LIMITS, NOW).cron).toBe('0 0 * * *');
  });

  it.each<[string, ScheduleSpecInput, string[]]>([
    ['a bad cron expression', { ...ok, cron: '61 * * * *' }, ['schedule.cron: is not a valid cron expression: Constraint error, got value 61 expected range 0-59']],
    ['too few fields', { ...ok, cron: '* * * *' }, ['schedule.cron: must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 4']],
    ['no cron', { ...ok, cron: '' }, ['schedule.cron: is required']],
    ['an unknown time zone', { ...ok, timeZone: 'Europe/Atlantis' }, ['schedule.time_zone: "Europe/Atlantis" is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")']],
    ['end before start', { ...ok, startAt: new Date(NOW + 2000), endAt: new Date(NOW + 1000) }, ['schedule.end_at: must be after start_at']],
    ['end equal to start', { ...ok, startAt: new Date(NOW), endAt: new Date(NOW) }, ['schedule.end_at: must be after start_at']],
    ['no name', { ...ok, name: '' }, ['schedule.name: is required']],
    ['no template', { ...ok, template: undefined }, ['schedule.template: is required: set task or workflow']],
    ['a cap without FIRE_ALL', { ...ok, misfireCap: 5 }, ['schedule.misfire_cap: applies only to misfire_policy FIRE_ALL']],
    ['a cap too large', { ...ok, misfirePolicy: 'FIRE_ALL', misfireCap: 5000 }, ['schedule.misfire_cap: must be from 1 to 1000']],
    ['a tiny grace', { ...ok, misfireGraceMs: 10 }, ['schedule.misfire_grace: must be from 1 s to 7 days']],
    ['a template with run_at and a key', { ...ok, template: { kind: 'task', task: { type: 'noop', runAt: new Date(NOW + 1000), idempotencyKey: 'k' } } }, [
      'schedule.task.run_at: is not allowed in a schedule template; use delay (counted from each fire)',
      'schedule.task.idempotency_key: is set by the schedule for each fire',
    ]],
    ['a template task without type', { ...ok, template: { kind: 'task', task: {} } }, ['schedule.task.type: is required']],
    ['a workflow template with a cycle', {
      ...ok, template: { kind: 'workflow', workflow: { tasks: [{ name: 'a', dependsOn: ['b'], task: { type: 'noop' } }, { name: 'b', dependsOn: ['a'], task: { type: 'noop' } }] } },
    }, ['schedule.workflow.tasks: dependency cycle: a -> b -> a']],
    ['several at once', { ...ok, cron: 'nope', timeZone: 'Nowhere/Land', name: '' }, [
      'schedule.name: is required', 'schedule.time_zone: "Nowhere/Land" is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")',
      'schedule.cron: must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 1',
    ]],
  ])('%s', (_what, input, expected) => {
    expect(violations(input)).toEqual(expected);
  });
});
