import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { LogLine, TaskdProcess } from '../test/procs.js';

/** The longest timer Node accepts (about 24.8 days): "until the process exits". */
const FOREVER_MS = 2_147_483_647;

/**
 * Calls `onLine` with every output line of `proc` (parsed when JSON), the ones it
 * already printed (still in its buffer) and every later one, until it exits. Built on
 * `waitForLog` with a predicate that never matches, so it needs no change to
 * test/procs.ts; the wait ends (and is swallowed) when the process exits.
 */
export function tapLines(proc: TaskdProcess, onLine: (line: LogLine) => void): void {
  proc
    .waitForLog((l) => {
      onLine(l);
      return false;
    }, FOREVER_MS)
    .catch(() => undefined);
}

/** {@link tapLines} for JSON log lines only. */
export function tapLog(proc: TaskdProcess, onLine: (line: Record<string, unknown>) => void): void {
  tapLines(proc, (l) => {
    if (typeof l === 'object') onLine(l);
  });
}

/** Copies every output line of `proc` to `<dir>/<name>-<pid>.log` until it exits. */
export function saveOutput(proc: TaskdProcess, dir: string): void {
  const out = createWriteStream(join(dir, `${proc.name}-${proc.pid}.log`), { flags: 'a' });
  out.on('error', () => undefined);
  tapLines(proc, (l) => out.write(`${typeof l === 'object' ? JSON.stringify(l) : l}\n`));
  void proc.exited.then(() => out.end());
}
