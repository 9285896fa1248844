import { describe, expect, it } from 'vitest';
import { fetchPages, type Page } from './paging.js';

/** 250 numbers served in pages of at most `pageSize`, with the offset as token. */
const source = (calls: number[]) => async (pageSize: number, token: string): Promise<Page<number>> => {
  calls.push(pageSize);
  const from = Number(token || 0);
  const items = Array.from({ length: Math.max(0, Math.min(pageSize, 250 - from)) }, (_, i) => from + i);
  return { items, next: from + items.length < 250 ? String(from + items.length) : '' };
};

describe('fetchPages', () => {
  it('stops at --limit (default 50) and hands back the token to continue', async () => {
    const calls: number[] = [];
    expect(await fetchPages(source(calls), {})).toMatchObject({ next: '50' });
    const p = await fetchPages(source(calls), { limit: '120', pageToken: '200' });
    expect(p.items).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i));
    expect(p.next).toBe('');
    expect(calls).toEqual([50, 120]);
  });

  it('--all follows every page at the largest page size', async () => {
    const calls: number[] = [];
    const p = await fetchPages(source(calls), { all: true });
    expect(p.items.length).toBe(250);
    expect(calls).toEqual([1000]);
  });
});
