import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectRouter, Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { createServer, type Server } from '@httptoolkit/httpolyglot';
import type { Logger } from '../shared/logger.js';
import { errorInterceptor } from './error-interceptor.js';
import { metricsInterceptor } from './metrics-interceptor.js';
import type { Metrics } from '../observability/metrics.js';
import { openApiDocument } from './rest/openapi-file.js';
import { RestGateway } from './rest/rest-gateway.js';
import { newRequestId, REQUEST_ID_HEADER, saneRequestId } from './request-context.js';
import { requestInterceptor } from './request-interceptor.js';
import { traceInterceptor } from './trace-interceptor.js';

/** Readiness as a process reports it on /readyz. */
export interface Readiness {
  ready: boolean;
  /** Shown in the body: each dependency's state, the scheduler's role. */
  detail: Record<string, unknown>;
}

export interface RpcServerOptions {
  host: string;
  port: number;
  logger: Logger;
  routes: (router: ConnectRouter) => void;
  readiness: () => Promise<Readiness>;
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /**
   * Interceptors inside the error interceptor, outermost first: authentication and
   * authorization, then limits (internal/app/rpc-edge.ts). Default none.
   */
  interceptors?: Interceptor[];
  /**
   * Checks the credentials of plain HTTP resources other than /healthz and /readyz (e.g.
   * /openapi.json): resolves when admitted, rejects with the reason otherwise (answered
   * 401). Default: everyone is admitted.
   */
  authenticateHttp?: (headers: Headers) => Promise<void>;
  /**
   * The process's metrics: every RPC is counted and timed, and GET /metrics serves them
   * (unauthenticated, like the probes; it shows counts, never task data). Default: no
   * /metrics.
   */
  metrics?: Metrics;
}

/**
 * One port for everything: gRPC, gRPC-Web and Connect over HTTP/2 (h2c) and HTTP/1.1
 * alike (plain curl works), plus `/healthz` (alive) and `/readyz` (dependencies). Bytes
 * that are no protocol at all get the connection closed; the server keeps serving.
 */
export class RpcServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** REST routes from the protos' google.api.http options, dispatched into the same router as Connect. */
  readonly gateway: RestGateway;
  /** Every interceptor RPCs pass, outermost first; a gateway dispatching RPCs must use the same. */
  readonly interceptors: Interceptor[];

  constructor(private readonly opts: RpcServerOptions) {
    this.interceptors = [
      traceInterceptor(), requestInterceptor(opts.logger),
      ...(opts.metrics ? [metricsInterceptor(opts.metrics)] : []), errorInterceptor(opts.logger), ...(opts.interceptors ?? []),
    ];
    const built: { router?: ConnectRouter } = {};
    const adapter = connectNodeAdapter({
      routes: (r) => {
        opts.routes(r);
        built.router = r;
      },
      // What no Connect or gRPC method claims goes to the REST gateway.
      fallback: (req, res) => void this.gateway.handle(req as IncomingMessage, res as ServerResponse),
      interceptors: this.interceptors,
      readMaxBytes: opts.readMaxBytes,
      // Connect's own JSON parsing: unknown fields are errors, so typos are answered.
      jsonOptions: { ignoreUnknownFields: false },
    });
    this.gateway = new RestGateway({ handlers: built.router?.handlers ?? [], readMaxBytes: opts.readMaxBytes, logger: opts.logger });
    this.server = createServer((req, res) => void this.handle(req, res, adapter));
    this.server.on('connection', (s: Socket) => {
      // Small frames (acks, assignments) must not wait on Nagle + delayed ACK (~40 ms).
      s.setNoDelay(true);
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    });
    this.server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
  }

  /** Listens; resolves with the bound address as "host:port". */
  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a));
      });
    });
  }

  /** Stops accepting, gives open streams `graceMs` to end, then cuts them. */
  async close(graceMs = 2_000): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    adapter: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      const r = await this.opts.readiness().catch((e: Error) => ({ ready: false, detail: { error: e.message } }));
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ready: r.ready, ...r.detail })}\n`);
      return;
    }
    if (req.method === 'GET' && path === '/metrics' && this.opts.metrics) {
      const metrics = this.opts.metrics;
      const text = await metrics.scrape().catch((e: Error) => {
        this.opts.logger.error({ err: e }, 'metrics scrape failed');
        return undefined;
      });
      if (text === undefined) res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      else res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
      return;
    }
    // Every request past the probes gets its correlation id here, so it is echoed whatever
    // the protocol and outcome; the request interceptor reads it back from the header.
    const requestId = saneRequestId(req.headers[REQUEST_ID_HEADER] as string | undefined) ?? newRequestId();
    req.headers[REQUEST_ID_HEADER] = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    if (req.method === 'GET' && path === '/openapi.json') {
      if (!(await this.authorizeHttp(req, res))) return;
      const doc = await openApiDocument().catch((e: Error) => {
        this.opts.logger.error({ err: e }, 'gen/openapi.json unreadable');
        return undefined;
      });
      if (doc) res.writeHead(200, { 'content-type': 'application/json' }).end(doc);
      else res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":13,"message":"internal error","details":[]}');
      return;
    }
    adapter(req, res);
  }

  /**
   * For plain HTTP resources beyond health (e.g. /openapi.json): true when the request's
   * credentials pass `authenticateHttp`; otherwise answers 401 with the reason and
   * returns false.
   */
  async authorizeHttp(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (!this.opts.authenticateHttp) return true;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    try {
      await this.opts.authenticateHttp(headers);
      return true;
    } catch (e) {
      const unavailable = (e as { code?: string }).code === 'unavailable';
      res.writeHead(unavailable ? 503 : 401, { 'content-type': 'application/json', ...(unavailable ? {} : { 'www-authenticate': 'Bearer' }) })
        .end(`${JSON.stringify({ code: unavailable ? 'unavailable' : 'unauthenticated', message: (e as Error).message })}\n`);
      return false;
    }
  }
}
