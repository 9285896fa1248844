import type { AttemptRow } from './collect.js';
import { LEADER_FAULTS, type FaultRecord } from './faults.js';
import type { LeaderEvent } from './leadership-log.js';

/** How long one deposed leader took to be replaced. */
export interface TakeoverSample {
  kind: string;
  target: string;
  oldEpoch: number;
  /** The first epoch above the old one logged after the fault; undefined if none. */
  newEpoch?: number;
  /** Fault → `became leader` of the new epoch, ms. */
  electedMs?: number;
  /** Fault → first attempt started in a newer epoch, ms. */
  firstDispatchMs?: number;
}

/** For every leader kill or pause: time to the new leader's `became leader` and to its first dispatch. */
export function measureTakeovers(faults: FaultRecord[], terms: LeaderEvent[], attempts: AttemptRow[]): TakeoverSample[] {
  const out: TakeoverSample[] = [];
  for (const f of faults) {
    if (!LEADER_FAULTS.includes(f.kind) || f.oldEpoch === undefined) continue;
    const old = f.oldEpoch;
    const next = terms.filter((t) => t.epoch > old && t.at >= f.at).sort((a, b) => a.at - b.at)[0];
    let first = Infinity;
    for (const a of attempts) if (a.epoch > old && a.startedAt >= f.at && a.startedAt < first) first = a.startedAt;
    const sample: TakeoverSample = { kind: f.kind, target: f.target, oldEpoch: old };
    if (next) Object.assign(sample, { newEpoch: next.epoch, electedMs: next.at - f.at });
    if (Number.isFinite(first)) sample.firstDispatchMs = first - f.at;
    out.push(sample);
  }
  return out;
}

/** An attempt's end counts against a fault if it came between the fault and this long after the stack recovered. */
const ATTRIBUTION_MS = 15_000;

/**
 * The fault an instant `t` (wall ms) followed: the latest fault that began at or
 * before `t` and had recovered at most 15 s before it; undefined when no fault was near.
 */
export function faultAt(t: number, faults: FaultRecord[]): FaultRecord | undefined {
  let best: FaultRecord | undefined;
  for (const f of faults) {
    if (f.at <= t && t <= Math.max(f.recoveredAt, f.injectedAt) + ATTRIBUTION_MS && (!best || f.at > best.at)) best = f;
  }
  return best;
}

/** The fault an attempt's end followed ({@link faultAt} of its end). */
export function faultBefore(a: AttemptRow, faults: FaultRecord[]): FaultRecord | undefined {
  return faultAt(a.endedAt ?? a.startedAt, faults);
}

/**
 * Counts attempts by the fault their end followed ({@link faultBefore}); `none` means
 * no fault was near: for a lapsed lease, it lapsed on a healthy stack.
 */
export function attributeToFaults(ended: AttemptRow[], faults: FaultRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of ended) {
    const key = faultBefore(a, faults)?.kind ?? 'none';
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
