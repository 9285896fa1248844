/**
 * What one attempt to deliver came to: delivered; failed and worth retrying (with the
 * target's own Retry-After, if it gave one); or failed for good.
 */
export type SendOutcome =
  | { ok: true }
  | { ok: false; permanent: boolean; error: string; retryAfterMs?: number };

const MAX_SNIPPET = 200;

/**
 * The outcome of an HTTP answer: 2xx delivered; 408, 429 and 5xx retried (honouring
 * Retry-After in seconds or as a date); any other status (3xx: redirects are not
 * followed; 4xx) refused for good. The error names the status and the start of the body.
 */
export function httpOutcome(p: { status: number; statusText: string; body: string; retryAfter: string | null; now: number }): SendOutcome {
  if (p.status >= 200 && p.status < 300) return { ok: true };
  const snippet = p.body.replace(/\s+/g, ' ').trim().slice(0, MAX_SNIPPET);
  const error = `HTTP ${p.status}${p.statusText ? ` ${p.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  const retryable = p.status === 408 || p.status === 429 || p.status >= 500;
  if (!retryable) return { ok: false, permanent: true, error: p.status >= 300 && p.status < 400 ? `${error} (redirects are not followed)` : error };
  return { ok: false, permanent: false, error, retryAfterMs: retryAfterMs(p.retryAfter, p.now) };
}

function retryAfterMs(h: string | null, now: number): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const at = Date.parse(h);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Socket and DNS errors after which a retry cannot help. */
const PERMANENT_CODES: Record<string, string> = {
  ENOTFOUND: 'unknown host',
  ERR_INVALID_URL: 'invalid URL',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not name the host',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
};

const TRANSIENT_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body timed out',
};

/**
 * The outcome of a request that got no HTTP answer: `timedOut` (the per-request
 * timeout) and connection failures are retried; an unknown host, an invalid URL or a
 * TLS certificate problem is permanent. The error names the target's host and the cause.
 */
export function networkOutcome(e: unknown, p: { url: string; timedOut: boolean; timeoutMs: number }): SendOutcome {
  let host = p.url;
  try {
    host = new URL(p.url).host;
  } catch {
    // the URL itself is the problem; the code below says so
  }
  if (p.timedOut) return { ok: false, permanent: false, error: `no answer from ${host} within ${p.timeoutMs} ms` };
  const chain: { code?: string; message?: string }[] = [];
  for (let cur = e as { code?: string; message?: string; cause?: unknown } | undefined, i = 0; cur && i < 5; i++) {
    chain.push(cur);
    cur = cur.cause as typeof cur;
  }
  const code = chain.map((c) => c.code).find((c): c is string => !!c && (c in PERMANENT_CODES || c in TRANSIENT_CODES));
  const detail = chain.map((c) => c.message).filter(Boolean).at(-1) ?? String(e);
  if (code && code in PERMANENT_CODES) return { ok: false, permanent: true, error: `${PERMANENT_CODES[code]} (${host}): ${detail}` };
  if (code) return { ok: false, permanent: false, error: `${TRANSIENT_CODES[code]} (${host}): ${detail}` };
  return { ok: false, permanent: false, error: `request to ${host} failed: ${detail}` };
}
