import type { ClientSessionOptions } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { durationMs, ValueSchema } from '@bufbuild/protobuf/wkt';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { ConnectRequestSchema, WorkerService, type Assign, type AttemptRef, type ConnectRequest } from '../gen/taskd/v1/worker_service_pb.js';
import { AsyncQueue } from '../internal/shared/async-queue.js';
import { backoffDelay, reconnectBackoff } from '../internal/shared/backoff.js';
import { sleep } from '../internal/shared/sleep.js';
import { AssignTally, classifyEnd, newCounters, ramp, type EndEvent, type FleetCounters, type StreamFleet, type StreamSpec, type WelcomeEvent } from './fleet.js';

type WorkerClient = Client<typeof WorkerService>;

/** A Welcome that does not come within this long abandons the stream (as the SDK does). */
const WELCOME_TIMEOUT_MS = 10_000;

/** How one stream attempt ended. */
interface End {
  welcomed: boolean;
  /** Leader address from a NotLeader answer ('' when none was named). */
  redirect: string | undefined;
  /** Why the stream failed; undefined when it ended cleanly. */
  error?: unknown;
}

/**
 * Many `WorkerService.Connect` streams multiplexed over a few HTTP/2 connections per
 * scheduler (`connections`, streams spread round-robin). Same protocol as the SDK:
 * Hello → Welcome → Credit(slots), Heartbeat at the Welcome's interval, a Result for
 * each Assign (noop: the payload is the output) followed by a coalesced Credit,
 * unacknowledged Results re-sent after each Welcome, reconnect with the SDK's full-jitter
 * backoff through the addresses, NotLeader redirects. The cheap client: one socket and
 * one PING timer per connection instead of per stream.
 */
