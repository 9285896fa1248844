import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/procs.js';
import { PgServer } from '../test/servers/pg-server.js';
import { RedisServer } from '../test/servers/redis-server.js';
import type { Servers } from './servers.js';

/**
 * A private Postgres and Redis on 127.0.0.1 for `npm run chaos`, with their data in a
 * fresh temporary directory (the bench's approach). The directory is named
 * `taskd-stack-chaos-…` and holds `owner.pid`, so if the run is SIGKILLed before its
 * teardown, the next `npm test` (test/global-setup.ts) kills the servers and removes it.
 */
export class OwnServers implements Servers {
  private stopped = false;

  private constructor(
    private readonly root: string,
    private readonly pgServer: PgServer,
    private readonly redis: RedisServer,
    readonly pgUrl: string,
  ) {}

  /** Starts both servers and creates the run's database. Throws with the server log's tail if either cannot start. */
  static async start(): Promise<OwnServers> {
    const root = mkdtempSync(join(tmpdir(), 'taskd-stack-chaos-'));
    chmodSync(root, 0o755); // the postgres user must traverse it to reach pg/
    writeFileSync(join(root, 'owner.pid'), `${process.pid}\n`);
    const [p, r] = await Promise.allSettled([PgServer.create(root, freePort), RedisServer.create(root, freePort)]);
    if (p.status === 'fulfilled' && r.status === 'fulfilled') {
      const name = `chaos_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: p.value.url() });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`).finally(() => admin.end());
      return new OwnServers(root, p.value, r.value, p.value.url(name));
    }
    if (p.status === 'fulfilled') await p.value.stop().catch(() => undefined);
    if (r.status === 'fulfilled') await r.value.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    const why = [p, r].flatMap((x) => (x.status === 'rejected' ? [(x.reason as Error).message] : []));
    throw new Error(`chaos servers did not start:\n${why.join('\n\n')}`);
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  restartPostgres(): Promise<void> {
    return this.pgServer.restart();
  }

  async restartRedisEmpty(): Promise<void> {
    await this.redis.stop();
    await this.redis.start();
  }

  /** Stops both servers and deletes the directory. Idempotent. Throws if a server does not stop. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      const results = await Promise.allSettled([this.pgServer.stop(), this.redis.stop()]);
      const failed = results.flatMap((x) => (x.status === 'rejected' ? [(x.reason as Error).message] : []));
      if (failed.length > 0) throw new Error(`stopping the chaos servers failed:\n${failed.join('\n')}`);
    } finally {
      this.killNow();
    }
  }

  /** Synchronously kills both servers and deletes the directory, for exit hooks. Never throws. */
  killNow(): void {
    this.pgServer.killNow();
    this.redis.killNow();
    try {
      rmSync(this.root, { recursive: true, force: true });
    } catch {
      // best effort: the next test run's sweep removes it
    }
  }
}
