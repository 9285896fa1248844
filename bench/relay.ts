import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { TaskApi } from '../internal/api/task-api.js';
import { DEFAULT_LIMITS } from '../internal/domain/task-spec.js';
import { KafkaPublisher } from '../internal/events/kafka-publisher.js';
import { OutboxRelay, type BatchDone } from '../internal/events/outbox-relay.js';
import { systemClock } from '../internal/shared/clock.js';
import { silentLogger } from '../internal/shared/logger.js';
import { migrateDb, openPostgres } from '../internal/storage/db.js';
import { leadershipClaim } from '../internal/storage/leadership-store.js';
import { BenchServers } from './servers.js';
import { summarize } from './stats.js';
import { fmtInt, fmtMs, renderTable } from './table.js';

const USAGE = `usage: npx tsx bench/relay.ts [--events N] [--batch B[,B…]]
  Measures the outbox relay alone: N task.created events (default 10000) wait in the
  outbox of a fresh database; the relay (in this process, on the bench Postgres and a
  local Kafka broker) publishes them in batches of B (default 100,500,1000) until none
  is left. Reports events/s and the time per batch (read, publish with acks=all, mark).`;

const log = (msg: string): void => void process.stderr.write(`[relay-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function parse(): { events: number; batches: number[] } {
  const { values } = parseArgs({ options: { events: { type: 'string' }, batch: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (flag: string, t: string): number => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1 || n > 10_000_000) throw new Error(`${flag}: must be an integer from 1 to 10000000, got "${t}"`);
    return n;
  };
  return {
    events: int('--events', values.events ?? '10000'),
    batches: (values.batch ?? '100,500,1000').split(',').map((b) => int('--batch', b.trim())),
  };
}

/** Fills a fresh database's outbox with `n` task.created events (the triggers write them) and relays them with batches of `batch`. */
async function runOne(servers: BenchServers, n: number, batch: number): Promise<{ ms: number; batches: BatchDone[] }> {
  const db = openPostgres(await servers.createDatabase(`relay${batch}`), { max: 4 });
  try {
    await migrateDb(db);
    const base = { logger: silentLogger(), clock: systemClock };
    const api = new TaskApi(base, { db, limits: DEFAULT_LIMITS, hints: { ready: () => {}, due: () => {}, cancelled: () => {} } });
    for (let done = 0; done < n; done += 1_000) {
      await api.submit(Array.from({ length: Math.min(1_000, n - done) }, (_, i) => ({ type: 'noop', payload: { i: done + i } })), 'tasks', true);
    }
    await db.tx((tx) => leadershipClaim(tx, { epoch: 1, leader: 'bench', now: new Date() }));
    const p = `bench.relay.${randomBytes(3).toString('hex')}`;
    const topics = { events: `${p}.events`, deadLetters: `${p}.dead-letters` };
    const kafka = servers.kafka;
    if (!kafka) throw new Error('the bench servers were started without Kafka');
    const settings = { brokers: [kafka.brokers], clientId: 'taskd-bench', topics, partitions: 3, replication: 1 };
    const relay = new OutboxRelay(base, {
      db, topics, publisher: () => new KafkaPublisher(base, settings), batch, pollMs: 100, retentionMs: 7 * 86_400_000,
    });
    const batches: BatchDone[] = [];
    relay.on('batch', (b) => batches.push(b));
    const term = relay.openTerm(1);
    await term.publisher.connect(); // topic creation and producer setup are not part of the figure
    term.connected = true;
    const start = performance.now();
    let sent = 0;
    for (;;) {
      const r = await relay.runOnce(term);
      sent += r.marked;
      if (!r.more && r.published === 0) break;
    }
    const ms = performance.now() - start;
    await term.publisher.close();
    if (sent !== n) throw new Error(`relayed ${sent} events, expected ${n}`);
    return { ms, batches };
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const opts = parse();
  log('starting Postgres, Redis and Kafka');
  const servers = await BenchServers.start({ kafka: true });
  process.on('exit', () => servers.killNow());
  try {
    const rows: string[][] = [];
    for (const batch of opts.batches) {
      log(`batch ${batch}: ${opts.events} events`);
      const { ms, batches } = await runOne(servers, opts.events, batch);
      const per = summarize(batches.map((b) => b.ms));
      rows.push([String(batch), fmtInt(opts.events), fmtMs(ms), fmtInt(Math.round((opts.events * 1000) / ms)), fmtInt(batches.length), fmtMs(per.p50), fmtMs(per.p99)]);
    }
    console.log(`outbox relay, ${opts.events} waiting events, one local Kafka broker (acks=all, idempotent), Postgres fsync=off`);
    console.log(renderTable(['batch', 'events', 'drain ms', 'events/s', 'batches', 'batch p50 ms', 'batch p99 ms'], rows));
  } finally {
    await servers.stop();
  }
}

await main();
