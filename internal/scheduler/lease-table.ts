import type { RetryPolicy } from '../domain/task.js';
import type { AttemptRef } from './messages.js';
import type { WorkerSession } from './worker-session.js';

/** A live lease: a running attempt and who holds it. */
export interface Lease extends AttemptRef {
  /** The worker the attempt was claimed for (Postgres tasks.worker_id). */
  workerId: string | null;
  queue: string;
  type: string;
  retryPolicy: RetryPolicy;
  timeoutMs: number | null;
  /** The holding session; undefined while orphaned (stream broke, or just taken over). */
  session: WorkerSession | undefined;
  /** For orphans: monotonic ms at which the lease lapses unless a worker adopts it. */
  orphanExpiresAt: number;
  /** A finish for this attempt is being written; expiry must not race it. */
  finishing: boolean;
  /** Monotonic ms at which the attempt times out; Infinity without a timeout. */
  deadlineAt: number;
  /** Monotonic ms at which the attempt started (before this term for a lease taken over), for its duration. */
  startedAt: number;
  /** W3C trace context of the attempt's dispatch span (this term's), the fallback parent of its result span. */
  traceContext?: Record<string, string>;
}

/** Why a lease ended without a result. */
export type Lapse = 'worker_lost' | 'timeout';

/**
 * The leader's leases, keyed by task id. A held lease lives as long as its session's
 * heartbeats (lastSeen + ttl); an orphaned one until `orphanExpiresAt`. Rebuilt from
 * Postgres at takeover, so it is never the only copy of anything.
 */
export class LeaseTable {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly ttlMs: number) {}

  get size(): number {
    return this.leases.size;
  }

  get(taskId: string): Lease | undefined {
    return this.leases.get(taskId);
  }

  /** The lease for `ref` if it is the current attempt with the same token. */
  match(ref: AttemptRef): Lease | undefined {
    const l = this.leases.get(ref.taskId);
    return l && l.attempt === ref.attempt && l.leaseToken === ref.leaseToken ? l : undefined;
  }

  add(lease: Lease): void {
    this.leases.set(lease.taskId, lease);
    lease.session?.held.add(lease.taskId);
  }

  delete(taskId: string): void {
    const l = this.leases.get(taskId);
    if (!l) return;
    l.session?.held.delete(taskId);
    this.leases.delete(taskId);
  }

  /** Gives `lease` to `session` (a worker re-announced it). */
  adopt(lease: Lease, session: WorkerSession): void {
    lease.session?.held.delete(lease.taskId);
    lease.session = session;
    session.held.add(lease.taskId);
  }

  /** Orphans every lease `session` holds; they lapse one TTL after it was last heard from. */
  orphanAll(session: WorkerSession): void {
    for (const id of session.held) {
      const l = this.leases.get(id);
      if (l && l.session === session) {
        l.session = undefined;
        l.orphanExpiresAt = session.lastSeen + this.ttlMs;
      }
    }
    session.held.clear();
  }

  /** Orphaned leases claimed for `workerId` that are not being finished. */
  orphansOf(workerId: string): Lease[] {
    return [...this.leases.values()].filter((l) => !l.session && !l.finishing && l.workerId === workerId);
  }

  /**
   * Adds `ms` to every lease's life: the leader itself was stalled that long, so its
   * workers' heartbeats could not be read and must not count as missing.
   */
  forgive(ms: number): void {
    const sessions = new Set<WorkerSession>();
    for (const l of this.leases.values()) {
      if (l.session) sessions.add(l.session);
      else l.orphanExpiresAt += ms;
    }
    for (const s of sessions) s.lastSeen += ms;
  }

  /** Leases that lapsed (no heartbeat) or timed out by monotonic time `now`, not already being finished. */
  lapsed(now: number): { lease: Lease; why: Lapse }[] {
    const out: { lease: Lease; why: Lapse }[] = [];
    for (const l of this.leases.values()) {
      if (l.finishing) continue;
      const expiresAt = l.session ? l.session.lastSeen + this.ttlMs : l.orphanExpiresAt;
      if (l.deadlineAt <= now) out.push({ lease: l, why: 'timeout' });
      else if (expiresAt <= now) out.push({ lease: l, why: 'worker_lost' });
    }
    return out;
  }

  /** Every lease not being finished. */
  all(): Lease[] {
    return [...this.leases.values()].filter((l) => !l.finishing);
  }
}
