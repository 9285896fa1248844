import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from '../config/config.js';
import type { WorkerStatus } from './worker.js';
import type { Metrics } from '../observability/metrics.js';

/** Readiness: ready, or why not (one line). */
export type Readiness = { ready: true; detail?: string } | { ready: false; reason: string };

/** A running health server. */
export interface HealthServer {
  /** `host:port` it listens on (the real port when 0 was asked for). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /healthz` (200 `ok` while the process runs) and `GET /readyz` (200 when
 * `readiness()` says ready, else 503 with the reason) over HTTP/1.1 on `addr`
 * (`host:port`; port 0 picks one); with `metrics`, also `GET /metrics` (Prometheus
 * text). Rejects when it cannot listen.
 */
export async function startHealthServer(addr: string, readiness: () => Readiness, metrics?: Metrics): Promise<HealthServer> {
  const { host, port } = parseHostPort(addr, 'TASKD_WORKER_HEALTH_ADDR');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed');
    if (path === '/healthz') return reply(200, 'ok');
    if (path === '/metrics' && metrics) {
      void metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        () => reply(500, 'metrics unavailable'),
      );
      return;
    }
    if (path !== '/readyz') return reply(404, 'not found');
    const r = readiness();
    return r.ready ? reply(200, r.detail ? `ok: ${r.detail}` : 'ok') : reply(503, r.reason);
  });
  await listen(server, host, port);
  const a = server.address() as AddressInfo;
  return {
    address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Readiness of a worker: ready while a leader has welcomed it and it is not draining. */
export function workerReadiness(status: WorkerStatus): Readiness {
  if (status.draining) return { ready: false, reason: 'draining' };
  if (!status.connected) return { ready: false, reason: 'not connected to a scheduler leader' };
  return { ready: true, detail: `leader ${status.leader ?? ''} epoch ${status.epoch ?? 0}` };
}
