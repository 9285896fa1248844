import { sql } from 'drizzle-orm';
import { rows, type Executor } from './db.js';

/** Live work in one queue. */
export interface QueueDepth {
  queue: string;
  pending: number;
  queued: number;
  running: number;
  /** Age of the oldest QUEUED task (ms), or null when none. */
  oldestReadyAgeMs: number | null;
}

/** Counts PENDING, QUEUED and RUNNING tasks per queue of `namespace`. */
export async function queueDepths(ex: Executor, p: { namespace: string; now: Date }): Promise<QueueDepth[]> {
  const r = await rows<{ queue: string; pending: string; queued: string; running: string; oldest: Date | string | null }>(
    ex,
    sql`select queue,
          count(*) filter (where status = 'PENDING') pending,
          count(*) filter (where status = 'QUEUED') queued,
          count(*) filter (where status = 'RUNNING') running,
          min(created_at) filter (where status = 'QUEUED') oldest
        from tasks where namespace = ${p.namespace} and status in ('PENDING', 'QUEUED', 'RUNNING')
        group by queue order by queue`,
  );
  return r.map((x) => ({
    queue: x.queue, pending: Number(x.pending), queued: Number(x.queued), running: Number(x.running),
    oldestReadyAgeMs: x.oldest === null ? null : p.now.getTime() - new Date(x.oldest).getTime(),
  }));
}
