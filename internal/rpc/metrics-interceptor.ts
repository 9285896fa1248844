import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Metrics } from '../observability/metrics.js';

/**
 * Counts every RPC by service, method and gRPC code (`taskd_rpc_requests_total`) and
 * times unary ones (`taskd_rpc_duration_seconds`). Outermost, so it sees the code the
 * client gets, REST calls included (the gateway dispatches into the same handlers).
 * A stream counts once it ends, with the code it ended with.
 */
export function metricsInterceptor(metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const labels = { service: req.service.typeName, method: req.method.name };
    const start = performance.now();
    const count = (code: string): void => metrics.rpcRequests.inc({ ...labels, code });
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (e) {
      count(codeName(e));
      if (!req.stream) metrics.rpcDuration.observe(labels, (performance.now() - start) / 1000);
      throw e;
    }
    if (!res.stream) {
      count('OK');
      metrics.rpcDuration.observe(labels, (performance.now() - start) / 1000);
      return res;
    }
    return { ...res, message: counted(res.message, count) };
  };
}

/** Passes `messages` through; counts the stream's end: OK, the code it failed with, or CANCELLED when the client left. */
async function* counted<T>(messages: AsyncIterable<T>, count: (code: string) => void): AsyncIterable<T> {
  let code = 'CANCELLED';
  try {
    yield* messages;
    code = 'OK';
  } catch (e) {
    code = codeName(e);
    throw e;
  } finally {
    count(code);
  }
}

/** The canonical gRPC code name (OK, INVALID_ARGUMENT, …) of what a call threw. */
export function codeName(e: unknown): string {
  const code = e instanceof ConnectError ? e.code : Code.Unknown;
  return (Code[code] ?? 'Unknown').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}