export class LeanFleet implements StreamFleet {
  readonly counters: FleetCounters = newCounters();
  readonly welcomes: WelcomeEvent[] = [];
  readonly ends: EndEvent[] = [];
  private readonly tally = new AssignTally();
  private readonly current: (number | undefined)[];
  private readonly managers: Http2SessionManager[] = [];
  private readonly clients = new Map<string, WorkerClient[]>();
  private readonly stopCtl = new AbortController();
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly addresses: string[], readonly specs: readonly StreamSpec[], connections: number) {
    this.current = specs.map(() => undefined);
    for (const address of addresses) {
      const list: WorkerClient[] = [];
      for (let k = 0; k < connections; k++) {
        const manager = new Http2SessionManager(address, { pingIntervalMs: 2_000, pingTimeoutMs: 3_000, idleConnectionTimeoutMs: 5_000 }, noDelay(address));
        this.managers.push(manager);
        list.push(createClient(WorkerService, createGrpcTransport({ baseUrl: address, sessionManager: manager })));
      }
      this.clients.set(address, list);
    }
  }

  async start(perSecond: number, signal: AbortSignal): Promise<void> {
    await ramp(this.specs.length, perSecond, signal, (i) => this.loops.push(this.loop(i)));
  }

  connected(minEpoch = 0): number {
    let n = 0;
    for (const e of this.current) if (e !== undefined && e >= minEpoch) n++;
    return n;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopCtl.abort();
    await Promise.race([Promise.all(this.loops), sleep(timeoutMs)]);
    for (const m of this.managers) m.abort();
  }

  private async loop(i: number): Promise<void> {
    const stop = this.stopCtl.signal;
    const results = new Map<string, ConnectRequest>();
    let tries = 0;
    let redirects = 0;
    let index = -1;
    let next: string | undefined;
    while (!stop.aborted) {
      let address = next;
      next = undefined;
      if (address === undefined) {
        index = (index + 1) % this.addresses.length;
        address = this.addresses[index] as string;
      }
      const end = await this.session(i, address, results, stop).catch((e: unknown): End => ({ welcomed: false, redirect: undefined, error: e }));
      this.current[i] = undefined;
      this.counters.disconnects++;
      this.ends.push({ stream: i, at: Date.now(), cause: end.redirect !== undefined ? 'NotLeader answer (redirect)' : classifyEnd(end.error) });
      if (stop.aborted) return;
      if (end.redirect) next = end.redirect.startsWith('http') ? end.redirect : `http://${end.redirect}`;
      tries = end.welcomed ? 1 : tries + 1;
      redirects = end.redirect !== undefined ? redirects + 1 : 0;
      await sleep(redirects === 1 ? 0 : backoffDelay(reconnectBackoff, tries), stop);
    }
  }

  private async session(i: number, address: string, results: Map<string, ConnectRequest>, stop: AbortSignal): Promise<End> {
    const spec = this.specs[i] as StreamSpec;
    const list = this.clients.get(address) ?? this.clients.get(this.addresses[0] as string) ?? [];
    const client = list[i % list.length] as WorkerClient;
    const out = new AsyncQueue<ConnectRequest>();
    const ctl = new AbortController();
    const onStop = (): void => ctl.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const c = this.counters;
    let welcomed = false;
    let redirect: string | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    let error: unknown;
    let credit = 0;
    const flushCredit = (): void => {
      if (credit > 0 && !out.isClosed) out.push(create(ConnectRequestSchema, { msg: { case: 'credit', value: { slots: credit } } }));
      credit = 0;
    };
    const welcomeTimer = setTimeout(() => {
      if (!welcomed) ctl.abort(new Error('no Welcome in time'));
    }, WELCOME_TIMEOUT_MS);
    try {
      out.push(create(ConnectRequestSchema, {
        msg: { case: 'hello', value: { workerId: spec.id, taskTypes: [spec.busy ? 'noop' : 'idle'], queues: ['default'], slots: spec.slots, labels: {}, running: [] } },
      }));
      for await (const res of client.connect(generate(out), { signal: ctl.signal, timeoutMs: 0 })) {
        const m = res.msg;
        switch (m.case) {
          case 'welcome': {
            welcomed = true;
            c.welcomes++;
            const epoch = Number(m.value.epoch);
            this.current[i] = epoch;
            this.welcomes.push({ stream: i, epoch, at: Date.now() });
            for (const r of results.values()) out.push(r);
            out.push(create(ConnectRequestSchema, { msg: { case: 'credit', value: { slots: spec.slots } } }));
            const every = m.value.heartbeatInterval ? durationMs(m.value.heartbeatInterval) : 2_000;
            heartbeat = setInterval(() => out.push(create(ConnectRequestSchema, { msg: { case: 'heartbeat', value: {} } })), every);
            break;
          }
          case 'assign': {
            this.tally.add(m.value.attempt?.taskId ?? '', c);
            const result = resultOf(m.value);
            results.set(key(m.value.attempt), result);
            out.push(result);
            c.completed++;
            if (credit++ === 0) setImmediate(flushCredit);
            break;
          }
          case 'resultAck':
            c.resultAcks++;
            if (!m.value.accepted) c.refused++;
            results.delete(key(m.value.attempt));
            break;
          case 'notLeader':
            c.notLeader++;
            redirect = m.value.leaderAddress;
            break;
          default:
            break;
        }
      }
    } catch (e) {
      error = stop.aborted ? undefined : e;
    } finally {
      clearTimeout(welcomeTimer);
      clearInterval(heartbeat);
      stop.removeEventListener('abort', onStop);
      out.close();
      if (!ctl.signal.aborted) ctl.abort();
    }
    return { welcomed, redirect, error };
  }
}

function key(ref: AttemptRef | undefined): string {
  return `${ref?.taskId ?? ''}#${ref?.attempt ?? 0}`;
}

function resultOf(a: Assign): ConnectRequest {
  const output = a.payload ?? create(ValueSchema, { kind: { case: 'nullValue', value: 0 } });
  return create(ConnectRequestSchema, { msg: { case: 'result', value: { attempt: a.attempt, outcome: { case: 'output', value: output } } } });
}

/** h2c sockets with Nagle off, as the SDK opens them. */
function noDelay(address: string): ClientSessionOptions {
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
