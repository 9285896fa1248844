import type { TaskdProcess } from '../test/procs.js';
import { tapLog } from './log-tap.js';

/** A leadership change as a scheduler logged it. */
export interface LeaderEvent {
  kind: 'became' | 'stepped';
  epoch: number;
  /** Wall-clock ms of the log line (pino's `time`). */
  at: number;
  /** Index of the scheduler (0-based; kept across restarts). */
  scheduler: number;
  /** Why it stepped down. */
  reason?: string;
}

/**
 * The leadership history of a run, from every scheduler's `became leader` and
 * `stepped down` log lines, including schedulers since killed.
 */
export class LeadershipLog {
  private readonly events: LeaderEvent[] = [];

  /** Records the leadership lines of scheduler `index`'s process `proc`. */
  tap(proc: TaskdProcess, index: number): void {
    tapLog(proc, (l) => {
      const epoch = typeof l.epoch === 'number' ? l.epoch : undefined;
      const at = typeof l.time === 'number' ? l.time : Date.now();
      if (epoch === undefined) return;
      if (l.msg === 'became leader') this.events.push({ kind: 'became', epoch, at, scheduler: index });
      if (l.msg === 'stepped down') this.events.push({ kind: 'stepped', epoch, at, scheduler: index, reason: String(l.reason) });
    });
  }

  /** Every `became leader`, oldest first. */
  terms(): LeaderEvent[] {
    return this.events.filter((e) => e.kind === 'became').sort((a, b) => a.at - b.at || a.epoch - b.epoch);
  }

  /** Every `stepped down`, oldest first. */
  stepDowns(): LeaderEvent[] {
    return this.events.filter((e) => e.kind === 'stepped').sort((a, b) => a.at - b.at);
  }

  /** The epoch of scheduler `index`'s latest term, if it ever led. */
  latestEpochOf(index: number): number | undefined {
    return this.terms().filter((e) => e.scheduler === index).at(-1)?.epoch;
  }

  /** The newest epoch any scheduler logged (0 if none). */
  newestEpoch(): number {
    return Math.max(0, ...this.terms().map((e) => e.epoch));
  }
}
