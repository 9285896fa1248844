import { lastCreated } from './queries.js';
import { waitAllSucceeded } from './wait.js';
import type { ModeContext, ModeRun } from './mode.js';
import { submitAll } from './submit.js';

/**
 * Runs `--warmup` noop tasks through a fresh stack (JIT, connection pools, plan
 * caches) and waits until they all SUCCEEDED. Returns the boundary to pass to the
 * measuring queries (the newest created_at so far), or undefined with no warm-up.
 */
export async function warmUp(ctx: ModeContext, run: ModeRun): Promise<string | undefined> {
  const total = ctx.opts.warmup;
  if (total === 0) return undefined;
  ctx.log(`warming up with ${total} tasks (not measured)`);
  await submitAll(run.stack.cluster.client(), {
    total, batch: Math.min(500, total), concurrency: ctx.opts.concurrency, signal: ctx.signal, deadline: run.deadline,
  });
  await waitAllSucceeded(run.stack.cluster.sql, total, {
    pollMs: 100, deadline: run.deadline, signal: ctx.signal, broken: () => run.stack.failure(),
  });
  return lastCreated(run.stack.cluster.sql);
}
