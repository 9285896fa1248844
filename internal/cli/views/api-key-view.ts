import type { ApiKey } from '../../../gen/taskd/v1/auth_service_pb.js';
import { Role } from '../../../gen/taskd/v1/options_pb.js';
import { renderTable } from '../table.js';
import { timeText } from './format.js';

/** A role's name in lower case: `viewer`, `admin`. */
export const roleName = (r: Role): string => (Role[r] ?? String(r)).toLowerCase();

/** API keys as a table: ID, NAME, ROLE, NAMESPACES, PREFIX, CREATED, EXPIRES, REVOKED. */
export function apiKeysTable(keys: ApiKey[]): string {
  return renderTable(
    ['ID', 'NAME', 'ROLE', 'NAMESPACES', 'PREFIX', 'CREATED', 'EXPIRES', 'REVOKED'],
    keys.map((k) => [k.id, k.name, roleName(k.role), k.namespaces.join(','), k.prefix, timeText(k.createdAt), timeText(k.expiresAt), timeText(k.revokedAt)]),
    'No API keys.',
  );
}
