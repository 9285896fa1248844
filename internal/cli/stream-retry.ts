import { Code, ConnectError } from '@connectrpc/connect';
import { backoffDelay, reconnectBackoff } from '../shared/backoff.js';
import { sleep } from '../shared/sleep.js';
import { CliError } from './cli-error.js';
import { formatDuration } from './duration.js';
import { ExitCode } from './exit-code.js';

/** How often a watch re-opens its stream after it broke, before giving up. */
const MAX_REOPENS = 8;

/**
 * Runs a watch stream to its end, re-opening it when it breaks (UNAVAILABLE, an
 * apiserver restarting) or ends before `done()` says the watched object ended. Watch
 * streams send the whole current state first, so re-opening loses nothing. A stream
 * that fails before its first message is not retried: the server is not there.
 * `open(timeoutMs)` opens the stream with the time left of `waitTimeoutMs` (none when
 * unset); running out of it throws a CliError with exit code 5. `what` names the
 * object in messages.
 */
export async function followStream<T>(p: {
  what: string;
  open: (timeoutMs: number | undefined) => AsyncIterable<T>;
  onMessage: (m: T) => void;
  done: () => boolean;
  waitTimeoutMs?: number;
  now: () => number;
}): Promise<void> {
  const deadline = p.waitTimeoutMs === undefined ? undefined : p.now() + p.waitTimeoutMs;
  const timedOut = (): CliError =>
    new CliError(ExitCode.unavailable, `${p.what} did not end within ${formatDuration(p.waitTimeoutMs ?? 0)}`, 'timeout');
  let received = false;
  let reopens = 0;
  for (;;) {
    const left = deadline === undefined ? undefined : deadline - p.now();
    if (left !== undefined && left <= 0) throw timedOut();
    try {
      for await (const m of p.open(left)) {
        received = true;
        reopens = 0;
        p.onMessage(m);
      }
      if (p.done()) return;
    } catch (e) {
      if (e instanceof ConnectError && e.code === Code.DeadlineExceeded && deadline !== undefined) throw timedOut();
      if (!(e instanceof ConnectError) || e.code !== Code.Unavailable || !received) throw e;
      if (reopens >= MAX_REOPENS) throw e;
    }
    if (reopens >= MAX_REOPENS) throw new CliError(ExitCode.unavailable, `the watch of ${p.what} kept ending before it did`, 'unavailable');
    reopens++;
    await sleep(backoffDelay(reconnectBackoff, reopens));
  }
}
