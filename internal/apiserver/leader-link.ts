import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { LinkRequestSchema, LinkService, type LinkRequest } from '../../gen/taskd/internal/v1/link_pb.js';
import type { GetClusterResponse } from '../../gen/taskd/v1/cluster_service_pb.js';
import type { ScheduleHints } from '../api/schedule-api.js';
import type { ReadyHints } from '../api/task-api.js';
import { AsyncQueue } from '../shared/async-queue.js';
import { backoffDelay, reconnectBackoff } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import { sleep } from '../shared/sleep.js';

/**
 * The apiserver's stream to the scheduler leader, found like workers find it: try the
 * configured addresses, follow the leader address a passive scheduler names. Ready hints
 * are coalesced and sent best-effort; while unlinked they are dropped (the leader's poll
 * finds the work anyway).
 */
export class LeaderLink implements ReadyHints, ScheduleHints {
  private out: AsyncQueue<LinkRequest> | undefined;
  private pending = new Set<string>();
  private pendingDue = Infinity;
  private pendingCancels: { taskId: string; attempt: number }[] = [];
  private pendingSchedule = false;
  private scheduled = false;
  linked = false;
  private linkedAddress: string | undefined;

  /**
   * `credential`: what the link authenticates with (a SYSTEM token; see
   * internal/app/rpc-edge.ts `internalCredential`); none when authentication is off.
   */
  constructor(private readonly base: Base, private readonly opts: { addresses: string[]; credential?: { token(): Promise<string | undefined> } }) {
    if (opts.addresses.length === 0) throw new Error('LeaderLink needs at least one scheduler address');
  }

  ready(queues: string[]): void {
    for (const q of queues) this.pending.add(q);
    this.schedule();
  }

  due(runAtMs: number): void {
    this.pendingDue = Math.min(this.pendingDue, runAtMs);
    this.schedule();
  }

  cancelled(taskId: string, attempt: number): void {
    this.pendingCancels.push({ taskId, attempt });
    this.schedule();
  }

  scheduleChanged(): void {
    this.pendingSchedule = true;
    this.schedule();
  }

  /** Sends what gathered in this tick as one message per kind. */
  private schedule(): void {
    if (!this.out) {
      // Unlinked: drop hints; the leader's poll finds the work.
      this.pending.clear();
      this.pendingDue = Infinity;
      this.pendingCancels = [];
      this.pendingSchedule = false;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const out = this.out;
      const msgs: LinkRequest[] = [];
      if (this.pending.size > 0) msgs.push(create(LinkRequestSchema, { msg: { case: 'ready', value: { queues: [...this.pending] } } }));
      if (this.pendingDue < Infinity) msgs.push(create(LinkRequestSchema, { msg: { case: 'due', value: { runAtMs: BigInt(this.pendingDue) } } }));
      for (const c of this.pendingCancels) msgs.push(create(LinkRequestSchema, { msg: { case: 'cancel', value: c } }));
      if (this.pendingSchedule) msgs.push(create(LinkRequestSchema, { msg: { case: 'schedule', value: {} } }));
      this.pending.clear();
      this.pendingDue = Infinity;
      this.pendingCancels = [];
      this.pendingSchedule = false;
      for (const m of msgs) out?.push(m);
    });
  }

  /**
   * The leader's view of the cluster, asked of the scheduler this apiserver is linked
   * to; undefined when unlinked or the leader does not answer within 2 s.
   */
  async describe(): Promise<GetClusterResponse | undefined> {
    const address = this.linkedAddress;
    if (!address) return undefined;
    try {
      const client = createClient(LinkService, createGrpcTransport({ baseUrl: address }));
      return (await client.describe({}, { timeoutMs: 2_000, headers: await this.headers() })).cluster;
    } catch {
      return undefined;
    }
  }

  private async headers(): Promise<Record<string, string>> {
    const token = await this.opts.credential?.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** Links and re-links until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let next = this.opts.addresses[0] as string;
    let tries = 0;
    let index = 0;
    while (!signal.aborted) {
      const wasLinked = { value: false };
      const named = await this.linkOnce(next, signal, wasLinked);
      if (signal.aborted) break;
      if (wasLinked.value) tries = 0;
      if (named) {
        next = named;
        continue;
      }
      tries++;
      index = (index + 1) % this.opts.addresses.length;
      next = this.opts.addresses[index] as string;
      await sleep(backoffDelay(reconnectBackoff, Math.min(tries, 20)), signal);
    }
  }

  /** One link; returns the leader address a passive scheduler named, if any. */
  private async linkOnce(address: string, signal: AbortSignal, wasLinked: { value: boolean }): Promise<string | undefined> {
    const transport = createGrpcTransport({ baseUrl: address, pingIntervalMs: 5_000, pingTimeoutMs: 5_000 });
    const client = createClient(LinkService, transport);
    const out = new AsyncQueue<LinkRequest>();
    let named: string | undefined;
    try {
      for await (const res of client.link(out, { signal, headers: await this.headers() })) {
        if (res.leaderAddress && res.leaderAddress !== address) {
          named = res.leaderAddress;
          break;
        }
        if (!this.out) {
          this.out = out;
          this.linked = true;
          this.linkedAddress = address;
          wasLinked.value = true;
          this.base.logger.info({ address, epoch: Number(res.epoch) }, 'linked to leader');
        }
      }
    } catch (e) {
      // A refused credential is a configuration error someone must see; other ends are routine.
      const refused = e instanceof ConnectError && (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied);
      if (!signal.aborted) this.base.logger[refused ? 'warn' : 'debug']({ address, err: (e as Error).message }, 'leader link ended');
    } finally {
      if (this.out === out) {
        this.out = undefined;
        this.linked = false;
        this.linkedAddress = undefined;
      }
      out.close();
    }
    return named;
  }
}
