import type { MachineInfo } from '../bench/machine.js';
import { attemptsOk, type AttemptCheck } from '../bench/queries.js';
import type { Summary } from '../bench/stats.js';
import { fmtInt, fmtMiB, fmtMs, renderTable } from '../bench/table.js';
import type { StreamsOptions } from './args.js';
import type { FleetCounters } from './fleet.js';
import type { LeadershipEvent } from './leadership.js';
import type { WindowFigures } from './measure.js';
import type { HeapSummary, ProfileSummary } from './profile-summary.js';
import type { FailoverDispatch, RerunGroup, WindowDispatch } from './queries.js';
import type { SubmitterFigures } from './steady-submitter.js';

/** The taskd settings in force (from the same config loader the processes use). */
export interface Timings {
  heartbeatMs: number;
  leaseTtlMs: number;
  lockTtlMs: number;
  lockRenewMs: number;
  pollMs: number;
}

/** One second of the failover, relative to the kill. */
export interface FailoverSecond {
  second: number;
  /** Welcomes the client received in the second (any epoch). */
  welcomes: number;
  notLeader: number;
  /** Stream ends (errors, refused connects, redirects) in the second. */
  disconnects: number;
  /** Streams welcomed by the new leader at the end of the second. */
  connectedNew: number;
  /** Attempts started in the second (Postgres, any epoch). */
  dispatched: number;
  /** Tasks stored by the apiserver in the second (Postgres created_at). */
  submitted: number;
  /** The new leader's CPU in the second, % of a core (probe). */
  leaderCpuPct: number | undefined;
  /** The new leader's largest event-loop delay in the second, ms (probe). */
  leaderLoopMaxMs: number | undefined;
  /** The new leader's longest GC pause in the second, ms (probe). */
  leaderGcMaxMs: number | undefined;
  /** Time the new leader's main thread waited for a CPU in the second, ms (probe). */
  leaderCpuWaitMs: number | undefined;
}

/** The failover phase. */
export interface FailoverResult {
  killAt: number;
  newEpoch: number | undefined;
  /** From the kill to the standby's `became leader` log line (its own timestamp), ms. */
  becameLeaderMs: number | undefined;
  /** Streams welcomed by the new leader / all streams. */
  welcomed: number;
  streams: number;
  firstWelcomeMs: number;
  lastWelcomeMs: number;
  /** Per stream: kill → first Welcome of the new epoch, ms. */
  reconnectMs: Summary;
  /** Per stream: `became leader` → first Welcome of the new epoch, ms. */
  afterLeaderMs: Summary;
  /** The busy streams only: kill → Welcome, ms. */
  busyReconnectMs: Summary;
  /** Most Welcomes of the new epoch in any 100 ms. */
  peakWelcomesPer100ms: number;
  /** From the kill to the end of the phase, client counters. */
  notLeaderAnswers: number;
  streamEnds: number;
  /** Stream ends in the phase by cause, with the first and last of each (ms after the kill). */
  endCauses: { cause: string; count: number; firstMs: number; lastMs: number }[];
  /** Per stream: stream ends from the kill to its new Welcome (1 = the kill itself, then one per failed try). */
  triesToReconnect: Summary;
  dispatch: FailoverDispatch | undefined;
  window: WindowFigures;
  timeline: FailoverSecond[];
  error: string | undefined;
}

/** Everything a run measured; `--json` writes it. */
export interface StreamsReport {
  startedAt: string;
  machine: MachineInfo | undefined;
  options: StreamsOptions;
  clientMode: string;
  timings: Timings | undefined;
  connect?: { streams: number; allWelcomedMs: number; welcomes: number };
  baseline?: WindowFigures;
  idle?: WindowFigures;
  busy?: { window: WindowFigures; dispatch: WindowDispatch | undefined; completed: number };
  failover?: FailoverResult;
  submitter?: SubmitterFigures;
  allSucceeded?: string;
  attempts?: AttemptCheck;
  /** Tasks that ran twice, by cause (only when there are some). */
  reruns?: RerunGroup[];
  counters?: FleetCounters;
  profiles: ProfileSummary[];
  heapProfile?: HeapSummary;
  /** When each phase ran (epoch ms). */
  phases: { name: string; startedAt: number; endedAt: number }[];
  /** Every leadership change the schedulers logged; any but the one phase C causes is news. */
  leadership: LeadershipEvent[];
  /** Exceptions nothing caught in the client (connect-node can raise one when a connection dies). */
  uncaught: { count: number; first: string | undefined };
  error?: string;
}

