import { Kafka, logLevel, Partitioners, type Admin, type LogEntry, type Producer } from 'kafkajs';
import type { Base } from '../shared/base.js';
import type { Logger } from '../shared/logger.js';
import type { EventTopics } from './event-message.js';
import type { EventPublisher, OutboundMessage } from './ports.js';

/** Connection and topic settings of a {@link KafkaPublisher} (TASKD_KAFKA_*). */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  topics: EventTopics;
  /** Partitions of topics created because they were missing. */
  partitions: number;
  /** Replication factor of topics created because they were missing. */
  replication: number;
}

/**
 * Producer retries inside one `publish`: short, so that an outage surfaces to the relay
 * within about a second and the relay's own backoff (and its once-per-outage log) take
 * over. kafkajs warns that bounded retries weaken an idempotent producer; they do not
 * here, because the relay retries the very same messages on the same producer, whose
 * sequence numbers kafkajs rolls back after a failed request, so the broker drops what
 * it already appended.
 */
const PRODUCER_RETRY = { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 };

/**
 * Publishes outbox events to Kafka with an idempotent producer (acks = all, one
 * request in flight per broker, so one key's messages keep their order across
 * retries). `connect` creates the events and dead-letter topics when missing, with the
 * configured partitions and replication. kafkajs's own log lines go to `base.logger`
 * at debug level (trace for its debug lines): the relay logs outages once.
 */
export class KafkaPublisher implements EventPublisher {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;

  constructor(private readonly base: Base, private readonly settings: KafkaSettings) {
    if (settings.brokers.length === 0) throw new Error('KafkaPublisher: brokers must not be empty');
    if (settings.topics.events === settings.topics.deadLetters) {
      throw new Error(`KafkaPublisher: the events and dead-letter topics must differ (both "${settings.topics.events}")`);
    }
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      // kafkajs formats an entry per request at DEBUG: ask only for what the logger keeps.
      logLevel: base.logger.isLevelEnabled('trace') ? logLevel.DEBUG : base.logger.isLevelEnabled('debug') ? logLevel.INFO : logLevel.NOTHING,
      logCreator: kafkaLogCreator(base.logger),
    });
  }

  async connect(): Promise<void> {
    await this.ensureTopics();
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: PRODUCER_RETRY,
      createPartitioner: Partitioners.DefaultPartitioner, // murmur2, as Java clients: the same key lands in the same partition
    });
    try {
      await producer.connect();
    } catch (e) {
      await producer.disconnect().catch(() => undefined);
      throw e;
    }
    this.producer = producer;
  }

  async publish(messages: OutboundMessage[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Error('KafkaPublisher.publish before connect');
    const byTopic = new Map<string, OutboundMessage[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list) list.push(m);
      else byTopic.set(m.topic, [m]);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, ms]) => ({
        topic, messages: ms.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      })),
    });
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => undefined);
  }

  /** Creates whichever of the two topics is missing; waits for their leaders. */
  private async ensureTopics(): Promise<void> {
    const admin: Admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [this.settings.topics.events, this.settings.topics.deadLetters].filter((t) => !existing.has(t));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: this.settings.partitions, replicationFactor: this.settings.replication })),
        });
      } catch (e) {
        throw new Error(
          `creating Kafka topics ${missing.join(', ')} (partitions ${this.settings.partitions}, replication ${this.settings.replication}) failed: ` +
            `${describeKafkaError(e)} (TASKD_KAFKA_PARTITIONS, TASKD_KAFKA_REPLICATION)`,
          { cause: e },
        );
      }
      this.base.logger.info({ topics: missing, partitions: this.settings.partitions, replication: this.settings.replication }, 'kafka topics created');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * A kafkajs error as one line: its message and, through `cause`/`originalError` and
 * the per-topic errors of admin calls, the broker's error types.
 */
export function describeKafkaError(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const err = cur as { name?: string; message?: string; type?: string; errors?: unknown[]; cause?: unknown; originalError?: unknown };
    parts.push(`${err.name ?? 'Error'}: ${err.message ?? String(cur)}${err.type ? ` [${err.type}]` : ''}`);
    for (const sub of err.errors ?? []) {
      const s = sub as { type?: string; message?: string };
      if (s.type || s.message) parts.push(`${s.type ?? ''} ${s.message ?? ''}`.trim());
    }
    cur = err.cause ?? err.originalError;
    if (cur === e) break;
  }
  return [...new Set(parts)].join('; caused by ');
}

/** The broker error types (kafkajs `type`) found along an error's cause chain. */
export function kafkaErrorTypes(e: unknown): string[] {
  const types: string[] = [];
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const err = cur as { type?: string; cause?: unknown; originalError?: unknown };
    if (err.type) types.push(err.type);
    const next = err.cause ?? err.originalError;
    if (next === cur) break;
    cur = next;
  }
  return types;
}

function kafkaLogCreator(logger: Logger) {
  return () => ({ level, log }: LogEntry): void => {
    const { message, timestamp: _t, logger: _l, ...fields } = log;
    const line = { kafka: true, ...fields };
    if (level === logLevel.DEBUG) logger.trace(line, `kafkajs: ${message}`);
    else logger.debug(line, `kafkajs: ${message}`);
  };
}
