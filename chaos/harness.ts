import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, type Analysis } from './analyze.js';
import { ChaosStack, CHAOS_TIMINGS, DEFAULT_SHAPE, type StackShape } from './chaos-stack.js';
import { collectSnapshot } from './collect.js';
import { drain, type DrainResult } from './drain.js';
import { runFaults } from './fault-loop.js';
import type { FaultRecord } from './faults.js';
import { LoadGenerator } from './load.js';
import { pollUntil } from './poll.js';
import { seededRng } from './rng.js';
import type { Servers } from './servers.js';

/** What a run does. */
export interface HarnessOptions {
  /** Seconds of fault injection (load runs throughout). */
  seconds: number;
  /** Least number of faults. */
  faults: number;
  seed: number;
  /** Tasks submitted per second. */
  rate: number;
  /** Seconds to wait for every task to end after the faults. */
  drainSeconds: number;
  /** Default: 2 apiservers, 3 schedulers, 3 workers x 8 slots. */
  shape?: StackShape;
  /** Where each process's output is saved; default a fresh `taskd-chaos-logs-*` directory under the system temp dir. */
  logDir?: string;
}

/** A finished run: what was done, what was measured, what broke. */
export interface ChaosResult extends Analysis {
  options: HarnessOptions;
  shape: StackShape;
  startedAt: string;
  /** Wall time of the whole run, ms. */
  ms: number;
  faults: FaultRecord[];
  drain: DrainResult;
  /** Where the processes' output was saved. */
  logDir: string;
}

/** Thrown when the run's signal aborts (SIGINT); the stack is torn down first. */
export class ChaosInterrupted extends Error {}

/**
 * One chaos run against `servers`: starts the stack, submits a steady stream of tasks,
 * injects faults, drains, then checks taskd's promises from Postgres and the
 * schedulers' logs. Always tears the stack down. Throws {@link ChaosInterrupted} when
 * `signal` aborts, and an Error when the stack does not start or never runs a task.
 */
export async function runChaos(servers: Servers, opts: HarnessOptions, p: { signal: AbortSignal; log: (msg: string) => void }): Promise<ChaosResult> {
  const startedAt = new Date();
  const shape = opts.shape ?? DEFAULT_SHAPE;
  p.log(`starting ${shape.schedulers} schedulers, ${shape.apiservers} apiservers, ${shape.workers} workers x ${shape.slots} slots`);
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'taskd-chaos-logs-'));
  p.log(`process output goes to ${logDir}`);
  const stack = await ChaosStack.start(servers, shape, logDir);
  try {
    const load = new LoadGenerator({
      rate: opts.rate, rng: seededRng(opts.seed ^ 0x5bd1e995), keyPrefix: `chaos-${randomBytes(3).toString('hex')}-`,
      apiservers: stack.apiserverCount, client: (i) => stack.client(i),
    });
    const stopLoad = new AbortController();
    const loading = load.run(AbortSignal.any([stopLoad.signal, p.signal]), p.signal);
    await warmUp(stack, p.signal);
    p.log(`load running at ${opts.rate} tasks/s; injecting faults for ${opts.seconds} s (at least ${opts.faults}), seed ${opts.seed}`);
    const ctx = { stack, servers, rng: seededRng(opts.seed), signal: p.signal, lockTtlMs: Number(CHAOS_TIMINGS.TASKD_LOCK_TTL_MS) };
    const faults = await runFaults({ seconds: opts.seconds, minFaults: opts.faults }, ctx, p.log);
    stopLoad.abort();
    await loading;
    p.log(`faults done; ${load.ledger.ok.size} tasks submitted OK; draining (at most ${opts.drainSeconds} s)`);
    const drained = await drain(stack.sql, opts.drainSeconds * 1_000, p.signal);
    if (p.signal.aborted) throw new ChaosInterrupted('interrupted');
    const snapshot = await collectSnapshot(stack.sql);
    const analysis = analyze({
      snapshot, ledger: load.ledger, faults, terms: stack.leadership.terms(), stepDowns: stack.leadership.stepDowns(),
      unexpectedExits: stack.unexpectedExits,
    });
    return { ...analysis, options: opts, shape, startedAt: startedAt.toISOString(), ms: Date.now() - startedAt.getTime(), faults, drain: drained, logDir };
  } finally {
    await stack.stop();
  }
}

/** Waits until the stack has run a first task (60 s at most). */
async function warmUp(stack: ChaosStack, signal: AbortSignal): Promise<void> {
  const ok = await pollUntil(async () => {
    const r = await stack.sql.query("select 1 from tasks where status = 'SUCCEEDED' limit 1");
    return r.rows.length > 0;
  }, { timeoutMs: 60_000, signal });
  if (signal.aborted) throw new ChaosInterrupted('interrupted');
  if (!ok) throw new Error('the stack did not run a single task within 60 s of starting');
}
