import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate, ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import { fromJson } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import {
  ConnectResponseSchema,
  WorkerService,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
} from '../../../gen/taskd/v1/worker_service_pb.js';
import { AsyncQueue } from '../../shared/async-queue.js';

/**
 * A scripted scheduler for SDK tests: the server half of `WorkerService.Connect` on a
 * real h2c socket. Tests drive it message by message (welcome, assign, ack, end) and
 * wait on what the worker sends. Test-only; it speaks protobuf directly.
 */

type RequestCase = NonNullable<ConnectRequest['msg']['case']>;
type RequestOf<K extends RequestCase> = Extract<ConnectRequest['msg'], { case: K }>['value'];
type ResponseInit = MessageInitShape<typeof ConnectResponseSchema>['msg'];

/** An attempt as the fake names it. */
export interface Ref {
  taskId: string;
  attempt: number;
  leaseToken: string;
}

/** What an assignment carries; defaults fill the rest. */
export interface AssignSpec {
  taskId: string;
  type: string;
  attempt?: number;
  leaseToken?: string;
  payload?: JsonValue;
  deadline?: Date;
  checkpoint?: { data: JsonValue; version: number };
  idempotencyKey?: string;
  queue?: string;
  namespace?: string;
  labels?: Record<string, string>;
  correlationId?: string;
  traceContext?: Record<string, string>;
}

function json(v: JsonValue): Value {
  return fromJson(ValueSchema, v);
}

/** The server side of one worker stream. */
export class FakeConnection {
  readonly received: ConnectRequest[] = [];
  /** Credits granted minus Assigns sent; `maxWindow` is its high-water mark. */
  window = 0;
  maxWindow = 0;
  private readonly unread: ConnectRequest[] = [];
  private readonly waiters: Array<{ match: (r: ConnectRequest) => boolean; resolve: (r: ConnectRequest) => void }> = [];
  readonly outbound = new AsyncQueue<ConnectResponse | ConnectError>();
  private autoAck = false;
  private welcomed = false;
  private markInputEnded: () => void = () => {};
  /** Resolves when the worker half-closed or dropped its side. */
  readonly inputEnded = new Promise<void>((r) => (this.markInputEnded = r));

  constructor(
    readonly hello: Hello,
    readonly headers: Headers,
  ) {}

  /** Sends Welcome. */
  welcome(o: { heartbeatMs?: number; epoch?: number; adopted?: Ref[]; sessionId?: string } = {}): void {
    this.welcomed = true;
    this.push({
      case: 'welcome',
      value: {
        sessionId: o.sessionId ?? 's1',
        heartbeatInterval: durationFromMs(o.heartbeatMs ?? 60_000),
        leaseTtl: durationFromMs(10_000),
        epoch: BigInt(o.epoch ?? 1),
        adopted: o.adopted ?? [],
      },
    });
  }

  /** Sends Assign (consuming one credit) and returns its attempt ref. */
  assign(s: AssignSpec): Ref {
    const attempt = { taskId: s.taskId, attempt: s.attempt ?? 1, leaseToken: s.leaseToken ?? `lease-${s.taskId}` };
    this.window--;
    this.push({
      case: 'assign',
      value: {
        attempt,
        type: s.type,
        queue: s.queue ?? 'default',
        namespace: s.namespace ?? 'default',
        payload: json(s.payload ?? null),
        idempotencyKey: s.idempotencyKey ?? '',
        deadline: s.deadline ? timestampFromDate(s.deadline) : undefined,
        checkpoint: s.checkpoint ? { data: json(s.checkpoint.data), version: BigInt(s.checkpoint.version) } : undefined,
        labels: s.labels ?? {},
        correlationId: s.correlationId ?? '',
        traceContext: s.traceContext ?? {},
      },
    });
    return attempt;
  }

  cancel(attempt: Ref, reason = 'cancelled by test'): void {
    this.push({ case: 'cancel', value: { attempt, reason } });
  }

  ackResult(attempt: Ref, accepted = true, code = ''): void {
    this.push({ case: 'resultAck', value: { attempt, accepted, code, message: code ? `refused: ${code}` : '' } });
  }

  ackCheckpoint(attempt: Ref, ok: boolean, version: number, code = ''): void {
    this.push({ case: 'checkpointAck', value: { attempt, ok, version: BigInt(version), code, message: code } });
  }

  /** Answers NotLeader and ends the stream UNAVAILABLE, as a passive scheduler does. */
  notLeader(leaderAddress: string): void {
    this.push({ case: 'notLeader', value: { leaderAddress, epoch: 1n } });
    this.end(new ConnectError('not the leader', Code.Unavailable));
  }

