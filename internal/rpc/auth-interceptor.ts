import type { DescMessage, Message } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import type { Authenticator } from '../auth/authenticator.js';
import { allowsAllNamespaces, allowsNamespace, hasRole, type Identity } from '../auth/identity.js';
import { DomainError } from '../domain/errors.js';
import { IDENTITY } from './identity-context.js';
import { fieldAt, methodAccess, requestNamespaces, type MethodAccess } from './method-access.js';

/**
 * Authentication and authorization of every RPC, on every transport (gRPC, gRPC-Web,
 * Connect, and the REST gateway, which dispatches through the same interceptors):
 *
 * 1. Who: {@link Authenticator} from the request headers (UNAUTHENTICATED naming why).
 * 2. May it call this method: the method's `required_role` proto option; a taskd method
 *    without one is refused, gRPC reflection needs only an identity (PERMISSION_DENIED
 *    naming the role needed).
 * 3. May it act in the namespaces the request names (each message of a stream too): for
 *    a method on one resource a namespace outside the caller's is NOT_FOUND with the
 *    message a missing id gets, so existence never leaks; for the others PERMISSION_DENIED
 *    naming the namespace.
 *
 * The identity is left in the handler context ({@link IDENTITY}).
 */
export function authInterceptor(auth: Authenticator): Interceptor {
  return (next) => async (req) => {
    const identity = await auth.authenticate(req.header);
    const access = methodAccess(req.method);
    authorize(identity, access);
    req.contextValues.set(IDENTITY, identity);
    const input = req.method.input;
    if (!req.stream) {
      guardNamespaces(identity, access, input, req.message);
      return next(req);
    }
    return next({ ...req, message: guarded(req.message, identity, access, input) });
  };
}

/** Throws `permission_denied` unless `identity` holds the role `access` requires. */
export function authorize(identity: Identity, access: MethodAccess): void {
  if (access.role === 'authenticated') return;
  if (access.role === 'refused') {
    throw new DomainError('permission_denied', `${access.name} declares no required_role; it is refused to everyone`);
  }
  if (!hasRole(identity, access.role)) {
    throw new DomainError('permission_denied', `${access.name} requires role ${access.role}; the credential has ${[...identity.roles].join(', ') || 'none'}`);
  }
  // The link carries hints about any task (cancel this attempt): only a caller of every namespace.
  if (access.role === 'system' && !allowsAllNamespaces(identity)) {
    throw new DomainError('permission_denied', `${access.name} requires role system with namespaces "*"`);
  }
}

/** Throws unless every namespace `msg` names is the caller's (see {@link authInterceptor}). */
export function guardNamespaces(identity: Identity, access: MethodAccess, desc: DescMessage, msg: Message): void {
  for (const ns of requestNamespaces(desc, msg)) {
    if (allowsNamespace(identity, ns)) continue;
    if (access.byId) throw new DomainError('not_found', `${access.byId.noun} ${fieldAt(msg, access.byId.path)} not found`);
    throw new DomainError('permission_denied', `namespace "${ns}" is not among the credential's namespaces`);
  }
}

async function* guarded<I extends Message>(messages: AsyncIterable<I>, identity: Identity, access: MethodAccess, desc: DescMessage): AsyncIterable<I> {
  for await (const m of messages) {
    guardNamespaces(identity, access, desc, m);
    yield m;
  }
}
