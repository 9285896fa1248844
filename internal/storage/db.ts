import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { DomainError } from '../domain/errors.js';

/** A drizzle database or transaction: anything that can execute a statement. */
export type Executor = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/** A connected database: Postgres through a `pg` pool, or embedded PGlite. */
export interface Db {
  readonly kind: 'pg' | 'pglite';
  readonly orm: Executor;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
  /** Pool statistics for metrics; zeros on PGlite. */
  poolStats(): { total: number; idle: number; waiting: number };
  /**
   * LISTENs on `channel` (on a connection of its own for Postgres, outside the pool) and
   * calls `onNotify` for each notification until `close()`. `onLost` is called once if
   * that connection fails; listen again then. Throws when it cannot connect.
   */
  listen(channel: string, onNotify: () => void, onLost: (e: Error) => void): Promise<Listening>;
}

/** A LISTEN in progress. */
export interface Listening {
  close(): Promise<void>;
}

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));
/** Arbitrary constant naming taskd's migration advisory lock. */
const MIGRATION_LOCK = 724_113_001;

/** Runs `q` and returns its rows. */
export async function rows<T>(ex: Executor, q: SQL): Promise<T[]> {
  const r = (await ex.execute(q)) as unknown as { rows: T[] };
  return r.rows;
}

/**
 * Connects to Postgres at `url` with a pool of `max` connections. Connection errors
 * surface as DomainError `unavailable` from queries (see `mapDbError`).
 */
export function openPostgres(
  url: string,
  opts: {
    max?: number;
    onError?: (e: Error) => void;
    /**
     * Postgres ends a session idle inside a transaction this long. For a leader: a
     * process frozen mid-transaction (SIGSTOP, a long GC) must not hold the leadership
     * row's lock while the next leader tries to claim it.
     */
    idleInTransactionTimeoutMs?: number;
  } = {},
): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    ...(opts.idleInTransactionTimeoutMs
      ? { options: `-c idle_in_transaction_session_timeout=${Math.max(1, Math.round(opts.idleInTransactionTimeoutMs))}` }
      : {}),
  });
  // An idle client that loses its server emits here; without a listener it would crash the process.
  pool.on('error', (e) => opts.onError?.(e));
  pool.on('connect', (client) => client.on('error', (e) => opts.onError?.(e))); // a checked-out client too: pg-pool only listens while idle
  const orm = drizzlePg(pool) as unknown as Executor;
  return {
    kind: 'pg',
    orm,
    tx: (fn) => guard(() => orm.transaction((tx) => fn(tx as unknown as Executor))),
    ping: async () => {
      try {
        await pool.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    listen: (channel, onNotify, onLost) => listenPostgres(url, channel, onNotify, onLost),
  };
}

async function listenPostgres(url: string, channel: string, onNotify: () => void, onLost: (e: Error) => void): Promise<Listening> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  let done = false;
  const lost = (e: Error): void => {
    if (done) return;
    done = true;
    client.end().catch(() => undefined);
    onLost(e);
  };
  client.on('notification', (m) => {
    if (m.channel === channel) onNotify();
  });
  client.on('error', lost);
  client.on('end', () => lost(new Error('the LISTEN connection ended')));
  try {
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
  } catch (e) {
    done = true;
    await client.end().catch(() => undefined);
    throw mapDbError(e);
  }
  return {
    close: async () => {
      done = true;
      await client.end().catch(() => undefined);
    },
  };
}

/** Opens embedded PGlite with its data in `dataDir` (created if missing), or in memory. */
export async function openPglite(dataDir?: string): Promise<Db> {
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  const orm = drizzlePglite(client) as unknown as Executor;
  return {
    kind: 'pglite',
    orm,
    tx: (fn) => orm.transaction((tx) => fn(tx as unknown as Executor)),
    ping: async () => !client.closed,
    close: () => client.close(),
    poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
    // In process: notifications of PGlite's one session arrive after the statement that sent them.
    listen: async (channel, onNotify) => {
      const unlisten = await client.listen(channel, () => onNotify());
      return { close: () => (client.closed ? Promise.resolve() : unlisten()) };
    },
  };
}

/**
 * Applies the committed SQL migrations (internal/storage/migrations). Safe to run from
 * many processes at once: Postgres runs them under an advisory lock.
 */
export async function migrateDb(db: Db): Promise<void> {
  if (db.kind === 'pglite') {
    await migratePglite(db.orm as never, { migrationsFolder: MIGRATIONS });
    return;
  }
  const pool = ((db.orm as unknown as { $client: pg.Pool }).$client);
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migratePg(drizzlePg(client) as never, { migrationsFolder: MIGRATIONS });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

/** Connection-level failures: the server is down, restarting or unreachable. */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

/**
 * Maps driver errors that mean "the database is not reachable" to DomainError
 * `unavailable`, so callers answer UNAVAILABLE (retry) and never a false OK.
 */
export function mapDbError(e: unknown): unknown {
  if (e instanceof DomainError) return e;
  // drizzle wraps driver errors (DrizzleQueryError); look through the cause chain.
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (isConnectionError(cur)) return new DomainError('unavailable', 'database unavailable; retry', [], { cause: e });
  }
  return e;
}

function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  const msg = err?.message ?? '';
  return (
    (!!err?.code && (UNAVAILABLE_CODES.has(err.code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(err.code))) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|the database system is (starting up|shutting down)/i.test(msg)
  );
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapDbError(e);
  }
}
