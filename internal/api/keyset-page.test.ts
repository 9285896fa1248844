import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';

const ID = '01900000-0000-7000-8000-000000000001';
const violation = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError && e.code === 'invalid') return e.message;
    throw e;
  }
  return 'no error';
};

describe('pageLimit', () => {
  it('defaults 0 to 100 and accepts 1..1000', () => {
    expect(pageLimit(0)).toBe(100);
    expect(pageLimit(1)).toBe(1);
    expect(pageLimit(1000)).toBe(1000);
  });

  it.each([-1, 1001, 2.5])('rejects %d naming page_size', (n) => {
    expect(violation(() => pageLimit(n))).toBe('page_size: must be from 1 to 1000');
  });
});

describe('pageAfterId', () => {
  it('is undefined for the first page and round-trips a token keysetPage issued', () => {
    expect(pageAfterId('')).toBeUndefined();
    const { nextPageToken } = keysetPage([{ id: ID }, { id: 'next' }], 1);
    expect(pageAfterId(nextPageToken)).toBe(ID);
  });

  it.each(['not a token', Buffer.from('drop table').toString('base64url')])('rejects %s naming page_token', (t) => {
    expect(violation(() => pageAfterId(t))).toBe('page_token: is not a token this server issued');
  });
});

describe('keysetPage', () => {
  const items = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];

  it('cuts the extra row and issues a token for the last id kept', () => {
    const r = keysetPage(items, 2);
    expect(r.page).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(Buffer.from(r.nextPageToken, 'base64url').toString()).toBe('b');
  });

  it('issues no token on the last page', () => {
    expect(keysetPage(items, 3)).toEqual({ page: items, nextPageToken: '' });
    expect(keysetPage([], 3)).toEqual({ page: [], nextPageToken: '' });
  });
});
