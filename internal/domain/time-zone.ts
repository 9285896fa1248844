/** A stretch of time during which a zone keeps one UTC offset. */
export interface ZonePeriod {
  /** First instant (ms) of the period: a transition when `prevOffsetMs` differs, else only a lookup horizon. */
  start: number;
  /** First instant after the period (exclusive). */
  end: number;
  /** Local wall time minus UTC, in ms (Berlin in summer: +7,200,000). */
  offsetMs: number;
  /** The offset just before `start`; equal to `offsetMs` when `start` is no transition. */
  prevOffsetMs: number;
}

const DAY = 86_400_000;
/** How far a period lookup scans for a transition before calling the offset constant. */
const HORIZON_DAYS = 400;
const MAX_CACHED_PERIODS = 64;
const MAX_CACHED_ZONES = 2000;

/**
 * An IANA time zone, backed by the runtime's ICU data (Intl). Offsets are read at
 * whole seconds; transitions are found by scanning day by day and bisecting, which
 * assumes a zone changes its offset at most once in any 24 hours (true of tzdata).
 */
export class TimeZone {
  private static readonly zones = new Map<string, TimeZone>();
  private readonly fmt: Intl.DateTimeFormat;
  private readonly periods: ZonePeriod[] = [];

  private constructor(readonly name: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', era: 'short', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  /** The zone called `name` (case-insensitive, as Intl accepts it). Throws RangeError for an unknown zone. */
  static of(name: string): TimeZone {
    let z = TimeZone.zones.get(name);
    if (!z) {
      z = new TimeZone(name);
      if (TimeZone.zones.size >= MAX_CACHED_ZONES) TimeZone.zones.clear();
      TimeZone.zones.set(name, z);
    }
    return z;
  }

  /** True when `name` is a time zone the runtime knows (an IANA name such as "Europe/Berlin", or "UTC"). */
  static isValid(name: string): boolean {
    if (name === '' || /^[+-]/.test(name)) return false;
    try {
      TimeZone.of(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Wall time minus UTC at instant `ms`, in ms. */
  offsetAt(ms: number): number {
    const s = Math.floor(ms / 1000) * 1000;
    const p: Record<string, string> = {};
    for (const part of this.fmt.formatToParts(s)) p[part.type] = part.value;
    const year = p.era === 'BC' || p.era === 'B' ? 1 - Number(p.year) : Number(p.year);
    const wall = Date.UTC(year, Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
    return wall - s;
  }

  /** The period of constant offset that contains instant `ms`. */
  period(ms: number): ZonePeriod {
    const hit = this.periods.find((p) => p.start <= ms && ms < p.end);
    if (hit) return hit;
    const found = this.findPeriod(ms);
    this.periods.push(found);
    if (this.periods.length > MAX_CACHED_PERIODS) this.periods.shift();
    return found;
  }

  private findPeriod(ms: number): ZonePeriod {
    const offsetMs = this.offsetAt(ms);
    let start = ms - HORIZON_DAYS * DAY;
    let prevOffsetMs = offsetMs;
    for (let d = 1; d <= HORIZON_DAYS; d++) {
      const o = this.offsetAt(ms - d * DAY);
      if (o !== offsetMs) {
        start = this.transition(ms - d * DAY, ms - (d - 1) * DAY);
        prevOffsetMs = o;
        break;
      }
    }
    let end = ms + HORIZON_DAYS * DAY;
    for (let d = 1; d <= HORIZON_DAYS; d++) {
      if (this.offsetAt(ms + d * DAY) !== offsetMs) {
        end = this.transition(ms + (d - 1) * DAY, ms + d * DAY);
        break;
      }
    }
    return { start, end, offsetMs, prevOffsetMs };
  }

  /** The first whole second in (lo, hi] whose offset differs from the offset at lo. */
  private transition(lo: number, hi: number): number {
    const before = this.offsetAt(lo);
    let a = Math.floor(lo / 1000);
    let b = Math.ceil(hi / 1000);
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (this.offsetAt(mid * 1000) === before) a = mid;
      else b = mid;
    }
    return b * 1000;
  }
}
