import { EventEmitter } from 'node:events';
import { backoffDelay } from '../shared/backoff.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { AddressBook } from './address-book.js';
import { CreditLedger } from './credit-ledger.js';
import { attemptKey, type AssignMessage, type AttemptOutcome, type Outlet, type SchedulerMessage, type WorkerMessage } from './protocol.js';
import { ResultOutbox } from './result-outbox.js';
import { RunningAttempt } from './running-attempt.js';
import { openSchedulerStream } from './scheduler-stream.js';
import type { Handler } from './task-context.js';
import type { WorkerEventMap } from './worker-events.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.js';
import { WorkerSession, type SessionEnd, type SessionHost } from './worker-session.js';

/** A snapshot of a worker, for readiness probes and status pages. */
export interface WorkerStatus {
  /** Welcomed by a leader right now. */
  connected: boolean;
  /** The leader's address while connected. */
  leader: string | undefined;
  epoch: number | undefined;
  draining: boolean;
  /** Attempts whose handlers are executing. */
  running: number;
  /** Most attempts it runs at once now. */
  slots: number;
  /** Results not yet acknowledged. */
  unacknowledged: number;
}

/**
 * A taskd worker: holds one `WorkerService.Connect` stream to the scheduler leader,
 * runs the handlers registered for each task type on at most `slots` attempts at a
 * time, and reports every result until the scheduler acknowledges it. Survives
 * stream breaks and leader changes (attempts keep running; results queue up) and
 * drains gracefully. Emits the events of {@link WorkerEventMap}.
 */
export class Worker extends EventEmitter<WorkerEventMap> {
  private readonly opts: ResolvedWorkerOptions;
  private readonly logger: Logger;
  private readonly handlers = new Map<string, Handler>();
  private readonly attempts = new Map<string, RunningAttempt>();
  private readonly addresses: AddressBook;
  private readonly stopLoop = new AbortController();
  private readonly outlet: Outlet = { send: (m: WorkerMessage) => this.session?.send(m) ?? false };
  private readonly credits: CreditLedger;
  private readonly outbox: ResultOutbox;
  private readonly idleWaiters = new Set<() => void>();
  private readonly host: SessionHost = {
    onWelcome: (s, w) => this.handleWelcome(s, w),
    onMessage: (m) => this.handleMessage(m),
    onNotLeader: (m) => this.handleNotLeader(m),
  };
  private session: WorkerSession | undefined;
  private connection: { address: string; epoch: number; sessionId: string } | undefined;
  private announced = new Set<string>();
  private draining = false;
  private started = false;
  private requestDrain: () => void = () => {};
  private readonly drainRequested = new Promise<void>((resolve) => (this.requestDrain = resolve));

  /** Throws an Error naming the option when `options` are invalid. */
  constructor(options: WorkerOptions) {
    super();
    this.opts = resolveWorkerOptions(options);
    this.addresses = new AddressBook(this.opts.addresses);
    this.logger = this.opts.logger.child({ component: 'worker', workerId: this.opts.workerId });
    this.credits = new CreditLedger(this.outlet, () => this.attempts.size, this.opts.slots);
    this.outbox = new ResultOutbox(this.outlet, this.logger, this.stopLoop.signal);
  }

  /** The worker id sent in Hello. */
  get id(): string {
    return this.opts.workerId;
  }

  /** Where the worker stands now. */
  get status(): WorkerStatus {
    return {
      connected: this.connection !== undefined,
      leader: this.connection?.address,
      epoch: this.connection?.epoch,
      draining: this.draining,
      running: this.attempts.size,
      slots: this.opts.slots,
      unacknowledged: this.outbox.size,
    };
  }

  /** Registers the handler of task `type`. Throws if `type` is empty, taken, or `run()` has started. */
  register(type: string, handler: Handler): this {
    if (!type) throw new Error('Worker.register: type must not be empty');
    if (this.started) throw new Error(`Worker.register(${type}): register handlers before run()`);
    if (this.handlers.has(type)) throw new Error(`Worker.register: a handler for "${type}" is already registered`);
    this.handlers.set(type, handler);
    return this;
  }

  /**
   * Changes how many attempts the worker runs at once, while it runs: more slots are
   * offered to the scheduler at once; fewer take back unused credit and start nothing new
   * until the running attempts are below the new number (none is cancelled). The
   * scheduler's view (ClusterService) follows. Throws when `slots` is not an integer >= 1.
   */
  setSlots(slots: number): void {
    const from = this.opts.slots;
    this.credits.resize(slots);
    this.opts.slots = slots;
    if (from !== slots) this.logger.info({ from, to: slots, running: this.attempts.size }, 'worker slots changed');
  }

