import { describe, expect, it } from 'vitest';
import { ManualClock } from '../shared/clock.js';
import { CronSchedule } from './cron-schedule.js';
import { nextFireAt, planFires, scheduledRun, upcomingFires, type ScheduleTiming } from './schedule-plan.js';
import { DEFAULT_SCHEDULE_LIMITS } from './schedule.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString().replace('.000', '');
const timing = (p: Partial<ScheduleTiming> = {}): ScheduleTiming => ({
  startAt: null, endAt: null, misfirePolicy: 'FIRE_ONCE', misfireCap: 0, misfireGraceMs: 60_000, ...p,
});
const hourly = CronSchedule.parse('0 * * * *', 'UTC');

describe('planFires: on-time fires', () => {
  it('a pass at each fire time runs exactly that fire, then the cursor is at now', () => {
    const clock = new ManualClock(at('2026-11-23T09:30:00Z'));
    let cursor = clock.now();
    const ran: string[] = [];
    for (let i = 0; i < 4; i++) {
      clock.set(nextFireAt(hourly, timing(), cursor)!.getTime() + 250); // the runner wakes a little late
      const p = planFires(hourly, timing(), cursor, clock.now());
      ran.push(...p.runs.map(iso));
      expect(p.cursor).toBe(clock.now());
      cursor = p.cursor;
    }
    expect(ran).toEqual(['2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z', '2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z']);
  });

  it('fires late within the grace still run, each once', () => {
    const p = planFires(CronSchedule.parse('* * * * * *', 'UTC'), timing({ misfirePolicy: 'SKIP' }), at('2026-11-23T10:00:00Z'), at('2026-11-23T10:00:05.5Z'));
    expect(p.runs.map(iso)).toEqual(['2026-11-23T10:00:01Z', '2026-11-23T10:00:02Z', '2026-11-23T10:00:03Z', '2026-11-23T10:00:04Z', '2026-11-23T10:00:05Z']);
  });
});

