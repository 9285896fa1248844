import { DomainError } from '../domain/errors.js';
import { API_KEY_PREFIX } from './api-key-secret.js';
import type { ApiKeyVerifier } from './api-key-verifier.js';
import { ANONYMOUS, type Identity } from './identity.js';
import type { JwtVerifier } from './jwt-verifier.js';

/**
 * Establishes who sent a request from its headers: `authorization: Bearer <JWT>`,
 * `authorization: Bearer tdk_…` or `x-api-key: tdk_…` (an API key). Without verifiers
 * (authentication off, loopback only) everyone is {@link ANONYMOUS}. Throws DomainError
 * `unauthenticated` naming why a request is not authenticated.
 */
export class Authenticator {
  constructor(private readonly opts: { jwt?: JwtVerifier; apiKeys?: ApiKeyVerifier }) {}

  /** True when credentials are required. */
  get enabled(): boolean {
    return !!this.opts.jwt;
  }

  /** The API key verifier, to forget cached lookups after a revocation. */
  get apiKeys(): ApiKeyVerifier | undefined {
    return this.opts.apiKeys;
  }

  async authenticate(headers: Headers): Promise<Identity> {
    if (!this.enabled) return ANONYMOUS;
    const apiKey = headers.get('x-api-key');
    const authorization = headers.get('authorization');
    if (apiKey !== null && authorization !== null) throw unauthenticated('send one credential: authorization or x-api-key, not both');
    if (apiKey !== null) return this.viaApiKey(apiKey.trim());
    if (authorization === null) throw unauthenticated('missing credentials: send "authorization: Bearer <token>" or "x-api-key: <key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthenticated('the authorization header must be "Bearer <token>"');
    const credential = m[1] as string;
    if (credential.startsWith(API_KEY_PREFIX)) return this.viaApiKey(credential);
    return (this.opts.jwt as JwtVerifier).verify(credential);
  }

  private viaApiKey(secret: string): Promise<Identity> {
    if (!this.opts.apiKeys) throw unauthenticated('API keys are not accepted by this process');
    return this.opts.apiKeys.verify(secret);
  }
}

const unauthenticated = (message: string): DomainError => new DomainError('unauthenticated', message);
