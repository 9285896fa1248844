import { describe, expect, it } from 'vitest';
import { httpOutcome, networkOutcome } from './send-outcome.js';

const NOW = Date.UTC(2026, 0, 1);
const http = (status: number, body = '', retryAfter: string | null = null) => httpOutcome({ status, statusText: '', body, retryAfter, now: NOW });

describe('httpOutcome', () => {
  it('2xx is delivered', () => {
    expect(http(200)).toEqual({ ok: true });
    expect(http(204)).toEqual({ ok: true });
  });

  it('408, 429 and 5xx are retried; Retry-After in seconds or as a date', () => {
    expect(http(500, ' oops \n')).toEqual({ ok: false, permanent: false, error: 'HTTP 500: oops', retryAfterMs: undefined });
    expect(http(503, '', '7')).toMatchObject({ permanent: false, retryAfterMs: 7_000 });
    expect(http(429, '', new Date(NOW + 3_000).toUTCString())).toMatchObject({ permanent: false, retryAfterMs: 3_000 });
    expect(http(408)).toMatchObject({ permanent: false });
  });

  it('other 4xx and 3xx are permanent', () => {
    expect(http(404, 'no such hook')).toEqual({ ok: false, permanent: true, error: 'HTTP 404: no such hook' });
    expect(http(410)).toMatchObject({ permanent: true });
    expect(http(302)).toEqual({ ok: false, permanent: true, error: 'HTTP 302 (redirects are not followed)' });
  });

  it('keeps the error short', () => {
    const e = http(500, 'x'.repeat(1_000));
    expect(!e.ok && e.error.length).toBeLessThan(220);
  });
});

describe('networkOutcome', () => {
  const url = 'http://hooks.example:8080/x';
  const fetchError = (code: string, message: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) });

  it('an unknown host is permanent, naming it', () => {
    expect(networkOutcome(fetchError('ENOTFOUND', 'getaddrinfo ENOTFOUND hooks.example'), { url, timedOut: false, timeoutMs: 1 })).toEqual({
      ok: false, permanent: true, error: 'unknown host (hooks.example:8080): getaddrinfo ENOTFOUND hooks.example',
    });
  });

  it('a refused connection, a temporary DNS failure or an unknown error is retried', () => {
    expect(networkOutcome(fetchError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8080'), { url, timedOut: false, timeoutMs: 1 })).toEqual({
      ok: false, permanent: false, error: 'connection refused (hooks.example:8080): connect ECONNREFUSED 127.0.0.1:8080',
    });
    expect(networkOutcome(fetchError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN'), { url, timedOut: false, timeoutMs: 1 })).toMatchObject({ permanent: false });
    expect(networkOutcome(new Error('weird'), { url, timedOut: false, timeoutMs: 1 })).toEqual({ ok: false, permanent: false, error: 'request to hooks.example:8080 failed: weird' });
  });

  it('a timeout is retried, naming the limit', () => {
    expect(networkOutcome(new Error('aborted'), { url, timedOut: true, timeoutMs: 250 })).toEqual({
      ok: false, permanent: false, error: 'no answer from hooks.example:8080 within 250 ms',
    });
  });
});
