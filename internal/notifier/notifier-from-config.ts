import type { Config } from '../config/config.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { DeliveryLoop } from './delivery-loop.js';
import { KafkaSource } from './kafka-source.js';
import { Notifier, type NotifierSource } from './notifier.js';
import { OutboxSource } from './outbox-source.js';
import { SmtpSender } from './smtp-sender.js';

/**
 * The notifier of a process, from TASKD_NOTIFIER_*, TASKD_SMTP_* and TASKD_KAFKA_*: it
 * consumes Kafka when TASKD_KAFKA_BROKERS is set, else the outbox; `outboxOnly` (the
 * embedded default, which runs no relay) reads the outbox whatever the config says.
 */
export function notifierFromConfig(base: Base, db: Db, config: Config, opts: { outboxOnly?: boolean } = {}): Notifier {
  const brokers = opts.outboxOnly ? [] : (config.TASKD_KAFKA_BROKERS ?? []);
  const input: NotifierSource = brokers.length > 0
    ? {
        kind: 'kafka',
        source: new KafkaSource(base, {
          db, brokers, clientId: `${config.TASKD_KAFKA_CLIENT_ID}-notifier`, groupId: config.TASKD_NOTIFIER_KAFKA_GROUP,
          topic: config.TASKD_KAFKA_EVENTS_TOPIC, batch: config.TASKD_NOTIFIER_BATCH,
        }),
      }
    : { kind: 'outbox', source: new OutboxSource(base, { db, batch: config.TASKD_NOTIFIER_BATCH, pollMs: config.TASKD_NOTIFIER_POLL_MS }) };
  const email = config.TASKD_SMTP_URL
    ? new SmtpSender({ url: config.TASKD_SMTP_URL, from: config.TASKD_SMTP_FROM, timeoutMs: config.TASKD_NOTIFIER_TIMEOUT_MS })
    : undefined;
  if (!config.TASKD_NOTIFIER_WEBHOOK_SECRET) {
    base.logger.info('TASKD_NOTIFIER_WEBHOOK_SECRET is not set: webhooks to tasks\' own notify targets are sent unsigned');
  }
  const loop = new DeliveryLoop(base, {
    db, email, notifySecret: config.TASKD_NOTIFIER_WEBHOOK_SECRET,
    concurrency: config.TASKD_NOTIFIER_CONCURRENCY, timeoutMs: config.TASKD_NOTIFIER_TIMEOUT_MS,
    maxAttempts: config.TASKD_NOTIFIER_MAX_ATTEMPTS, pollMs: config.TASKD_NOTIFIER_POLL_MS,
    backoff: {
      initialMs: config.TASKD_NOTIFIER_INITIAL_BACKOFF_MS, maxMs: config.TASKD_NOTIFIER_MAX_BACKOFF_MS, multiplier: 2, jitter: 1,
    },
  });
  return new Notifier(base, input, loop, email);
}
