import { randomUUID } from 'node:crypto';
import { AsyncQueue } from '../shared/async-queue.js';
import type { Claimed } from '../storage/dispatch-store.js';
import type { HelloIn, ToWorker } from './messages.js';

/**
 * One worker stream, as the leader sees it: what the worker accepts, how many more
 * assignments it has granted (credits), which attempts it holds, and when it was last
 * heard from. Messages to the worker go through `out`.
 */
export class WorkerSession {
  readonly id = randomUUID();
  readonly out = new AsyncQueue<ToWorker>();
  /** Assignments the worker has granted and not yet received. */
  credits = 0;
  /** The worker's slots: from its Hello, then from any Credit that carries a new total. */
  slots: number;
  draining = false;
  /** Task ids of the attempts this session holds. */
  readonly held = new Set<string>();
  /** Monotonic ms of the last message from the worker. */
  lastSeen: number;
  /** Groups sessions that accept the same work (queues, types, namespaces), so one claim serves them all. */
  readonly groupKey: string;
  /**
   * Attempts claimed for this worker that it never received (see Dispatcher.attach),
   * re-sent as credits allow; undefined until they are read back from Postgres.
   */
  undelivered: (Claimed & { startedAt: Date })[] | undefined = [];
  /** Set when the stream ended; a closed session receives nothing. */
  closedReason: string | undefined;

  constructor(readonly hello: HelloIn, now: number) {
    this.lastSeen = now;
    this.slots = hello.slots;
    this.groupKey = `${[...hello.queues].sort().join(',')}|${[...hello.taskTypes].sort().join(',')}|${[...hello.namespaces].sort().join(',')}`;
  }

  get workerId(): string {
    return this.hello.workerId;
  }

  /** Sends to the worker unless the stream has closed. */
  send(msg: ToWorker): void {
    if (!this.closedReason) this.out.push(msg);
  }

  close(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.out.close();
  }
}
