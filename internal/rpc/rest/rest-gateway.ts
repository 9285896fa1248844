import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  create, createRegistry, toJson, type DescFile, type DescMethodStreaming, type DescMethodUnary, type JsonObject, type JsonValue,
  type Message, type Registry,
} from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { Code, ConnectError, type ContextValues, type Transport } from '@connectrpc/connect';
import { createAsyncIterable, type UniversalClientFn, type UniversalHandler } from '@connectrpc/connect/protocol';
import { createTransport } from '@connectrpc/connect/protocol-connect';
import { file_google_rpc_error_details } from '../../../gen/google/rpc/error_details_pb.js';
import type { Logger } from '../../shared/logger.js';
import { toConnectError } from '../error-interceptor.js';
import { httpBindings, type HttpBinding } from './http-bindings.js';
import { forwardedRequestHeaders, NDJSON, readBody, returnedHeaders, sendJson, writeChunk } from './http-io.js';
import { requestMessage } from './request-message.js';
import { httpStatusOf, statusJson } from './rest-status.js';

export interface RestGatewayOptions {
  /**
   * The handlers of the Connect router that serves gRPC and Connect on the same port.
   * Every REST call goes through one of them, so it meets the same interceptors, limits
   * and options as a Connect call.
   */
  handlers: readonly UniversalHandler[];
  /** Largest request body accepted, in bytes; larger is answered 413. */
  readMaxBytes: number;
  logger: Logger;
  /** The context values the Node adapter gives Connect handlers, if it gives any. */
  contextValues?: (req: IncomingMessage) => ContextValues;
}

interface Route {
  binding: HttpBinding;
  handler: UniversalHandler;
}

type Match = { route: Route; params: Map<string, string> } | { allowed: string[] } | undefined;

const BIG = Number.MAX_SAFE_INTEGER;

/**
 * The REST gateway: routes derived at construction from the `google.api.http` option of
 * every method the router serves, so an annotated method needs no route of its own.
 *
 * A request becomes the RPC's request message (body, path variables, query; see
 * {@link requestMessage}) and is dispatched in-process as a Connect call into the
 * router's own handler for that method, with the request's headers as metadata: REST
 * meets every interceptor a Connect or gRPC client meets. Answers are proto3 JSON;
 * errors are `google.rpc.Status` JSON with grpc-gateway's HTTP statuses; server
 * streams are NDJSON lines `{"result": …}`, ending with `{"error": …}` on failure.
 */
export class RestGateway {
  private readonly routes: Route[];
  private readonly registry: Registry;

  constructor(private readonly opts: RestGatewayOptions) {
    const routes = opts.handlers.flatMap((handler) => httpBindings(handler.method).map((binding) => ({ binding, handler })));
    // Most specific first: a custom verb, then more literal segments.
    this.routes = routes.sort((a, b) => rank(b.binding) - rank(a.binding));
    this.registry = registryOf(opts.handlers.map((h) => h.service.file));
  }

