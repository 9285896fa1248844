/**
 * `npm run load:streams`: opens N worker streams from this one process against a real
 * taskd (2 schedulers + 1 apiserver as separate processes, private Postgres and Redis)
 * and reports the leader's CPU and RSS with heartbeats alone (phase A), under a steady
 * task load with a mix of busy and idle streams (phase B), and what a kill -9 of the
 * leader does under that load (phase C): time to a new leader, reconnect times of all
 * streams, and whether dispatch stalled. Bounded in time; always tears down.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { codeVersion, machineInfo } from '../bench/machine.js';
import { attemptsOk, checkAttempts, postgresVersion } from '../bench/queries.js';
import { BenchServers } from '../bench/servers.js';
import { waitAllSucceeded } from '../bench/wait.js';
import { loadConfig } from '../internal/config/config.js';
import { sleep } from '../internal/shared/sleep.js';
import { Cluster, FAST_TIMINGS } from '../test/cluster.js';
import { reapAll, REPO_ROOT, type TaskdProcess } from '../test/procs.js';
import { parseStreamsArgs, USAGE, type StreamsOptions } from './args.js';
import { runFailover } from './failover.js';
import { fleetSpecs, waitConnected, type StreamFleet } from './fleet.js';
import { LeadershipLog } from './leadership.js';
import { LeanFleet } from './lean-fleet.js';
import { MeasureWindow, type Watched } from './measure.js';
import { summarizeHeapProfile, summarizeProfile } from './profile-summary.js';
import { rerunGroups, windowDispatch } from './queries.js';
import { renderReport, type StreamsReport, type Timings } from './report.js';
import { SdkFleet } from './sdk-fleet.js';
import { SteadySubmitter } from './steady-submitter.js';

const log = (msg: string): void => void process.stderr.write(`[load ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);

function parseOrExit(): StreamsOptions {
  try {
    const o = parseStreamsArgs(process.argv.slice(2));
    if (o.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return o;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function clientModeText(o: StreamsOptions): string {
  return o.client === 'sdk'
    ? `sdk: ${o.streams} SDK Workers (internal/sdk) in this one process, each with its own HTTP/2 connection, PING keepalive and reconnect loop`
    : `lean: ${o.streams} Connect streams multiplexed over ${o.connections} HTTP/2 connections per scheduler (same protocol as the SDK)`;
}

/**
 * Sends a command to the probe of `pid` (see process-probe.ts). For a stop, waits up to
 * 30 s for `<dir>/<name>.done` and returns the profile's path.
 */
async function probeCommand(pid: number, dir: string, cmd: string, stopAs?: { name: string; ext: string }): Promise<string | undefined> {
  appendFileSync(join(dir, `cmd-${pid}`), `${cmd}\n`);
  if (stopAs === undefined) return undefined;
  for (let i = 0; i < 300; i++) {
    await sleep(100);
    if (existsSync(join(dir, `${stopAs.name}.done`))) return join(dir, `${stopAs.name}.${stopAs.ext}`);
  }
  return undefined;
}

