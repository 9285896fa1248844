import type { ClientSessionOptions } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { WorkerService, type ConnectRequest } from '../../gen/taskd/v1/worker_service_pb.js';
import { AsyncQueue } from '../shared/async-queue.js';
import { sleep } from '../shared/sleep.js';
import type { SchedulerMessage, WorkerMessage } from './protocol.js';
import { decodeSchedulerMessage, encodeWorkerMessage } from './wire.js';

/** HTTP/2 keepalive of the worker stream: how fast a dead or frozen scheduler is noticed. */
export interface KeepaliveOptions {
  /** PING interval while the stream is open; default 2000. */
  pingIntervalMs: number;
  /** A PING unanswered this long kills the connection; default 3000. */
  pingTimeoutMs: number;
}

/** Defaults: a frozen scheduler is detected within about 5 s. */
export const defaultKeepalive: KeepaliveOptions = { pingIntervalMs: 2_000, pingTimeoutMs: 3_000 };

/** One open `WorkerService.Connect` call. */
export interface SchedulerStream {
  readonly address: string;
  /** Queues a message; dropped after the stream closed. */
  send(msg: WorkerMessage): void;
  /** Inbound messages. Ends when the server ends the stream; throws (ConnectError) when it fails. */
  readonly messages: AsyncIterable<SchedulerMessage>;
  /**
   * Half-closes the outbound side and waits up to `graceMs` for the server to end
   * its side, then aborts. Messages queued before close are flushed first.
   */
  close(graceMs: number): Promise<void>;
  /** Cancels the call and drops the HTTP/2 connection at once. Idempotent. */
  abort(reason?: unknown): void;
}

/** Options of {@link openSchedulerStream}. */
export interface SchedulerStreamOptions {
  /** Base URL of the scheduler, e.g. `http://127.0.0.1:8080`. */
  address: string;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  keepalive?: KeepaliveOptions;
}

/**
 * Opens the worker stream to one scheduler over gRPC (HTTP/2, h2c for http://). Each
 * stream owns its HTTP/2 connection, so aborting it never leaves a socket behind and
 * the keepalive PINGs watch exactly this stream.
 */
export function openSchedulerStream(opts: SchedulerStreamOptions): SchedulerStream {
  const keepalive = opts.keepalive ?? defaultKeepalive;
  const sessionManager = new Http2SessionManager(opts.address, {
    pingIntervalMs: keepalive.pingIntervalMs,
    pingTimeoutMs: keepalive.pingTimeoutMs,
    idleConnectionTimeoutMs: keepalive.pingIntervalMs + keepalive.pingTimeoutMs,
  }, cleartextNoDelay(opts.address));
  const transport = createGrpcTransport({ baseUrl: opts.address, sessionManager });
  const client = createClient(WorkerService, transport);
  const outbound = new AsyncQueue<ConnectRequest>();
  const controller = new AbortController();
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const responses = client.connect(generate(outbound), { signal: controller.signal, headers, timeoutMs: 0 });

  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  let failedByPeer = false;
  const abort = (reason?: unknown): void => {
    outbound.close();
    if (!controller.signal.aborted) controller.abort(reason);
    // After the connection failed on its own (PING timeout, reset), connect-node reports
    // the failure to its manager on a later tick; aborting the manager first detaches
    // the manager's error listener and turns that report into an uncaught exception.
    // Such a connection closes itself; one left healthy idles out (and is unref'd).
    if (!failedByPeer) sessionManager.abort();
    markEnded();
  };

  async function* decode(): AsyncGenerator<SchedulerMessage> {
    try {
      for await (const res of responses) {
        const msg = decodeSchedulerMessage(res);
        if (msg) yield msg;
      }
    } catch (err) {
      failedByPeer = !controller.signal.aborted;
      throw err;
    } finally {
      markEnded();
    }
  }

  return {
    address: opts.address,
    send: (msg) => outbound.push(encodeWorkerMessage(msg)),
    messages: decode(),
    async close(graceMs) {
      outbound.close();
      const timer = new AbortController();
      await Promise.race([ended, sleep(graceMs, timer.signal)]);
      timer.abort();
      abort();
    },
    abort,
  };
}

/**
 * For h2c (http://): a TCP socket with Nagle off, since results, credits and acks are
 * small frames that would otherwise wait on Nagle + delayed ACK (~40 ms each). For
 * https:// Node's own TLS connection is kept.
 */
function cleartextNoDelay(address: string): ClientSessionOptions {
  if (new URL(address).protocol !== 'http:') return {};
  return {
    createConnection: (authority: URL) =>
      netConnect({ host: authority.hostname.replace(/^\[|\]$/g, ''), port: Number(authority.port || 80), noDelay: true }),
  };
}

/** connect-es calls `throw()` on the request iterable, which AsyncQueue lacks; a generator has it. */
async function* generate<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  for await (const item of items) yield item;
}
