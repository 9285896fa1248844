import type { Interceptor } from '@connectrpc/connect';
import type { Metrics } from '../observability/metrics.js';
import { onRpcEnd } from './rpc-end.js';

/**
 * Counts every RPC by service, method and gRPC code (`taskd_rpc_requests_total`) and
 * times unary ones (`taskd_rpc_duration_seconds`). Outside the error interceptor, so it
 * sees the code the client gets, REST calls included (the gateway dispatches into the
 * same handlers). A stream counts once it ends, with the code it ended with.
 */
export function metricsInterceptor(metrics: Metrics): Interceptor {
  return (next) => (req) => {
    const labels = { service: req.service.typeName, method: req.method.name };
    const start = performance.now();
    return onRpcEnd(() => next(req), (code) => {
      metrics.rpcRequests.inc({ ...labels, code });
      if (!req.stream) metrics.rpcDuration.observe(labels, (performance.now() - start) / 1000);
    });
  };
}
