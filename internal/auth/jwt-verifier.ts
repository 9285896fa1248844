import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify,
  type JWSHeaderParameters, type JWTPayload, type FlattenedJWSInput, type CryptoKey,
} from 'jose';
import { DomainError } from '../domain/errors.js';
import type { Clock } from '../shared/clock.js';
import { identityFromClaims } from './claims.js';
import type { Identity } from './identity.js';

type KeyGetter = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/** Options of a {@link JwtVerifier}; at least one of `hs256Secret` and `jwks`. */
export interface JwtVerifierOptions {
  /** Shared secret of HS256 tokens. */
  hs256Secret?: string;
  /** Where asymmetric signing keys come from: a JWKS URL (fetched, cached) or a parsed JWKS. */
  jwks?: { url: string } | { file: string };
  /** Algorithms accepted from JWKS keys (asymmetric only), e.g. RS256, ES256. */
  jwksAlgorithms: string[];
  /** Required `iss`. */
  issuer: string;
  /** Required `aud`: one of these. */
  audience: string[];
  /** Tolerance on `exp` and `nbf`, ms. */
  clockSkewMs: number;
  clock: Clock;
}

/** A JWKS URL that could not be fetched: the server's problem, not the token's. */
class JwksUnavailable extends Error {}

/**
 * Verifies JWTs: HS256 against the configured secret, RS256/ES256 (or the configured
 * asymmetric algorithms) against a JWKS. The token's `alg` picks the verifier and each
 * verifier accepts only its own algorithms, so `alg: none` and algorithm confusion (an
 * HS256 token "signed" with an RSA public key) are refused. `iss`, `aud`, `exp` (required)
 * and `nbf` are checked with the clock skew. Throws DomainError `unauthenticated` naming
 * what is wrong, or `unavailable` when the JWKS URL cannot be fetched.
 */
export class JwtVerifier {
  private readonly secret: Uint8Array | undefined;
  private readonly jwks: KeyGetter | undefined;
  private readonly jwksUrl: string | undefined;

  constructor(private readonly opts: JwtVerifierOptions) {
    if (!opts.hs256Secret && !opts.jwks) throw new Error('JwtVerifier needs an HS256 secret or a JWKS');
    this.secret = opts.hs256Secret ? new TextEncoder().encode(opts.hs256Secret) : undefined;
    if (opts.jwks && 'url' in opts.jwks) {
      const remote = createRemoteJWKSet(new URL(opts.jwks.url), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
      this.jwksUrl = opts.jwks.url;
      this.jwks = async (h, t) => {
        try {
          return await remote(h, t);
        } catch (e) {
          if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) throw e;
          throw new JwksUnavailable((e as Error).message, { cause: e });
        }
      };
    } else if (opts.jwks) {
      this.jwks = createLocalJWKSet(readJwksFile(opts.jwks.file));
    }
  }

  /** Verifies `token` and returns the identity its claims name. */
  async verify(token: string): Promise<Identity> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw unauthenticated('malformed token: not a JWT');
    }
    const common = {
      issuer: this.opts.issuer, audience: this.opts.audience, clockTolerance: Math.floor(this.opts.clockSkewMs / 1000),
      currentDate: new Date(this.opts.clock.now()), requiredClaims: ['exp', 'sub'],
    };
    let payload: JWTPayload;
    try {
      if (!alg || alg === 'none') throw unauthenticated('unsigned tokens (alg "none") are refused');
      if (alg === 'HS256') {
        if (!this.secret) throw unauthenticated(`algorithm HS256 is not accepted (no HS256 secret is configured); accepted: ${this.accepted()}`);
        ({ payload } = await jwtVerify(token, this.secret, { ...common, algorithms: ['HS256'] }));
      } else if (this.opts.jwksAlgorithms.includes(alg)) {
        if (!this.jwks) throw unauthenticated(`algorithm ${alg} is not accepted (no JWKS is configured); accepted: ${this.accepted()}`);
        ({ payload } = await jwtVerify(token, this.jwks, { ...common, algorithms: this.opts.jwksAlgorithms }));
      } else {
        throw unauthenticated(`algorithm ${alg} is not accepted; accepted: ${this.accepted()}`);
      }
    } catch (e) {
      throw this.explain(e);
    }
    return identityFromClaims(payload);
  }

  private accepted(): string {
    return [...(this.secret ? ['HS256'] : []), ...(this.jwks ? this.opts.jwksAlgorithms : [])].join(', ');
  }

  /** The DomainError a verification failure becomes. */
  private explain(e: unknown): DomainError {
    if (e instanceof DomainError) return e;
    if (e instanceof JwksUnavailable) return new DomainError('unavailable', `cannot fetch the JWKS at ${this.jwksUrl}: ${e.message}`, [], { cause: e });
    if (e instanceof errors.JWTExpired) return unauthenticated('token expired');
    if (e instanceof errors.JWSSignatureVerificationFailed) return unauthenticated('bad token signature');
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.reason === 'missing') return unauthenticated(`token lacks the "${e.claim}" claim`);
      if (e.claim === 'iss') return unauthenticated(`wrong issuer: expected "${this.opts.issuer}"`);
      if (e.claim === 'aud') return unauthenticated(`wrong audience: expected ${this.opts.audience.map((a) => `"${a}"`).join(' or ')}`);
      if (e.claim === 'nbf') return unauthenticated('token not yet valid (nbf)');
      return unauthenticated(`invalid "${e.claim}" claim: ${e.message}`);
    }
    if (e instanceof errors.JWKSNoMatchingKey) return unauthenticated('no JWKS key matches the token (kid, alg)');
    if (e instanceof errors.JWKSMultipleMatchingKeys) return unauthenticated('several JWKS keys match the token; it must name its kid');
    if (e instanceof errors.JOSEAlgNotAllowed) return unauthenticated(`algorithm not accepted; accepted: ${this.accepted()}`);
    if (e instanceof errors.JOSEError) return unauthenticated(`malformed token: ${e.message}`);
    return unauthenticated(`token not verified: ${(e as Error).message}`);
  }
}

const unauthenticated = (message: string): DomainError => new DomainError('unauthenticated', message);

/** Reads and checks a JWKS file; throws naming the file and what is wrong. */
function readJwksFile(file: string): { keys: Record<string, unknown>[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`invalid configuration: TASKD_AUTH_JWKS_FILE ${file}: ${(e as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`invalid configuration: TASKD_AUTH_JWKS_FILE ${file}: expected {"keys": [...]} with at least one key`);
  for (const [i, k] of keys.entries()) {
    if ((k as { kty?: string }).kty === 'oct') throw new Error(`invalid configuration: TASKD_AUTH_JWKS_FILE ${file}: keys[${i}] is symmetric (kty "oct"); only public keys belong in a JWKS`);
    if ((k as { d?: string }).d !== undefined) throw new Error(`invalid configuration: TASKD_AUTH_JWKS_FILE ${file}: keys[${i}] is a private key; publish only public keys`);
  }
  return { keys: keys as Record<string, unknown>[] };
}