const pct = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} %` : '-');
const sec = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '-' : `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(2)} s`);
const summ = (s: Summary): string => (s.count === 0 ? '-' : `p50 ${fmtMs(s.p50)}  p99 ${fmtMs(s.p99)}  max ${fmtMs(s.max)} ms (n=${fmtInt(s.count)})`);

/** Renders the whole report as text. */
export function renderReport(r: StreamsReport): string {
  const o = r.options;
  const m = r.machine;
  const busy = Math.round(o.streams * o.busyFraction);
  const out: string[] = [
    `== taskd load:streams: ${o.streams} worker streams against the leader ==`,
    m ? `machine   ${m.cpuModel}, ${m.cpuCount} cores, ${(m.totalMemBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.kernel}, node ${m.node}` : 'machine   -',
    m ? `code      ${m.code}; 1-min load average at start ${m.loadAvg1.toFixed(2)}` : '',
    m ? `postgres  ${m.postgres.split(' on ')[0]} (throwaway: fsync off)` : '',
    `client    ${r.clientMode}`,
    `stack     2 schedulers (leader + standby) + 1 apiserver, separate processes; Postgres + Redis private; all on 127.0.0.1`,
    r.timings
      ? `timings   heartbeat ${r.timings.heartbeatMs} ms, lease TTL ${r.timings.leaseTtlMs} ms, lock TTL ${r.timings.lockTtlMs} ms (renew ${r.timings.lockRenewMs} ms), poll ${r.timings.pollMs} ms${o.fast ? ' (--fast)' : ' (taskd defaults)'}`
      : '',
    ...(o.profile ? ['profiling ON: the profiled leader\'s CPU includes the V8 sampler\'s overhead; take CPU/RSS figures from a run without --profile'] : []),
    `streams   ${o.streams}: ${busy} busy (noop, ${o.slots} slots), ${o.streams - busy} idle (type "idle", never submitted, 1 slot); all queue "default"`,
  ].filter((l) => l !== '');
  if (r.connect) {
    out.push(`connect   all ${r.connect.streams} welcomed ${(r.connect.allWelcomedMs / 1000).toFixed(2)} s after the first was opened (ramp ${o.ramp}/s)`);
  }
  const windows: [string, WindowFigures | undefined][] = [
    ['A0 baseline: leader with no stream', r.baseline],
    [`A idle: ${o.streams} streams heartbeating, no tasks`, r.idle],
    [`B busy: ${o.rate} tasks/s, ${busy} busy streams`, r.busy?.window],
  ];
  for (const [title, w] of windows) {
    if (!w) continue;
    out.push('', `-- ${title} (${w.seconds.toFixed(1)} s) --`, renderWindow(w));
    const changes = r.leadership.filter((e) => e.at >= w.startedAt && e.at <= w.endedAt && e.msg !== 'lock renewal failed; will retry until the deadline');
    if (changes.length > 0) out.push(`WARNING: leadership changed during this window (${changes.map((e) => `scheduler-${e.scheduler} ${e.msg}`).join(', ')}): the "leader" row is not the leader throughout`);
  }
  if (r.baseline && r.idle && r.timings) out.push(renderHeartbeatCost(r.baseline, r.idle, r.timings, o, r.clientMode));
  if (r.busy?.dispatch) {
    const d = r.busy.dispatch;
    out.push(
      `submitted ${fmtInt(d.created)} tasks in the window (${fmtInt(d.created / (r.busy.window.seconds || 1))}/s); dispatched ${fmtInt(d.startedPerSec)}/s; finished ${fmtInt(d.finishedPerSec)}/s; not started ${d.notStarted}`,
      `submit→start (attempt 1 started_at − tasks.created_at): ${summ(d.submitToStartMs)}`,
    );
  }
  if (r.failover) out.push('', ...renderFailover(r.failover, o));
  out.push('', '-- leadership as the schedulers logged it --', renderLeadership(r));
  out.push('', '-- outcome --');
  if (r.submitter) {
    const s = r.submitter;
    out.push(`submitter: ${fmtInt(s.stored)} tasks stored at ${s.rate}/s, ${s.failedCalls} failed calls${s.firstError ? ` (first: ${s.firstError})` : ''}, worst lag ${fmtMs(s.maxLagMs)} ms`);
  }
  if (r.allSucceeded) out.push(`tasks: ${r.allSucceeded}`);
  if (r.attempts) {
    const c = r.attempts;
    out.push(attemptsOk(c)
      ? `attempts: every one of ${fmtInt(c.tasks)} tasks was dispatched exactly once (no re-dispatch across the failover)`
      : `attempts (Postgres): ${c.counterNot1} tasks with attempt counter ≠ 1, ${c.manyAttempts} with > 1 attempts rows, ${c.noAttempt} with none, of ${fmtInt(c.tasks)} (e.g. ${c.examples.join(', ')})`);
  }
  if (r.reruns && r.reruns.length > 0) {
    out.push(renderTable(
      ['re-run tasks: attempt 1 (epoch, status, error kind)', 'attempt 2 epoch', 'tasks', 'attempt 1 started (s after kill)', 'attempt 1 ended (s after kill)'],
      r.reruns.map((g) => [
        `epoch ${g.firstEpoch}, ${g.firstStatus}, ${g.firstErrorKind ?? '-'}`, String(g.secondEpoch), fmtInt(g.tasks),
        `${sec(g.firstStartedMs[0])} .. ${sec(g.firstStartedMs[1])}`,
        `${sec(g.firstEndedMs[0] ?? Number.NaN)} .. ${sec(g.firstEndedMs[1] ?? Number.NaN)}`,
      ]),
    ));
  }
  if (r.counters) {
    const c = r.counters;
    out.push(`client counters: ${fmtInt(c.welcomes)} welcomes, ${fmtInt(c.disconnects)} stream ends, ${fmtInt(c.notLeader)} NotLeader, ${fmtInt(c.assigned)} assigned, ${fmtInt(c.completed)} completed, ${fmtInt(c.resultAcks)} acks (${c.refused} refused)`,
      `tasks the fleet ran more than once: ${c.ranTwice}${r.attempts && !attemptsOk(r.attempts) && c.ranTwice === 0 ? ' (the extra attempts above were re-dispatches of Assigns that never reached a worker)' : ''}`);
  }
  out.push(`client uncaught exceptions: ${r.uncaught.count}${r.uncaught.first ? ` (first: ${r.uncaught.first})` : ''}`);
  for (const p of r.profiles) out.push('', ...renderProfile(p));
  if (r.heapProfile) {
    const h = r.heapProfile;
    out.push(
      '', `-- leader heap (sampling profile from before the streams connected to the end of A): ${fmtMiB(h.totalBytes)} live, ≈ ${(h.perStreamBytes / 1024).toFixed(0)} KiB per stream --`,
      renderTable(['live bytes by owner', 'MiB', 'share'], h.owners.map((x) => [x.owner, (x.bytes / 2 ** 20).toFixed(1), pct((x.bytes / h.totalBytes) * 100)])),
      renderTable(['allocated by', 'MiB'], h.top.map((x) => [x.fn, (x.bytes / 2 ** 20).toFixed(1)])),
    );
  }
  if (r.error) out.push('', `FAILED: ${r.error}`);
  return out.join('\n');
}

function renderWindow(w: WindowFigures): string {
  const table = renderTable(
    ['process', 'CPU (% of a core)', 'waited for CPU', 'RSS peak', 'RSS end', 'JS heap peak', 'loop delay p50 ms', 'worst 1-s p99 ms', 'max ms', 'GC % / longest ms'],
    w.procs.map((p) => [
      p.role, pct(p.cpuPct), p.cpuWaitPct === undefined ? '-' : pct(p.cpuWaitPct), fmtMiB(p.rssPeak), fmtMiB(p.rssEnd), p.loop ? fmtMiB(p.loop.heapPeak) : '-',
      p.loop ? fmtMs(p.loop.p50) : '-', p.loop ? fmtMs(p.loop.worstP99) : '-', p.loop ? fmtMs(p.loop.max) : '-',
      p.loop?.gcPct === undefined ? '-' : `${p.loop.gcPct.toFixed(1)} / ${fmtMs(p.loop.gcMaxMs ?? Number.NaN)}`,
    ]),
  );
  const noisy = w.otherCores > 0.3 ? '  <- NOISY: other work on the machine competed for the CPUs' : '';
  return `${table}\nmachine: ${w.machineBusyCores.toFixed(2)} cores busy; processes outside this test ${w.otherCores.toFixed(2)} cores${noisy}` +
    '\n("waited for CPU": share of the window the main thread was runnable but had no CPU, from /proc/<pid>/task/<pid>/schedstat)';
}

function renderHeartbeatCost(base: WindowFigures, idle: WindowFigures, t: Timings, o: StreamsOptions, mode: string): string {
  const leaderOf = (w: WindowFigures) => w.procs.find((p) => p.role.startsWith('leader'));
  const b = leaderOf(base);
  const i = leaderOf(idle);
  if (!b || !i) return '';
  const hbPerSec = (o.streams * 1000) / t.heartbeatMs;
  const conns = o.client === 'sdk' ? o.streams : o.connections * 2;
  const pings = o.client === 'sdk' ? o.streams / 2 : o.connections / 2;
  const extraCpuMsPerSec = ((i.cpuPct - b.cpuPct) / 100) * 1000;
  return [
    `heartbeats alone: ${fmtInt(hbPerSec)} Heartbeat msgs/s + ${fmtInt(pings)} HTTP/2 PINGs/s over ${fmtInt(o.client === 'sdk' ? o.streams : o.connections)} connections to the leader (${mode.split(':')[0]}${o.client === 'lean' ? `; ${conns} opened in all` : ''})`,
    `  leader CPU ${pct(i.cpuPct)} vs ${pct(b.cpuPct)} with no stream: +${extraCpuMsPerSec.toFixed(0)} ms CPU/s, ≈ ${((extraCpuMsPerSec * 1000) / hbPerSec).toFixed(0)} µs per heartbeat (PINGs and timers included)`,
    `  leader RSS ${fmtMiB(i.rssEnd)} vs ${fmtMiB(b.rssEnd)}: ≈ ${(((i.rssEnd - b.rssEnd) / o.streams) / 1024).toFixed(0)} KiB per stream`,
  ].join('\n');
}

function renderFailover(f: FailoverResult, o: StreamsOptions): string[] {
  const d = f.dispatch;
  const lines = [
    `-- C failover: kill -9 of the leader under ${o.rate} tasks/s (${f.window.seconds.toFixed(1)} s measured) --`,
    renderTable(['event', 'after the kill'], [
      ['standby logs "became leader"', `${sec(f.becameLeaderMs)}${f.newEpoch === undefined ? '' : ` (epoch ${f.newEpoch})`}`],
      ['first stream welcomed by it', sec(f.firstWelcomeMs)],
      [`all ${f.streams} streams welcomed`, f.welcomed >= f.streams ? sec(f.lastWelcomeMs) : `NOT REACHED: ${f.welcomed} of ${f.streams}`],
      ['last dispatch by the old leader', sec(d?.lastOldDispatchMs)],
      ['first dispatch by the new leader', sec(d?.firstDispatchMs)],
    ]),
    `reconnect time per stream (kill → Welcome):      ${summ(f.reconnectMs)}`,
    `                          (became leader → Welcome): ${summ(f.afterLeaderMs)}`,
    `                          busy streams only:    ${summ(f.busyReconnectMs)}`,
    `herd: at most ${f.peakWelcomesPer100ms} Welcomes in any 100 ms; ${fmtInt(f.notLeaderAnswers)} NotLeader answers and ${fmtInt(f.streamEnds)} stream ends (incl. refused connects) in the phase`,
  ];
  lines.push(
    `stream ends per stream until back (the kill's own included): p50 ${fmtMs(f.triesToReconnect.p50)}, p99 ${fmtMs(f.triesToReconnect.p99)}, max ${fmtMs(f.triesToReconnect.max)}`,
    renderTable(['stream ends by cause', 'count', 'first', 'last'], f.endCauses.map((c) => [c.cause, fmtInt(c.count), sec(c.firstMs), sec(c.lastMs)])),
  );
  if (d) {
    lines.push(
      `dispatch after the takeover: ${fmtInt(d.rateAfter)} attempts/s in the ${o.afterSeconds} s from the first (submit rate ${o.rate}/s; backlog inherited ${fmtInt(d.backlogAtFirstDispatch)} tasks)`,
      `submit→start of tasks created from the kill on: ${summ(d.submitToStartMs)}`,
    );
  }
  lines.push('', renderWindow(f.window), '', 'timeline (s after the kill; welcomes/NotLeader/ends from the client, submitted/dispatched from Postgres, CPU, loop delay and GC of the new leader from its probe; "-": the probe\'s 1-s timer did not fire, i.e. the loop was blocked):');
  lines.push(renderTable(
    ['s', 'welcomes', 'NotLeader', 'stream ends', 'on new leader', 'submitted', 'dispatched', 'leader CPU', 'waited for CPU ms', 'leader loop max ms', 'GC max ms'],
    f.timeline.map((s) => [
      String(s.second), fmtInt(s.welcomes), fmtInt(s.notLeader), fmtInt(s.disconnects), fmtInt(s.connectedNew), fmtInt(s.submitted), fmtInt(s.dispatched),
      s.leaderCpuPct === undefined ? '-' : pct(s.leaderCpuPct), s.leaderCpuWaitMs === undefined ? '-' : fmtInt(s.leaderCpuWaitMs), s.leaderLoopMaxMs === undefined ? '-' : fmtMs(s.leaderLoopMaxMs),
      s.leaderGcMaxMs === undefined ? '-' : fmtMs(s.leaderGcMaxMs),
    ]),
  ));
  if (f.error) lines.push(`failover problem: ${f.error}`);
  return lines;
}

