import type { Config } from '../config/config.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { KafkaPublisher } from './kafka-publisher.js';
import { OutboxRelay } from './outbox-relay.js';

/**
 * The outbox relay a scheduler runs in its leadership terms, from TASKD_KAFKA_* and
 * TASKD_RELAY_* settings; undefined when TASKD_KAFKA_BROKERS is unset (no relay: an
 * OutboxJanitor keeps the outbox to the retention instead).
 */
export function relayFromConfig(base: Base, db: Db, config: Config): OutboxRelay | undefined {
  const brokers = config.TASKD_KAFKA_BROKERS ?? [];
  if (brokers.length === 0) return undefined;
  const topics = { events: config.TASKD_KAFKA_EVENTS_TOPIC, deadLetters: config.TASKD_KAFKA_DEAD_LETTERS_TOPIC };
  const settings = {
    brokers, clientId: config.TASKD_KAFKA_CLIENT_ID, topics,
    partitions: config.TASKD_KAFKA_PARTITIONS, replication: config.TASKD_KAFKA_REPLICATION,
  };
  return new OutboxRelay(base, {
    db, topics, publisher: () => new KafkaPublisher(base, settings),
    batch: config.TASKD_RELAY_BATCH, pollMs: config.TASKD_RELAY_POLL_MS, retentionMs: config.TASKD_EVENTS_RETENTION_MS,
  });
}
