import { SignJWT } from 'jose';
import type { RoleName } from './identity.js';

/** What a minted token says and how long it lives. */
export interface MintParams {
  /** HS256 secret (TASKD_AUTH_HS256_SECRET). */
  secret: string;
  issuer: string;
  audience: string;
  subject: string;
  roles: RoleName[];
  /** "*" for all. */
  namespaces: string[];
  ttlMs: number;
  /** Issue time, ms since the epoch. */
  nowMs: number;
}

/**
 * Signs an HS256 JWT that taskd's verifier accepts: `sub`, `roles`, `namespaces`, `iss`,
 * `aud`, `iat` and `exp` (iat + ttl). For bootstrap (`npm run token`), the apiserver's
 * SYSTEM link and the embedded worker. Throws when ttlMs is not positive.
 */
export async function mintToken(p: MintParams): Promise<string> {
  if (!(p.ttlMs > 0)) throw new Error(`mintToken: ttlMs must be positive, got ${p.ttlMs}`);
  const iat = Math.floor(p.nowMs / 1000);
  return new SignJWT({ roles: p.roles, namespaces: p.namespaces })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(p.subject)
    .setIssuer(p.issuer)
    .setAudience(p.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(p.ttlMs / 1000))
    .sign(new TextEncoder().encode(p.secret));
}

/**
 * A credential that renews itself: a fixed token when one is configured, else HS256
 * tokens minted for `ttlMs` and re-minted once half their life has passed.
 */
export class TokenSource {
  private cached: { token: string; renewAt: number } | undefined;

  constructor(private readonly opts: { fixed?: string; mint?: Omit<MintParams, 'nowMs'>; now: () => number }) {}

  /** True when there is a credential to send. */
  get configured(): boolean {
    return !!(this.opts.fixed || this.opts.mint);
  }

  /** The credential now, or undefined when none is configured. */
  async token(): Promise<string | undefined> {
    if (this.opts.fixed) return this.opts.fixed;
    if (!this.opts.mint) return undefined;
    const now = this.opts.now();
    if (!this.cached || now >= this.cached.renewAt) {
      this.cached = { token: await mintToken({ ...this.opts.mint, nowMs: now }), renewAt: now + this.opts.mint.ttlMs / 2 };
    }
    return this.cached.token;
  }
}