function renderProfile(p: ProfileSummary): string[] {
  return [
    `-- CPU profile ${p.file.split('/').at(-1)}: ${(p.wallMs / 1000).toFixed(1)} s wall, ${(p.busyMs / 1000).toFixed(2)} s on the main thread (${pct((p.busyMs / p.wallMs) * 100)}) --`,
    renderTable(['time by owner (nearest library/taskd frame)', 'ms', 'share'], p.owners.map((a) => [a.owner, fmtInt(a.ms), pct((a.ms / p.busyMs) * 100)])),
    renderTable(['self time by area', 'ms', 'share'], p.areas.map((a) => [a.area, fmtInt(a.ms), pct((a.ms / p.busyMs) * 100)])),
    renderTable(['top self time', 'ms'], p.topSelf.map((x) => [x.fn, fmtInt(x.ms)])),
    renderTable(['taskd functions, inclusive', 'ms'], p.topTaskd.map((x) => [x.fn, fmtInt(x.ms)])),
  ];
}

function renderLeadership(r: StreamsReport): string {
  const t0 = r.phases[0]?.startedAt ?? 0;
  const phaseOf = (at: number): string => {
    const p = r.phases.find((x) => at >= x.startedAt && at <= x.endedAt);
    if (p) return p.name;
    const before = r.phases.filter((x) => x.endedAt < at).at(-1);
    return before ? `after ${before.name}` : 'start-up';
  };
  return renderTable(
    ['t (s)', 'phase', 'scheduler', 'event', 'epoch', 'reason'],
    r.leadership.map((e) => [
      ((e.at - t0) / 1000).toFixed(2), phaseOf(e.at), `scheduler-${e.scheduler}`, e.msg, e.epoch === undefined ? '-' : String(e.epoch), e.reason ?? '',
    ]),
  );
}
