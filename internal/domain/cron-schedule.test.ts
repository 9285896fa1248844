import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { CronError, CronSchedule } from './cron-schedule.js';
import { TimeZone } from './time-zone.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString().replace('.000', '');
const fires = (expr: string, tz: string, from: string, to: string): string[] =>
  CronSchedule.parse(expr, tz).between(at(from), at(to)).map(iso);

describe('CronSchedule in Europe/Berlin across DST (rule in docs/schedules.md)', () => {
  // 2026-10-25: 03:00 CEST (+2) → 02:00 CET (+1) at 01:00Z; local 02:00-03:00 happens twice.
  it('autumn: a daily 02:30 job fires once, at the first 02:30 (CEST)', () => {
    expect(fires('30 2 * * *', 'Europe/Berlin', '2026-10-24T00:00Z', '2026-10-26T12:00Z'))
      .toEqual(['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
  });

  it('autumn: an hourly job fires at every real hour, twice at local 02:00', () => {
    expect(fires('0 * * * *', 'Europe/Berlin', '2026-10-24T22:30Z', '2026-10-25T03:30Z'))
      .toEqual(['2026-10-24T23:00:00Z', '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z', '2026-10-25T03:00:00Z']);
  });

  it('autumn: fixed hours (1-3) fire at the first occurrence of each wall time only', () => {
    expect(fires('30 1-3 * * *', 'Europe/Berlin', '2026-10-24T22:00Z', '2026-10-25T04:00Z'))
      .toEqual(['2026-10-24T23:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T02:30:00Z']);
  });

  it('autumn: an every-second job has no duplicate and no gap through the change', () => {
    const s = CronSchedule.parse('* * * * * *', 'Europe/Berlin').between(at('2026-10-24T23:59:00Z'), at('2026-10-25T02:01:00Z'));
    expect(s.length).toBe(2 * 3600 + 120);
    expect(s.every((t, i) => i === 0 || t - (s[i - 1] as number) === 1000)).toBe(true);
  });

  // 2026-03-29: 02:00 CET (+1) → 03:00 CEST (+2) at 01:00Z; local 02:00-03:00 does not exist.
  it('spring: a daily 02:30 job fires once, at 03:30 CEST (02:30 read on the old offset)', () => {
    expect(fires('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00Z', '2026-03-30T12:00Z'))
      .toEqual(['2026-03-28T01:30:00Z', '2026-03-29T01:30:00Z', '2026-03-30T00:30:00Z']);
  });

  it('spring: a half-hourly job fires at every real half hour, without a duplicate at 03:00', () => {
    expect(fires('0,30 * * * *', 'Europe/Berlin', '2026-03-28T23:10Z', '2026-03-29T02:10Z'))
      .toEqual(['2026-03-28T23:30:00Z', '2026-03-29T00:00:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z']);
  });

  it('spring: 02:30 shifted to 03:30 and a native 03:30 are one fire', () => {
    expect(fires('30 2,3 * * *', 'Europe/Berlin', '2026-03-29T00:00Z', '2026-03-29T12:00Z')).toEqual(['2026-03-29T01:30:00Z']);
  });

  it('gives the same instants whatever window the question starts from', () => {
    const c = CronSchedule.parse('*/20 * * * *', 'Europe/Berlin');
    const whole = c.between(at('2026-10-24T22:00Z'), at('2026-10-25T04:00Z'));
    const stepwise: number[] = [];
    for (let t = at('2026-10-24T22:00Z'); t < at('2026-10-25T04:00Z'); t += 7 * 60_000 + 13_000) {
      stepwise.push(...c.between(t, Math.min(t + 7 * 60_000 + 13_000, at('2026-10-25T04:00Z'))));
    }
    expect(stepwise).toEqual(whole);
  });
});

/**
 * The rule, computed the slow way: step through every second (or minute), read the wall
 * clock, and fire on a match unless the wall time repeats (then only for every-hour
 * expressions); for wall times skipped by a jump, fire at the match read on the old offset.
 */
function reference(expr: string, tz: string, from: number, to: number, step: number): number[] {
  const c = CronExpressionParser.parse(expr, { tz: 'UTC' });
  const everyHour = c.fields.hour.values.length === 24;
  const matches = (wall: number): boolean => c.includesDate(new Date(wall));
  const zone = TimeZone.of(tz);
  const out = new Set<number>();
  let maxWall = from + zone.offsetAt(from);
  for (let t = from + step; t <= to; t += step) {
    const wall = t + zone.offsetAt(t);
    const prevOffset = zone.offsetAt(t - step);
    for (let g = t - step + prevOffset + step; g < wall; g += step) if (matches(g)) out.add(g - prevOffset);
    if (matches(wall) && (wall > maxWall || everyHour)) out.add(t);
    maxWall = Math.max(maxWall, wall);
  }
  return [...out].sort((a, b) => a - b);
}

describe('CronSchedule against a brute-force reference', () => {
  const cases: [string, string, string][] = [
    ['Europe/Berlin', '2026-03-28T20:00Z', '2026-03-29T06:00Z'],
    ['Europe/Berlin', '2026-10-24T20:00Z', '2026-10-25T06:00Z'],
    ['America/New_York', '2026-03-08T02:00Z', '2026-03-08T12:00Z'],
    ['America/New_York', '2026-11-01T02:00Z', '2026-11-01T12:00Z'],
    ['Australia/Sydney', '2026-04-04T10:00Z', '2026-04-04T20:00Z'],
    ['Australia/Sydney', '2026-10-03T10:00Z', '2026-10-03T20:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T10:00Z', '2026-04-04T20:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T10:00Z', '2026-10-03T20:00Z'],
    ['Asia/Kolkata', '2026-10-24T20:00Z', '2026-10-25T06:00Z'],
    ['UTC', '2026-10-24T20:00Z', '2026-10-25T06:00Z'],
  ];
  const exprs = ['0 * * * *', '*/15 * * * *', '30 2 * * *', '0,30 1-3 * * *', '45 */2 * * *', '* 2 * * *', '5 0-23 * * *', '0 3 * * 0'];
  it.each(cases)('%s from %s to %s', (tz, from, to) => {
    for (const e of exprs) {
      const got = CronSchedule.parse(e, tz).between(at(from), at(to)).map(iso);
      expect(got, `${e} in ${tz}`).toEqual(reference(e, tz, at(from), at(to), 60_000).map(iso));
    }
    // Every window holds its transition between from + 3 h and to - 3 h.
    const [a, b] = [at(from) + 3 * 3600_000, at(to) - 3 * 3600_000];
    const secs = CronSchedule.parse('*/7 * * * * *', tz).between(a, b).map(iso);
    expect(secs, `*/7 seconds in ${tz}`).toEqual(reference('*/7 * * * * *', tz, a, b, 1000).map(iso));
  });
});

describe('CronSchedule queries', () => {
  const c = CronSchedule.parse('0 */6 * * *', 'UTC');
  it('next is strictly after, latest returns the last n in order', () => {
    expect(iso(c.next(at('2026-01-01T06:00Z'))!)).toBe('2026-01-01T12:00:00Z');
    expect(c.latest(at('2026-01-01T00:00Z'), at('2026-01-03T00:00Z'), 3).map(iso)).toEqual(['2026-01-02T12:00:00Z', '2026-01-02T18:00:00Z', '2026-01-03T00:00:00Z']);
    expect(c.latest(at('2026-01-01T00:00Z'), at('2026-01-01T13:00Z'), 10).map(iso)).toEqual(['2026-01-01T06:00:00Z', '2026-01-01T12:00:00Z']);
  });

  it('finds far fires (29 February) and reports none past the horizon', () => {
    expect(iso(CronSchedule.parse('0 0 29 2 *', 'UTC').next(at('2026-01-01T00:00Z'))!)).toBe('2028-02-29T00:00:00Z');
    expect(CronSchedule.parse('0 0 1 1 *', 'UTC').between(at('2026-01-01T00:00Z'), at('2026-12-31T00:00Z'))).toEqual([]);
  });
});

describe('CronSchedule.parse errors name the field', () => {
  it.each([
    ['', 'cron', 'must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 0'],
    ['* * * *', 'cron', 'must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 4'],
    ['* * * * * * *', 'cron', 'must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 7'],
    ['@daily', 'cron', 'must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 1'],
    ['61 * * * *', 'cron', 'is not a valid cron expression: Constraint error, got value 61 expected range 0-59'],
    ['0 0 31 2 *', 'cron', 'is not a valid cron expression: Invalid explicit day of month definition'],
    ['foo * * * *', 'cron', 'is not a valid cron expression: Invalid characters, got value: foo'],
    ['H * * * *', 'cron', 'hashed values (H) are not supported'],
  ])('%j', (expr, field, message) => {
    const e = (() => {
      try {
        CronSchedule.parse(expr, 'UTC');
      } catch (err) {
        return err as CronError;
      }
      throw new Error('parsed');
    })();
    expect(e).toBeInstanceOf(CronError);
    expect({ field: e.field, message: e.message }).toEqual({ field, message });
  });

  it.each(['Mars/Olympus', '+02:00', 'Europe/Berlin '])('unknown time zone %j', (tz) => {
    expect(() => CronSchedule.parse('* * * * *', tz)).toThrow(new CronError('time_zone', `"${tz}" is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")`));
  });

  it('accepts day names and THU (not a hash)', () => {
    expect(CronSchedule.parse('0 9 * * MON-THU', 'Europe/Berlin').everyHour).toBe(false);
  });
});
