/**
 * Who a request comes from, as authentication established it, and what that allows.
 *
 * Roles (docs/auth.md): viewer < submitter < operator < admin along the API, each
 * including the ones before it; `worker` (connects a worker stream) and `system`
 * (taskd's own processes: the apiserver-to-scheduler link) stand apart and include
 * nothing else. Namespaces bound every resource an identity may see or change; "*"
 * means all of them.
 */
export const ROLE_NAMES = ['viewer', 'submitter', 'operator', 'admin', 'worker', 'system'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** Rank along the API hierarchy; worker and system are outside it. */
const RANK: Partial<Record<RoleName, number>> = { viewer: 1, submitter: 2, operator: 3, admin: 4 };

/** All namespaces. */
export const ALL_NAMESPACES = '*';

export interface Identity {
  /** The JWT `sub`, `apikey:<id>` for an API key, `anonymous` without authentication. */
  subject: string;
  roles: ReadonlySet<RoleName>;
  /** The namespaces it may act in; contains "*" for all. */
  namespaces: ReadonlySet<string>;
  /** How it was established. */
  via: 'jwt' | 'api_key' | 'anonymous';
}

/** True when `s` names a role. */
export function isRoleName(s: string): s is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(s);
}

/**
 * True when `id` holds `required`: for viewer..admin any role of at least that rank;
 * for worker and system that very role.
 */
export function hasRole(id: Identity, required: RoleName): boolean {
  const need = RANK[required];
  if (need === undefined) return id.roles.has(required);
  for (const r of id.roles) if ((RANK[r] ?? 0) >= need) return true;
  return false;
}

/** The rank of `role` along the API hierarchy (viewer 1 .. admin 4); undefined for worker and system. */
export function rankOf(role: RoleName): number | undefined {
  return RANK[role];
}

/** True when `id` may act in namespace `ns`. */
export function allowsNamespace(id: Identity, ns: string): boolean {
  return id.namespaces.has(ALL_NAMESPACES) || id.namespaces.has(ns);
}

/** True when `id` may act in every namespace. */
export function allowsAllNamespaces(id: Identity): boolean {
  return id.namespaces.has(ALL_NAMESPACES);
}

/** The identity of a process running without authentication (loopback only): everything. */
export const ANONYMOUS: Identity = Object.freeze({
  subject: 'anonymous',
  roles: new Set<RoleName>(ROLE_NAMES),
  namespaces: new Set([ALL_NAMESPACES]),
  via: 'anonymous' as const,
});
