import { expect, test } from 'vitest';
import { createTestDatabase, redisPrefix, restartPostgres, restartRedisEmpty, testEnv } from './stack.js';

test('stack helpers refuse to run outside the int project, saying why', async () => {
  const why = /work only in the `int` vitest project \(files named \*\.int\.test\.ts\)/;
  expect(() => testEnv()).toThrow(why);
  await expect(createTestDatabase()).rejects.toThrow(why);
  await expect(restartPostgres()).rejects.toThrow(why);
  await expect(restartRedisEmpty()).rejects.toThrow(why);
});

test('redisPrefix is unique per call', () => {
  const prefixes = new Set(Array.from({ length: 100 }, () => redisPrefix()));
  expect(prefixes.size).toBe(100);
  for (const p of prefixes) expect(p).toMatch(/^t[0-9a-f]{10}:$/);
});
