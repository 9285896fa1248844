import { describe, expect, it } from 'vitest';
import { Kicker } from './kicker.js';

describe('Kicker', () => {
  it('returns at once when the signal aborted before the wait began', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const started = performance.now();
    expect(await new Kicker().wait(60_000, ctl.signal)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a kick before the wait wakes it at once, once', async () => {
    const k = new Kicker();
    const ctl = new AbortController();
    k.kick();
    k.kick();
    expect(await k.wait(60_000, ctl.signal)).toBe(true);
    const waiting = k.wait(60_000, ctl.signal);
    ctl.abort();
    expect(await waiting).toBe(false);
  });
});
