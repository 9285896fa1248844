import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** The content type of server-streaming REST responses: one JSON object per line. */
export const NDJSON = 'application/x-ndjson';

/** Request headers not forwarded into the RPC: hop-by-hop, framing, and what the in-process call sets itself. */
const NOT_FORWARDED = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect',
  'http2-settings', 'content-length', 'content-type', 'content-encoding', 'accept', 'accept-encoding',
]);

/** Response headers of the RPC not copied onto the REST response (the gateway frames its own). */
const NOT_RETURNED = new Set(['content-type', 'content-length', 'content-encoding', 'accept-encoding', 'vary', 'date', 'transfer-encoding']);

const isProtocolHeader = (k: string): boolean => k.startsWith('connect-') || k.startsWith('grpc-');

/** The request's headers as RPC metadata: `authorization`, `x-api-key`, tracing and the rest; protocol headers dropped. */
export function forwardedRequestHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k.startsWith(':') || NOT_FORWARDED.has(k) || isProtocolHeader(k)) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.append(k, x);
  }
  return out;
}

/** Response metadata (headers, then trailers) as REST response headers, protocol and framing headers dropped. */
export function returnedHeaders(...sources: (Headers | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of sources) {
    h?.forEach((v, k) => {
      if (!NOT_RETURNED.has(k) && !isProtocolHeader(k)) out[k] = v;
    });
  }
  return out;
}

/**
 * Reads the request body up to `limit` bytes. Resolves undefined, without reading further,
 * when Content-Length or the bytes received pass the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= limit) {
        chunks.push(c);
        return;
      }
      done();
      req.pause();
      resolve(undefined);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const onClose = (): void => {
      done();
      reject(new Error('the client closed the request before its body ended'));
    };
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** Sends a complete JSON response. On HTTP/1 `close` also ends the connection (a body was left unread). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, close = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const extra: Record<string, string> = close && res.req.httpVersionMajor === 1 ? { connection: 'close' } : {};
  res.writeHead(status, { ...headers, ...extra, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** Writes one chunk, waiting for the socket to drain when it is full; false once the client is gone. */
export async function writeChunk(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain).once('close', onClose);
  });
}
