import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { backoffDelay, type BackoffPolicy } from '../../internal/shared/backoff.js';
import { sleep } from '../../internal/shared/sleep.js';

/** What a finished command printed. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/**
 * Runs `file args` to completion (no shell) and returns its output.
 * Throws an Error naming the command, its exit status and the tail of its output
 * when it exits non-zero, cannot be spawned, or runs past `timeoutMs` (default 60 s).
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 60_000, cwd: opts.cwd, env: opts.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const status = err.killed ? `was killed (${err.signal ?? 'timeout'})` : `failed (${err.code ?? err.message})`;
        const out = tailLines(`${stdout}\n${stderr}`, 30);
        reject(new Error(`\`${[file, ...args].join(' ')}\` ${status}; its output ended with:\n${out}`));
      },
    );
    child.stdin?.end();
  });
}

/** The last `n` non-empty lines of `text`, joined with newlines. */
export function tailLines(text: string, n: number): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

/** Size in bytes of the file at `path`, 0 if it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The text of the file at `path` from byte `offset` on, '' if it does not exist. */
export function readFrom(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** The last `n` lines (default 40) of the log file at `path`, or a note that it does not exist. */
export function logTail(path: string, n = 40): string {
  if (!existsSync(path)) return `(no log file at ${path})`;
  return `--- last lines of ${path} ---\n${tailLines(readFileSync(path, 'utf8'), n)}`;
}

const pollBackoff: BackoffPolicy = { initialMs: 10, maxMs: 250, multiplier: 2, jitter: 0.5 };

/**
 * Calls `attempt` until it resolves, waiting a short growing backoff between failed
 * attempts, and returns its value. This is the one bounded retry the test stack
 * uses to wait for a server to accept (or refuse) connections.
 * `giveUp`, checked before every attempt, may return a reason to stop at once
 * (for example, the server process has exited).
 * Throws an Error naming `what`, with the last failure's message, after `timeoutMs`.
 */
export async function retryUntil<T>(
  what: string,
  attempt: () => Promise<T>,
  opts: { timeoutMs: number; giveUp?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (let tries = 1; ; tries++) {
    const reason = opts.giveUp?.();
    if (reason !== undefined) throw new Error(`${what}: gave up: ${reason}`);
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
    }
    const wait = Math.min(backoffDelay(pollBackoff, tries), deadline - Date.now());
    if (wait <= 0) break;
    await sleep(wait);
  }
  const msg = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`${what}: did not succeed within ${opts.timeoutMs} ms (last error: ${msg})`);
}

/**
 * Whether a process with this pid exists and is not a zombie. Linux-specific: a
 * zombie (state Z in /proc/<pid>/stat) has exited but not been reaped yet, which
 * happens to servers whose parent is another process than ours.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return processState(pid) !== 'Z';
}

/** The one-letter state of a process from /proc/<pid>/stat (R, S, T, Z, …), or undefined if gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** The command line of a running process as one space-joined string, or '' if it is gone. */
export function processCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
