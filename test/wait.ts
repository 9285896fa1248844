/**
 * Polls `check` every `everyMs` until it returns a value other than undefined/false,
 * and resolves with it. Rejects after `timeoutMs` with `what` and the last value seen.
 * For state that has no event to wait on (rows in Postgres); never a fixed sleep.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
