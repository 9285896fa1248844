import type { StoredEvent } from '../domain/stored-event.js';

/** What one look at the outbox tail lets the feed deliver. */
export interface Advance {
  /** Events to deliver now, in sequence order, none at or below the old position. */
  deliver: StoredEvent[];
  /** The new position: every sequence up to it is delivered or known never to appear. */
  position: number;
  /** True when a sequence that may still commit holds the position below `upTo`. */
  blocked: boolean;
}

/**
 * How far the feed may move, given the events read after `position` (in sequence
 * order, at most the read's limit; `limited` when the limit was reached, so more may
 * follow the last one) and `upTo`, the highest sequence handed out before the read's
 * snapshot. A sequence missing from the read was either taken by a transaction still in
 * progress (it will appear) or by one that rolled back (it never will): the position
 * stops before it, unless it is at or below `settledUpTo`, below which every missing
 * sequence is known to be rolled back. So events leave in sequence order, none skipped,
 * none twice.
 */
export function advance(p: { position: number; events: StoredEvent[]; upTo: number; limited: boolean; settledUpTo: number }): Advance {
  let pos = p.position;
  const deliver: StoredEvent[] = [];
  for (const e of p.events) {
    if (e.sequence <= pos) continue;
    if (e.sequence !== pos + 1 && e.sequence - 1 > p.settledUpTo) {
      return { deliver, position: Math.max(pos, Math.min(p.settledUpTo, e.sequence - 1)), blocked: true };
    }
    deliver.push(e);
    pos = e.sequence;
  }
  if (p.limited) return { deliver, position: pos, blocked: false };
  pos = Math.max(pos, Math.min(p.upTo, p.settledUpTo));
  return { deliver, position: pos, blocked: pos < p.upTo };
}
