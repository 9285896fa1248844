import { EventEmitter } from 'node:events';
import { eventValue } from '../events/event-message.js';
import { backoffDelay, type BackoffPolicy } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import { sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import {
  currentTransactionId, notifierCursorAdvance, notifierCursorLock, outboxReadAfter, transactionHorizon,
} from '../storage/notifier-cursor-store.js';
import type { OutboxRow } from '../storage/outbox-store.js';
import { receivedEvent, type ReceivedEvent } from './received-event.js';
import { recordEvents, type Recorded } from './record-events.js';

/** An OutboxSource's options. */
export interface OutboxSourceOptions {
  db: Db;
  /** The cursor's name in `notifier_cursors`. Default "outbox". */
  cursor?: string;
  /** Most events per transaction. */
  batch: number;
  /** Wait between looks at an outbox with nothing new. */
  pollMs: number;
  /** Backoff after a failed pass. Default 200 ms doubling to 5 s, full jitter. */
  backoff?: BackoffPolicy;
}

/** One pass's result. */
export interface OutboxPass extends Recorded {
  /** The cursor after the pass. */
  cursor: string;
  /** Another notifier holds the cursor; nothing was read. */
  busy: boolean;
  /** Stopped before a sequence that is missing and may still commit. */
  waitingAt?: string;
  /** More events are probably waiting. */
  more: boolean;
}

export interface OutboxSourceEvents {
  /** A pass recorded events. */
  recorded: [OutboxPass];
}

/**
 * Reads the outbox (table `events`) after a cursor stored in Postgres and records the
 * deliveries each event calls for, advancing the cursor in the same transaction: an
 * event is never skipped and, should a pass fail, never half-recorded. The cursor row is
 * locked for the pass, so several notifiers take turns (`skip locked`).
 *
 * Sequences are taken before commit, so a missing sequence below a visible one may
 * belong to a transaction still running. The source stops at such a gap until every
 * transaction that was running when it first saw the gap has ended (Postgres snapshot
 * horizons, see transactionHorizon); then the gap is a rollback and is passed.
 */
export class OutboxSource extends EventEmitter<OutboxSourceEvents> {
  private readonly cursor: string;
  /** Missing sequences up to `upTo` are settled once the horizon's xmin reaches `xmax`. */
  private watch: { upTo: bigint; xmax: bigint } | undefined;
  private settledThrough = 0n;

  constructor(private readonly base: Base, private readonly opts: OutboxSourceOptions) {
    super();
    if (!(opts.batch >= 1)) throw new Error('OutboxSource: batch must be at least 1');
    if (!(opts.pollMs > 0)) throw new Error('OutboxSource: pollMs must be positive');
    this.cursor = opts.cursor ?? 'outbox';
  }

  /** Reads until `signal` aborts; failures are logged once per outage and retried with backoff. */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = this.opts.backoff ?? { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 1 };
    let failures = 0;
    this.base.logger.info({ cursor: this.cursor }, 'notifier reading the outbox');
    while (!signal.aborted) {
      let wait = this.opts.pollMs;
      try {
        const r = await this.runOnce();
        if (failures > 0) this.base.logger.info({ failures }, 'notifier outbox reads recovered');
        failures = 0;
        if (r.more) wait = 0;
      } catch (e) {
        if (failures++ === 0) this.base.logger.warn({ err: (e as Error).message }, 'notifier outbox read failing; retrying with backoff (logged once per outage)');
        wait = backoffDelay(backoff, failures);
      }
      if (wait > 0) await sleep(wait, signal);
    }
  }

  /** One transaction: lock the cursor, read after it, record the contiguous events, advance. */
  async runOnce(): Promise<OutboxPass> {
    const r = await this.opts.db.tx(async (tx): Promise<OutboxPass> => {
      const cursor = await notifierCursorLock(tx, { name: this.cursor });
      if (cursor === undefined) return { events: 0, created: 0, duplicates: 0, cursor: '', busy: true, more: false };
      const rows = await outboxReadAfter(tx, { after: cursor, limit: this.opts.batch });
      const horizon = await transactionHorizon(tx);
      const { taken, waitingAt, newGapUpTo } = this.contiguous(BigInt(cursor), rows, { xmin: BigInt(horizon.xmin) });
      if (newGapUpTo !== undefined) {
        // Whoever holds the missing sequences got its transaction id before this one is
        // assigned now; once every id below it has ended, the gap is settled. (A
        // snapshot's xmax is not enough: a running writer's id may be at or above it.)
        const own = await currentTransactionId(tx);
        this.watch = { upTo: newGapUpTo, xmax: BigInt(own) };
        this.base.logger.debug({ missing: waitingAt, xmin: horizon.xmin, own }, 'notifier waiting at an outbox gap');
      }
      const events = taken.map((row) => this.parse(row)).filter((e): e is ReceivedEvent => e !== undefined);
      const now = new Date(this.base.clock.now());
      const recorded = await recordEvents(tx, { events, now });
      const last = taken.at(-1)?.sequence ?? cursor;
      if (last !== cursor) await notifierCursorAdvance(tx, { name: this.cursor, sequence: last, now });
      return { ...recorded, events: taken.length, cursor: last, busy: false, waitingAt, more: rows.length === this.opts.batch && waitingAt === undefined };
    });
    if (r.events > 0) this.emit('recorded', r);
    return r;
  }

  /** The leading rows without an unsettled gap before them. */
  private contiguous(cursor: bigint, rows: OutboxRow[], horizon: { xmin: bigint }): { taken: OutboxRow[]; waitingAt?: string; newGapUpTo?: bigint } {
    if (this.watch && horizon.xmin >= this.watch.xmax) {
      if (this.watch.upTo > this.settledThrough) this.settledThrough = this.watch.upTo;
      this.watch = undefined;
    }
    const taken: OutboxRow[] = [];
    let expected = cursor + 1n;
    for (const row of rows) {
      const seq = BigInt(row.sequence);
      if (seq !== expected && seq > this.settledThrough) {
        // Everything below the last row read was allocated before it committed: wait for the transactions running now.
        if (!this.watch) return { taken, waitingAt: expected.toString(), newGapUpTo: BigInt((rows.at(-1) as OutboxRow).sequence) };
        return { taken, waitingAt: expected.toString() };
      }
      taken.push(row);
      expected = seq + 1n;
    }
    return { taken };
  }

  private parse(row: OutboxRow): ReceivedEvent | undefined {
    try {
      return receivedEvent(eventValue(row).value);
    } catch (e) {
      this.base.logger.error({ sequence: row.sequence, id: row.id, err: (e as Error).message }, 'notifier skipped an outbox event it cannot read');
      return undefined;
    }
  }
}
