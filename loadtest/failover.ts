import type pg from 'pg';
import { summarize } from '../bench/stats.js';
import { sleep } from '../internal/shared/sleep.js';
import type { TaskdProcess } from '../test/procs.js';
import type { StreamFleet } from './fleet.js';
import type { LeadershipLog } from './leadership.js';
import { MeasureWindow, type Watched } from './measure.js';
import { LOOP_RESOLUTION_MS, readProbe } from './probe-files.js';
import { failoverDispatch } from './queries.js';
import type { FailoverResult, FailoverSecond } from './report.js';

/** What phase C needs. */
export interface FailoverContext {
  fleet: StreamFleet;
  sql: pg.Pool;
  leader: TaskdProcess;
  standby: TaskdProcess;
  standbyIndex: number;
  /** Epoch of the leader that is killed. */
  oldEpoch: number;
  /** Processes measured through the failover (the killed leader is left out). */
  watched: Watched[];
  probeDir: string;
  afterSec: number;
  timeoutMs: number;
  signal: AbortSignal;
  log: (msg: string) => void;
  /** Who leads: the kill's `became leader` must come after it. */
  leadership: LeadershipLog;
  /** Called right before the kill and when the measurement ends (profiler toggles). */
  aroundKill?: { before(): Promise<void>; after(): Promise<void> };
}

/**
 * Phase C: while the caller's load keeps running, SIGKILLs the leader, waits for the
 * standby's `became leader`, for every stream to be welcomed by it, and for its first
 * dispatch plus `afterSec`; samples the client's counters every second meanwhile.
 * Never throws for a slow takeover: what was not reached is reported as such.
 */