  /**
   * Connects and works until `signal` aborts (or `drain()` is called), then drains
   * and resolves once the stream is closed. Never rejects; throws if called twice.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error('Worker.run() may be called only once');
    this.started = true;
    const onAbort = (): void => this.drain();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) this.drain();
    const loop = this.connectLoop();
    try {
      await this.drainRequested;
      await this.settle();
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.stopLoop.abort();
      await loop;
    }
    this.logger.info('worker drained');
    this.emit('drained');
  }

  /**
   * Starts a graceful drain: sends Draining, grants no more credits, waits for running
   * attempts and their acknowledgments (at most `drainTimeoutMs`, then aborts them),
   * then closes the stream and lets `run()` resolve. Idempotent.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.logger.info({ running: this.attempts.size, unacknowledged: this.outbox.size }, 'worker draining');
    this.credits.stop();
    this.outlet.send({ kind: 'draining' });
    this.requestDrain();
  }

  private async connectLoop(): Promise<void> {
    const stop = this.stopLoop.signal;
    let tries = 0;
    let redirects = 0;
    while (!stop.aborted) {
      const end = await this.connectOnce(this.addresses.next(), stop);
      if (stop.aborted) return;
      tries = end.welcomed ? 1 : tries + 1;
      redirects = end.redirected ? redirects + 1 : 0;
      // A first redirect goes straight to the named leader; a chain of them backs off.
      await sleep(redirects === 1 ? 0 : backoffDelay(this.opts.backoff, tries), stop);
    }
  }

  private async connectOnce(address: string, stop: AbortSignal): Promise<SessionEnd> {
    const { token, keepalive, welcomeTimeoutMs, defaultHeartbeatMs, closeGraceMs } = this.opts;
    const stream = openSchedulerStream({ address, token, keepalive });
    const session = new WorkerSession(stream, this.host, { welcomeTimeoutMs, defaultHeartbeatMs, closeGraceMs }, this.logger);
    this.session = session;
    // Results awaiting their ack are announced too: the leader must not think them undelivered.
    const running = [...this.attempts.values()].map((a) => a.ref).concat(this.outbox.refs());
    this.announced = new Set(running.map(attemptKey));
    const { workerId, queues, slots, labels } = this.opts;
    const hello: WorkerMessage = { kind: 'hello', workerId, taskTypes: [...this.handlers.keys()], queues, slots, labels, running };
    const end = await session.run(hello, stop);
    this.session = undefined;
    this.connection = undefined;
    this.credits.reset();
    for (const a of this.attempts.values()) a.onDisconnect();
    // A redirect ends the stream UNAVAILABLE by design; only other failures are news.
    const level = end.error && !end.redirected ? 'warn' : 'debug';
    this.logger[level]({ address, err: end.error, welcomed: end.welcomed }, 'stream to scheduler ended');
    this.emit('disconnected', end.error === undefined ? { address } : { address, error: end.error });
    return end;
  }

  private handleWelcome(session: WorkerSession, w: Extract<SchedulerMessage, { kind: 'welcome' }>): void {
    this.connection = { address: session.address, epoch: w.epoch, sessionId: w.sessionId };
    const adopted = new Set(w.adopted.map(attemptKey));
    for (const key of this.announced) {
      if (adopted.has(key)) continue;
      this.logger.warn({ attempt: key }, 'scheduler did not adopt a running attempt; aborting it');
      this.attempts.get(key)?.abort('lease_lost', 'the scheduler did not adopt this attempt after a reconnect');
    }
    // Results first: the server learns which slots freed up before it sees new credit.
    this.outbox.resendAll();
    if (this.draining) {
      this.credits.reset();
      session.send({ kind: 'draining' });
    } else {
      this.credits.start();
    }
    this.logger.debug({ ...this.connection }, 'welcomed by scheduler');
    this.emit('connected', { ...this.connection });
  }

  private handleNotLeader(m: Extract<SchedulerMessage, { kind: 'not_leader' }>): void {
    this.logger.info({ leader: m.leaderAddress || undefined }, 'scheduler is not the leader');
    this.addresses.redirectTo(m.leaderAddress);
    this.emit('not_leader', { leaderAddress: m.leaderAddress });
  }

  private handleMessage(m: SchedulerMessage): void {
    switch (m.kind) {
      case 'assign':
        return this.handleAssign(m);
      case 'cancel':
        return this.attempts.get(attemptKey(m.attempt))?.abort('cancelled', m.reason || 'cancelled by the scheduler');
      case 'checkpoint_ack':
        return this.attempts.get(attemptKey(m.attempt))?.onCheckpointAck(m);
      case 'result_ack':
        return this.handleResultAck(m);
      default:
        this.logger.warn({ kind: m.kind }, 'unexpected message ignored');
    }
  }

  private handleAssign(m: AssignMessage): void {
    // Every line about the attempt carries the task's correlation id (its logger is a child of this).
    const log = { taskId: m.attempt.taskId, attempt: m.attempt.attempt, type: m.type, correlationId: m.correlationId || undefined };
    if (this.attempts.has(attemptKey(m.attempt))) return void this.logger.warn(log, 'duplicate Assign ignored');
    if (!this.credits.take()) {
      this.logger.error(log, 'protocol violation: Assign beyond the credits granted; failing the attempt');
      const message = 'worker had no free slot: the scheduler assigned beyond its credits';
      return this.outbox.add(m.attempt, { error: { message, kind: 'protocol', retryable: true } });
    }
    const handler = this.handlers.get(m.type);
    if (!handler) {
      this.logger.error(log, 'Assign of a type with no handler');
      this.credits.release();
      const message = `no handler registered for type "${m.type}"`;
      return this.outbox.add(m.attempt, { error: { message, kind: 'unknown_type', retryable: true } });
    }
    const attempt = new RunningAttempt(m, this.outlet, this.opts.clock, this.logger.child(log));
    this.attempts.set(attempt.key, attempt);
    this.logger.debug(log, 'attempt assigned');
    this.emit('assigned', { taskId: m.attempt.taskId, attempt: m.attempt.attempt, type: m.type });
    const started = this.opts.clock.monotonic();
    void attempt.execute(handler).then((outcome) => this.finishAttempt(attempt, m.type, outcome, this.opts.clock.monotonic() - started));
  }

  private finishAttempt(attempt: RunningAttempt, type: string, outcome: AttemptOutcome, durationMs: number): void {
    this.attempts.delete(attempt.key);
    this.credits.release();
    const correlationId = attempt.context.correlationId || undefined;
    this.outbox.add(attempt.ref, outcome, { traceContext: attempt.traceContext, correlationId });
    const ok = 'output' in outcome;
    this.logger.debug({ taskId: attempt.ref.taskId, attempt: attempt.ref.attempt, correlationId, ok }, 'attempt completed');
    const cause = attempt.abortedBy;
    const result = ok ? 'succeeded' : cause === 'cancelled' || cause === 'lease_lost' ? 'cancelled' : cause === 'deadline' ? 'timeout' : 'failed';
    this.emit('completed', { taskId: attempt.ref.taskId, attempt: attempt.ref.attempt, type, ok, outcome: result, durationMs });
    this.notifyIfIdle();
  }

  private handleResultAck(m: Extract<SchedulerMessage, { kind: 'result_ack' }>): void {
    const verdict = this.outbox.ack(m);
    if (verdict === 'unknown') return;
    const { taskId, attempt } = m.attempt;
    this.emit('result_acked', m.code ? { taskId, attempt, accepted: m.accepted, code: m.code } : { taskId, attempt, accepted: m.accepted });
    this.notifyIfIdle();
  }

  private async settle(): Promise<void> {
    if (await this.waitIdle(this.opts.drainTimeoutMs)) return;
    this.logger.warn({ running: this.attempts.size, unacknowledged: this.outbox.size }, 'drain timed out; aborting attempts');
    for (const a of this.attempts.values()) a.abort('shutdown', 'the worker is shutting down');
    if (await this.waitIdle(this.opts.shutdownGraceMs)) return;
    this.logger.error({ running: this.attempts.size, unacknowledged: this.outbox.size }, 'stopping with work unreported');
  }

  private get isIdle(): boolean {
    return this.attempts.size === 0 && this.outbox.size === 0;
  }

  private async waitIdle(ms: number): Promise<boolean> {
    if (this.isIdle) return true;
    const timer = new AbortController();
    let waiter: () => void = () => {};
    const idle = new Promise<boolean>((resolve) => {
      waiter = () => resolve(true);
      this.idleWaiters.add(waiter);
    });
    try {
      return await Promise.race([idle, sleep(ms, timer.signal).then(() => false)]);
    } finally {
      timer.abort();
      this.idleWaiters.delete(waiter);
    }
  }

  private notifyIfIdle(): void {
    if (this.isIdle) for (const w of this.idleWaiters) w();
  }
}
