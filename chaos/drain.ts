import type pg from 'pg';
import { pollUntil } from './poll.js';

/** How the drain went. */
export interface DrainResult {
  drained: boolean;
  ms: number;
  /** Tasks not yet terminal when the drain ended, by status. */
  left: Record<string, number>;
}

/** Waits (at most `timeoutMs`) until no task is PENDING, QUEUED or RUNNING. */
export async function drain(sql: pg.Pool, timeoutMs: number, signal: AbortSignal): Promise<DrainResult> {
  const start = Date.now();
  let left: Record<string, number> = {};
  const done = await pollUntil(async () => {
    const r = await sql.query<{ status: string; n: string }>(
      "select status, count(*) n from tasks where status in ('PENDING', 'QUEUED', 'RUNNING') group by status",
    );
    left = Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
    return r.rows.length === 0;
  }, { timeoutMs, signal, everyMs: 250 });
  return { drained: done === true, ms: Date.now() - start, left };
}
