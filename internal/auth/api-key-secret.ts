import { createHash, randomBytes } from 'node:crypto';

/** Every API key secret starts with this, so a leaked one is recognisable (and scannable). */
export const API_KEY_PREFIX = 'tdk_';

/** How many characters of a secret are kept (and shown) to recognise the key by. */
const SHOWN = API_KEY_PREFIX.length + 8;

/** A new secret: the prefix and 32 random bytes, base64url (256 bits of entropy). */
export function newApiKeySecret(): { secret: string; hash: string; prefix: string } {
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { secret, hash: apiKeyHash(secret), prefix: secret.slice(0, SHOWN) };
}

/**
 * The stored form of a secret: SHA-256, hex. A fast hash is right here: the secret is
 * 256 random bits, so there is nothing to brute-force that a slow hash would protect.
 */
export function apiKeyHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** True when `s` looks like an API key secret (prefix and 43 base64url characters). */
export function isApiKeySecret(s: string): boolean {
  return s.startsWith(API_KEY_PREFIX) && /^[A-Za-z0-9_-]{43}$/.test(s.slice(API_KEY_PREFIX.length));
}

/** The recognisable start of a secret, for messages and listings. */
export function apiKeyPrefixOf(secret: string): string {
  return secret.slice(0, SHOWN);
}
