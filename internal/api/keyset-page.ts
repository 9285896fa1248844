import { DomainError } from '../domain/errors.js';
import { isUuid } from '../shared/is-uuid.js';

/** Page size when the request names none. */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest page size a request may ask for. */
export const MAX_PAGE_SIZE = 1000;

/**
 * The page size of a request: `pageSize`, or {@link DEFAULT_PAGE_SIZE} when 0. Throws
 * DomainError `invalid` naming `page_size` outside 1..{@link MAX_PAGE_SIZE}.
 */
export function pageLimit(pageSize: number): number {
  const limit = pageSize || DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw DomainError.invalid([{ field: 'page_size', description: `must be from 1 to ${MAX_PAGE_SIZE}` }]);
  }
  return limit;
}

/**
 * The keyset cursor inside an opaque page token (the last id of the previous page), or
 * undefined for the first page. Throws DomainError `invalid` naming `page_token` for a
 * token this server did not issue.
 */
export function pageAfterId(pageToken: string): string | undefined {
  if (!pageToken) return undefined;
  const id = Buffer.from(pageToken, 'base64url').toString();
  if (!isUuid(id)) throw DomainError.invalid([{ field: 'page_token', description: 'is not a token this server issued' }]);
  return id;
}

/**
 * Cuts `items` — fetched with `limit + 1` rows, in listing order — to one page, and
 * issues the token of the next page (empty on the last page).
 */
export function keysetPage<T extends { id: string }>(items: T[], limit: number): { page: T[]; nextPageToken: string } {
  const more = items.length > limit;
  const page = more ? items.slice(0, limit) : items;
  const last = page[page.length - 1];
  return { page, nextPageToken: more && last ? Buffer.from(last.id).toString('base64url') : '' };
}
