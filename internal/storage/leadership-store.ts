import { sql } from 'drizzle-orm';
import { DomainError } from '../domain/errors.js';
import { rows, type Executor } from './db.js';

/**
 * Locks the leadership row FOR SHARE and checks that `epoch` is still the newest. Every
 * leader write transaction calls this first: a takeover's epoch bump waits for the
 * transactions holding the share lock, and every later transaction of the deposed
 * leader fails here, so an old leader can never write after a new one has begun.
 */
export async function leadershipFence(ex: Executor, p: { epoch: number }): Promise<void> {
  const [row] = await rows<{ epoch: number }>(ex, sql`select epoch from leadership where id = 1 for share`);
  if (!row || row.epoch !== p.epoch) {
    throw new DomainError('not_leader', `epoch ${p.epoch} is no longer current (now ${row?.epoch ?? 'none'})`);
  }
}

/**
 * Records a takeover: sets the leadership row to `epoch` if that is newer than what is
 * stored. Returns false when a newer epoch is already there (this leader is stale).
 */
export async function leadershipClaim(
  ex: Executor,
  p: { epoch: number; leader: string; now: Date; lockTimeoutMs?: number },
): Promise<boolean> {
  // A frozen ex-leader may hold the row FOR SHARE; waiting longer than the lock TTL is pointless.
  if (p.lockTimeoutMs) await ex.execute(sql.raw(`set local lock_timeout = ${Math.max(1, Math.round(p.lockTimeoutMs))}`));
  const r = await rows<{ epoch: number }>(
    ex,
    sql`insert into leadership (id, epoch, leader, since) values (1, ${p.epoch}, ${p.leader}, ${p.now})
        on conflict (id) do update set epoch = excluded.epoch, leader = excluded.leader, since = excluded.since
        where leadership.epoch < excluded.epoch
        returning epoch`,
  );
  return r.length === 1;
}

/** Reads the newest epoch recorded in Postgres (0 when none). */
export async function leadershipRead(ex: Executor): Promise<{ epoch: number; leader: string; since: Date } | undefined> {
  const [r] = await rows<{ epoch: number; leader: string; since: Date | string }>(ex, sql`select epoch, leader, since from leadership where id = 1`);
  // Raw rows carry timestamps as strings on node-postgres under drizzle, as Dates on PGlite.
  return r && { epoch: r.epoch, leader: r.leader, since: new Date(r.since) };
}
