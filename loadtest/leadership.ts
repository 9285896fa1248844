import type { LogLine, TaskdProcess } from '../test/procs.js';

/** What the schedulers logged about leadership, in order. */
export interface LeadershipEvent {
  /** Epoch ms (the scheduler's own log timestamp). */
  at: number;
  scheduler: number;
  msg: string;
  epoch: number | undefined;
  /** `stepped down` reason, or the error of a failed renewal/campaign. */
  reason: string | undefined;
}

const WATCHED = new Set(['became leader', 'stepped down', 'term ended', 'lock renewal failed; will retry until the deadline', 'campaign failed', 'failed']);

/**
 * Follows the schedulers' logs for leadership changes (became leader, stepped down
 * and why, failed renewals) so a phase knows who leads and the report can show every
 * change, including ones the load test did not cause.
 */
export class LeadershipLog {
  readonly events: LeadershipEvent[] = [];
  private readonly dead = new Set<number>();

  /** Starts following `schedulers` (index = position). */
  constructor(schedulers: TaskdProcess[]) {
    schedulers.forEach((p, i) => {
      // A predicate that never matches sees every line, past and future, until the process exits.
      p.waitForLog((l) => this.onLine(i, l), 24 * 3600 * 1000).catch(() => undefined);
      void p.exited.then(() => this.dead.add(i));
    });
  }

  /** The scheduler leading now, as the logs say: the last `became leader` not followed by a `stepped down` of it, on a live process. */
  current(): { scheduler: number; epoch: number } | undefined {
    for (let k = this.events.length - 1; k >= 0; k--) {
      const e = this.events[k] as LeadershipEvent;
      if (e.msg === 'became leader') {
        const later = this.events.slice(k + 1).some((x) => x.scheduler === e.scheduler && x.msg === 'stepped down');
        return later || this.dead.has(e.scheduler) || e.epoch === undefined ? undefined : { scheduler: e.scheduler, epoch: e.epoch };
      }
    }
    return undefined;
  }

  /** The first `became leader` logged after `afterMs` (epoch ms), if any. */
  becameLeaderAfter(afterMs: number): LeadershipEvent | undefined {
    return this.events.find((e) => e.msg === 'became leader' && e.at > afterMs);
  }

  private onLine(i: number, l: LogLine): boolean {
    if (typeof l !== 'object' || typeof l.msg !== 'string' || !WATCHED.has(l.msg)) return false;
    const err = l.err as { message?: unknown } | string | undefined;
    const reason = typeof l.reason === 'string' ? l.reason
      : typeof err === 'string' ? err : typeof err?.message === 'string' ? err.message : undefined;
    this.events.push({
      at: typeof l.time === 'number' ? l.time : Date.now(), scheduler: i, msg: l.msg,
      epoch: typeof l.epoch === 'number' ? l.epoch : undefined, reason,
    });
    return false;
  }
}
