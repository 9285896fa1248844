import { httpOutcome, networkOutcome, type SendOutcome } from './send-outcome.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

/** One webhook request. */
export interface WebhookRequest {
  url: string;
  /** The Event proto3 JSON. */
  body: string;
  /** Signs the body when set; without one the request carries no signature header. */
  secret: string | null;
  deliveryId: string;
  eventId: string;
  eventType: string;
  /** Unix seconds of the signature (now). */
  unixSeconds: number;
  timeoutMs: number;
  /** Aborts the request (the notifier is stopping). */
  signal: AbortSignal;
}

/** Most bytes of a response body read (for the error of a failed attempt). */
const MAX_RESPONSE_BYTES = 4_096;

/**
 * POSTs the event as JSON with headers `x-taskd-signature` (when there is a secret),
 * `x-taskd-delivery`, `x-taskd-event` and `x-taskd-event-id`; redirects are not
 * followed. Never throws: every failure is a {@link SendOutcome} naming the host and
 * why. When `signal` aborts the request is abandoned and the outcome says so.
 */
export async function postWebhook(r: WebhookRequest): Promise<SendOutcome> {
  let url: URL;
  try {
    url = new URL(r.url);
  } catch {
    return { ok: false, permanent: true, error: `invalid URL "${r.url}"` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, permanent: true, error: `invalid URL "${r.url}": only http and https are delivered to` };
  }
  const timeout = AbortSignal.timeout(r.timeoutMs);
  const headers: Record<string, string> = {
    'content-type': 'application/json', 'user-agent': 'taskd-notifier',
    'x-taskd-delivery': r.deliveryId, 'x-taskd-event': r.eventType, 'x-taskd-event-id': r.eventId,
  };
  if (r.secret) headers[SIGNATURE_HEADER] = signWebhook(r.secret, r.unixSeconds, r.body);
  try {
    const res = await fetch(url, { method: 'POST', body: r.body, headers, redirect: 'manual', signal: AbortSignal.any([timeout, r.signal]) });
    const body = await readSome(res);
    return httpOutcome({ status: res.status, statusText: res.statusText, body, retryAfter: res.headers.get('retry-after'), now: r.unixSeconds * 1000 });
  } catch (e) {
    if (r.signal.aborted) return { ok: false, permanent: false, error: 'abandoned: the notifier is stopping' };
    return networkOutcome(e, { url: r.url, timedOut: timeout.aborted, timeoutMs: r.timeoutMs });
  }
}

/** The start of a response body as text; the rest is discarded without being read. */
async function readSome(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_BYTES);
}
