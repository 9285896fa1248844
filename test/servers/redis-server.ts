import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileSize, isAlive, logTail, processCommandLine, readFrom, retryUntil } from './exec.js';

/** Everything needed to control a test Redis from any process; plain data, serializable. */
export interface RedisServerInfo {
  /** Path of the redis-server binary. */
  bin: string;
  /** TCP port on 127.0.0.1; kept across restarts. */
  port: number;
  /** Working directory of the server. */
  dir: string;
  /** The server's stdout/stderr, appended to by every start. */
  logFile: string;
  /** Holds the pid of the running server; written by whoever started it. */
  pidFile: string;
}

/** Path of `redis-server` on PATH (or /usr/bin, /usr/sbin). Throws, pointing at ensure-system-deps, if missing. */
export function findRedisServer(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  const found = dirs
    .filter((d) => d.startsWith('/'))
    .map((d) => join(d, 'redis-server'))
    .find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error('redis-server not found. Run `bash scripts/ensure-system-deps.sh` (npm test does this).');
  }
  return found;
}

/**
 * A throwaway Redis for integration tests: no persistence, bound to 127.0.0.1.
 * Runs in the foreground (`--daemonize no`) as an unreferenced child of whichever
 * process started it, with its pid in {@link RedisServerInfo.pidFile}, so any
 * process holding the info can stop it or start a fresh one on the same port.
 */
export class RedisServer {
  /** @param info where the server lives; see {@link RedisServer.create} to make one. */
  constructor(readonly info: RedisServerInfo) {}

  /**
   * Starts a new server under `root/redis` on a port from `pickPort`, trying up
   * to three ports in case another process takes the one picked first.
   * Throws an Error with the server log's tail if it cannot start.
   */
  static async create(root: string, pickPort: () => Promise<number>): Promise<RedisServer> {
    const dir = join(root, 'redis');
    mkdirSync(dir, { mode: 0o700 });
    const server = new RedisServer({
      bin: findRedisServer(),
      port: 0,
      dir,
      logFile: join(dir, 'redis.log'),
      pidFile: join(dir, 'redis.pid'),
    });
    for (let attempt = 1; ; attempt++) {
      server.info.port = await pickPort();
      const logStart = fileSize(server.info.logFile);
      try {
        await server.start();
        return server;
      } catch (err) {
        const portTaken = /address already in use/i.test(readFrom(server.info.logFile, logStart));
        if (!portTaken || attempt === 3) throw err;
      }
    }
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.info.port}`;
  }

  /** Pid of the running server per the pid file, if that process is alive and is a redis-server. */
  runningPid(): number | undefined {
    const pid = Number.parseInt(readSafe(this.info.pidFile), 10);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
    return processCommandLine(pid).includes('redis-server') ? pid : undefined;
  }

  /**
   * Starts an empty server (any dump file is deleted first) and resolves once
   * that very process answers `INFO` on the port. Throws if one is already
   * running, or with the log's tail if it exits or does not answer within 30 s.
   */
  async start(): Promise<void> {
    const { bin, port, dir, logFile, pidFile } = this.info;
    if (this.runningPid() !== undefined) throw new Error(`Redis is already running on port ${port}`);
    rmSync(join(dir, 'dump.rdb'), { force: true });
    rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
    const log = openSync(logFile, 'a');
    const child = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    let exit: string | undefined;
    child.on('error', (err) => (exit = `could not spawn ${bin}: ${err.message}`));
    child.on('exit', (code, signal) => (exit = `redis-server exited (code ${code}, signal ${signal})`));
    // Unreferenced, so a test worker that restarted the server can still exit;
    // whoever tears the stack down kills it through the pid file.
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`Redis did not start: could not spawn ${bin}\n${logTail(logFile)}`);
    writeFileSync(pidFile, `${pid}\n`);
    try {
      await retryUntil(
        `Redis (pid ${pid}) accepting connections on 127.0.0.1:${port}`,
        async () => {
          const info = await redisCommand(port, ['INFO', 'server']);
          // Make sure we reached our own server, not a stranger that holds the port.
          if (!info.includes(`process_id:${pid}\r`)) throw new Error(`another server answers on port ${port}`);
        },
        { timeoutMs: 30_000, giveUp: () => exit },
      );
    } catch (err) {
      if (exit === undefined) child.kill('SIGKILL');
      rmSync(pidFile, { force: true });
      throw new Error(`Redis did not start: ${(err as Error).message}\n${logTail(logFile)}`);
    }
  }

  /**
   * Kills the server (SIGKILL: nothing is persisted anyway) and resolves once it
   * is gone and its port is free. No-op if it is not running.
   */
  async stop(): Promise<void> {
    const pid = this.runningPid();
    if (pid !== undefined) {
      process.kill(pid, 'SIGKILL');
      await retryUntil(`Redis (pid ${pid}) exiting`, async () => {
        if (isAlive(pid)) throw new Error('still running');
      }, { timeoutMs: 30_000 });
    }
    rmSync(this.info.pidFile, { force: true });
  }

  /** Synchronously SIGKILLs the server, for exit hooks that cannot await. Best effort: never throws. */
  killNow(): void {
    const pid = this.runningPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Sends one command to the Redis on 127.0.0.1:`port` over a fresh connection and
 * returns the reply as text (status, integer or bulk string). Rejects on
 * connection errors, error replies, or after 1 s without a full reply.
 */
export function redisCommand(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, value?: string): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? '');
    };
    socket.setTimeout(1_000, () => done(new Error(`no reply to ${args[0]} within 1 s`)));
    socket.on('error', (err) => done(err));
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const reply = parseReply(buf);
      if (reply !== undefined) done(reply instanceof Error ? reply : null, reply instanceof Error ? undefined : reply);
    });
  });
}

/** Parses one complete RESP reply of a simple type, or returns undefined if more bytes are needed. */
function parseReply(buf: Buffer): string | Error | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const head = buf.subarray(1, eol).toString();
  switch (String.fromCharCode(buf[0] ?? 0)) {
    case '+':
    case ':':
      return head;
    case '-':
      return new Error(`Redis error reply: ${head}`);
    case '$': {
      const len = Number(head);
      if (len < 0) return '';
      if (buf.length < eol + 2 + len + 2) return undefined;
      return buf.subarray(eol + 2, eol + 2 + len).toString();
    }
    default:
      return new Error(`unexpected Redis reply: ${buf.toString().slice(0, 80)}`);
  }
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