  /** Answers one HTTP request that is no Connect or gRPC call. Never rejects. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.serve(req, res);
    } catch (e) {
      this.opts.logger.error({ err: e, url: req.url }, 'rest gateway failed');
      if (!res.headersSent) sendJson(res, 500, { code: Code.Internal, message: 'internal error', details: [] });
      else res.destroy();
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let found: Match;
    try {
      found = this.match(req.method ?? 'GET', rawPath);
    } catch {
      return this.fail(res, new ConnectError(`malformed percent-encoding in path ${rawPath}`, Code.InvalidArgument));
    }
    if (found === undefined) {
      // A Connect or gRPC path of no service here keeps Connect's plain 404.
      if (/^\/\w+(\.\w+)+\/\w+$/.test(rawPath)) return void res.writeHead(404).end();
      return this.fail(res, new ConnectError(`no route for ${req.method} ${rawPath}`, Code.NotFound));
    }
    if ('allowed' in found) {
      return this.fail(res, new ConnectError(`method ${req.method} not allowed on ${rawPath}`, Code.Unimplemented), 405, {
        allow: found.allowed.join(', '),
      });
    }
    const { binding } = found.route;
    const procedure = `/${binding.method.parent.typeName}/${binding.method.name}`;
    let body: JsonValue | undefined;
    if (binding.body !== undefined) {
      const bytes = await readBody(req, this.opts.readMaxBytes);
      if (bytes === undefined) {
        const msg = `request body is larger than the limit of ${this.opts.readMaxBytes} bytes`;
        return this.fail(res, new ConnectError(msg, Code.ResourceExhausted), 413, {}, true);
      }
      const text = bytes.toString('utf8');
      try {
        body = text.trim() === '' ? undefined : (JSON.parse(text) as JsonValue);
      } catch (e) {
        return this.fail(res, new ConnectError(`body: is not valid JSON (${(e as Error).message})`, Code.InvalidArgument));
      }
    }
    let message: Message;
    try {
      message = requestMessage(binding, { pathParams: found.params, query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), body }, {
        registry: this.registry,
      });
    } catch (e) {
      return this.fail(res, toConnectError(e, this.opts.logger, procedure));
    }
    const ctl = new AbortController();
    res.once('close', () => ctl.abort());
    const transport = this.transport(req, found.route.handler);
    const header = forwardedRequestHeaders(req.headers);
    if (binding.method.methodKind === 'server_streaming') {
      return this.stream(res, binding, transport, ctl.signal, header, message);
    }
    try {
      const r = await transport.unary(binding.method as DescMethodUnary, ctl.signal, undefined, header, message);
      sendJson(res, 200, this.responseJson(binding, r.message), returnedHeaders(r.header, r.trailer));
    } catch (e) {
      if (!ctl.signal.aborted) this.fail(res, ConnectError.from(e));
    }
  }

  /** Streams NDJSON: `{"result": …}` per message; an error before the first message sets the HTTP status. */
  private async stream(
    res: ServerResponse, binding: HttpBinding, transport: Transport, signal: AbortSignal, header: Headers, message: Message,
  ): Promise<void> {
    let it: AsyncIterator<Message>;
    let next: IteratorResult<Message>;
    let headers: Record<string, string>;
    try {
      const r = await transport.stream(binding.method as DescMethodStreaming, signal, undefined, header, createAsyncIterable([message]));
      headers = returnedHeaders(r.header);
      it = r.message[Symbol.asyncIterator]();
      next = await it.next();
    } catch (e) {
      if (signal.aborted) return;
      const err = ConnectError.from(e);
      const text = `${JSON.stringify({ error: statusJson(err, this.registry) })}\n`;
      res.writeHead(httpStatusOf(err.code), { ...returnedHeaders(err.metadata), 'content-type': NDJSON }).end(text);
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': NDJSON });
    while (!next.done) {
      if (!(await writeChunk(res, `${JSON.stringify({ result: this.responseJson(binding, next.value) })}\n`))) return;
      try {
        next = await it.next();
      } catch (e) {
        if (signal.aborted) return;
        await writeChunk(res, `${JSON.stringify({ error: statusJson(ConnectError.from(e), this.registry) })}\n`);
        break;
      }
    }
    res.end();
  }

  private fail(res: ServerResponse, err: ConnectError, status = httpStatusOf(err.code), headers: Record<string, string> = {}, close = false): void {
    sendJson(res, status, statusJson(err, this.registry), { ...returnedHeaders(err.metadata), ...headers }, close);
  }

  /**
   * The route for a method and raw path: the most specific templates that match (custom
   * verb first, then most literal segments), and of those the one bound to `verb`;
   * `{allowed}` when they are bound to other verbs only.
   */
  private match(verb: string, rawPath: string): Match {
    let best: number | undefined;
    const allowed = new Set<string>();
    for (const route of this.routes) {
      if (best !== undefined && rank(route.binding) < best) break;
      const params = route.binding.template.match(rawPath);
      if (params === undefined) continue;
      best = rank(route.binding);
      if (route.binding.verb === verb) return { route, params };
      allowed.add(route.binding.verb);
    }
    return best === undefined ? undefined : { allowed: [...allowed] };
  }

  /** The REST response: the whole response message, or its `response_body` field. */
  private responseJson(binding: HttpBinding, msg: Message): JsonValue {
    const schema = binding.method.output;
    const field = binding.responseBody;
    const opts = { registry: this.registry };
    if (field === undefined) return toJson(schema, msg, opts);
    if (field.fieldKind === 'message') {
      const r = reflect(schema, msg);
      return toJson(field.message, r.isSet(field) ? (r.get(field) as ReflectMessage).message : create(field.message), opts);
    }
    return (toJson(schema, msg, { ...opts, alwaysEmitImplicit: true }) as JsonObject)[field.jsonName] ?? null;
  }

  /** A Connect transport whose only "network" is one handler of the router, called in-process. */
  private transport(req: IncomingMessage, handler: UniversalHandler): Transport {
    const contextValues = this.opts.contextValues?.(req);
    const httpClient: UniversalClientFn = async (c) => {
      const r = await handler({
        httpVersion: '2.0', method: c.method, url: c.url, header: c.header, contextValues,
        body: c.body ?? createAsyncIterable([]), signal: c.signal ?? new AbortController().signal,
      });
      return { status: r.status, header: new Headers(r.header), body: r.body ?? createAsyncIterable([]), trailer: new Headers(r.trailer) };
    };
    const host = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? 'localhost';
    return createTransport({
      httpClient, baseUrl: `http://${host}`, useBinaryFormat: true, interceptors: [], acceptCompression: [], sendCompression: null,
      compressMinBytes: BIG, readMaxBytes: BIG, writeMaxBytes: BIG,
    });
  }
}

const rank = (b: HttpBinding): number => (b.template.verb === undefined ? 0 : 1000) + b.template.literalCount;

/** A registry of the given files, their imports, and google.rpc's error details (to render Any details). */
function registryOf(files: DescFile[]): Registry {
  const all = new Set<DescFile>();
  const add = (f: DescFile): void => {
    if (all.has(f)) return;
    all.add(f);
    f.dependencies.forEach(add);
  };
  [...files, file_google_rpc_error_details].forEach(add);
  return createRegistry(...all);
}
