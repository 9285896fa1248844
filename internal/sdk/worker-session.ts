import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import type { SchedulerMessage, WorkerMessage } from './protocol.js';
import type { SchedulerStream } from './scheduler-stream.js';

type Welcome = Extract<SchedulerMessage, { kind: 'welcome' }>;
type NotLeader = Extract<SchedulerMessage, { kind: 'not_leader' }>;

/** What a session reports to its worker. */
export interface SessionHost {
  /** The session is welcomed: send credits, re-send results. */
  onWelcome(session: WorkerSession, welcome: Welcome): void;
  /** Any message after Welcome other than NotLeader. */
  onMessage(msg: SchedulerMessage): void;
  onNotLeader(msg: NotLeader): void;
}

/** How a session ended. */
export interface SessionEnd {
  welcomed: boolean;
  /** The server answered NotLeader. */
  redirected: boolean;
  /** Why the stream failed; undefined when the server ended it cleanly or we closed it. */
  error: unknown;
}

/** Timing of a session. */
export interface SessionTiming {
  /** No Welcome within this long aborts the stream. */
  welcomeTimeoutMs: number;
  /** Heartbeat interval when the Welcome names none. */
  defaultHeartbeatMs: number;
  /** How long a clean close waits for the server to end its side. */
  closeGraceMs: number;
}

/**
 * One `Connect` stream from Hello to its end: waits for Welcome (bounded), sends
 * heartbeats at the interval the Welcome names, and hands every inbound message to
 * the host. Outbound messages other than Hello go out only once welcomed.
 */
export class WorkerSession {
  private welcomed = false;
  private redirected = false;
  private readonly ended = new AbortController();

  constructor(
    private readonly stream: SchedulerStream,
    private readonly host: SessionHost,
    private readonly timing: SessionTiming,
    private readonly logger: Logger,
  ) {}

  get address(): string {
    return this.stream.address;
  }

  /** True once Welcome arrived and until the stream ends. */
  get isWelcomed(): boolean {
    return this.welcomed && !this.ended.signal.aborted;
  }

  /** Sends `msg` if welcomed; false otherwise. */
  send(msg: WorkerMessage): boolean {
    if (!this.isWelcomed) return false;
    this.stream.send(msg);
    return true;
  }

  /**
   * Sends `hello`, then reads until the stream ends. When `stop` aborts, the stream is
   * half-closed and the server given `closeGraceMs` to end it. Never throws.
   */
  async run(hello: WorkerMessage, stop: AbortSignal): Promise<SessionEnd> {
    const onStop = (): void => void this.stream.close(this.timing.closeGraceMs);
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();
    this.stream.send(hello);
    void sleep(this.timing.welcomeTimeoutMs, this.ended.signal).then((waited) => {
      if (waited && !this.welcomed) this.stream.abort(new Error(`no Welcome within ${this.timing.welcomeTimeoutMs} ms`));
    });
    let error: unknown;
    try {
      for await (const msg of this.stream.messages) this.dispatch(msg);
    } catch (err) {
      error = stop.aborted ? undefined : err;
    } finally {
      this.ended.abort();
      stop.removeEventListener('abort', onStop);
      this.stream.abort();
    }
    return { welcomed: this.welcomed, redirected: this.redirected, error };
  }

  private dispatch(msg: SchedulerMessage): void {
    if (msg.kind === 'welcome') {
      if (this.welcomed) return void this.logger.warn('second Welcome on one stream ignored');
      this.welcomed = true;
      this.host.onWelcome(this, msg);
      void this.heartbeatLoop(msg.heartbeatIntervalMs || this.timing.defaultHeartbeatMs);
      return;
    }
    if (msg.kind === 'not_leader') {
      this.redirected = true;
      this.host.onNotLeader(msg);
      return;
    }
    if (!this.welcomed) return void this.logger.warn({ kind: msg.kind }, 'message before Welcome ignored');
    this.host.onMessage(msg);
  }

  private async heartbeatLoop(intervalMs: number): Promise<void> {
    while (await sleep(intervalMs, this.ended.signal)) this.send({ kind: 'heartbeat' });
  }
}
