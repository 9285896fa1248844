/** A broken promise found by a check: the run fails if there is any. */
export interface Violation {
  /** Which check found it, e.g. `lost`, `unexplained-duplicate`. */
  check: string;
  taskId?: string;
  detail: string;
}

/** Counts of `items` by `key`. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) {
    const k = key(it);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
