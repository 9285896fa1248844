import { DomainError } from '../domain/errors.js';
import { isUuid } from '../shared/is-uuid.js';

/**
 * A request's resource id, lower-cased. Throws DomainError `invalid` naming `field`
 * (default "id") when it is empty or not a UUID.
 */
export function checkId(id: string, field = 'id'): string {
  if (!id) throw DomainError.invalid([{ field, description: 'is required' }]);
  if (!isUuid(id)) throw DomainError.invalid([{ field, description: 'must be a UUID' }]);
  return id.toLowerCase();
}
