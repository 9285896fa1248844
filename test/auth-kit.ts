import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toJson, type DescMessage, type DescMethod, type Message } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** A secret for HS256 test tokens (≥ 32 characters, as the config demands). */
export const TEST_HS256_SECRET = 'taskd-test-hs256-secret-0123456789abcdef';

/** What a test token says. */
export interface TokenClaims {
  sub?: string;
  roles?: string[];
  namespaces?: string[];
  iss?: string;
  aud?: string;
  /** Seconds from now; negative for an expired token. Default 600. */
  expIn?: number;
  /** Extra or overriding claims. */
  extra?: Record<string, unknown>;
}

const nowS = (): number => Math.floor(Date.now() / 1000);

/** An HS256 JWT as taskd's default configuration (iss and aud "taskd") accepts it. */
export function hsToken(c: TokenClaims, secret = TEST_HS256_SECRET): Promise<string> {
  return jwt(c, new TextEncoder().encode(secret), { alg: 'HS256' });
}

/** A JWT signed with `key` (RS256/ES256), naming `kid`. */
export function signedToken(c: TokenClaims, key: CryptoKey, header: { alg: string; kid?: string }): Promise<string> {
  return jwt(c, key, header);
}

function jwt(c: TokenClaims, key: CryptoKey | Uint8Array, header: { alg: string; kid?: string }): Promise<string> {
  return new SignJWT({ roles: c.roles ?? ['admin'], namespaces: c.namespaces ?? ['*'], ...c.extra })
    .setProtectedHeader(header)
    .setSubject(c.sub ?? 'test')
    .setIssuer(c.iss ?? 'taskd')
    .setAudience(c.aud ?? 'taskd')
    .setIssuedAt(nowS() - 5)
    .setExpirationTime(nowS() + (c.expIn ?? 600))
    .sign(key);
}

/** A token signed by hand: `alg` and signature as given (for `alg: none` and algorithm confusion). */
export function forgedToken(header: Record<string, unknown>, c: TokenClaims, hmacKey?: string): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = { sub: c.sub ?? 'mallory', roles: c.roles ?? ['admin'], namespaces: c.namespaces ?? ['*'], iss: 'taskd', aud: 'taskd', exp: nowS() + 600 };
  const input = `${enc(header)}.${enc(body)}`;
  return `${input}.${hmacKey === undefined ? '' : createHmac('sha256', hmacKey).update(input).digest('base64url')}`;
}

/** An RSA and an EC signing key, and a JWKS of their public halves. */
export interface SigningKeys {
  rsa: { privateKey: CryptoKey; publicKey: CryptoKey; kid: string };
  ec: { privateKey: CryptoKey; publicKey: CryptoKey; kid: string };
  jwks: { keys: JWK[] };
  /** The RSA public key as PEM: what an algorithm-confusion attacker uses as an HMAC key. */
  rsaPublicPem: string;
}

export async function signingKeys(prefix = 'k'): Promise<SigningKeys> {
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: `${prefix}-rsa`, alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: `${prefix}-ec`, alg: 'ES256', use: 'sig' },
    ],
  };
  return {
    rsa: { ...rsa, kid: `${prefix}-rsa` }, ec: { ...ec, kid: `${prefix}-ec` }, jwks, rsaPublicPem: await exportSPKI(rsa.publicKey),
  };
}

/** Writes `jwks` to `<dir>/jwks.json` and returns the path. */
export function writeJwks(dir: string, jwks: { keys: JWK[] }): string {
  const file = join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  return file;
}

/** Headers carrying `token` as a bearer credential (none for undefined). */
export const bearer = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

/** An interceptor adding `headers` to every call of a client. */
export const withHeaders = (headers: Record<string, string>): Interceptor => (next) => (req) => {
  for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
  return next(req);
};

/** How one call ended. */
export interface CallOutcome {
  code: Code | 'OK';
  message: string;
  /** Every response message, as JSON (for streams, each one). */
  responses: unknown[];
}

/**
 * Calls `method` with `request` and `headers` over `transport`, whatever its kind: a
 * unary call; a server stream read to its end (or closed after `opts.maxResponses`, for
 * one that does not end by itself); a bidi stream given `request` as its first message
 * and closed once the first response arrives. Never throws for an RPC error: it becomes
 * the outcome's code and message.
 */
export async function invoke(
  transport: Transport, method: DescMethod, request: Message, headers: Record<string, string>, opts: { maxResponses?: number } = {},
): Promise<CallOutcome> {
  const client = createClient(method.parent, transport) as unknown as Record<string, (...a: unknown[]) => unknown>;
  const call = client[method.localName] as (...a: unknown[]) => unknown;
  const responses: unknown[] = [];
  const json = (m: Message): unknown => toJson(method.output as DescMessage, m);
  const ctl = new AbortController();
  try {
    switch (method.methodKind) {
      case 'unary':
        responses.push(json((await call(request, { headers, timeoutMs: 10_000 })) as Message));
        break;
      case 'server_streaming':
        for await (const m of call(request, { headers, timeoutMs: 10_000 }) as AsyncIterable<Message>) {
          responses.push(json(m));
          if (opts.maxResponses !== undefined && responses.length >= opts.maxResponses) break;
        }
        break;
      default: {
        const input = (async function* () {
          yield request;
          await new Promise<void>((r) => ctl.signal.addEventListener('abort', () => r(), { once: true }));
        })();
        for await (const m of call(input, { headers, signal: ctl.signal, timeoutMs: 10_000 }) as AsyncIterable<Message>) {
          responses.push(json(m));
          break;
        }
        ctl.abort();
      }
    }
    return { code: 'OK', message: '', responses };
  } catch (e) {
    if (ctl.signal.aborted && responses.length > 0) return { code: 'OK', message: '', responses };
    const err = ConnectError.from(e);
    return { code: err.code, message: err.rawMessage, responses };
  } finally {
    ctl.abort();
  }
}

/** A Code's name, for readable failures ("PermissionDenied"). */
export const codeName = (c: Code | 'OK'): string => (c === 'OK' ? 'OK' : Code[c]);
