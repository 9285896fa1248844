/** Who leads: the address others should use and the epoch of its term. */
export interface LeaderInfo {
  address: string;
  epoch: number;
}

/**
 * The leader lock: a lease with a TTL, renewed by compare-and-extend. Implemented over
 * Redis for real deployments and in process for the embedded default. Methods reject
 * when the backend is unreachable; callers treat that as "not renewed".
 */
export interface LeaderLock {
  /**
   * Takes the lock if free; returns the new epoch (always above `floorEpoch`, the
   * newest epoch seen in Postgres), or undefined when someone holds it.
   */
  tryAcquire(p: { token: string; address: string; ttlMs: number; floorEpoch: number }): Promise<number | undefined>;
  /** Extends the lock if `token` still holds it; false when lost. */
  renew(p: { token: string; ttlMs: number }): Promise<boolean>;
  /** Drops the lock if `token` holds it. */
  release(p: { token: string }): Promise<void>;
  /** The current holder, if any. */
  current(): Promise<LeaderInfo | undefined>;
  close(): Promise<void>;
}

/** Parses a lock value "<token>|<epoch>|<address>". */
export function parseLockValue(v: string | null | undefined): (LeaderInfo & { token: string }) | undefined {
  if (!v) return undefined;
  const [token, epoch, ...rest] = v.split('|');
  if (!token || !epoch) return undefined;
  return { token, epoch: Number(epoch), address: rest.join('|') };
}
