import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';

describe('webhook signatures', () => {
  const body = '{"id":"e1","type":"task.succeeded"}';
  const secret = 'whsec_test-secret';

  it('t=<seconds>,v1=<hex HMAC-SHA256(secret, t.body)>', () => {
    const h = signWebhook(secret, 1_767_225_600.9, body);
    expect(h).toBe(`t=1767225600,v1=${createHmac('sha256', secret).update(`1767225600.${body}`).digest('hex')}`);
  });

  it('verifies within the tolerance, and refuses another body, secret or an old timestamp', () => {
    const header = signWebhook(secret, 1_000_000, body);
    expect(verifyWebhookSignature({ header, body, secret, nowSeconds: 1_000_100 })).toBe(true);
    expect(verifyWebhookSignature({ header, body: `${body} `, secret, nowSeconds: 1_000_100 })).toBe(false);
    expect(verifyWebhookSignature({ header, body, secret: 'other', nowSeconds: 1_000_100 })).toBe(false);
    expect(verifyWebhookSignature({ header, body, secret, nowSeconds: 1_000_301 })).toBe(false);
    expect(verifyWebhookSignature({ header: 'garbage', body, secret, nowSeconds: 1_000_000 })).toBe(false);
  });

  it('accepts any of several v1 values (secret rotation)', () => {
    const good = signWebhook(secret, 1_000_000, body).split(',')[1];
    expect(verifyWebhookSignature({ header: `t=1000000,v1=${'0'.repeat(64)},${good}`, body, secret, nowSeconds: 1_000_000 })).toBe(true);
  });
});
