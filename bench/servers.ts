import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/procs.js';
import { KafkaServer } from '../test/servers/kafka-server.js';
import { postmasterPid, PgServer } from '../test/servers/pg-server.js';
import { RedisServer } from '../test/servers/redis-server.js';

/**
 * The bench's own Postgres and Redis on 127.0.0.1, with their data in a fresh
 * temporary directory. The directory name starts with `taskd-stack-` and holds
 * `owner.pid`, so if the bench is SIGKILLed before teardown, the next
 * `npm test` (test/global-setup.ts) kills its servers and removes it.
 */
export class BenchServers {
  private stopped = false;

  private constructor(readonly root: string, readonly pg: PgServer, readonly redis: RedisServer, readonly kafka?: KafkaServer) {}

  /**
   * Starts both servers, and with `kafka` a Kafka broker too (test/servers/kafka-server.ts).
   * Throws with the server log's tail if one cannot start (and stops the others).
   */
  static async start(opts: { kafka?: boolean } = {}): Promise<BenchServers> {
    const root = mkdtempSync(join(tmpdir(), 'taskd-stack-bench-'));
    chmodSync(root, 0o755); // the postgres user must traverse it to reach pg/
    writeFileSync(join(root, 'owner.pid'), `${process.pid}\n`);
    const [p, r, k] = await Promise.allSettled([
      PgServer.create(root, freePort), RedisServer.create(root, freePort),
      opts.kafka ? KafkaServer.create(root, freePort) : Promise.resolve(undefined),
    ]);
    if (p.status === 'fulfilled' && r.status === 'fulfilled' && k.status === 'fulfilled') return new BenchServers(root, p.value, r.value, k.value);
    if (p.status === 'fulfilled') await p.value.stop().catch(() => undefined);
    if (r.status === 'fulfilled') await r.value.stop().catch(() => undefined);
    if (k.status === 'fulfilled') await k.value?.stop({ kill: true }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    const why = [p, r, k].flatMap((x) => (x.status === 'rejected' ? [(x.reason as Error).message] : []));
    throw new Error(`bench servers did not start:\n${why.join('\n\n')}`);
  }

  /** Pid of the postmaster, if running. */
  get postgresPid(): number | undefined {
    return postmasterPid(this.pg.info.dataDir);
  }

  /** Creates an empty database named `bench_<label>_<random>` and returns its URL. */
  async createDatabase(label: string): Promise<string> {
    const name = `bench_${label}_${randomBytes(4).toString('hex')}`;
    await this.withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
    return this.pg.url(name);
  }

  /** Runs `fn` with a short-lived superuser connection to the `postgres` database. */
  async withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.pg.url() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Stops both servers and deletes the directory. Idempotent. Throws if a server does not stop. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      const results = await Promise.allSettled([this.pg.stop(), this.redis.stop(), this.kafka?.stop({ kill: true })]);
      const failed = results.flatMap((x) => (x.status === 'rejected' ? [(x.reason as Error).message] : []));
      if (failed.length > 0) throw new Error(`stopping the bench servers failed:\n${failed.join('\n')}`);
    } finally {
      this.killNow();
    }
  }

  /** Synchronously kills both servers and deletes the directory, for exit hooks. Never throws. */
  killNow(): void {
    this.pg.killNow();
    this.redis.killNow();
    this.kafka?.killNow();
    try {
      rmSync(this.root, { recursive: true, force: true });
    } catch {
      // best effort: the next test run's sweep removes it
    }
  }
}
