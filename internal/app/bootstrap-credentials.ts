import { ApiKeyApi } from '../api/api-key-api.js';
import type { Config } from '../config/config.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import type { ApiKey } from '../auth/api-key.js';
import { isNamespaceOrAll } from '../auth/claims.js';
import { ALL_NAMESPACES, isRoleName, ROLE_NAMES, type Identity, type RoleName } from '../auth/identity.js';
import { mintToken } from '../auth/mint-token.js';

/** What `npm run token` was asked for. */
export interface BootstrapRequest {
  role: string;
  /** Comma-separated; "*" for all. */
  namespaces: string;
  subject: string;
  /** e.g. 30m, 24h, 30d. */
  ttl: string;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `24h`, `30d` in ms; throws naming the flag. */
export function parseTtl(text: string, flag = '--ttl'): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`${flag}: "${text}" is not a duration like 30m, 24h or 30d`);
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

function checked(p: BootstrapRequest): { role: RoleName; namespaces: string[] } {
  if (!isRoleName(p.role)) throw new Error(`--role: "${p.role}" is not a role; one of ${ROLE_NAMES.join(', ')}`);
  const namespaces = p.namespaces.split(',').map((s) => s.trim()).filter(Boolean);
  if (namespaces.length === 0) throw new Error('--namespaces: name at least one namespace, or "*" for all');
  for (const n of namespaces) if (!isNamespaceOrAll(n)) throw new Error(`--namespaces: "${n}" is not a namespace name or "*"`);
  return { role: p.role, namespaces };
}

/**
 * Mints an HS256 JWT with the configured secret, issuer and (first) audience. Throws
 * when TASKD_AUTH_HS256_SECRET is not set or the request is malformed.
 */
export async function bootstrapToken(config: Config, p: BootstrapRequest, nowMs: number): Promise<string> {
  if (!config.TASKD_AUTH_HS256_SECRET) throw new Error('TASKD_AUTH_HS256_SECRET is not set: tokens can only be minted with the HS256 secret (or use --api-key)');
  const { role, namespaces } = checked(p);
  return mintToken({
    secret: config.TASKD_AUTH_HS256_SECRET, issuer: config.TASKD_AUTH_ISSUER, audience: config.TASKD_AUTH_AUDIENCE[0] as string,
    subject: p.subject, roles: [role], namespaces, ttlMs: parseTtl(p.ttl), nowMs,
  });
}

/**
 * Creates an API key straight in Postgres (no server, no credential: whoever holds the
 * database URL is already trusted with everything). `--ttl` becomes its expiry.
 */
export async function bootstrapApiKey(base: Base, db: Db, p: BootstrapRequest & { name: string }): Promise<{ key: ApiKey; secret: string }> {
  const { role, namespaces } = checked(p);
  const operator: Identity = {
    subject: `offline:${p.subject}`, roles: new Set(ROLE_NAMES), namespaces: new Set([ALL_NAMESPACES]), via: 'anonymous',
  };
  const api = new ApiKeyApi(base, { db, onRevoked: () => {} });
  return api.create(operator, { name: p.name, role, namespaces, expiresAt: new Date(base.clock.now() + parseTtl(p.ttl)) });
}
