import { EventEmitter } from 'node:events';
import { v4 as uuidv4 } from 'uuid';
import type { DeliveryStatus } from '../domain/delivery.js';
import { parseEventFacts } from '../domain/event-facts.js';
import type { Channel } from '../domain/subscription.js';
import { backoffDelay, type BackoffPolicy } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import { Kicker } from '../shared/kicker.js';
import { sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import { deliveryClaimDue, deliveryRecord, deliveryRelease, type AttemptRecord, type ClaimedDelivery } from '../storage/delivery-store.js';
import { emailMessage } from './email-message.js';
import type { SendOutcome } from './send-outcome.js';
import type { EmailSender } from './smtp-sender.js';
import { postWebhook } from './webhook-sender.js';

/** A DeliveryLoop's options (TASKD_NOTIFIER_*). */
export interface DeliveryLoopOptions {
  db: Db;
  /** Sends email; without it every email delivery fails for good ("not configured"). */
  email?: EmailSender;
  /** Signs webhooks to tasks' own notify targets (TASKD_NOTIFIER_WEBHOOK_SECRET); without it they are unsigned. */
  notifySecret?: string;
  /** Most attempts in flight at once. */
  concurrency: number;
  /** Per attempt: the HTTP request, or each SMTP stage. */
  timeoutMs: number;
  /** Attempts per delivery, the first included; then it is FAILED. */
  maxAttempts: number;
  /** Wait before each retry: exponential, capped, with jitter. */
  backoff: BackoffPolicy;
  /** Wait between looks for due deliveries when nothing woke the loop. */
  pollMs: number;
  /** How long a claim holds a delivery before another notifier may take it. Default 2 × timeoutMs + 5 s. */
  claimMs?: number;
}

/** One attempt's outcome, as recorded. */
export interface AttemptDone {
  id: string;
  namespace: string;
  channel: Channel;
  target: string;
  attempts: number;
  status: DeliveryStatus;
  error?: string;
  /** How long the send took. */
  durationMs: number;
}

export interface DeliveryLoopEvents {
  attempted: [AttemptDone];
}

/**
 * Sends due deliveries. Each pass claims up to the free slots' worth (`for update skip
 * locked`, so several notifiers share the work), sends each with its own timeout and
 * records the outcome, fenced by the claim: DELIVERED; PENDING again after a backoff
 * (a Retry-After the target sent counts, up to the backoff cap); or FAILED after the
 * last attempt or a permanent refusal. A slow or failing target holds one slot for at
 * most one timeout per attempt; the others go on meanwhile.
 */
export class DeliveryLoop extends EventEmitter<DeliveryLoopEvents> {
  private readonly kicker = new Kicker();
  private readonly claimMs: number;
  private outage = 0;

  constructor(private readonly base: Base, private readonly opts: DeliveryLoopOptions) {
    super();
    if (!(opts.concurrency >= 1)) throw new Error('DeliveryLoop: concurrency must be at least 1');
    if (!(opts.maxAttempts >= 1)) throw new Error('DeliveryLoop: maxAttempts must be at least 1');
    if (!(opts.timeoutMs > 0) || !(opts.pollMs > 0)) throw new Error('DeliveryLoop: timeoutMs and pollMs must be positive');
    this.claimMs = opts.claimMs ?? opts.timeoutMs * 2 + 5_000;
    if (this.claimMs <= opts.timeoutMs) throw new Error('DeliveryLoop: claimMs must exceed timeoutMs');
  }

  /** Wakes the loop: deliveries were created, or a slot is free. */
  kick(): void {
    this.kicker.kick();
  }

  /** Delivers until `signal` aborts; attempts in flight are then abandoned and given back (due at once). */
  async run(signal: AbortSignal): Promise<void> {
    const inFlight = new Set<Promise<unknown>>();
    while (!signal.aborted) {
      const free = this.opts.concurrency - inFlight.size;
      if (free > 0) {
        const claimed = await this.claim(free, signal);
        for (const d of claimed) {
          const p: Promise<unknown> = this.attempt(d, signal).finally(() => {
            inFlight.delete(p);
            this.kicker.kick();
          });
          inFlight.add(p);
        }
      }
      await this.kicker.wait(this.opts.pollMs, signal);
    }
    await Promise.all(inFlight);
  }

  /** One pass without timers: claims up to `concurrency` due deliveries, attempts them all, returns their outcomes. */
  async runOnce(signal: AbortSignal = new AbortController().signal): Promise<AttemptDone[]> {
    const claimed = await this.claim(this.opts.concurrency, signal);
    const done = await Promise.all(claimed.map((d) => this.attempt(d, signal)));
    return done.filter((d): d is AttemptDone => d !== undefined);
  }

  /** Claims; a failure is logged once per outage and answered with nothing (after a backoff). */
  private async claim(limit: number, signal: AbortSignal): Promise<ClaimedDelivery[]> {
    const now = this.base.clock.now();
    try {
      const claimed = await deliveryClaimDue(this.opts.db.orm, {
        now: new Date(now), limit, claimUntil: new Date(now + this.claimMs), claimToken: uuidv4(),
      });
      if (this.outage > 0) this.base.logger.info({ failures: this.outage }, 'notifier delivery claims recovered');
      this.outage = 0;
      return claimed;
    } catch (e) {
      if (this.outage++ === 0) this.base.logger.warn({ err: (e as Error).message }, 'notifier cannot claim deliveries; retrying with backoff (logged once per outage)');
      await sleep(backoffDelay({ initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 1 }, this.outage), signal);
      return [];
    }
  }

  /** Sends one claimed delivery and records the outcome; undefined when abandoned (stopping) and given back. */
  private async attempt(d: ClaimedDelivery, signal: AbortSignal): Promise<AttemptDone | undefined> {
    const sendStart = this.base.clock.monotonic();
    const outcome = await this.send(d, signal);
    const durationMs = this.base.clock.monotonic() - sendStart;
    const now = this.base.clock.now();
    const db = this.opts.db.orm;
    try {
      if (!outcome.ok && !outcome.permanent && signal.aborted) {
        await deliveryRelease(db, { id: d.id, claimToken: d.claimToken, now: new Date(now) });
        return undefined;
      }
      const record = this.recordOf(d, outcome, now);
      if (!(await deliveryRecord(db, { id: d.id, claimToken: d.claimToken, outcome: record, now: new Date(now) }))) {
        this.base.logger.warn({ id: d.id, attempts: d.attempts }, 'delivery attempt outlived its claim; its outcome was not recorded');
        return undefined;
      }
      const done: AttemptDone = {
        id: d.id, namespace: d.namespace, channel: d.channel, target: d.target, attempts: d.attempts, status: record.status, durationMs,
        ...(record.status === 'DELIVERED' ? {} : { error: record.error }),
      };
      if (record.status === 'FAILED') this.base.logger.info(done, 'delivery failed');
      else this.base.logger.debug(done, record.status === 'DELIVERED' ? 'delivered' : 'delivery attempt failed; retrying');
      this.emit('attempted', done);
      return done;
    } catch (e) {
      // Not recorded: the claim lapses and the delivery is tried again (at least once).
      this.base.logger.warn({ id: d.id, err: (e as Error).message }, 'notifier cannot record a delivery attempt; it will be retried');
      return undefined;
    }
  }

  private recordOf(d: ClaimedDelivery, o: SendOutcome, now: number): AttemptRecord {
    if (o.ok) return { status: 'DELIVERED' };
    if (o.permanent) return { status: 'FAILED', error: o.error };
    if (d.attempts >= this.opts.maxAttempts) return { status: 'FAILED', error: `${o.error} (gave up after ${d.attempts} attempts)` };
    const wait = Math.max(backoffDelay(this.opts.backoff, d.attempts), Math.min(o.retryAfterMs ?? 0, this.opts.backoff.maxMs));
    return { status: 'PENDING', error: o.error, nextAttemptAt: new Date(now + wait) };
  }

  private async send(d: ClaimedDelivery, signal: AbortSignal): Promise<SendOutcome> {
    if (d.attempts > this.opts.maxAttempts) {
      return { ok: false, permanent: true, error: `${d.lastError ?? 'the last attempt was interrupted'} (its notifier stopped during attempt ${d.attempts - 1}; no attempts remain)` };
    }
    if (d.subscriptionGone) return { ok: false, permanent: true, error: 'subscription deleted' };
    if (d.channel === 'webhook') {
      return postWebhook({
        url: d.target, body: d.payload, secret: d.subscriptionId ? d.secret : (this.opts.notifySecret ?? null),
        deliveryId: d.id, eventId: d.eventId, eventType: d.eventType, unixSeconds: Math.floor(this.base.clock.now() / 1000),
        timeoutMs: this.opts.timeoutMs, signal,
      });
    }
    if (!this.opts.email) return { ok: false, permanent: true, error: 'email is not configured on the notifier (TASKD_SMTP_URL)' };
    try {
      return await this.opts.email.send(d.target, emailMessage(parseEventFacts(d.payload)));
    } catch (e) {
      return { ok: false, permanent: true, error: `cannot compose the email: ${(e as Error).message}` };
    }
  }
}
