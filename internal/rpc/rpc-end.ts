import { Code, ConnectError, type StreamResponse, type UnaryResponse } from '@connectrpc/connect';

/** Runs `f` in some context (a trace span's); default: as it is. */
export type Within = <T>(f: () => T) => T;

const asIs: Within = (f) => f();

/**
 * Runs `call` (the rest of an interceptor chain) and tells `ended` exactly once the code
 * the client gets, as a gRPC code name: a unary RPC when it answers or throws; a stream
 * when its messages end (OK), fail (their code) or the client leaves (CANCELLED). Each
 * step of a stream runs `within` (so a streaming handler's body runs in a span's context).
 */
export async function onRpcEnd<R extends UnaryResponse | StreamResponse>(
  call: () => Promise<R>, ended: (code: string) => void, within: Within = asIs,
): Promise<R> {
  let res: R;
  try {
    res = await call();
  } catch (e) {
    ended(codeName(e));
    throw e;
  }
  if (!res.stream) {
    ended('OK');
    return res;
  }
  return { ...res, message: untilEnd(res.message, ended, within) };
}

async function* untilEnd<T>(messages: AsyncIterable<T>, ended: (code: string) => void, within: Within): AsyncIterable<T> {
  const it = messages[Symbol.asyncIterator]();
  // A stream the client abandons ends without an error reaching here: CANCELLED.
  let code = 'CANCELLED';
  try {
    for (;;) {
      const r = await within(() => it.next());
      if (r.done) break;
      yield r.value;
    }
    code = 'OK';
  } catch (e) {
    code = codeName(e);
    throw e;
  } finally {
    if (code === 'CANCELLED') await it.return?.();
    ended(code);
  }
}

/** The canonical gRPC code name (OK, INVALID_ARGUMENT, …) of what a call threw. */
export function codeName(e: unknown): string {
  const code = e instanceof ConnectError ? e.code : Code.Unknown;
  return (Code[code] ?? 'Unknown').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}
