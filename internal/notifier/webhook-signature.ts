import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying a webhook's signature. */
export const SIGNATURE_HEADER = 'x-taskd-signature';

/**
 * The `x-taskd-signature` value of `body` sent at `unixSeconds`:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
 */
export function signWebhook(secret: string, unixSeconds: number, body: string): string {
  const t = String(Math.floor(unixSeconds));
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * Verifies a received signature header against `body` (the raw bytes as text) and
 * `secret`: true when a `v1` matches and `t` lies within `toleranceSeconds` (default
 * 300) of `nowSeconds`. The comparison is constant-time. What receivers should do;
 * docs/notifier.md shows it standalone.
 */
export function verifyWebhookSignature(
  p: { header: string; body: string; secret: string; nowSeconds: number; toleranceSeconds?: number },
): boolean {
  const parts = new Map<string, string[]>();
  for (const kv of p.header.split(',')) {
    const at = kv.indexOf('=');
    if (at <= 0) continue;
    const k = kv.slice(0, at).trim();
    parts.set(k, [...(parts.get(k) ?? []), kv.slice(at + 1).trim()]);
  }
  const t = parts.get('t')?.[0];
  if (!t || !/^\d+$/.test(t) || Math.abs(p.nowSeconds - Number(t)) > (p.toleranceSeconds ?? 300)) return false;
  const want = Buffer.from(createHmac('sha256', p.secret).update(`${t}.${p.body}`).digest('hex'));
  return (parts.get('v1') ?? []).some((v) => {
    const got = Buffer.from(v);
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
