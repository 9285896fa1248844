import { EventEmitter } from 'node:events';
import { isDomainError } from '../domain/errors.js';
import { backoffDelay, type BackoffPolicy } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import { aborted, sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import { leadershipFence } from '../storage/leadership-store.js';
import { outboxBacklog, outboxMarkSent, outboxPrune, outboxReadUnsent, type OutboxRow } from '../storage/outbox-store.js';
import { eventBatch, type EventBatch } from './event-batch.js';
import type { EventTopics } from './event-message.js';
import { describeKafkaError, kafkaErrorTypes } from './kafka-publisher.js';
import type { EventPublisher } from './ports.js';

/** An OutboxRelay's options (TASKD_RELAY_*, TASKD_EVENTS_RETENTION_MS). */
export interface OutboxRelayOptions {
  db: Db;
  /** Makes the publisher of one term (a fresh Kafka producer per term). */
  publisher: () => EventPublisher;
  topics: EventTopics;
  /** Most rows per batch. */
  batch: number;
  /** Wait between looks at an idle outbox. */
  pollMs: number;
  /** Sent rows older than this are deleted. */
  retentionMs: number;
  /** Interval between prunes. Default min(60 s, retentionMs). */
  pruneEveryMs?: number;
  /** Rows deleted per prune statement (up to 20 statements per prune). Default 1,000. */
  pruneBatch?: number;
  /** Most bytes of message values per batch (one Kafka record batch stays under the broker's limit). Default 900,000. */
  maxBatchBytes?: number;
  /** Backoff between failed passes. Default 200 ms doubling to 5 s, full jitter. */
  backoff?: BackoffPolicy;
}

/** For metrics: what the relay knows. */
export interface RelayState {
  /** A leadership term's relay is running in this process. */
  running: boolean;
  /** Its last pass reached Kafka (false while backing off, or when not running). */
  kafkaUp: boolean;
  /** Unsent rows in the outbox. */
  backlog: number;
  /** Age of the oldest unsent row (by sequence), or null when none. */
  oldestUnsentAgeMs: number | null;
  /** When the broker last acknowledged a batch from this process. */
  lastPublishAt: Date | null;
  /** Rows acknowledged since this process started. */
  published: number;
}

/** A batch's first and last sequence, sizes and time from read to marked. */
export interface BatchDone {
  epoch: number;
  first: string;
  last: string;
  rows: number;
  messages: number;
  ms: number;
}

/** Events, for tests and metrics. */
export interface OutboxRelayEvents {
  /** A batch was acknowledged and marked sent. */
  batch: [BatchDone];
  /** Passes started failing (once per outage). */
  outage: [{ stage: Stage; error: string }];
  /** A pass succeeded after an outage. */
  recovered: [{ stage: Stage; downMs: number; failures: number }];
  pruned: [{ deleted: number }];
}

type Stage = 'connect' | 'read' | 'publish' | 'mark';

/** What one pass did. */
export interface PassResult {
  /** Rows acknowledged by the broker in this pass. */
  published: number;
  /** Rows marked sent in this pass. */
  marked: number;
  /** Another pass should follow at once (a full or cut batch). */
  more: boolean;
}

/** One term's state: its fence epoch, its publisher, and the batch it has not finished. */
export interface RelayTerm {
  readonly epoch: number;
  publisher: EventPublisher;
  connected: boolean;
  /** Kept until marked: retried as the very same messages, so the idempotent producer drops what was appended. */
  pending: EventBatch | undefined;
  nextPruneAt: number;
}

/** Broker errors after which a producer cannot go on (its id or sequence numbers are no longer accepted). */
const PRODUCER_STATE_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
const TOO_LARGE_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** How long a term's end waits for a pass in flight before it stops waiting (see untilAborted). */
const ABANDON_MS = 2_000;

class StageError extends Error {
  constructor(readonly stage: Stage, cause: unknown) {
    super(`${stage}: ${stage === 'connect' || stage === 'publish' ? describeKafkaError(cause) : (cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * The leader's outbox relay (DESIGN promise 6). Each pass reads the oldest unsent rows
 * of table `events` in sequence order, publishes them (key = aggregate id) and waits for
 * the broker's acknowledgement, then marks them sent in one transaction fenced by the
 * term's epoch: a deposed leader's relay may publish (a duplicate, dropped by id
 * downstream) but never marks. Rows are marked only after the ack, so nothing is lost;
 * a crash between ack and mark re-sends the batch (at least once).
 *
 * While Kafka (or Postgres) fails, passes back off with jitter, logging once when the
 * outage starts and once when it ends; the outbox grows meanwhile and drains after. An
 * idle outbox is looked at every `pollMs` through its partial index. Sent rows older
 * than the retention are pruned; unsent rows never are.
 */
export class OutboxRelay extends EventEmitter<OutboxRelayEvents> {
  private running = 0;
  private kafkaUp = false;
  private lastPublishAt: Date | null = null;
  private published = 0;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly base: Base, private readonly opts: OutboxRelayOptions) {
    super();
    if (!(opts.batch >= 1)) throw new Error('OutboxRelay: batch must be at least 1');
    if (!(opts.pollMs > 0)) throw new Error('OutboxRelay: pollMs must be positive');
    if (!(opts.retentionMs > 0)) throw new Error('OutboxRelay: retentionMs must be positive');
    this.backoff = opts.backoff ?? { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 1 };
  }

  /** A term's state, for {@link OutboxRelay.runOnce}; {@link OutboxRelay.run} makes its own. */
  openTerm(epoch: number): RelayTerm {
    return { epoch, publisher: this.opts.publisher(), connected: false, pending: undefined, nextPruneAt: this.base.clock.now() };
  }

  /**
   * Relays for one leadership term until `term` aborts, then closes its publisher.
   * Throws DomainError `not_leader` when a mark or prune finds the epoch deposed; every
   * other failure is retried with backoff.
   */
  async run(term: AbortSignal, epoch: number): Promise<void> {
    const t = this.openTerm(epoch);
    const log = this.base.logger;
    this.running++;
    log.info({ epoch, topics: this.opts.topics, batch: this.opts.batch }, 'outbox relay started');
    let failures = 0;
    let outage: { stage: Stage; since: number } | undefined;
    const done = new AbortController();
    const ended = aborted(term).then(() => sleep(ABANDON_MS, done.signal)).then(() => undefined);
    try {
      while (!term.aborted) {
        let wait = this.opts.pollMs;
        try {
          const r = await this.untilEnded(this.runOnce(t), ended);
          if (r === undefined) break;
          if (outage) {
            const downMs = this.base.clock.now() - outage.since;
            log.info({ stage: outage.stage, downMs, failures }, 'outbox relay recovered; draining the outbox');
            this.emit('recovered', { stage: outage.stage, downMs, failures });
            outage = undefined;
          }
          failures = 0;
          if (r.more) wait = 0;
        } catch (e) {
          if (isDomainError(e, 'not_leader')) throw e;
          const stage = e instanceof StageError ? e.stage : 'read';
          failures++;
          if (!outage) {
            outage = { stage, since: this.base.clock.now() };
            const error = (e as Error).message;
            log.warn({ stage, error, epoch }, 'outbox relay failing; backing off and retrying (logged once per outage)');
            this.emit('outage', { stage, error });
          }
          wait = backoffDelay(this.backoff, failures);
        }
        if (wait > 0) await sleep(wait, term);
      }
    } finally {
      done.abort();
      this.running--;
      this.kafkaUp = false;
      await t.publisher.close();
      log.info({ epoch, unmarked: t.pending?.rows.length ?? 0 }, 'outbox relay stopped');
    }
  }

  /**
   * One pass: connect if needed; finish the pending batch or read a new one; publish it
   * and wait for the ack; mark it sent (fenced); prune when due. Throws a stage-named
   * error on failure (the pending batch is kept for the next pass), or `not_leader`.
   */
  async runOnce(t: RelayTerm): Promise<PassResult> {
    if (!t.connected) {
      try {
        await t.publisher.connect();
      } catch (e) {
        this.kafkaUp = false;
        await t.publisher.close();
        throw new StageError('connect', e);
      }
      t.connected = true;
    }
    let b = t.pending;
    // A retried batch, a full read or a cut batch: more rows are probably waiting.
    let more = b !== undefined;
    if (!b) {
      const rows = await outboxReadUnsent(this.opts.db.orm, { limit: this.opts.batch }).catch((e: unknown) => {
        throw new StageError('read', e);
      });
      if (rows.length === 0) {
        await this.pruneIfDue(t);
        return { published: 0, marked: 0, more: false };
      }
      b = this.cut(rows);
      more = rows.length === this.opts.batch || b.rows.length < rows.length;
      t.pending = b;
    }
    let published = 0;
    if (!b.acked) {
      await this.publish(t, b);
      published = b.rows.length;
    }
    const sequences = b.rows.map((r) => r.sequence);
    const marked = await this.opts.db.tx(async (tx) => {
      // Fenced: a deposed leader's relay must not mark rows the new leader's relay may still need to send.
      await leadershipFence(tx, { epoch: t.epoch });
      return outboxMarkSent(tx, { sequences, now: new Date(this.base.clock.now()) });
    }).catch((e: unknown) => {
      throw isDomainError(e, 'not_leader') ? e : new StageError('mark', e);
    });
    t.pending = undefined;
    const done: BatchDone = {
      epoch: t.epoch, first: sequences[0] as string, last: sequences.at(-1) as string, rows: b.rows.length,
      messages: b.messages.length, ms: this.base.clock.now() - b.readAt,
    };
    this.base.logger.debug(done, 'outbox relay batch sent');
    this.emit('batch', done);
    await this.pruneIfDue(t);
    return { published, marked, more };
  }

  /**
   * `pass`'s result, or undefined when `ended` (the term's end plus ABANDON_MS) comes
   * first: a produce to a frozen broker may hang for the producer's request timeout, and
   * the term's end must not wait that long. The abandoned pass can still publish (a
   * duplicate at worst) but not mark: its fence names the ended term.
   */
  private async untilEnded<T>(pass: Promise<T>, ended: Promise<undefined>): Promise<T | undefined> {
    const r = await Promise.race([pass, ended]);
    if (r === undefined) pass.catch(() => undefined);
    return r;
  }

  /** What the relay knows now; the backlog is counted in Postgres (linear in it). */
  async state(): Promise<RelayState> {
    const b = await outboxBacklog(this.opts.db.orm);
    const now = this.base.clock.now();
    return {
      running: this.running > 0,
      kafkaUp: this.running > 0 && this.kafkaUp,
      backlog: b.unsent,
      oldestUnsentAgeMs: b.oldestOccurredAt ? Math.max(0, now - b.oldestOccurredAt.getTime()) : null,
      lastPublishAt: this.lastPublishAt,
      published: this.published,
    };
  }

  private async publish(t: RelayTerm, b: EventBatch): Promise<void> {
    this.base.logger.debug({ epoch: t.epoch, first: b.rows[0]?.sequence, last: b.rows.at(-1)?.sequence, rows: b.rows.length }, 'outbox relay batch publishing');
    try {
      await t.publisher.publish(b.messages);
    } catch (e) {
      this.kafkaUp = false;
      const types = kafkaErrorTypes(e);
      if (types.some((x) => PRODUCER_STATE_ERRORS.has(x))) {
        // The producer is unusable; a new one (new producer id) re-sends the batch: possible duplicates, never a loss.
        await t.publisher.close();
        t.publisher = this.opts.publisher();
        t.connected = false;
      } else if (types.some((x) => TOO_LARGE_ERRORS.has(x))) {
        // Refused, so nothing was appended: a smaller batch (or a shrunk event) is safe to send instead.
        t.pending = b.rows.length > 1 ? this.cut(b.rows.slice(0, Math.ceil(b.rows.length / 2))) : this.cut(b.rows, 16_384);
      }
      throw new StageError('publish', e);
    }
    b.acked = true;
    this.kafkaUp = true;
    this.lastPublishAt = new Date(this.base.clock.now());
    this.published += b.rows.length;
  }

  private cut(rows: OutboxRow[], maxEventBytes?: number): EventBatch {
    return eventBatch(rows, this.opts.topics, { maxBatchBytes: this.opts.maxBatchBytes ?? 900_000, maxEventBytes, now: this.base.clock.now() });
  }

  private async pruneIfDue(t: RelayTerm): Promise<void> {
    const now = this.base.clock.now();
    if (now < t.nextPruneAt) return;
    t.nextPruneAt = now + (this.opts.pruneEveryMs ?? Math.min(60_000, this.opts.retentionMs));
    await this.prune(t);
  }

  /**
   * Deletes rows sent longer than the retention ago (fenced; up to 20 statements of
   * `pruneBatch` rows) and returns how many. Unsent rows are never deleted. Throws
   * `not_leader` when the term is deposed; other failures are logged and retried at
   * the next interval.
   */
  async prune(t: RelayTerm): Promise<number> {
    const now = this.base.clock.now();
    const limit = this.opts.pruneBatch ?? 1_000;
    const sentBefore = new Date(now - this.opts.retentionMs);
    let deleted = 0;
    try {
      for (let i = 0; i < 20; i++) {
        const n = await this.opts.db.tx(async (tx) => {
          await leadershipFence(tx, { epoch: t.epoch });
          return outboxPrune(tx, { sentBefore, limit });
        });
        deleted += n;
        if (n < limit) break;
      }
    } catch (e) {
      if (isDomainError(e, 'not_leader')) throw e;
      this.base.logger.warn({ err: (e as Error).message }, 'outbox prune failed; retried at the next interval');
    }
    if (deleted > 0) {
      this.base.logger.debug({ deleted, sentBefore }, 'outbox pruned');
      this.emit('pruned', { deleted });
    }
    return deleted;
  }
}
