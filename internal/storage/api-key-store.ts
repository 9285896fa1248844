import { sql } from 'drizzle-orm';
import type { ApiKey } from '../auth/api-key.js';
import type { RoleName } from '../auth/identity.js';
import { rows, type Executor } from './db.js';
import { toPgArray } from './task-store.js';

interface ApiKeyRow {
  id: string; name: string; prefix: string; role: RoleName; namespaces: string[]; created_by: string;
  created_at: Date | string; expires_at: Date | string | null; revoked_at: Date | string | null;
}

const COLUMNS = sql`id, name, prefix, role, namespaces, created_by, created_at, expires_at, revoked_at`;
const dateOrNull = (d: Date | string | null): Date | null => (d === null ? null : new Date(d));

function apiKeyFromRow(r: ApiKeyRow): ApiKey {
  return {
    id: r.id, name: r.name, prefix: r.prefix, role: r.role, namespaces: r.namespaces, createdBy: r.created_by,
    createdAt: new Date(r.created_at), expiresAt: dateOrNull(r.expires_at), revokedAt: dateOrNull(r.revoked_at),
  };
}

/** Inserts a key; only the secret's hash is stored. */
export async function apiKeyInsert(
  ex: Executor,
  p: { id: string; name: string; secretHash: string; prefix: string; role: RoleName; namespaces: string[]; createdBy: string; expiresAt: Date | null; now: Date },
): Promise<ApiKey> {
  const [r] = await rows<ApiKeyRow>(
    ex,
    sql`insert into api_keys (id, name, secret_hash, prefix, role, namespaces, created_by, created_at, expires_at)
        values (${p.id}, ${p.name}, ${p.secretHash}, ${p.prefix}, ${p.role}, ${toPgArray(p.namespaces)}::text[], ${p.createdBy},
          ${p.now}, ${p.expiresAt})
        returning ${COLUMNS}`,
  );
  return apiKeyFromRow(r as ApiKeyRow);
}

/** The key whose secret hashes to `secretHash`, revoked or expired ones included; undefined when none. */
export async function apiKeyByHash(ex: Executor, p: { secretHash: string }): Promise<ApiKey | undefined> {
  const [r] = await rows<ApiKeyRow>(ex, sql`select ${COLUMNS} from api_keys where secret_hash = ${p.secretHash}`);
  return r && apiKeyFromRow(r);
}

/**
 * Keys newest first (ids are UUIDv7). `within`: only keys whose namespaces all lie in
 * it (undefined: every key), so a caller never learns of keys beyond its namespaces.
 */
export async function apiKeyList(
  ex: Executor,
  p: { within?: string[]; includeRevoked: boolean; afterId?: string; limit: number },
): Promise<ApiKey[]> {
  const conds = [sql`true`];
  if (p.within) conds.push(sql`namespaces <@ ${toPgArray(p.within)}::text[]`);
  if (!p.includeRevoked) conds.push(sql`revoked_at is null`);
  if (p.afterId) conds.push(sql`id < ${p.afterId}`);
  const r = await rows<ApiKeyRow>(
    ex,
    sql`select ${COLUMNS} from api_keys where ${sql.join(conds, sql` and `)} order by id desc limit ${p.limit}`,
  );
  return r.map(apiKeyFromRow);
}

/**
 * Revokes key `id` (the first revocation's time is kept) and returns it; undefined when
 * there is no such key within `within` (undefined: any key).
 */
export async function apiKeyRevoke(ex: Executor, p: { id: string; within?: string[]; now: Date }): Promise<ApiKey | undefined> {
  const scope = p.within ? sql`and namespaces <@ ${toPgArray(p.within)}::text[]` : sql``;
  const [r] = await rows<ApiKeyRow>(
    ex,
    sql`update api_keys set revoked_at = coalesce(revoked_at, ${p.now}) where id = ${p.id} ${scope} returning ${COLUMNS}`,
  );
  return r && apiKeyFromRow(r);
}
