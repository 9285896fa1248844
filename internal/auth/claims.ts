import type { JWTPayload } from 'jose';
import { DomainError } from '../domain/errors.js';
import { ALL_NAMESPACES, isRoleName, type Identity, type RoleName } from './identity.js';

/** A namespace name as tasks carry it, or "*". */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** True when `ns` is a namespace name or "*". */
export function isNamespaceOrAll(ns: string): boolean {
  return ns === ALL_NAMESPACES || NAMESPACE_PATTERN.test(ns);
}

/**
 * The identity of a verified JWT: `sub`; roles from `role` (a string) and/or `roles`
 * (an array) by name ("admin", "worker", …); `namespaces` (an array, or one string; "*"
 * for all). Throws DomainError `unauthenticated` naming the claim that is missing or bad.
 */
export function identityFromClaims(p: JWTPayload): Identity {
  const bad = (m: string): DomainError => new DomainError('unauthenticated', m);
  if (typeof p.sub !== 'string' || p.sub === '') throw bad('token lacks the "sub" claim');
  const roles = new Set<RoleName>();
  const named = [...(p.role === undefined ? [] : [p.role]), ...(Array.isArray(p.roles) ? p.roles : p.roles === undefined ? [] : [p.roles])];
  for (const r of named) {
    if (typeof r !== 'string' || !isRoleName(r)) throw bad(`unknown role ${JSON.stringify(r)} in the token; roles are viewer, submitter, operator, admin, worker, system`);
    roles.add(r);
  }
  if (roles.size === 0) throw bad('token carries no role (claim "role" or "roles")');
  const ns = p.namespaces;
  const list = typeof ns === 'string' ? [ns] : Array.isArray(ns) ? ns : undefined;
  if (!list || list.length === 0) throw bad('token carries no namespaces (claim "namespaces": an array, "*" for all)');
  for (const n of list) {
    if (typeof n !== 'string' || !isNamespaceOrAll(n)) throw bad(`invalid namespace ${JSON.stringify(n)} in the token`);
  }
  return { subject: p.sub, roles, namespaces: new Set(list as string[]), via: 'jwt' };
}
