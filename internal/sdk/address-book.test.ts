import { describe, expect, it } from 'vitest';
import { AddressBook, normalizeAddress } from './address-book.js';

describe('AddressBook', () => {
  it('cycles through its addresses and tries a redirect once, next', () => {
    const book = new AddressBook(['http://a:1', 'http://b:2/']);
    expect([book.next(), book.next(), book.next()]).toEqual(['http://a:1', 'http://b:2', 'http://a:1']);
    book.redirectTo('c:3');
    expect([book.next(), book.next()]).toEqual(['http://c:3', 'http://b:2']);
    book.redirectTo('');
    expect(book.next()).toBe('http://a:1');
  });

  it('refuses an empty list and non-http addresses', () => {
    expect(() => new AddressBook([])).toThrow(/at least one/);
    expect(() => normalizeAddress('ftp://x:1')).toThrow(/http/);
    expect(() => normalizeAddress('http://')).toThrow();
  });
});