describe('planFires: misfire policies after 3.5 h without a leader', () => {
  // Cursor at 09:30; the leader is back at 13:00:30. Missed: 10:00, 11:00, 12:00 (13:00 is within the 60 s grace).
  const cursor = at('2026-11-23T09:30:00Z');
  const now = at('2026-11-23T13:00:30Z');

  it('SKIP runs only the on-time fire and drops the missed ones', () => {
    const p = planFires(hourly, timing({ misfirePolicy: 'SKIP' }), cursor, now);
    expect(p.runs.map(iso)).toEqual(['2026-11-23T13:00:00Z']);
    expect(p.dropped).toEqual({ after: cursor, until: now - 60_000 - 1 });
    expect(p.cursor).toBe(now);
  });

  it('FIRE_ONCE runs one fire for the latest missed time, plus the on-time one', () => {
    const p = planFires(hourly, timing({ misfirePolicy: 'FIRE_ONCE' }), cursor, now);
    expect(p.runs.map(iso)).toEqual(['2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z']);
    expect(p.dropped).toEqual({ after: cursor, until: at('2026-11-23T12:00:00Z') - 1 });
  });

  it('FIRE_ALL runs every missed fire, oldest first', () => {
    const p = planFires(hourly, timing({ misfirePolicy: 'FIRE_ALL', misfireCap: 100 }), cursor, now);
    expect(p.runs.map(iso)).toEqual(['2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z', '2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z']);
    expect(p.dropped).toBeNull();
  });

  it('FIRE_ALL beyond the cap keeps the latest missed fires', () => {
    const p = planFires(hourly, timing({ misfirePolicy: 'FIRE_ALL', misfireCap: 2 }), cursor, now);
    expect(p.runs.map(iso)).toEqual(['2026-11-23T11:00:00Z', '2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z']);
    expect(p.dropped).toEqual({ after: cursor, until: at('2026-11-23T11:00:00Z') - 1 });
  });

  it('a second pass at the same instant finds nothing (the cursor moved)', () => {
    const first = planFires(hourly, timing({ misfirePolicy: 'FIRE_ALL', misfireCap: 100 }), cursor, now);
    expect(planFires(hourly, timing({ misfirePolicy: 'FIRE_ALL', misfireCap: 100 }), first.cursor, now).runs).toEqual([]);
  });

  it('a week of every-second fires missed under FIRE_ALL costs only the cap', () => {
    const everySecond = CronSchedule.parse('* * * * * *', 'UTC');
    const t0 = Date.now();
    const p = planFires(everySecond, timing({ misfirePolicy: 'FIRE_ALL', misfireCap: 1000, misfireGraceMs: 1000 }), cursor, cursor + 7 * 86_400_000);
    expect(p.runs.length).toBe(1000 + 2); // plus two on time: now - 1 s and now
    expect(iso(p.runs[0]!)).toBe(iso(cursor + 7 * 86_400_000 - 1000 - 1000 * 1000));
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});

describe('planFires: start_at and end_at', () => {
  it('no fire before start_at, none after end_at; next fire is null past the end', () => {
    const s = timing({ startAt: new Date(at('2026-11-23T11:30:00Z')), endAt: new Date(at('2026-11-23T13:00:00Z')), misfirePolicy: 'FIRE_ALL', misfireCap: 10 });
    expect(iso(nextFireAt(hourly, s, at('2026-11-23T09:00:00Z'))!.getTime())).toBe('2026-11-23T12:00:00Z');
    const p = planFires(hourly, s, at('2026-11-23T09:00:00Z'), at('2026-11-23T15:00:00Z'));
    expect(p.runs.map(iso)).toEqual(['2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z']);
    expect(nextFireAt(hourly, s, p.cursor)).toBeNull();
    expect(upcomingFires(hourly, s, at('2026-11-23T09:00:00Z'), 5).map((d) => iso(d.getTime()))).toEqual(['2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z']);
  });
});

describe('planFires in Europe/Berlin through the autumn night, pass by pass', () => {
  it.each([
    ['30 2 * * *', ['2026-10-25T00:30:00Z']],
    ['0 * * * *', ['2026-10-24T23:00:00Z', '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z', '2026-10-25T03:00:00Z']],
    ['*/30 2 * * *', ['2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z']],
  ])('%s', (expr, expected) => {
    const cron = CronSchedule.parse(expr, 'Europe/Berlin');
    const clock = new ManualClock(at('2026-10-24T22:30:00Z'));
    let cursor = clock.now();
    const ran: number[] = [];
    while (clock.now() < at('2026-10-25T03:30:00Z')) {
      clock.advance(7 * 60_000); // passes every 7 minutes, never aligned with the fires
      const p = planFires(cron, timing({ misfirePolicy: 'SKIP', misfireGraceMs: 10 * 60_000 }), cursor, clock.now());
      ran.push(...p.runs);
      cursor = p.cursor;
    }
    expect(ran.map(iso)).toEqual(expected);
  });
});

describe('scheduledRun', () => {
  it('gives each fire fresh ids and a per-fire idempotency key; a delay counts from now', () => {
    const s = { id: '01900000-0000-7000-8000-000000000001', namespace: 'ns', name: 'n', template: { kind: 'task' as const, task: { type: 'noop', delayMs: 5000 } } };
    const fire = { id: 'f', at: new Date(at('2026-11-23T10:00:00Z')), manual: false };
    const a = scheduledRun(s, fire, DEFAULT_SCHEDULE_LIMITS, at('2026-11-23T10:00:01Z'));
    const b = scheduledRun(s, fire, DEFAULT_SCHEDULE_LIMITS, at('2026-11-23T10:00:01Z'));
    if (a.kind !== 'task' || b.kind !== 'task') throw new Error('task expected');
    expect(a.task.id).not.toBe(b.task.id);
    expect(a.task.idempotencyKey).toBe(`schedule:${s.id}:2026-11-23T10:00:00.000Z`);
    expect(a.task.runAt?.toISOString()).toBe('2026-11-23T10:00:06.000Z');
    expect(a.task.namespace).toBe('ns');
    const m = scheduledRun(s, { ...fire, manual: true }, DEFAULT_SCHEDULE_LIMITS, at('2026-11-23T10:00:01Z'));
    expect(m.kind === 'task' && m.task.idempotencyKey).toBe(`schedule:${s.id}:manual:f`);
  });
});
