import { v7 as uuidv7 } from 'uuid';
import type { ApiKey } from '../auth/api-key.js';
import { newApiKeySecret } from '../auth/api-key-secret.js';
import { isNamespaceOrAll } from '../auth/claims.js';
import {
  ALL_NAMESPACES, allowsAllNamespaces, allowsNamespace, hasRole, rankOf, type Identity, type RoleName,
} from '../auth/identity.js';
import { DomainError, type FieldViolation } from '../domain/errors.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { apiKeyInsert, apiKeyList, apiKeyRevoke } from '../storage/api-key-store.js';
import { checkId } from './check-id.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';

/** A CreateApiKey request. */
export interface ApiKeyCreateInput {
  name: string;
  /** Undefined when the request named none (or an unknown role). */
  role: RoleName | undefined;
  namespaces: string[];
  expiresAt: Date | undefined;
}

/**
 * API keys, protocol-free. A caller acts within its own reach: it creates keys only for
 * its namespaces (a `system` key needs "*") and only with a role it holds, and it lists
 * and revokes only keys whose namespaces all lie within its own — other keys are
 * `not_found`, as if they did not exist.
 */
export class ApiKeyApi {
  constructor(private readonly base: Base, private readonly opts: { db: Db; onRevoked: () => void }) {}

  /** Stores a new key and returns it with its secret, which is never shown again. */
  async create(caller: Identity, p: ApiKeyCreateInput): Promise<{ key: ApiKey; secret: string }> {
    const now = this.base.clock.now();
    const v: FieldViolation[] = [];
    if (!/^[\w .:@-]{1,128}$/.test(p.name)) v.push({ field: 'name', description: 'must be 1-128 of letters, digits, space, "_", ".", ":", "@", "-"' });
    if (!p.role) v.push({ field: 'role', description: 'is required (ROLE_VIEWER .. ROLE_ADMIN, ROLE_WORKER, ROLE_SYSTEM)' });
    if (p.namespaces.length === 0) v.push({ field: 'namespaces', description: 'must name at least one namespace ("*" for all)' });
    p.namespaces.forEach((n, i) => {
      if (!isNamespaceOrAll(n)) v.push({ field: `namespaces[${i}]`, description: 'is not a namespace name or "*"' });
    });
    if (p.expiresAt && p.expiresAt.getTime() <= now) v.push({ field: 'expires_at', description: 'must be in the future' });
    if (p.role === 'system' && !(p.namespaces.length === 1 && p.namespaces[0] === ALL_NAMESPACES)) {
      v.push({ field: 'namespaces', description: 'must be ["*"] for a system key' });
    }
    if (v.length > 0) throw DomainError.invalid(v);
    const role = p.role as RoleName;
    for (const n of p.namespaces) {
      const ok = n === ALL_NAMESPACES ? allowsAllNamespaces(caller) : allowsNamespace(caller, n);
      if (!ok) throw new DomainError('permission_denied', `namespace "${n}" is not among the credential's namespaces; a key can only be given namespaces its creator has`);
    }
    if (!mayGrant(caller, role)) throw new DomainError('permission_denied', `role ${role} is above the credential's own roles; a key can only be given a role its creator holds`);
    const s = newApiKeySecret();
    const key = await this.opts.db.tx((tx) => apiKeyInsert(tx, {
      id: uuidv7(), name: p.name, secretHash: s.hash, prefix: s.prefix, role, namespaces: [...new Set(p.namespaces)],
      createdBy: caller.subject, expiresAt: p.expiresAt ?? null, now: new Date(now),
    }));
    return { key, secret: s.secret };
  }

  /** Keys newest first, within the caller's namespaces. */
  async list(caller: Identity, p: { includeRevoked: boolean; pageSize: number; pageToken: string }): Promise<{ keys: ApiKey[]; nextPageToken: string }> {
    const limit = pageLimit(p.pageSize);
    const found = await apiKeyList(this.opts.db.orm, {
      within: within(caller), includeRevoked: p.includeRevoked, afterId: pageAfterId(p.pageToken), limit: limit + 1,
    });
    const { page, nextPageToken } = keysetPage(found, limit);
    return { keys: page, nextPageToken };
  }

  /** Revokes a key (idempotent). It stops authenticating within TASKD_AUTH_API_KEY_CACHE_MS everywhere, at once here. */
  async revoke(caller: Identity, id: string): Promise<ApiKey> {
    const key = await this.opts.db.tx((tx) => apiKeyRevoke(tx, { id: checkId(id), within: within(caller), now: new Date(this.base.clock.now()) }));
    if (!key) throw new DomainError('not_found', `api key ${id} not found`);
    this.opts.onRevoked();
    return key;
  }
}

/** The namespaces bounding what `caller` sees of keys; undefined for all. */
function within(caller: Identity): string[] | undefined {
  return allowsAllNamespaces(caller) ? undefined : [...caller.namespaces];
}

/** Viewer..admin: at most the caller's highest rank; worker and system: only if the caller holds that role or is admin. */
function mayGrant(caller: Identity, role: RoleName): boolean {
  const rank = rankOf(role);
  if (rank !== undefined) return hasRole(caller, role);
  return caller.roles.has(role) || hasRole(caller, 'admin');
}
