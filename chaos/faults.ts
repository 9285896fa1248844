import { sleep } from '../internal/shared/sleep.js';
import type { ChaosStack } from './chaos-stack.js';
import { pollUntil } from './poll.js';
import type { Rng } from './rng.js';
import type { Servers } from './servers.js';

/** The faults the harness injects, one at a time. */
export const FAULT_KINDS = ['leader-kill', 'leader-pause', 'worker-kill', 'apiserver-kill', 'redis-restart', 'postgres-restart'] as const;
/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that depose the leader; their takeover is measured. */
export const LEADER_FAULTS: readonly FaultKind[] = ['leader-kill', 'leader-pause'];

/** One injected fault and how the stack came back. */
export interface FaultRecord {
  kind: FaultKind;
  /** The process or server hit, e.g. `scheduler-1`, `postgres`. */
  target: string;
  /** Wall-clock ms when the fault began (SIGKILL or SIGSTOP sent, server stop begun). */
  at: number;
  /** When the harness had finished injecting it (process restarted, server back, SIGCONT sent). */
  injectedAt: number;
  /** When the stack had a leader dispatching again (new epoch, for leader faults); 0 if it never did. */
  recoveredAt: number;
  /** Leader faults: the epoch of the leader hit. */
  oldEpoch?: number;
  /** leader-pause: how long the leader stayed frozen. */
  pauseMs?: number;
  /** What went wrong injecting or recovering (stuck stack, or a harness problem). */
  error?: string;
}

/** What injecting a fault needs. */
export interface FaultContext {
  stack: ChaosStack;
  servers: Servers;
  rng: Rng;
  signal: AbortSignal;
  /** The leader lock TTL; a pause lasts 1.5 to 2.5 times as long. */
  lockTtlMs: number;
}

const RECOVERY_MS = 30_000;

/**
 * Injects one fault of `kind`, then waits (at most 30 s) until a leader dispatches work
 * again — in a newer epoch when the leader was hit — and restarts any process that is
 * down. Never throws: problems land in the record's `error`.
 */
export async function injectFault(kind: FaultKind, ctx: FaultContext): Promise<FaultRecord> {
  const rec: FaultRecord = { kind, target: '', at: Date.now(), injectedAt: 0, recoveredAt: 0 };
  try {
    await INJECT[kind](ctx, rec);
    rec.injectedAt = Date.now();
    const recovered = await pollUntil(() => dispatchedSince(ctx.stack, rec.injectedAt, rec.oldEpoch ?? 0), { timeoutMs: RECOVERY_MS, signal: ctx.signal });
    if (recovered) rec.recoveredAt = Date.now();
    else if (!ctx.signal.aborted) rec.error = `no dispatch${rec.oldEpoch === undefined ? '' : ` in an epoch above ${rec.oldEpoch}`} within ${RECOVERY_MS} ms`;
    await ctx.stack.heal();
  } catch (e) {
    rec.error = (e as Error).message.split('\n').slice(0, 3).join(' | ');
  }
  rec.injectedAt ||= Date.now();
  return rec;
}

type Injector = (ctx: FaultContext, rec: FaultRecord) => Promise<void>;

const INJECT: Record<FaultKind, Injector> = {
  'leader-kill': async (ctx, rec) => {
    const i = await hitLeader(ctx, rec);
    await ctx.stack.kill9(ctx.stack.scheduler(i));
    await ctx.stack.startScheduler(i);
  },
  'leader-pause': async (ctx, rec) => {
    const i = await hitLeader(ctx, rec);
    const proc = ctx.stack.scheduler(i);
    rec.pauseMs = ctx.rng.int(Math.round(ctx.lockTtlMs * 1.5), Math.round(ctx.lockTtlMs * 2.5));
    proc.stop();
    try {
      await sleep(rec.pauseMs, ctx.signal);
    } finally {
      proc.cont();
    }
  },
  'worker-kill': async (ctx, rec) => {
    const i = ctx.rng.int(0, ctx.stack.workerCount - 1);
    rec.target = `worker-${i}`;
    rec.at = Date.now();
    await ctx.stack.kill9(ctx.stack.worker(i));
    await ctx.stack.startWorker(i);
  },
  'apiserver-kill': async (ctx, rec) => {
    const i = ctx.rng.int(0, ctx.stack.apiserverCount - 1);
    rec.target = `apiserver-${i}`;
    rec.at = Date.now();
    await ctx.stack.kill9(ctx.stack.apiserver(i));
    await ctx.stack.startApiserver(i);
  },
  'redis-restart': async (ctx, rec) => {
    rec.target = 'redis';
    rec.at = Date.now();
    await ctx.servers.restartRedisEmpty();
  },
  'postgres-restart': async (ctx, rec) => {
    rec.target = 'postgres';
    rec.at = Date.now();
    await ctx.servers.restartPostgres();
  },
};

/** Finds the leader (waiting up to 30 s for one), notes it and its epoch in `rec`, and returns its index. */
async function hitLeader(ctx: FaultContext, rec: FaultRecord): Promise<number> {
  const i = await pollUntil(async () => {
    const idx = await ctx.stack.leaderIndex();
    return idx >= 0 && ctx.stack.leadership.latestEpochOf(idx) !== undefined ? idx : undefined;
  }, { timeoutMs: RECOVERY_MS, signal: ctx.signal });
  if (i === undefined) throw new Error(`no leader to hit within ${RECOVERY_MS} ms`);
  rec.target = `scheduler-${i}`;
  rec.oldEpoch = ctx.stack.leadership.latestEpochOf(i);
  rec.at = Date.now();
  return i;
}

/** Whether some attempt started after `since` (wall ms) in an epoch above `minEpoch`. */
async function dispatchedSince(stack: ChaosStack, since: number, minEpoch: number): Promise<boolean> {
  const r = await stack.sql.query('select 1 from attempts where started_at > $1 and epoch > $2 limit 1', [new Date(since), minEpoch]);
  return r.rows.length > 0;
}
