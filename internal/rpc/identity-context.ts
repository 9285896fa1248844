import { createContextKey, type HandlerContext } from '@connectrpc/connect';
import type { Identity } from '../auth/identity.js';

/** Where the auth interceptor leaves the caller's identity for handlers. */
export const IDENTITY = createContextKey<Identity | undefined>(undefined, { description: 'taskd caller identity' });

/**
 * The caller of a handler. Throws when the auth interceptor did not run: a handler that
 * needs an identity must never act on its absence (fail closed).
 */
export function identityOf(ctx: HandlerContext): Identity {
  const id = ctx.values.get(IDENTITY);
  if (!id) throw new Error(`no caller identity for ${ctx.service.typeName}/${ctx.method.name}: the auth interceptor is not installed`);
  return id;
}
