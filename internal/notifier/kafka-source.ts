import { EventEmitter } from 'node:events';
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type LogEntry } from 'kafkajs';
import { describeKafkaError } from '../events/kafka-publisher.js';
import { backoffDelay, type BackoffPolicy } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import type { Logger } from '../shared/logger.js';
import { aborted, sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import { receivedEvent, type ReceivedEvent } from './received-event.js';
import { recordEvents, type Recorded } from './record-events.js';

/** A KafkaSource's options (TASKD_KAFKA_*, TASKD_NOTIFIER_*). */
export interface KafkaSourceOptions {
  db: Db;
  brokers: string[];
  clientId: string;
  /** The consumer group: notifiers sharing it share the topic's partitions. */
  groupId: string;
  /** The events topic (TASKD_KAFKA_EVENTS_TOPIC). */
  topic: string;
  /** Most records per transaction. */
  batch: number;
  /** Where a group without committed offsets starts. Default true (the oldest record kept). */
  fromBeginning?: boolean;
  /** Backoff after a failure (connect, subscribe, Postgres). Default 200 ms doubling to 5 s, full jitter. */
  backoff?: BackoffPolicy;
}

/** A chunk of one partition's records, recorded and committed. */
export interface KafkaChunk extends Recorded {
  partition: number;
  /** The offset committed: one past the chunk's last record. */
  committed: string;
  /** Records that were not a readable Event (logged, skipped). */
  unreadable: number;
}

export interface KafkaSourceEvents {
  /** The consumer joined its group (and was assigned partitions). */
  joined: [{ groupId: string }];
  recorded: [KafkaChunk];
}

/**
 * Consumes the events topic in a consumer group and records the deliveries each event
 * calls for. At least once: a chunk's offsets are committed only after its deliveries
 * are in Postgres, so a crash re-reads it, and the deliveries table's unique (event,
 * target) drops what was recorded before. A record that is not a readable Event is
 * logged and skipped. Postgres failures are retried (heartbeating) until they pass or
 * the source stops; Kafka failures reconnect with backoff, logged once per outage.
 */
export class KafkaSource extends EventEmitter<KafkaSourceEvents> {
  private readonly kafka: Kafka;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly base: Base, private readonly opts: KafkaSourceOptions) {
    super();
    if (opts.brokers.length === 0) throw new Error('KafkaSource: brokers must not be empty');
    if (!(opts.batch >= 1)) throw new Error('KafkaSource: batch must be at least 1');
    this.backoff = opts.backoff ?? { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 1 };
    this.kafka = new Kafka({
      clientId: opts.clientId, brokers: opts.brokers, connectionTimeout: 3_000, requestTimeout: 15_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 }, logLevel: logLevel.INFO, logCreator: logCreator(base.logger),
    });
  }

  /** Consumes until `signal` aborts, then leaves the group. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    this.base.logger.info({ topic: this.opts.topic, groupId: this.opts.groupId }, 'notifier consuming Kafka');
    while (!signal.aborted) {
      try {
        await this.consume(signal, () => {
          if (failures > 0) this.base.logger.info({ failures }, 'notifier Kafka consumer recovered');
          failures = 0;
        });
      } catch (e) {
        if (signal.aborted) break;
        if (failures++ === 0) this.base.logger.warn({ err: describeKafkaError(e) }, 'notifier Kafka consumer failing; reconnecting with backoff (logged once per outage)');
        await sleep(backoffDelay(this.backoff, failures), signal);
      }
    }
  }

  /** One consumer's life: connect, subscribe, run until `signal` aborts or it crashes for good. */
  private async consume(signal: AbortSignal, onJoined: () => void): Promise<void> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: this.opts.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    let crash: (e: unknown) => void = () => undefined;
    const crashed = new Promise<never>((_, reject) => {
      crash = reject;
    });
    crashed.catch(() => undefined);
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) crash(e.payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      onJoined();
      this.base.logger.info({ groupId: this.opts.groupId }, 'notifier joined its consumer group');
      this.emit('joined', { groupId: this.opts.groupId });
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.opts.topic], fromBeginning: this.opts.fromBeginning ?? true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p, signal) });
      await Promise.race([aborted(signal), crashed]);
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  private async onBatch(p: EachBatchPayload, signal: AbortSignal): Promise<void> {
    const { batch } = p;
    for (let i = 0; i < batch.messages.length; i += this.opts.batch) {
      if (!p.isRunning() || p.isStale() || signal.aborted) return;
      const chunk = batch.messages.slice(i, i + this.opts.batch);
      const events: ReceivedEvent[] = [];
      let unreadable = 0;
      for (const m of chunk) {
        try {
          events.push(receivedEvent(m.value?.toString() ?? ''));
        } catch (e) {
          unreadable++;
          this.base.logger.error({ topic: batch.topic, partition: batch.partition, offset: m.offset, err: (e as Error).message }, 'notifier skipped a record that is not a readable event');
        }
      }
      const recorded = await this.recordRetrying(events, p, signal);
      const last = (chunk.at(-1) as { offset: string }).offset;
      p.resolveOffset(last);
      const committed = (BigInt(last) + 1n).toString();
      await p.commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: committed }] }] });
      await p.heartbeat();
      this.base.logger.debug({ partition: batch.partition, committed, ...recorded, unreadable }, 'notifier recorded a chunk');
      this.emit('recorded', { ...recorded, partition: batch.partition, committed, unreadable });
    }
  }

  /** Records `events`, retrying Postgres failures with backoff (heartbeating meanwhile); throws only when stopping. */
  private async recordRetrying(events: ReceivedEvent[], p: EachBatchPayload, signal: AbortSignal): Promise<Recorded> {
    for (let failures = 0; ; ) {
      try {
        const r = await this.opts.db.tx((tx) => recordEvents(tx, { events, now: new Date(this.base.clock.now()) }));
        if (failures > 0) this.base.logger.info({ failures }, 'notifier recording recovered');
        return r;
      } catch (e) {
        if (failures++ === 0) this.base.logger.warn({ err: (e as Error).message }, 'notifier cannot record deliveries; retrying with backoff (logged once per outage)');
        if (!(await sleep(backoffDelay(this.backoff, failures), signal))) throw new Error('notifier stopping: chunk not recorded (it is read again)', { cause: e });
        await p.heartbeat().catch(() => undefined);
      }
    }
  }
}

function logCreator(logger: Logger) {
  return () => ({ level, log }: LogEntry): void => {
    const { message, timestamp: _t, logger: _l, ...fields } = log;
    const line = { kafka: true, ...fields };
    if (level <= logLevel.ERROR) logger.debug(line, `kafkajs: ${message}`);
    else logger.trace(line, `kafkajs: ${message}`);
  };
}
