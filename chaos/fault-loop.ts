import { sleep } from '../internal/shared/sleep.js';
import { FAULT_KINDS, injectFault, type FaultContext, type FaultKind, type FaultRecord } from './faults.js';

/** How many faults, over how long. */
export interface FaultPlan {
  /** Seconds of fault injection. */
  seconds: number;
  /** Least number of faults: the phase runs past `seconds` until reached. */
  minFaults: number;
}

/** The gap left after a fault's recovery before the next fault, at least. */
const MIN_GAP_MS = 1_500;

/**
 * Injects faults one at a time for `plan.seconds` (and until `plan.minFaults` were
 * injected), spread evenly with some jitter: the first six are every kind once in a
 * seeded order, the rest are picked at random. Each fault waits for the previous one's
 * recovery plus a short gap. Returns when done or when `ctx.signal` aborts.
 */
export async function runFaults(plan: FaultPlan, ctx: FaultContext, log: (msg: string) => void): Promise<FaultRecord[]> {
  const start = Date.now();
  const spanMs = plan.seconds * 1_000;
  const interval = spanMs / Math.max(1, plan.minFaults);
  const firstRound = ctx.rng.shuffle(FAULT_KINDS);
  const records: FaultRecord[] = [];
  let lastEnd = start;
  for (let i = 0; plan.minFaults > 0 && !ctx.signal.aborted; i++) {
    const slot = start + (i + 0.5) * interval + (ctx.rng.next() - 0.5) * (interval / 2);
    if (slot - start >= spanMs && records.length >= plan.minFaults) break;
    if (!(await sleep(Math.max(slot - Date.now(), lastEnd + MIN_GAP_MS - Date.now()), ctx.signal))) break;
    const kind: FaultKind = i < firstRound.length ? (firstRound[i] as FaultKind) : ctx.rng.pick(FAULT_KINDS);
    const rec = await injectFault(kind, ctx);
    records.push(rec);
    lastEnd = Date.now();
    log(describeFault(records.length, rec));
  }
  await sleep(start + spanMs - Date.now(), ctx.signal);
  return records;
}

/** One line about a fault for the progress log. */
export function describeFault(n: number, r: FaultRecord): string {
  const pause = r.pauseMs === undefined ? '' : ` for ${r.pauseMs} ms`;
  const epoch = r.oldEpoch === undefined ? '' : ` (epoch ${r.oldEpoch})`;
  const back = r.recoveredAt > 0 ? `dispatching again after ${r.recoveredAt - r.at} ms` : 'NOT recovered';
  return `fault ${n}: ${r.kind} ${r.target}${epoch}${pause}; ${back}${r.error ? `; error: ${r.error}` : ''}`;
}
