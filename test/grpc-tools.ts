import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './procs.js';

/** grpcurl, built by scripts/ensure-grpcurl.sh (which `npm test` runs first). */
export const GRPCURL = join(REPO_ROOT, '.cache', 'grpcurl', 'bin', 'grpcurl');
/** A Python with grpcio and grpcio-reflection, from the same script. */
export const GRPC_PYTHON = join(REPO_ROOT, '.cache', 'grpcurl', 'venv', 'bin', 'python');

/** `path`, after checking that it is executable; throws naming the script that provides it. */
export function tool(path: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run bash scripts/ensure-grpcurl.sh (npm test runs it before vitest)`);
  }
  return path;
}

/** How a finished command went. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` to completion (killed after `timeoutMs`) and returns its exit code and output. */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A grpcurl call whose response is a stream: each message grpcurl prints (a
 * pretty-printed JSON object, closed by a `}` line of its own) is parsed as it arrives.
 */
export class GrpcurlStream {
  readonly messages: Record<string, unknown>[] = [];
  /** Resolves when grpcurl exits, with its code and stderr. */
  readonly exited: Promise<{ code: number | null; stderr: string }>;
  private readonly kill: () => void;
  private waiters: (() => void)[] = [];

  constructor(args: string[]) {
    const child = spawn(tool(GRPCURL), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let chunk: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      chunk.push(line);
      if (line !== '}') return;
      this.messages.push(JSON.parse(chunk.join('\n')) as Record<string, unknown>);
      chunk = [];
      this.wake();
    });
    this.exited = new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
    void this.exited.then(() => this.wake());
    this.kill = () => child.kill('SIGKILL');
  }

  /**
   * Resolves with the first message, already received or still to come, that `match`
   * accepts. Rejects with what arrived when grpcurl exits or `timeoutMs` passes first.
   */
  async next(match: (m: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const m = this.messages.find(match);
      if (m) return m;
      if (exited || Date.now() > until) {
        const { stderr } = exited ? await this.exited : { stderr: '(still running)' };
        throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}; stderr: ${stderr}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(0, until - Date.now()) + 1);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Ends grpcurl if it still runs. */
  close(): void {
    this.kill();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
