import { EventEmitter } from 'node:events';
import { DomainError } from '../domain/errors.js';
import { eventWorkflowId, type StoredEvent } from '../domain/stored-event.js';
import { backoffDelay, type BackoffPolicy } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import { Kicker } from '../shared/kicker.js';
import { aborted, sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import { eventReadTail, eventSequenceHigh, eventWritersInProgress } from '../storage/event-store.js';
import { advance } from './feed-cursor.js';
import { FeedSubscription, type SubscriptionSpec } from './feed-subscription.js';

/** The channel the outbox trigger notifies (migration 0010). */
export const EVENTS_CHANNEL = 'taskd_events';

/** An EventFeed's options (TASKD_WATCH_*). */
export interface EventFeedOptions {
  db: Db;
  /** Wait between looks at an idle outbox when no notification comes. Default 500 ms. */
  pollMs?: number;
  /** Events one subscriber may leave unread before it is cut off. Default 10,000. */
  bufferSize?: number;
  /** Most events per read. Default 1,000. */
  batch?: number;
  /** How long `subscribe` waits for a feed that is not ready. Default 10 s. */
  readyTimeoutMs?: number;
  /** Backoff between failed reads and LISTEN reconnects. Default 100 ms doubling to 5 s, full jitter. */
  backoff?: BackoffPolicy;
}

/** Events, for tests and metrics. */
export interface EventFeedEvents {
  /** The feed has a position: subscriptions may start. */
  ready: [{ position: number }];
  /** Events left for subscribers; `position` is the feed's after them. */
  delivered: [{ events: number; position: number }];
}

/** A gap the feed waits on: sequences up to `upTo` taken by the transactions `xids` (or rolled back). */
interface Pending {
  upTo: number;
  xids: string[];
  since: number;
  warned?: boolean;
}

const GAP_WARN_MS = 5_000;

/**
 * The one tail of the outbox per process (apiserver, embedded): reads the events that
 * commit, in sequence order, with one query for all watchers, and fans them out to
 * in-memory subscriptions ({@link FeedSubscription}). Woken by Postgres LISTEN/NOTIFY
 * (channel {@link EVENTS_CHANNEL}); polls every `pollMs` too, so a lost notification
 * or a LISTEN that cannot connect only delays.
 *
 * Gaps: a sequence is taken when its event is written but seen only when its
 * transaction commits, so sequence 7 may become visible after 8 (two transactions of
 * different aggregates), or never (rolled back). The feed's position only moves over a
 * missing sequence once it is known never to appear. It reads the sequence's high-water
 * mark (`pg_sequence_last_value`) first; a missing sequence at or below it was taken by
 * a transaction that had its id by then. When a read finds one missing, the feed lists
 * the transactions in progress right after ({@link eventWritersInProgress}); once every
 * one of them has ended (checked with pg_visible_in_snapshot in the snapshot of a later
 * read), whatever is still missing up to that mark was rolled back for good. No timeout
 * guesses: an event is never skipped, and a rolled-back sequence holds the feed only
 * until the transactions that were running with it have ended (usually milliseconds; a
 * warning is logged past five seconds). This relies on the outbox being written by
 * triggers after the change's own write, so a writer has its transaction id before it
 * takes a sequence.
 */
export class EventFeed extends EventEmitter<EventFeedEvents> {
  private position = -1;
  private pending: Pending | undefined;
  private readonly kicker = new Kicker();
  private readonly byKey = new Map<string, Set<FeedSubscription>>();
  private readonly byNamespace = new Map<string, Set<FeedSubscription>>();
  private readyWaiters: (() => void)[] = [];
  private stopped: Error | undefined;
  private readonly pollMs: number;
  private readonly bufferSize: number;
  private readonly batch: number;
  private readonly backoff: BackoffPolicy;

  constructor(
    private readonly base: Base,
    private readonly opts: EventFeedOptions,
  ) {
    super();
    this.pollMs = opts.pollMs ?? 500;
    this.bufferSize = opts.bufferSize ?? 10_000;
    this.batch = opts.batch ?? 1_000;
    this.backoff = opts.backoff ?? { initialMs: 100, maxMs: 5_000, multiplier: 2, jitter: 1 };
    if (!(this.pollMs > 0)) throw new Error(`EventFeed: pollMs must be positive, got ${this.pollMs}`);
    if (!(this.bufferSize >= 1)) throw new Error(`EventFeed: bufferSize must be at least 1, got ${this.bufferSize}`);
    if (!(this.batch >= 1)) throw new Error(`EventFeed: batch must be at least 1, got ${this.batch}`);
  }

  /** True once the feed has a position (see `ready`). */
  get isReady(): boolean {
    return this.position >= 0;
  }

  /** The feed's position: every event at or below it has been delivered or was before the start. -1 before ready. */
  get current(): number {
    return this.position;
  }

  /**
   * Starts a subscription at the feed's current position (waiting, up to
   * `readyTimeoutMs`, for a feed that is starting). Throws `unavailable` when the feed
   * is not ready in time or has stopped.
   */
  async subscribe(spec: SubscriptionSpec, signal?: AbortSignal): Promise<FeedSubscription> {
    await this.whenReady(signal);
    if (this.stopped) throw this.stopped;
    const sub = new FeedSubscription(spec, this.position, this.bufferSize, (s) => this.forget(s));
    for (const key of spec.keys ?? []) this.index(this.byKey, key, sub);
    if (!spec.keys) this.index(this.byNamespace, spec.namespace, sub);
    return sub;
  }

  /** Resolves once the feed has a position; throws `unavailable` after `readyTimeoutMs` or when stopped. */
  async whenReady(signal?: AbortSignal): Promise<number> {
    if (this.stopped) throw this.stopped;
    if (this.isReady) return this.position;
    const timeoutMs = this.opts.readyTimeoutMs ?? 10_000;
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.readyWaiters.push(() => ctl.abort());
    try {
      await sleep(timeoutMs, ctl.signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.stopped) throw this.stopped;
    if (!this.isReady) {
      if (signal?.aborted) throw new DomainError('unavailable', 'the call was cancelled while the event feed was starting');
      throw new DomainError('unavailable', `the event feed is not ready after ${timeoutMs} ms (is the database reachable?); retry`);
    }
    return this.position;
  }

  /** Runs until `signal` aborts; then ends every subscription (`unavailable`: watch again elsewhere). */
  async run(signal: AbortSignal): Promise<void> {
    const listening = this.listenLoop(signal);
    try {
      await this.tailLoop(signal);
    } finally {
      await listening;
      this.stopped = new DomainError('unavailable', 'this server is shutting down; watch again (with after_event_id to resume)');
      for (const w of this.readyWaiters.splice(0)) w();
      const all = new Set([...this.byKey.values(), ...this.byNamespace.values()].flatMap((s) => [...s]));
      for (const s of all) s.fail(this.stopped);
    }
  }

  /** One look at the tail: delivers what it may; returns what to do next. Exposed for tests. */
  async runOnce(): Promise<{ delivered: number; more: boolean; blocked: boolean }> {
    const { db } = this.opts;
    if (!this.isReady) return this.start();
    const upTo = await eventSequenceHigh(db.orm);
    if (upTo <= this.position) return { delivered: 0, more: false, blocked: false };
    const pending = this.pending;
    const read = await eventReadTail(db.orm, { after: this.position, upTo, limit: this.batch, xids: pending?.xids ?? [] });
    const settledUpTo = pending && read.settled ? pending.upTo : this.position;
    const a = advance({ position: this.position, events: read.events, upTo, limited: read.events.length >= this.batch, settledUpTo });
    this.position = a.position;
    for (const e of a.deliver) this.fanOut(e);
    if (pending && (read.settled || a.position >= pending.upTo)) this.pending = undefined;
    if (a.blocked && !this.pending) {
      this.pending = { upTo, xids: await eventWritersInProgress(db), since: this.base.clock.monotonic() };
    }
    this.warnIfStuck();
    if (a.deliver.length > 0) this.emit('delivered', { events: a.deliver.length, position: this.position });
    return { delivered: a.deliver.length, more: read.events.length >= this.batch && !a.blocked, blocked: a.blocked };
  }

  /**
   * The start: the position is the high-water mark, once every transaction that was in
   * progress when it was read has ended (they may hold sequences below it).
   */
  private async start(): Promise<{ delivered: number; more: boolean; blocked: boolean }> {
    const { db } = this.opts;
    if (!this.pending) {
      const upTo = await eventSequenceHigh(db.orm);
      this.pending = { upTo, xids: await eventWritersInProgress(db), since: this.base.clock.monotonic() };
    }
    const p = this.pending;
    const check = await eventReadTail(db.orm, { after: p.upTo, upTo: p.upTo, limit: 1, xids: p.xids });
    if (!check.settled) {
      this.warnIfStuck();
      return { delivered: 0, more: false, blocked: true };
    }
    this.pending = undefined;
    this.position = p.upTo;
    this.base.logger.debug({ position: this.position }, 'event feed ready');
    this.emit('ready', { position: this.position });
    for (const w of this.readyWaiters.splice(0)) w();
    return { delivered: 0, more: true, blocked: false };
  }

  private async tailLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let blockedTicks = 0;
    while (!signal.aborted) {
      let wait = this.pollMs;
      try {
        const r = await this.runOnce();
        if (failures > 0) this.base.logger.info({ failures }, 'event feed reads the outbox again');
        failures = 0;
        blockedTicks = r.blocked ? blockedTicks + 1 : 0;
        if (r.more) continue;
        if (r.blocked) wait = Math.min(200, 5 * 2 ** Math.min(blockedTicks, 6));
      } catch (e) {
        failures++;
        if (failures === 1) this.base.logger.warn({ err: (e as Error).message }, 'event feed cannot read the outbox; retrying');
        wait = backoffDelay(this.backoff, failures);
      }
      await this.kicker.wait(wait, signal);
    }
  }

  /** Holds a LISTEN while running; a lost or refused one is retried with backoff (the poll covers meanwhile). */
  private async listenLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let onLost: (e: Error) => void = () => undefined;
      const lost = new Promise<Error>((resolve) => (onLost = resolve));
      let err: Error | undefined;
      try {
        const listening = await this.opts.db.listen(EVENTS_CHANNEL, () => this.kicker.kick(), (e) => onLost(e));
        if (failures > 0) this.base.logger.info({ failures }, 'event feed listens for notifications again');
        failures = 0;
        this.kicker.kick();
        err = await Promise.race([lost, aborted(signal).then(() => undefined)]);
        await listening.close();
      } catch (e) {
        err = e as Error;
      }
      if (!err || signal.aborted) return;
      failures++;
      if (failures === 1) this.base.logger.warn({ err: err.message }, `event feed cannot LISTEN on ${EVENTS_CHANNEL}; polling every ${this.pollMs} ms meanwhile`);
      await sleep(backoffDelay(this.backoff, failures), signal);
    }
  }

  private warnIfStuck(): void {
    const p = this.pending;
    if (!p || p.warned || this.base.clock.monotonic() - p.since < GAP_WARN_MS) return;
    p.warned = true;
    this.base.logger.warn({ position: this.position, upTo: p.upTo, transactions: p.xids },
      'event feed waits on transactions in progress that may still commit events (watch streams are delayed until they end)');
  }

  private fanOut(e: StoredEvent): void {
    const subs = new Set<FeedSubscription>();
    for (const s of this.byKey.get(e.aggregateId) ?? []) subs.add(s);
    const wf = eventWorkflowId(e);
    if (wf && wf !== e.aggregateId) for (const s of this.byKey.get(wf) ?? []) subs.add(s);
    for (const s of this.byNamespace.get(e.namespace) ?? []) subs.add(s);
    for (const s of subs) {
      if (s.spec.namespace === e.namespace && (!s.spec.match || s.spec.match(e))) s.push(e);
    }
  }

  private index(map: Map<string, Set<FeedSubscription>>, key: string, sub: FeedSubscription): void {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(sub);
  }

  private forget(sub: FeedSubscription): void {
    const drop = (map: Map<string, Set<FeedSubscription>>, key: string): void => {
      const set = map.get(key);
      if (!set) return;
      set.delete(sub);
      if (set.size === 0) map.delete(key);
    };
    for (const key of sub.spec.keys ?? []) drop(this.byKey, key);
    if (!sub.spec.keys) drop(this.byNamespace, sub.spec.namespace);
  }
}
