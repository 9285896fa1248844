import { DomainError } from '../domain/errors.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/db.js';
import { apiKeyByHash } from '../storage/api-key-store.js';
import type { ApiKey } from './api-key.js';
import { apiKeyHash, apiKeyPrefixOf, isApiKeySecret } from './api-key-secret.js';
import type { Identity } from './identity.js';

/** Most lookups kept; the oldest go first beyond it. */
const MAX_ENTRIES = 10_000;

interface Entry {
  at: number;
  key: Promise<ApiKey | undefined>;
}

/**
 * Authenticates API key secrets against Postgres. Lookups (found or not) are cached for
 * `cacheMs` (monotonic), so a revoked key is refused at most `cacheMs` after the
 * revocation committed, on every process; the process that revokes forgets at once.
 * Expiry is checked on every use. Throws DomainError `unauthenticated` naming why
 * (malformed, unknown, revoked, expired).
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, Entry>();

  constructor(private readonly opts: { db: Db; cacheMs: number; clock: Clock }) {
    if (opts.cacheMs < 0) throw new Error('ApiKeyVerifier: cacheMs must be >= 0');
  }

  async verify(secret: string): Promise<Identity> {
    if (!isApiKeySecret(secret)) throw new DomainError('unauthenticated', 'malformed API key');
    const key = await this.lookup(apiKeyHash(secret));
    const shown = apiKeyPrefixOf(secret);
    if (!key) throw new DomainError('unauthenticated', `unknown API key ${shown}…`);
    if (key.revokedAt) throw new DomainError('unauthenticated', `API key ${shown}… was revoked`);
    if (key.expiresAt && key.expiresAt.getTime() <= this.opts.clock.now()) throw new DomainError('unauthenticated', `API key ${shown}… expired`);
    return { subject: `apikey:${key.id}`, roles: new Set([key.role]), namespaces: new Set(key.namespaces), via: 'api_key' };
  }

  /** Forgets every cached lookup (after a revocation on this process). */
  forget(): void {
    this.cache.clear();
  }

  private lookup(hash: string): Promise<ApiKey | undefined> {
    const now = this.opts.clock.monotonic();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < this.opts.cacheMs) return hit.key;
    const key = apiKeyByHash(this.opts.db.orm, { secretHash: hash });
    this.cache.delete(hash);
    if (this.opts.cacheMs > 0) {
      if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(hash, { at: now, key });
      // A failed lookup (database down) is not remembered.
      key.catch(() => {
        if (this.cache.get(hash)?.key === key) this.cache.delete(hash);
      });
    }
    return key;
  }
}