async function main(): Promise<number> {
  const o = parseOrExit();
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ctl.signal.aborted) process.exit(130);
    log(`${sig}: stopping and tearing down (again to force)`);
    ctl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const report: StreamsReport = {
    startedAt: new Date().toISOString(), machine: undefined, options: o, clientMode: clientModeText(o), timings: undefined,
    profiles: [], uncaught: { count: 0, first: undefined }, phases: [], leadership: [],
  };
  const onUncaught = (e: unknown): void => {
    report.uncaught.count++;
    report.uncaught.first ??= String((e as Error)?.stack ?? e).split('\n').slice(0, 3).join(' | ');
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const probeDir = mkdtempSync(join(tmpdir(), 'taskd-load-probe-'));
  log('starting Postgres and Redis');
  const servers = await BenchServers.start();
  const killServers = (): void => servers.killNow();
  process.on('exit', killServers);
  let fleet: StreamFleet | undefined;
  let submitter: SteadySubmitter | undefined;
  let cluster: Cluster | undefined;
  let leadership: LeadershipLog | undefined;
  let code = 0;
  const timeoutMs = o.timeoutSec * 1000;
  try {
    report.machine = machineInfo(await servers.withAdmin((c) => postgresVersion(c)), await codeVersion(REPO_ROOT));
    const taskdEnv: Record<string, string> = o.fast ? { ...FAST_TIMINGS } : {};
    const config = loadConfig(taskdEnv);
    const timings: Timings = {
      heartbeatMs: config.TASKD_HEARTBEAT_MS, leaseTtlMs: config.TASKD_LEASE_TTL_MS, lockTtlMs: config.TASKD_LOCK_TTL_MS,
      lockRenewMs: config.TASKD_LOCK_RENEW_MS, pollMs: config.TASKD_POLL_MS,
    };
    report.timings = timings;
    const env = {
      ...taskdEnv,
      NODE_OPTIONS: `--import=${pathToFileURL(join(REPO_ROOT, 'loadtest/process-probe.ts')).href}`,
      LOADTEST_PROBE_DIR: probeDir,
      LOADTEST_PROFILE: o.profile || o.heapProfile ? '1' : '0',
    };
    log('starting 2 schedulers and 1 apiserver');
    const c = await Cluster.start({
      pgUrl: await servers.createDatabase('streams'), redisUrl: servers.redis.url, redisPrefix: `load${randomBytes(4).toString('hex')}:`,
      apiservers: 1, schedulers: 2, workers: 0, env,
    });
    cluster = c;
    const api = c.apiservers[0];
    if (c.schedulers.length !== 2 || !api) throw new Error('cluster incomplete');
    const lead = new LeadershipLog(c.schedulers.map((m) => m.proc));
    leadership = lead;
    const pgPid = servers.postgresPid;
    const redisPid = servers.redis.runningPid();
    /** The leader now (from the schedulers' logs, checked against /readyz) and the other scheduler. */
    const roles = async (): Promise<{ leader: TaskdProcess; standby: TaskdProcess; li: number; si: number; epoch: number; watched: Watched[] }> => {
      // Leadership may be changing right now (a leader that falls over): wait up to 15 s for logs and /readyz to agree.
      let cur = lead.current();
      for (let i = 0; i < 75 && (cur === undefined || (await c.leaderIndex()) !== cur.scheduler); i++) {
        await sleep(200, ctl.signal);
        cur = lead.current();
      }
      if (!cur || (await c.leaderIndex()) !== cur.scheduler) throw new Error('no stable leader for 15 s (see the leadership table)');
      const li = cur.scheduler;
      const si = 1 - li;
      const leader = (c.schedulers[li] as { proc: TaskdProcess }).proc;
      const standby = (c.schedulers[si] as { proc: TaskdProcess }).proc;
      return {
        leader, standby, li, si, epoch: cur.epoch,
        watched: [
          { role: `leader scheduler-${li} (pid ${leader.pid})`, pid: leader.pid },
          { role: `standby scheduler-${si} (pid ${standby.pid})`, pid: standby.pid },
          { role: `apiserver (pid ${api.proc.pid})`, pid: api.proc.pid },
          ...(pgPid === undefined ? [] : [{ role: 'postgres (all, Pss)', pid: pgPid, tree: true }]),
          ...(redisPid === undefined ? [] : [{ role: 'redis', pid: redisPid }]),
          { role: `load client (pid ${process.pid})`, pid: process.pid },
        ],
      };
    };
    /** Runs a measured phase, noting in the report when leadership changed during it. */
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const startedAt = Date.now();
      try {
        return await fn();
      } finally {
        report.phases.push({ name, startedAt, endedAt: Date.now() });
      }
    };

    let r = await roles();
    log(`A0: baseline, leader with no stream, ${o.baselineSeconds} s`);
    await sleep(2_000, ctl.signal);
    report.baseline = await phase('A0 baseline', async () => {
      const w = MeasureWindow.open(r.watched, probeDir);
      await sleep(o.baselineSeconds * 1000, ctl.signal);
      return w.close();
    });

    const specs = fleetSpecs(o.streams, o.busyFraction, o.slots);
    const f: StreamFleet = o.client === 'sdk' ? new SdkFleet(c.schedulerAddrs, specs) : new LeanFleet(c.schedulerAddrs, specs, o.connections);
    fleet = f;
    if (o.heapProfile) {
      await probeCommand(r.leader.pid, probeDir, 'heap start');
      await sleep(1_000);
    }
    log(`opening ${o.streams} streams (${o.client}), ${o.ramp}/s`);
    await phase('connect', async () => {
      const openedAt = Date.now();
      await f.start(o.ramp, ctl.signal);
      await waitConnected(f, o.streams, r.epoch, timeoutMs, ctl.signal);
      report.connect = { streams: o.streams, allWelcomedMs: Date.now() - openedAt, welcomes: f.counters.welcomes };
      log(`all ${o.streams} welcomed in ${((Date.now() - openedAt) / 1000).toFixed(2)} s; settling 5 s`);
    });
    await sleep(5_000, ctl.signal);

    /** Starts (no `stopAs`) or stops a CPU profile; a start leaves 1.5 s for the profiler's own start-up stall to pass. */
    const profile = async (pid: number, stopAs?: string): Promise<void> => {
      if (!o.profile) return;
      if (stopAs === undefined) {
        await probeCommand(pid, probeDir, 'cpu start');
        await sleep(1_500);
        return;
      }
      const file = await probeCommand(pid, probeDir, `cpu stop ${stopAs}`, { name: stopAs, ext: 'cpuprofile' });
      if (file) report.profiles.push(summarizeProfile(file));
      else log(`profile ${stopAs} was not written`);
    };

    r = await roles();
    const streamsNow = (): number => f.connected(lead.current()?.epoch ?? Number.MAX_SAFE_INTEGER);
    log(`A: idle, ${o.idleSeconds} s (leader scheduler-${r.li}, epoch ${r.epoch})`);
    await profile(r.leader.pid);
    report.idle = await phase('A idle', async () => {
      const w = MeasureWindow.open(r.watched, probeDir);
      await sleep(o.idleSeconds * 1000, ctl.signal);
      return w.close();
    });
    await profile(r.leader.pid, 'A-idle-leader');
    if (o.heapProfile) {
      const file = await probeCommand(r.leader.pid, probeDir, 'heap stop A-idle-leader-heap', { name: 'A-idle-leader-heap', ext: 'heapprofile' });
      if (file) report.heapProfile = summarizeHeapProfile(file, o.streams);
      else log('the heap profile was not written');
    }
    if (streamsNow() < o.streams) log(`A: only ${streamsNow()} of ${o.streams} streams on the current leader at the end`);

    r = await roles();
    log(`B: ${o.rate} tasks/s; 5 s warm-up, then ${o.busySeconds} s measured (leader scheduler-${r.li}, epoch ${r.epoch})`);
    const s = new SteadySubmitter(c.client(), o.rate);
    submitter = s;
    s.start(ctl.signal);
    await sleep(5_000, ctl.signal);
    await profile(r.leader.pid);
    const completedBefore = f.counters.completed;
    const busyWindow = await phase('B busy', async () => {
      const w = MeasureWindow.open(r.watched, probeDir);
      await sleep(o.busySeconds * 1000, ctl.signal);
      return w.close();
    });
    await profile(r.leader.pid, 'B-busy-leader');
    report.busy = { window: busyWindow, dispatch: undefined, completed: f.counters.completed - completedBefore };
    if (ctl.signal.aborted) throw new Error('interrupted');

    try {
      r = await roles();
      log(`C: failover under load (killing scheduler-${r.li}, epoch ${r.epoch})`);
      const standbyPid = r.standby.pid;
      const rr = r;
      report.failover = await phase('C failover', () => runFailover({
        fleet: f, sql: c.sql, leader: rr.leader, standby: rr.standby, standbyIndex: rr.si, oldEpoch: rr.epoch, leadership: lead,
        watched: [{ role: `new leader scheduler-${rr.si} (pid ${standbyPid})`, pid: standbyPid }, ...rr.watched.slice(2)],
        probeDir, afterSec: o.afterSeconds, timeoutMs, signal: ctl.signal, log,
        aroundKill: { before: () => profile(standbyPid), after: () => profile(standbyPid, 'C-failover-new-leader') },
      }));
      if (report.failover.error) code = 1;
    } finally {
      // Whatever happened to phase C, the tasks submitted so far are accounted for.
      report.submitter = await s.stop();
      submitter = undefined;
      log(`waiting for all ${s.stored} tasks to finish`);
      try {
        await waitAllSucceeded(c.sql, s.stored, { pollMs: 250, deadline: Date.now() + timeoutMs, signal: ctl.signal });
        report.allSucceeded = `all ${s.stored} submitted tasks SUCCEEDED`;
      } catch (e) {
        report.allSucceeded = `NOT all succeeded: ${(e as Error).message}`;
        code = 1;
      }
      report.busy.dispatch = await windowDispatch(c.sql, busyWindow.startedAt, busyWindow.endedAt);
      report.attempts = await checkAttempts(c.sql);
      if (!attemptsOk(report.attempts)) {
        report.reruns = await rerunGroups(c.sql, report.failover?.killAt ?? Date.now());
        code = 1;
      }
      report.counters = { ...f.counters };
    }
  } catch (e) {
    report.error = (e as Error).stack ?? String(e);
    code = ctl.signal.aborted ? 130 : 1;
  } finally {
    log('tearing down');
    if (submitter) report.submitter = await submitter.stop(2_000);
    if (fleet) {
      report.counters ??= { ...fleet.counters };
      await fleet.stop(3_000);
    }
    if (leadership) report.leadership = [...leadership.events];
    await reapAll();
    await cluster?.close().catch(() => undefined);
    await servers.stop().catch((e: unknown) => log((e as Error).message));
    process.off('exit', killServers);
    if (o.keep) {
      cpSync(probeDir, o.keep, { recursive: true });
      log(`probe files and profiles kept in ${o.keep}`);
    }
    if (existsSync(probeDir)) rmSync(probeDir, { recursive: true, force: true });
  }
  console.log(renderReport(report));
  if (o.json !== undefined) {
    writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${o.json}`);
  }
  return code;
}

process.exitCode = await main();
// Sockets of aborted SDK streams may linger a moment; nothing else is left to do.
setTimeout(() => process.exit(), 2_000).unref();
