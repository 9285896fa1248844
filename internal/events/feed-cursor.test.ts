import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../domain/stored-event.js';
import { advance } from './feed-cursor.js';

const ev = (sequence: number): StoredEvent => ({
  sequence, id: `e${sequence}`, namespace: 'default', type: 'task.created', aggregateType: 'task', aggregateId: 'a', occurredAt: '', data: {},
});
const seqs = (a: { deliver: StoredEvent[] }): number[] => a.deliver.map((e) => e.sequence);

describe('advance', () => {
  it('delivers a contiguous run and moves to the high-water mark', () => {
    const a = advance({ position: 10, events: [ev(11), ev(12), ev(13)], upTo: 13, limited: false, settledUpTo: 10 });
    expect([seqs(a), a.position, a.blocked]).toEqual([[11, 12, 13], 13, false]);
  });

  it('stops before a missing sequence that may still commit, and skips none', () => {
    const a = advance({ position: 10, events: [ev(11), ev(13), ev(14)], upTo: 14, limited: false, settledUpTo: 10 });
    expect([seqs(a), a.position, a.blocked]).toEqual([[11], 11, true]);
  });

  it('waits for a trailing sequence taken but not yet visible', () => {
    const a = advance({ position: 10, events: [ev(11)], upTo: 12, limited: false, settledUpTo: 10 });
    expect([seqs(a), a.position, a.blocked]).toEqual([[11], 11, true]);
  });

  it('passes missing sequences at or below the settled mark (rolled back)', () => {
    const a = advance({ position: 10, events: [ev(11), ev(13), ev(16)], upTo: 17, limited: false, settledUpTo: 14 });
    // 12 is settled absent; 14 too; 15 may still commit: stop at 14, after delivering 13.
    expect([seqs(a), a.position, a.blocked]).toEqual([[11, 13], 14, true]);
    const b = advance({ position: 10, events: [ev(13)], upTo: 15, limited: false, settledUpTo: 15 });
    expect([seqs(b), b.position, b.blocked]).toEqual([[13], 15, false]);
  });

  it('does not deliver what it delivered before (a re-read overlaps)', () => {
    const a = advance({ position: 12, events: [ev(11), ev(12), ev(13)], upTo: 13, limited: false, settledUpTo: 12 });
    expect([seqs(a), a.position]).toEqual([[13], 13]);
  });

  it('stops at the last event read when the read was limited', () => {
    const a = advance({ position: 0, events: [ev(1), ev(2)], upTo: 100, limited: true, settledUpTo: 0 });
    expect([seqs(a), a.position, a.blocked]).toEqual([[1, 2], 2, false]);
  });
});
