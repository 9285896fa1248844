import { randomBytes } from 'node:crypto';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { EventSchema, type Event } from '../gen/taskd/v1/events/events_pb.js';

/** One record read back from Kafka, its value parsed strictly as `taskd.v1.events.Event`. */
export interface ReceivedEvent {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  event: Event;
}

/** Fresh topic names for one test, so tests sharing the broker never see each other's events. */
export function testTopics(): { events: string; deadLetters: string } {
  const p = `t${randomBytes(5).toString('hex')}`;
  return { events: `${p}.events`, deadLetters: `${p}.dead-letters` };
}

/** The relay settings that send a cluster's events to `topics`. */
export function topicEnv(topics: { events: string; deadLetters: string }): Record<string, string> {
  return { TASKD_KAFKA_EVENTS_TOPIC: topics.events, TASKD_KAFKA_DEAD_LETTERS_TOPIC: topics.deadLetters };
}

/**
 * A kafkajs consumer (its own consumer group, from the beginning) that keeps every
 * record of the given topics, once per (topic, partition, offset): a record the
 * consumer is handed again after a restart is not counted twice, so duplicates seen
 * here are duplicates in the log. Values that are not a valid Event are kept as
 * errors. Tests wait on records with {@link EventCollector.waitUntil}.
 */
export class EventCollector {
  private readonly records = new Map<string, ReceivedEvent>();
  readonly errors: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly consumer: Consumer) {}

  /** Subscribes to `topics` (which must exist) and resolves once the consumer joined its group. */
  static async start(brokers: string, topics: string[]): Promise<EventCollector> {
    const kafka = new Kafka({ clientId: 'taskd-test-collector', brokers: [brokers], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `test-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
    const c = new EventCollector(consumer);
    await consumer.connect();
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ eachMessage: async ({ topic, partition, message }) => c.add(topic, partition, message) });
    await joined;
    return c;
  }

  /** Every record kept, ordered by topic, partition and offset. */
  all(topic?: string): ReceivedEvent[] {
    return [...this.records.values()]
      .filter((r) => topic === undefined || r.topic === topic)
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);
  }

  /**
   * Resolves once `done(this)` is true, checking after every record; rejects after
   * `timeoutMs` naming `what`, with the count of records and `describe(this)`.
   */
  waitUntil(what: string, done: (c: EventCollector) => boolean, timeoutMs: number, describe: (c: EventCollector) => string = () => ''): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done(this)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${this.records.size} records received; ${describe(this)}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }

  private add(topic: string, partition: number, m: { offset: string; key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }): void {
    const where = `${topic}/${partition}/${m.offset}`;
    if (this.records.has(where)) return;
    const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
    try {
      const event = fromJson(EventSchema, JSON.parse(m.value?.toString() ?? 'null') as JsonValue, { ignoreUnknownFields: false });
      this.records.set(where, { topic, partition, offset: Number(m.offset), key: m.key?.toString() ?? '', headers, event });
    } catch (e) {
      this.errors.push(`${where}: ${(e as Error).message}`);
    }
    for (const w of [...this.waiters]) w();
  }
}

/** An outbox row as the delivery checks need it. */
export interface OutboxEntry {
  id: string;
  sequence: string;
  aggregate_id: string;
}

/** What {@link deliveryReport} found. */
export interface DeliveryReport {
  /** Outbox ids never seen on the topic. */
  missing: string[];
  /** Records beyond the first for an id (one id twice = 1). */
  duplicates: number;
  /** Ids seen more than once. */
  duplicatedIds: string[];
  /** Aggregates whose events, after dropping duplicates by id, are not in increasing sequence, or span partitions. */
  disorder: string[];
  /** Records whose key is not their aggregate id, or whose headers disagree with the value. */
  badRecords: string[];
}

/**
 * Compares what reached `topic` with the outbox: every outbox id present; duplicates
 * counted by id; per aggregate, the records' order in their partition after dropping
 * later copies of an id follows `sequence`.
 */
export function deliveryReport(collector: EventCollector, topic: string, outbox: OutboxEntry[]): DeliveryReport {
  const records = collector.all(topic);
  const seen = new Map<string, number>();
  const badRecords: string[] = [];
  const perAggregate = new Map<string, { partition: Set<number>; seqs: bigint[] }>();
  for (const r of records) {
    const e = r.event;
    if (r.key !== e.aggregateId || r.headers['event-id'] !== e.id || r.headers['event-type'] !== e.type) {
      badRecords.push(`${r.topic}/${r.partition}/${r.offset} (key ${r.key}, headers ${JSON.stringify(r.headers)}, event ${e.id} ${e.type})`);
    }
    const n = seen.get(e.id) ?? 0;
    seen.set(e.id, n + 1);
    if (n > 0) continue;
    const a = perAggregate.get(e.aggregateId) ?? { partition: new Set<number>(), seqs: [] };
    a.partition.add(r.partition);
    a.seqs.push(e.sequence);
    perAggregate.set(e.aggregateId, a);
  }
  const disorder: string[] = [];
  for (const [id, a] of perAggregate) {
    if (a.partition.size > 1) disorder.push(`${id}: in partitions ${[...a.partition].join(',')}`);
    else if (a.seqs.some((s, i) => i > 0 && s <= (a.seqs[i - 1] as bigint))) disorder.push(`${id}: sequences ${a.seqs.join(',')}`);
  }
  const duplicated = [...seen].filter(([, n]) => n > 1);
  return {
    missing: outbox.filter((o) => !seen.has(o.id)).map((o) => o.id),
    duplicates: duplicated.reduce((s, [, n]) => s + n - 1, 0),
    duplicatedIds: duplicated.map(([id]) => id),
    disorder,
    badRecords,
  };
}