  /** Ends the stream: cleanly, or with `error`. */
  end(error?: ConnectError): void {
    if (error) this.outbound.push(error);
    this.outbound.close();
  }

  /** The next unread message of `kind` (matching `pred`), waiting for it if need be. */
  async take<K extends RequestCase>(kind: K, pred: (v: RequestOf<K>) => boolean = () => true): Promise<RequestOf<K>> {
    const match = (r: ConnectRequest): boolean => r.msg.case === kind && pred(r.msg.value as RequestOf<K>);
    const i = this.unread.findIndex(match);
    const found =
      i >= 0
        ? this.unread.splice(i, 1)[0]!
        : await new Promise<ConnectRequest>((resolve) => this.waiters.push({ match, resolve }));
    return found.msg.value as RequestOf<K>;
  }

  /** Every message of `kind` received so far (read or not). */
  all<K extends RequestCase>(kind: K): RequestOf<K>[] {
    return this.received.filter((r) => r.msg.case === kind).map((r) => r.msg.value as RequestOf<K>);
  }

  /** Sends Welcome unless one was sent. */
  welcomeIfNot(): void {
    if (!this.welcomed) this.welcome();
  }

  /** Welcomes the stream if nobody did, and accepts every result received so far and every later one. */
  autoAckResults(): void {
    this.welcomeIfNot();
    this.autoAck = true;
    for (const r of this.all('result')) if (r.attempt) this.ackResult(r.attempt);
  }

  /** @internal */
  receive(r: ConnectRequest): void {
    this.received.push(r);
    if (this.autoAck && r.msg.case === 'result' && r.msg.value.attempt) this.ackResult(r.msg.value.attempt);
    if (r.msg.case === 'credit') {
      this.window += r.msg.value.slots;
      this.maxWindow = Math.max(this.maxWindow, this.window);
    }
    const w = this.waiters.findIndex((x) => x.match(r));
    if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(r);
    else this.unread.push(r);
  }

  /** @internal */
  inputDone(): void {
    this.markInputEnded();
  }

  private push(msg: ResponseInit): void {
    this.outbound.push(create(ConnectResponseSchema, { msg }));
  }
}

/** A WorkerService peer on 127.0.0.1:<random port>. */
export class FakeScheduler {
  readonly connections: FakeConnection[] = [];
  private taken = 0;
  private readonly waiters: Array<(c: FakeConnection) => void> = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private autoAck = false;
  private welcomeEvery = false;

  private constructor(
    private readonly server: http2.Http2Server,
    readonly address: string,
  ) {
    server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
    });
  }

  /** Listens on 127.0.0.1, on `port` (default: an ephemeral one). */
  static async start(port = 0): Promise<FakeScheduler> {
    let self: FakeScheduler | undefined;
    const routes = (router: ConnectRouter): void => {
      router.service(WorkerService, { connect: (reqs, ctx) => self!.serve(reqs, ctx) });
    };
    const server = http2.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    self = new FakeScheduler(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** The next stream not yet returned by this method, once its Hello arrived. */
  nextConnection(): Promise<FakeConnection> {
    const c = this.connections[this.taken];
    if (c) {
      this.taken++;
      return Promise.resolve(c);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Makes every stream, open or future, accept every result (for test teardown). */
  autoAckResults(): void {
    this.autoAck = true;
    for (const c of this.connections) c.autoAckResults();
  }

  /** Welcomes every stream, open or future, that nobody welcomed. */
  welcomeAll(): void {
    this.welcomeEvery = true;
    for (const c of this.connections) c.welcomeIfNot();
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const c of this.connections) c.end();
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async *serve(requests: AsyncIterable<ConnectRequest>, ctx: HandlerContext): AsyncGenerator<ConnectResponse> {
    const it = requests[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done || first.value.msg.case !== 'hello') throw new ConnectError('expected Hello', Code.InvalidArgument);
    const conn = new FakeConnection(first.value.msg.value, ctx.requestHeader);
    ctx.signal.addEventListener('abort', () => conn.end(), { once: true });
    void this.readRest(conn, it);
    this.accept(conn);
    for await (const item of conn.outbound) {
      if (item instanceof ConnectError) throw item;
      yield item;
    }
  }

  private async readRest(conn: FakeConnection, it: AsyncIterator<ConnectRequest>): Promise<void> {
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) conn.receive(r.value);
    } catch {
      // The worker dropped the stream; inputEnded says so either way.
    }
    conn.inputDone();
    conn.end();
  }

  private accept(conn: FakeConnection): void {
    this.connections.push(conn);
    if (this.autoAck) conn.autoAckResults();
    if (this.welcomeEvery) conn.welcomeIfNot();
    const w = this.waiters.shift();
    if (w) {
      this.taken++;
      w(conn);
    }
  }
}
