import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { ManualClock } from '../shared/clock.js';
import { JwtVerifier, type JwtVerifierOptions } from './jwt-verifier.js';

const SECRET = 'unit-test-secret-that-is-long-enough-0123456789';
const clock = new ManualClock(Date.UTC(2026, 5, 1));
const nowS = (): number => Math.floor(clock.now() / 1000);
const claims = { roles: ['operator'], namespaces: ['team-a'] };

/** Rejects with DomainError `code` whose message matches `message`. */
async function refused(p: Promise<unknown>, code: string, message: RegExp | string): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, 'expected a refusal').toBeInstanceOf(DomainError);
  expect((e as DomainError).code).toBe(code);
  expect((e as DomainError).message).toMatch(message);
}

/** An HS256 JWT signed by hand over `header`/`payload` with `key` (for forged tokens). */
function hmacToken(header: object, payload: object, key: string | Buffer): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

describe('JwtVerifier', () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskd-jwks-'));
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let jwksFile: string;
  const opts = (o: Partial<JwtVerifierOptions> = {}): JwtVerifierOptions => ({
    hs256Secret: SECRET, jwksAlgorithms: ['RS256', 'ES256'], issuer: 'taskd', audience: ['taskd'], clockSkewMs: 30_000, clock, ...o,
  });
  const sign = (key: CryptoKey | Uint8Array, alg: string, o: { kid?: string; iss?: string; aud?: string; exp?: number; nbf?: number; sub?: string; extra?: object } = {}) => {
    const j = new SignJWT({ ...claims, ...o.extra }).setProtectedHeader({ alg, ...(o.kid ? { kid: o.kid } : {}) })
      .setIssuer(o.iss ?? 'taskd').setAudience(o.aud ?? 'taskd').setIssuedAt(nowS()).setExpirationTime(o.exp ?? nowS() + 600);
    if (o.sub !== '') j.setSubject(o.sub ?? 'alice');
    if (o.nbf !== undefined) j.setNotBefore(o.nbf);
    return j.sign(key);
  };
  const hs = new TextEncoder().encode(SECRET);

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts HS256, RS256 and ES256 tokens and reads sub, roles and namespaces', async () => {
    const v = new JwtVerifier(opts({ jwks: { file: jwksFile } }));
    const id = await v.verify(await sign(hs, 'HS256'));
    expect(id).toMatchObject({ subject: 'alice', via: 'jwt' });
    expect([...id.roles]).toEqual(['operator']);
    expect([...id.namespaces]).toEqual(['team-a']);
    expect((await v.verify(await sign(rsa.privateKey, 'RS256', { kid: 'rsa-1' }))).subject).toBe('alice');
    expect((await v.verify(await sign(ec.privateKey, 'ES256', { kid: 'ec-1' }))).subject).toBe('alice');
    const single = await v.verify(await sign(hs, 'HS256', { extra: { roles: undefined, role: 'admin', namespaces: '*' } }));
    expect([...single.roles, ...single.namespaces]).toEqual(['admin', '*']);
  });

  it('checks exp and nbf with the clock skew', async () => {
    const v = new JwtVerifier(opts());
    await refused(v.verify(await sign(hs, 'HS256', { exp: nowS() - 31 })), 'unauthenticated', 'token expired');
    expect((await v.verify(await sign(hs, 'HS256', { exp: nowS() - 20 }))).subject).toBe('alice');
    await refused(v.verify(await sign(hs, 'HS256', { nbf: nowS() + 60 })), 'unauthenticated', 'token not yet valid (nbf)');
    expect((await v.verify(await sign(hs, 'HS256', { nbf: nowS() + 20 }))).subject).toBe('alice');
  });

  it('names a wrong issuer, a wrong audience and a bad signature', async () => {
    const v = new JwtVerifier(opts());
    await refused(v.verify(await sign(hs, 'HS256', { iss: 'someone-else' })), 'unauthenticated', 'wrong issuer: expected "taskd"');
    await refused(v.verify(await sign(hs, 'HS256', { aud: 'other-app' })), 'unauthenticated', 'wrong audience: expected "taskd"');
    const other = new TextEncoder().encode('a-different-secret-also-long-enough-0123456789');
    await refused(v.verify(await sign(other, 'HS256')), 'unauthenticated', 'bad token signature');
    const jwks = new JwtVerifier(opts({ jwks: { file: jwksFile } }));
    const forged = await sign((await generateKeyPair('RS256')).privateKey, 'RS256', { kid: 'rsa-1' });
    await refused(jwks.verify(forged), 'unauthenticated', 'bad token signature');
  });

  it('refuses alg none, unsigned or not', async () => {
    const v = new JwtVerifier(opts({ jwks: { file: jwksFile } }));
    const unsecured = new UnsecuredJWT({ ...claims }).setSubject('alice').setIssuer('taskd').setAudience('taskd').setExpirationTime(nowS() + 600).encode();
    await refused(v.verify(unsecured), 'unauthenticated', 'unsigned tokens (alg "none") are refused');
    const noneWithSig = hmacToken({ alg: 'none' }, { sub: 'alice', ...claims, iss: 'taskd', aud: 'taskd', exp: nowS() + 600 }, SECRET);
    await refused(v.verify(noneWithSig), 'unauthenticated', 'unsigned tokens (alg "none") are refused');
  });

  it('refuses algorithm confusion: an HS256 token keyed with the RSA public key', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const body = { sub: 'mallory', roles: ['admin'], namespaces: ['*'], iss: 'taskd', aud: 'taskd', exp: nowS() + 600 };
    const forged = hmacToken({ alg: 'HS256', kid: 'rsa-1' }, body, pem);
    // With a JWKS only, HS256 is not an algorithm this verifier takes at all.
    await refused(new JwtVerifier(opts({ hs256Secret: undefined, jwks: { file: jwksFile } })).verify(forged), 'unauthenticated',
      'algorithm HS256 is not accepted (no HS256 secret is configured); accepted: RS256, ES256');
    // With both, HS256 is checked against the secret alone, never a JWKS key.
    await refused(new JwtVerifier(opts({ jwks: { file: jwksFile } })).verify(forged), 'unauthenticated', 'bad token signature');
    // The reverse: an RS256 token with a secret only.
    await refused(new JwtVerifier(opts()).verify(await sign(rsa.privateKey, 'RS256', { kid: 'rsa-1' })), 'unauthenticated',
      'algorithm RS256 is not accepted (no JWKS is configured); accepted: HS256');
    await refused(new JwtVerifier(opts()).verify(hmacToken({ alg: 'HS512' }, body, SECRET)), 'unauthenticated', 'algorithm HS512 is not accepted; accepted: HS256');
  });

  it('names missing or bad claims', async () => {
    const v = new JwtVerifier(opts());
    await refused(v.verify(await sign(hs, 'HS256', { sub: '' })), 'unauthenticated', 'token lacks the "sub" claim');
    await refused(v.verify(await sign(hs, 'HS256', { extra: { roles: undefined } })), 'unauthenticated', 'token carries no role');
    await refused(v.verify(await sign(hs, 'HS256', { extra: { roles: ['root'] } })), 'unauthenticated', 'unknown role "root"');
    await refused(v.verify(await sign(hs, 'HS256', { extra: { namespaces: undefined } })), 'unauthenticated', 'token carries no namespaces');
    await refused(v.verify(await sign(hs, 'HS256', { extra: { namespaces: ['Bad Name'] } })), 'unauthenticated', 'invalid namespace "Bad Name"');
    const noExp = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setIssuer('taskd').setAudience('taskd').sign(hs);
    await refused(v.verify(noExp), 'unauthenticated', 'token lacks the "exp" claim');
    await refused(v.verify('not-a-jwt'), 'unauthenticated', 'malformed token');
  });

  it('answers UNAVAILABLE when the JWKS URL cannot be fetched', async () => {
    const v = new JwtVerifier(opts({ hs256Secret: undefined, jwks: { url: 'http://127.0.0.1:1/jwks.json' } }));
    await refused(v.verify(await sign(rsa.privateKey, 'RS256', { kid: 'rsa-1' })), 'unavailable', /cannot fetch the JWKS at http:\/\/127\.0\.0\.1:1\/jwks\.json/);
  });

  it('refuses a JWKS file with private or symmetric keys', async () => {
    const priv = join(dir, 'private.json');
    const extractable = await generateKeyPair('RS256', { extractable: true });
    writeFileSync(priv, JSON.stringify({ keys: [await exportJWK(extractable.privateKey)] }));
    expect(() => new JwtVerifier(opts({ jwks: { file: priv } }))).toThrow('keys[0] is a private key');
    const oct = join(dir, 'oct.json');
    writeFileSync(oct, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    expect(() => new JwtVerifier(opts({ jwks: { file: oct } }))).toThrow('keys[0] is symmetric');
  });
});
