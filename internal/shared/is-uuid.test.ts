import { describe, expect, it } from 'vitest';
import { isUuid } from './is-uuid.js';

describe('isUuid', () => {
  it.each(['01900000-0000-7000-8000-000000000001', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'])('accepts %s', (s) => {
    expect(isUuid(s)).toBe(true);
  });

  it.each(['', 'nope', '01900000000070008000000000000001', '01900000-0000-7000-8000-00000000000g', ' 01900000-0000-7000-8000-000000000001'])(
    'rejects %j',
    (s) => expect(isUuid(s)).toBe(false),
  );
});
