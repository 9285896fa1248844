import { create } from '@bufbuild/protobuf';
import { ApiKeySchema, type ApiKey as PbApiKey } from '../../../gen/taskd/v1/auth_service_pb.js';
import { Role } from '../../../gen/taskd/v1/options_pb.js';
import type { ApiKey } from '../../auth/api-key.js';
import type { RoleName } from '../../auth/identity.js';
import { timestampOf } from './json.js';

const ROLE_TO_PB: Record<RoleName, Role> = {
  viewer: Role.VIEWER, submitter: Role.SUBMITTER, operator: Role.OPERATOR, admin: Role.ADMIN, worker: Role.WORKER, system: Role.SYSTEM,
};

export const roleToPb = (r: RoleName): Role => ROLE_TO_PB[r];

/** The role name of a protobuf Role; undefined for UNSPECIFIED or unknown numbers. */
export function roleFromPb(r: Role): RoleName | undefined {
  return (Object.keys(ROLE_TO_PB) as RoleName[]).find((k) => ROLE_TO_PB[k] === r);
}

export function apiKeyToPb(k: ApiKey): PbApiKey {
  return create(ApiKeySchema, {
    id: k.id, name: k.name, role: roleToPb(k.role), namespaces: k.namespaces, prefix: k.prefix, createdBy: k.createdBy,
    createdAt: timestampOf(k.createdAt), expiresAt: timestampOf(k.expiresAt), revokedAt: timestampOf(k.revokedAt),
  });
}
