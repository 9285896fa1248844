import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root; relative entries and the default cwd resolve against it. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ORPHAN_GUARD = pathToFileURL(fileURLToPath(new URL('./orphan-guard.ts', import.meta.url))).href;

/** One line of a child's output: the parsed object if the line is a JSON object (pino's format), else the raw text. */
export type LogLine = Record<string, unknown> | string;

/** How a spawned process ended. */
export interface ExitStatus {
  /** Exit code, or null if a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

/** Options of {@link spawnTaskd}. */
export interface SpawnTaskdOptions {
  /** Extra command-line arguments after the entry. */
  args?: string[];
  /** Working directory; default the repository root. */
  cwd?: string;
  /** Output lines kept (stdout and stderr together); older ones are dropped. Default 10,000. */
  bufferLines?: number;
}

/** A running (or finished) process started by {@link spawnTaskd}. */
export interface TaskdProcess {
  /** The name given to {@link spawnTaskd}, used in messages and verbose output. */
  readonly name: string;
  /** OS pid of the node process running the entry (no wrapper in between, so signals reach it directly). */
  readonly pid: number;
  /** Settles once the process has exited and all its output has been read. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /**
   * Resolves with the first output line, already seen or still to come, for which
   * `predicate` returns true. Rejects with the last 50 lines of output if none
   * matches within `timeoutMs`, if the process exits first, or if `predicate` throws.
   */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
  /** Sends `signal` (default SIGTERM). No-op once the process has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Sends SIGKILL. No-op once the process has exited. */
  kill9(): void;
  /** Freezes the process with SIGSTOP (it keeps its sockets but does nothing). */
  stop(): void;
  /** Resumes a process frozen by {@link TaskdProcess.stop} with SIGCONT. */
  cont(): void;
  /** The kept output lines (stdout and stderr interleaved as they arrived), oldest first. */
  output(): string[];
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; the port
 * is released before this resolves, so a server should bind it promptly).
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port assigned'))));
    });
  });
}

const live = new Set<Handle>();
let exitHookInstalled = false;

/**
 * Starts `entry` (a .ts file, relative to the repository root or absolute) as
 * `node --import tsx <entry>` with `env` merged over a copy of this process's
 * environment (minus vitest's own `VITEST*` variables), and captures its stdout
 * and stderr line by line. Set `TASKD_TEST_VERBOSE=1` to also copy each line to
 * this process's stderr, prefixed with `[name]`.
 *
 * The child dies with this process: {@link reapAll} kills it, an 'exit' hook
 * kills it if the test process exits without that, and a preloaded guard makes
 * it kill itself if its stdin pipe closes (the test process was SIGKILLed).
 * Throws if the process cannot be spawned.
 */
export function spawnTaskd(
  name: string,
  entry: string,
  env: Record<string, string>,
  opts: SpawnTaskdOptions = {},
): TaskdProcess {
  installExitHook();
  const cwd = opts.cwd ?? REPO_ROOT;
  const entryPath = isAbsolute(entry) ? entry : resolve(REPO_ROOT, entry);
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, '--import', ORPHAN_GUARD, entryPath, ...(opts.args ?? [])],
    { cwd, env: { ...cleanEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  if (child.pid === undefined) {
    child.on('error', () => undefined);
    throw new Error(`could not spawn ${name} (${entryPath}) with ${process.execPath}`);
  }
  const handle = new Handle(name, child, child.pid, opts.bufferLines ?? 10_000);
  live.add(handle);
  void handle.exited.then(() => live.delete(handle));
  return handle;
}

/**
 * Kills every process started by {@link spawnTaskd} that is still running
 * (SIGCONT first for frozen ones, then SIGKILL) and resolves once all have
 * exited. Call it in `afterAll`.
 */
export async function reapAll(): Promise<void> {
  const all = [...live];
  for (const p of all) {
    p.cont();
    p.kill9();
  }
  await Promise.all(all.map((p) => p.exited));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.kill9();
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  return env;
}

interface Waiter {
  predicate: (line: LogLine) => boolean;
  resolve: (line: LogLine) => void;
  reject: (err: Error) => void;
}

class Handle implements TaskdProcess {
  readonly exited: Promise<ExitStatus>;
  private readonly lines: Array<{ text: string; parsed: LogLine }> = [];
  private readonly waiters = new Set<Waiter>();
  private status: ExitStatus | undefined;
  private readonly verbose = process.env.TASKD_TEST_VERBOSE === '1';

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly pid: number,
    private readonly maxLines: number,
  ) {
    child.stdin?.on('error', () => undefined); // the child may exit before reading stdin
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => this.onLine(l));
    }
    this.exited = new Promise((resolveExit) => {
      child.on('error', (err) => this.onLine(`[spawn error] ${err.message}`));
      child.on('close', (code, signal) => {
        this.status = { code, signal };
        const why = `${this.name} (pid ${this.pid}) exited with code ${code}, signal ${signal} before a matching line`;
        for (const w of this.waiters) w.reject(this.failure(why));
        this.waiters.clear();
        resolveExit(this.status);
      });
    });
  }

  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolveLine, rejectLine) => {
      try {
        const seen = this.lines.find((l) => predicate(l.parsed));
        if (seen) return resolveLine(seen.parsed);
      } catch (err) {
        return rejectLine(err);
      }
      if (this.status) {
        return rejectLine(this.failure(`${this.name} (pid ${this.pid}) had already exited (code ${this.status.code}, signal ${this.status.signal})`));
      }
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        rejectLine(this.failure(`no matching line from ${this.name} (pid ${this.pid}) within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (line) => (clearTimeout(timer), resolveLine(line)),
        reject: (err) => (clearTimeout(timer), rejectLine(err)),
      };
      this.waiters.add(waiter);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.status === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
    }
  }

  kill9(): void {
    this.kill('SIGKILL');
  }

  stop(): void {
    this.kill('SIGSTOP');
  }

  cont(): void {
    this.kill('SIGCONT');
  }

  output(): string[] {
    return this.lines.map((l) => l.text);
  }

  private onLine(text: string): void {
    const parsed = parseLine(text);
    this.lines.push({ text, parsed });
    if (this.lines.length > this.maxLines) this.lines.shift();
    if (this.verbose) process.stderr.write(`[${this.name}] ${text}\n`);
    for (const w of this.waiters) {
      try {
        if (!w.predicate(parsed)) continue;
        w.resolve(parsed);
      } catch (err) {
        w.reject(err as Error);
      }
      this.waiters.delete(w);
    }
  }

  private failure(why: string): Error {
    const tail = this.output().slice(-50);
    return new Error(`${why}; last ${tail.length} lines of output:\n${tail.join('\n')}`);
  }
}

function parseLine(text: string): LogLine {
  if (!text.startsWith('{')) return text;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : text;
  } catch {
    return text;
  }
}
