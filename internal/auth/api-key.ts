import type { RoleName } from './identity.js';

/** An API key as stored (never its secret; the hash stays in storage). */
export interface ApiKey {
  id: string;
  name: string;
  /** The secret's first characters, to recognise it by. */
  prefix: string;
  role: RoleName;
  /** "*" for all. */
  namespaces: string[];
  /** The creator's subject. */
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
