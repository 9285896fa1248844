import type { Base } from '../shared/base.js';
import { sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import { leadershipFence } from '../storage/leadership-store.js';
import { outboxPruneOccurred } from '../storage/outbox-store.js';

/**
 * Keeps the outbox bounded where no relay runs (no Kafka, as on the embedded default):
 * in each leadership term, every `everyMs`, deletes events older than the retention,
 * fenced by the term's epoch, `batch` rows per statement until none is left.
 */
export class OutboxJanitor {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; retentionMs: number; everyMs?: number; batch?: number },
  ) {}

  /** One pass; returns how many events were deleted. */
  async pruneOnce(epoch: number): Promise<number> {
    const before = new Date(this.base.clock.now() - this.opts.retentionMs);
    const batch = this.opts.batch ?? 1_000;
    let total = 0;
    for (;;) {
      const n = await this.opts.db.tx(async (tx) => {
        await leadershipFence(tx, { epoch });
        return outboxPruneOccurred(tx, { before, limit: batch });
      });
      total += n;
      if (n < batch) return total;
    }
  }

  /** Prunes every `everyMs` until `term` aborts. */
  async run(term: AbortSignal, epoch: number): Promise<void> {
    const every = this.opts.everyMs ?? Math.min(60_000, this.opts.retentionMs);
    do {
      try {
        const n = await this.pruneOnce(epoch);
        if (n > 0) this.base.logger.info({ deleted: n }, 'outbox pruned (no relay)');
      } catch (e) {
        this.base.logger.warn({ err: (e as Error).message }, 'outbox prune failed');
      }
    } while (await sleep(every, term));
  }
}
