import { parseHostPort, type Config } from '../config/config.js';
import { registerReflection } from '../rpc/reflection/reflection-service.js';
import { RpcServer } from '../rpc/server.js';
import type { Base } from '../shared/base.js';
import type { Role } from './roles.js';
import type { RpcEdge } from './rpc-edge.js';

/**
 * Serves `roles` on TASKD_ADDR until `signal` aborts, then shuts down in order: stop
 * accepting, settle every role's run(), and only then return so the caller closes pools.
 * `edge`: authentication, authorization and limits for every RPC (internal/app/rpc-edge.ts).
 */
export async function serveRoles(
  base: Base, config: Config, roles: Role[], edge: Pick<RpcEdge, 'interceptors' | 'authenticateHttp'>, signal: AbortSignal,
  onListening?: (addr: string) => void,
): Promise<void> {
  const { host, port } = parseHostPort(config.TASKD_ADDR);
  const server = new RpcServer({
    host, port, logger: base.logger, readMaxBytes: config.TASKD_MAX_REQUEST_BYTES,
    interceptors: edge.interceptors, authenticateHttp: edge.authenticateHttp, metrics: base.metrics,
    routes: (r) => {
      roles.forEach((role) => role.routes(r));
      // Last, so it describes exactly what the roles registered.
      registerReflection(r);
    },
    readiness: async () => {
      const details = await Promise.all(roles.map((r) => r.readiness()));
      const detail = Object.assign({}, ...details) as Record<string, unknown>;
      return { ready: detail.postgres !== false, detail };
    },
  });
  const addr = await server.listen();
  base.logger.info({ addr }, 'listening');
  onListening?.(addr);
  const running = roles.map((r) => r.run(signal));
  await Promise.all(running);
  await server.close();
}