export async function runFailover(ctx: FailoverContext): Promise<FailoverResult> {
  const { fleet, oldEpoch } = ctx;
  const n = fleet.specs.length;
  await ctx.aroundKill?.before();
  const window = MeasureWindow.open(ctx.watched, ctx.probeDir);
  const killAt = Date.now();
  ctx.leader.kill9();
  ctx.log(`C: killed the leader (pid ${ctx.leader.pid}) at ${new Date(killAt).toISOString()}`);

  const snapshots: { second: number; welcomes: number; notLeader: number; disconnects: number; connectedNew: number }[] = [];
  const stopTimeline = new AbortController();
  const timeline = (async () => {
    const c = fleet.counters;
    let prev = { welcomes: c.welcomes, notLeader: c.notLeader, disconnects: c.disconnects };
    for (let s = 0; ; s++) {
      if (!(await sleep(killAt + (s + 1) * 1000 - Date.now(), stopTimeline.signal))) return;
      snapshots.push({
        second: s, welcomes: c.welcomes - prev.welcomes, notLeader: c.notLeader - prev.notLeader,
        disconnects: c.disconnects - prev.disconnects, connectedNew: fleet.connected(oldEpoch + 1),
      });
      prev = { welcomes: c.welcomes, notLeader: c.notLeader, disconnects: c.disconnects };
    }
  })();
  const countersAtKill = { notLeader: fleet.counters.notLeader, disconnects: fleet.counters.disconnects };

  let error: string | undefined;
  let becameLeaderAt: number | undefined;
  let newEpoch: number | undefined;
  let allBackAt: number | undefined;
  const until = killAt + ctx.timeoutMs;
  try {
    let took = ctx.leadership.becameLeaderAfter(killAt);
    while (took === undefined && Date.now() < until && !ctx.signal.aborted) {
      await sleep(20, ctx.signal);
      took = ctx.leadership.becameLeaderAfter(killAt);
    }
    if (took === undefined) throw new Error(`no scheduler became leader within ${ctx.timeoutMs} ms of the kill`);
    becameLeaderAt = took.at;
    newEpoch = took.epoch;
    if (took.scheduler !== ctx.standbyIndex) error = `scheduler-${took.scheduler} took over, not the standby`;
    ctx.log(`C: scheduler-${took.scheduler} became leader ${((becameLeaderAt - killAt) / 1000).toFixed(2)} s after the kill (epoch ${newEpoch})`);
    while (fleet.connected(oldEpoch + 1) < n && Date.now() < until && !ctx.signal.aborted) await sleep(20, ctx.signal);
    if (fleet.connected(oldEpoch + 1) >= n) allBackAt = Date.now();
    ctx.log(`C: ${fleet.connected(oldEpoch + 1)} of ${n} streams on the new leader after ${((Date.now() - killAt) / 1000).toFixed(2)} s`);
    // Keep the load until `afterSec` past the new leader's first dispatch.
    let firstAt: number | undefined;
    while (firstAt === undefined && Date.now() < until && !ctx.signal.aborted) {
      const r = await ctx.sql.query<{ at: number | null }>('select (extract(epoch from min(started_at)) * 1000)::float8 at from attempts where epoch > $1', [oldEpoch]);
      firstAt = r.rows[0]?.at ?? undefined;
      if (firstAt === undefined) await sleep(200, ctx.signal);
    }
    if (firstAt === undefined) throw new Error(`the new leader dispatched nothing within ${ctx.timeoutMs} ms of the kill`);
    await sleep(Math.min(until, firstAt + ctx.afterSec * 1000 + 1_000) - Date.now(), ctx.signal);
    if (allBackAt === undefined) error ??= `only ${fleet.connected(oldEpoch + 1)} of ${n} streams were welcomed by the new leader within ${ctx.timeoutMs} ms`;
  } catch (e) {
    error = (e as Error).message.split('\n')[0];
  }
  const endAt = Date.now();
  stopTimeline.abort();
  await timeline;
  const measured = await window.close();
  await ctx.aroundKill?.after();

  const newWelcomes = new Map<number, number>();
  for (const w of fleet.welcomes) if (w.epoch > oldEpoch && !newWelcomes.has(w.stream)) newWelcomes.set(w.stream, w.at);
  const times = [...newWelcomes.values()];
  const busyTimes = [...newWelcomes].filter(([i]) => fleet.specs[i]?.busy).map(([, at]) => at - killAt);
  const buckets = new Map<number, number>();
  for (const t of times) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1);
  const dispatch = newEpoch === undefined ? undefined
    : await failoverDispatch(ctx.sql, { killMs: killAt, newEpoch, afterSec: ctx.afterSec, endMs: endAt });
  const causes = new Map<string, { count: number; first: number; last: number }>();
  const triesPerStream = new Map<number, number>();
  for (const e of fleet.ends) {
    if (e.at < killAt || e.at > endAt) continue;
    const c = causes.get(e.cause) ?? { count: 0, first: e.at, last: e.at };
    c.count++;
    c.last = e.at;
    causes.set(e.cause, c);
    const back = newWelcomes.get(e.stream);
    if (back === undefined || e.at <= back) triesPerStream.set(e.stream, (triesPerStream.get(e.stream) ?? 0) + 1);
  }
  const probe = readProbe(ctx.probeDir, ctx.standby.pid);
  const seconds: FailoverSecond[] = snapshots.map((s) => {
    const p = probe.find((l) => l.t > killAt + s.second * 1000 + 500 && l.t <= killAt + (s.second + 1) * 1000 + 500);
    return {
      ...s, dispatched: dispatch?.perSecond.find((d) => d.second === s.second)?.started ?? 0,
      submitted: dispatch?.perSecond.find((d) => d.second === s.second)?.created ?? 0,
      leaderCpuPct: p ? p.cpuMs / 10 : undefined, leaderLoopMaxMs: p ? Math.max(0, p.max - LOOP_RESOLUTION_MS) : undefined,
      leaderGcMaxMs: p?.gcMaxMs, leaderCpuWaitMs: p?.waitMs,
    };
  });
  return {
    killAt, newEpoch,
    becameLeaderMs: becameLeaderAt === undefined ? undefined : becameLeaderAt - killAt,
    welcomed: newWelcomes.size, streams: n,
    firstWelcomeMs: times.length ? Math.min(...times) - killAt : Number.NaN,
    lastWelcomeMs: times.length ? Math.max(...times) - killAt : Number.NaN,
    reconnectMs: summarize(times.map((t) => t - killAt)),
    afterLeaderMs: summarize(becameLeaderAt === undefined ? [] : times.map((t) => t - (becameLeaderAt as number))),
    busyReconnectMs: summarize(busyTimes),
    peakWelcomesPer100ms: Math.max(0, ...buckets.values()),
    notLeaderAnswers: fleet.counters.notLeader - countersAtKill.notLeader,
    streamEnds: fleet.counters.disconnects - countersAtKill.disconnects,
    endCauses: [...causes].sort((a, b) => b[1].count - a[1].count)
      .map(([cause, c]) => ({ cause, count: c.count, firstMs: c.first - killAt, lastMs: c.last - killAt })),
    // Stream ends before a stream's new Welcome: the first is the kill itself, the rest failed tries.
    triesToReconnect: summarize(specsIndexes(n).map((i) => triesPerStream.get(i) ?? 0)),
    dispatch, window: measured, timeline: seconds, error,
  };
}

function specsIndexes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
