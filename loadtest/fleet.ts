import { sleep } from '../internal/shared/sleep.js';

/** What one stream of the fleet is. */
export interface StreamSpec {
  /** Worker id sent in Hello. */
  id: string;
  /** Busy streams register `noop`; idle ones only `idle` (a type nobody submits). */
  busy: boolean;
  slots: number;
}

/** Counters every fleet keeps, summed over its streams. */
export interface FleetCounters {
  /** Welcome messages received. */
  welcomes: number;
  /** Streams that ended (errors, redirects and clean ends alike). */
  disconnects: number;
  /** NotLeader answers received. */
  notLeader: number;
  assigned: number;
  completed: number;
  /** ResultAcks received (accepted or not). */
  resultAcks: number;
  /** ResultAcks that refused the result. */
  refused: number;
  /** Tasks whose handler this fleet ran more than once (Assigns for the same task id). */
  ranTwice: number;
}

/** One Welcome: which stream, from which term, when (epoch ms in this process). */
export interface WelcomeEvent {
  stream: number;
  epoch: number;
  at: number;
}

/** One stream end: which stream, when (epoch ms), and why (see {@link classifyEnd}). */
export interface EndEvent {
  stream: number;
  at: number;
  cause: string;
}

/**
 * Why a stream ended, in a few words, from the error the stream failed with
 * (undefined: the server ended it cleanly or the client closed it).
 */
export function classifyEnd(error: unknown): string {
  if (error === undefined || error === null) return 'ended cleanly';
  const m = String((error as Error).message ?? error);
  if (/ECONNREFUSED/.test(m)) return 'connect refused (dead scheduler)';
  if (/not the leader/.test(m)) return 'NotLeader answer (redirect)';
  if (/no Welcome/i.test(m)) return 'no Welcome in time (abandoned)';
  if (/ping|keepalive/i.test(m)) return 'keepalive PING timeout';
  if (/ECONNRESET|socket hang up|EPIPE|closed|GOAWAY|premature/i.test(m)) return 'connection reset/closed';
  if (/leadership ended|stream ended/.test(m)) return 'server ended the stream (UNAVAILABLE)';
  return m.replace(/\s+/g, ' ').slice(0, 70);
}

/**
 * N worker streams against the schedulers, as one client process opens them. Every
 * implementation speaks the real `WorkerService.Connect` protocol (Hello, Welcome,
 * Credit, Heartbeat at the Welcome's interval, Result for each Assign, reconnect with
 * full-jitter backoff, NotLeader redirects).
 */
export interface StreamFleet {
  readonly specs: readonly StreamSpec[];
  readonly counters: FleetCounters;
  /** Every Welcome, in arrival order. */
  readonly welcomes: readonly WelcomeEvent[];
  /** Every stream end, in order. */
  readonly ends: readonly EndEvent[];
  /** Opens every stream, `perSecond` at a time; resolves once all were started (not welcomed). */
  start(perSecond: number, signal: AbortSignal): Promise<void>;
  /** How many streams are welcomed right now by a leader of epoch `minEpoch` or newer (any, by default). */
  connected(minEpoch?: number): number;
  /** Closes every stream; bounded by `timeoutMs`. */
  stop(timeoutMs: number): Promise<void>;
}

/** Zeroed counters. */
export function newCounters(): FleetCounters {
  return { welcomes: 0, disconnects: 0, notLeader: 0, assigned: 0, completed: 0, resultAcks: 0, refused: 0, ranTwice: 0 };
}

/** `n` streams: the first `round(n * busyFraction)` busy with `slots` slots, the rest idle with 1. */
export function fleetSpecs(n: number, busyFraction: number, slots: number): StreamSpec[] {
  const busy = Math.round(n * busyFraction);
  return Array.from({ length: n }, (_, i) => {
    const isBusy = i < busy;
    return { id: `lt-${isBusy ? 'busy' : 'idle'}-${String(i).padStart(5, '0')}`, busy: isBusy, slots: isBusy ? slots : 1 };
  });
}

/** Runs `open(i)` for every index, `perSecond` per second in 50 ms ticks; stops early when `signal` aborts. */
export async function ramp(count: number, perSecond: number, signal: AbortSignal, open: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  let opened = 0;
  while (opened < count && !signal.aborted) {
    const due = Math.min(count, Math.max(1, Math.floor(((performance.now() - t0) / 1000) * perSecond)));
    for (; opened < due; opened++) open(opened);
    if (opened < count) await sleep(50, signal);
  }
}

/**
 * Waits until `fleet.connected(minEpoch)` reaches `count`, polling every 50 ms. Throws
 * when `timeoutMs` passes or `signal` aborts, naming how many were connected.
 */
export async function waitConnected(fleet: StreamFleet, count: number, minEpoch: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const n = fleet.connected(minEpoch);
    if (n >= count) return;
    if (Date.now() > until) throw new Error(`only ${n} of ${count} streams welcomed by epoch >= ${minEpoch} within ${timeoutMs} ms`);
    if (!(await sleep(50, signal))) throw new Error('interrupted while waiting for streams');
  }
}

/** Counts Assigns per task id, to tell a task the fleet ran twice from one merely re-dispatched. */
export class AssignTally {
  private readonly seen = new Set<string>();

  /** Records an Assign of `taskId`; bumps `counters.ranTwice` the second time a task comes. */
  add(taskId: string, counters: FleetCounters): void {
    counters.assigned++;
    if (this.seen.has(taskId)) counters.ranTwice++;
    else this.seen.add(taskId);
  }
}
