import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { TimeZone, type ZonePeriod } from './time-zone.js';

/** A cron expression or time zone that cannot be used; `field` is "cron" or "time_zone". */
export class CronError extends Error {
  constructor(readonly field: 'cron' | 'time_zone', message: string) {
    super(message);
    this.name = 'CronError';
  }
}

/** Parsed schedules kept by `CronSchedule.of`. */
const MAX_CACHED = 1000;
/** How far ahead `next` looks before deciding an expression never fires again. */
const HORIZON_MS = 10 * 366 * 86_400_000;
/** A hashed value: `H`, `H(0-29)`, `H/15`, alone or in a list. */
const HASHED = /(^|,)H($|[(/,])/i;

/**
 * A cron expression (5 fields, or 6 with seconds first) read in an IANA time zone.
 *
 * A fire is an instant whose local wall time the expression matches, with two rules for
 * the wall times a DST change makes ambiguous (docs/schedules.md):
 * - repeated wall times (autumn): the first occurrence fires; the second fires too only
 *   when the hour field matches every hour (`*`, `* /1`, `0-23`), so interval jobs keep
 *   their real cadence while a daily 02:30 job runs once;
 * - skipped wall times (spring): a matching wall time in the gap fires once, at the instant
 *   it names on the old offset (02:30 → 03:30 CEST), merged with a fire already there.
 *
 * Matching wall times are walked by cron-parser in UTC (no DST there), so results depend
 * only on the arguments: every process computes the same instants.
 */
export class CronSchedule {
  private static readonly cache = new Map<string, CronSchedule>();
  private readonly expr: CronExpression;
  private readonly zone: TimeZone;
  /** The hour field matches all 24 hours. */
  readonly everyHour: boolean;

  private constructor(readonly expression: string, readonly timeZone: string) {
    const fields = expression.trim().split(/\s+/).filter(Boolean);
    if (fields.length !== 5 && fields.length !== 6) {
      throw new CronError('cron', `must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got ${fields.length}`);
    }
    if (fields.some((f) => HASHED.test(f))) throw new CronError('cron', 'hashed values (H) are not supported');
    if (!TimeZone.isValid(timeZone)) throw new CronError('time_zone', `"${timeZone}" is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")`);
    try {
      this.expr = CronExpressionParser.parse(fields.join(' '), { tz: 'UTC', currentDate: new Date(0) });
    } catch (e) {
      throw new CronError('cron', `is not a valid cron expression: ${(e as Error).message}`);
    }
    this.zone = TimeZone.of(timeZone);
    this.everyHour = this.expr.fields.hour.values.length === 24;
  }

  /** Parses `expression` for `timeZone`. Throws CronError naming the field at fault. */
  static parse(expression: string, timeZone: string): CronSchedule {
    return new CronSchedule(expression, timeZone);
  }

  /**
   * Like `parse`, from a bounded cache (parsing costs about a millisecond). Sharing is
   * safe: every method runs to completion synchronously.
   */
  static of(expression: string, timeZone: string): CronSchedule {
    const key = `${timeZone}\u0000${expression}`;
    let c = CronSchedule.cache.get(key);
    if (!c) {
      c = new CronSchedule(expression, timeZone);
      if (CronSchedule.cache.size >= MAX_CACHED) CronSchedule.cache.clear();
      CronSchedule.cache.set(key, c);
    }
    return c;
  }

  /** Fire instants (ms) in (after, until], ascending, at most `limit` (the earliest). */
  between(after: number, until: number, limit = Number.MAX_SAFE_INTEGER): number[] {
    const out: number[] = [];
    if (limit <= 0) return out;
    for (const t of this.fires(after, until)) {
      out.push(t);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The first fire after `after`, or undefined when none comes within ten years. */
  next(after: number): number | undefined {
    return this.between(after, after + HORIZON_MS, 1)[0];
  }

  /** The latest `n` fires in (after, until], ascending. Looks back in growing windows. */
  latest(after: number, until: number, n: number): number[] {
    if (n <= 0 || until <= after) return [];
    for (let span = 60_000; ; span *= 4) {
      const from = Math.max(after, until - span);
      const got = this.between(from, until);
      if (got.length >= n || from === after) return got.slice(-n);
    }
  }

  private *fires(after: number, until: number): Generator<number> {
    let t = after;
    while (t < until) {
      const p = this.zone.period(t + 1);
      const hi = Math.min(until, p.end - 1);
      yield* this.inPeriod(p, t, hi);
      t = hi;
    }
  }

  /** Fires in (after, until], all inside period `p`. */
  private *inPeriod(p: ZonePeriod, after: number, until: number): Generator<number> {
    const o = p.offsetMs;
    const shift = o - p.prevOffsetMs;
    if (shift < 0 && !this.everyHour) {
      // Wall times in [T+o, T+o-shift) already occurred before the change: skip their repeats.
      for (const w of this.walls(after + o, until + o)) if (w - o >= p.start - shift) yield w - o;
      return;
    }
    if (shift <= 0) {
      for (const w of this.walls(after + o, until + o)) yield w - o;
      return;
    }
    // Spring: wall times in [T+prev, T+o) never happen; a match there fires at W - prev.
    const prev = p.prevOffsetMs;
    const gap = [...this.walls(Math.max(p.start + prev - 1, after + prev), Math.min(p.start + o - 1, until + prev))].map((w) => w - prev);
    let last = -Infinity;
    for (const w of this.walls(after + o, until + o)) {
      while (gap.length > 0 && (gap[0] as number) <= w - o) {
        const g = gap.shift() as number;
        if (g !== last) yield (last = g);
      }
      if (w - o !== last) yield (last = w - o);
    }
    for (const g of gap) if (g !== last) yield (last = g);
  }

  /** Matching wall times (as UTC ms) in (lo, hi], ascending. */
  private *walls(lo: number, hi: number): Generator<number> {
    if (hi <= lo) return;
    this.expr.reset(new Date(lo));
    for (;;) {
      let w: number;
      try {
        w = this.expr.next().getTime();
      } catch {
        return; // cron-parser gives up ("loop limit exceeded") when no later wall time matches
      }
      if (w > hi) return;
      yield w;
    }
  }
}
