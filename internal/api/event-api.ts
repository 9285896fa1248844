import { DomainError } from '../domain/errors.js';
import { eventFilterViolations, eventMatches, type EventFilter } from '../domain/event-filter.js';
import { filterable, type StoredEvent } from '../domain/stored-event.js';
import type { EventFeed } from '../events/event-feed.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { eventList } from '../storage/event-store.js';
import { pageLimit } from './keyset-page.js';
import { liveBatches, resumeAnchor } from './watch-start.js';

/** Rows per read when a watch replays the table. */
const REPLAY_PAGE = 1_000;

/** Validates a request's filter; throws `invalid` naming each bad entry (`filter.types[0]`, …). */
function checkFilter(f: EventFilter): EventFilter {
  const bad = eventFilterViolations(f, 'filter');
  if (bad.length > 0) throw DomainError.invalid(bad);
  return { ...f, aggregateIds: f.aggregateIds.map((id) => id.toLowerCase()) };
}

/** A ListEvents page token: the last sequence of the page before. */
const tokenOf = (sequence: number): string => Buffer.from(`e${sequence}`).toString('base64url');

function afterToken(token: string): number {
  const m = /^e(\d{1,18})$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw DomainError.invalid([{ field: 'page_token', description: 'is not a token this server issued' }]);
  return Number(m[1]);
}

/**
 * EventService's operations, protocol-free: a namespace's outbox events, filtered,
 * listed from the table or watched through the process's event feed. Lists and replays
 * stop at the feed's position, below which no event can still appear, so paging on (or
 * resuming) never skips an event that committed late.
 */
export class EventApi {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; feed: EventFeed },
  ) {}

  /**
   * One page of stored events, oldest first, after `afterEventId` (or the page token).
   * Throws `invalid` for a bad filter, page size or token, `not_found` for an unknown
   * `afterEventId`.
   */
  async list(p: { namespace: string; filter: EventFilter; afterEventId: string; pageSize: number; pageToken: string }): Promise<{ events: StoredEvent[]; nextPageToken: string }> {
    const ns = p.namespace || 'default';
    const filter = checkFilter(p.filter);
    const limit = pageLimit(p.pageSize);
    let after = 0;
    if (p.pageToken) after = afterToken(p.pageToken);
    else if (p.afterEventId) after = (await resumeAnchor(this.opts.db.orm, ns, p.afterEventId)).sequence;
    const upTo = await this.opts.feed.whenReady();
    const found = await eventList(this.opts.db.orm, { namespace: ns, filter, after, upTo, limit: limit + 1 });
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return { events: page, nextPageToken: found.length > limit && last ? tokenOf(last.sequence) : '' };
  }

  /**
   * The namespace's matching events as they commit, oldest first: after `afterEventId`
   * (replayed from the table, then live, with no gap or repeat), or from now. Ends only
   * when `signal` aborts or the subscription is cut off (`resource_exhausted`, a slow
   * reader) or the server stops (`unavailable`).
   */
  async *watch(p: { namespace: string; filter: EventFilter; afterEventId: string }, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    const ns = p.namespace || 'default';
    const filter = checkFilter(p.filter);
    const match = (e: StoredEvent): boolean => eventMatches(filter, filterable(e));
    const anchor = p.afterEventId ? await resumeAnchor(this.opts.db.orm, ns, p.afterEventId) : undefined;
    const sub = await this.opts.feed.subscribe({ namespace: ns, keys: filter.aggregateIds.length > 0 ? filter.aggregateIds : undefined, match }, signal);
    try {
      for (let after = anchor?.sequence ?? sub.position; after < sub.position;) {
        const page = await eventList(this.opts.db.orm, { namespace: ns, filter, after, upTo: sub.position, limit: REPLAY_PAGE });
        for (const e of page) yield e;
        after = page.length < REPLAY_PAGE ? sub.position : (page[page.length - 1] as StoredEvent).sequence;
      }
      // A resume point the feed had not reached yet: what it delivers up to there was seen.
      const seen = anchor?.sequence ?? 0;
      for await (const batch of liveBatches(sub, signal)) {
        for (const e of batch) if (e.sequence > seen) yield e;
      }
    } finally {
      sub.close();
    }
  }
}
