import { sleep } from '../internal/shared/sleep.js';

/**
 * Calls `check` every `everyMs` until it returns a value other than undefined/false
 * and resolves with it; resolves undefined after `timeoutMs` or when `signal` aborts.
 * A throwing check (Postgres down for a moment) counts as "not yet".
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | false>,
  p: { timeoutMs: number; signal: AbortSignal; everyMs?: number },
): Promise<T | undefined> {
  const until = Date.now() + p.timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    if (Date.now() > until || !(await sleep(p.everyMs ?? 200, p.signal))) return undefined;
  }
}
