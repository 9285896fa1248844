import { chownSync, existsSync, globSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSize, logTail, readFrom, runCommand } from './exec.js';

/** Everything needed to control a test Postgres cluster from any process; plain data, serializable. */
export interface PgServerInfo {
  /** Directory holding pg_ctl, initdb and postgres, e.g. /usr/lib/postgresql/15/bin. */
  binDir: string;
  /** The cluster's data directory (owned by `runAs` when set). */
  dataDir: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Directory of the Unix socket. */
  socketDir: string;
  /** The server log, appended to by every start. */
  logFile: string;
  /** OS user that runs initdb/pg_ctl (`postgres` when we are root, as postgres refuses root), or null for the current user. */
  runAs: string | null;
}

/**
 * The newest PostgreSQL server bin directory that Debian's packages installed
 * (/usr/lib/postgresql/<version>/bin; these are not on PATH).
 * Throws when there is none, pointing at scripts/ensure-system-deps.sh.
 */
export function findPostgresBinDir(): string {
  const found = globSync('/usr/lib/postgresql/*/bin/pg_ctl')
    .map((p) => p.slice(0, -'/pg_ctl'.length))
    .filter((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')))
    .sort((a, b) => versionOf(b) - versionOf(a));
  if (found[0] === undefined) {
    throw new Error(
      'No PostgreSQL server binaries found (looked for /usr/lib/postgresql/*/bin/{pg_ctl,initdb,postgres}). ' +
        'Run `bash scripts/ensure-system-deps.sh` (npm test does this).',
    );
  }
  return found[0];
}

function versionOf(binDir: string): number {
  return Number.parseFloat(binDir.split('/').at(-2) ?? '0') || 0;
}

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 for integration tests, driven with
 * the Debian package's initdb and pg_ctl. Any process that has its
 * {@link PgServerInfo} can stop, start and restart it.
 */
export class PgServer {
  /** @param info where the cluster lives; see {@link PgServer.create} to make one. */
  constructor(readonly info: PgServerInfo) {}

  /**
   * Initializes a new cluster under `root/pg` and starts it on a port from
   * `pickPort`, trying up to three ports in case another process takes the one
   * picked before the server binds it.
   * Throws an Error with the failing command's output or the server log's tail.
   */
  static async create(root: string, pickPort: () => Promise<number>): Promise<PgServer> {
    const binDir = findPostgresBinDir();
    const runAs = process.getuid?.() === 0 ? 'postgres' : null;
    const base = join(root, 'pg');
    mkdirSync(base, { mode: 0o700 });
    if (runAs !== null) {
      const uid = Number((await runCommand('id', ['-u', runAs])).stdout.trim());
      const gid = Number((await runCommand('id', ['-g', runAs])).stdout.trim());
      chownSync(base, uid, gid);
    }
    const server = new PgServer({
      binDir,
      dataDir: join(base, 'data'),
      port: 0,
      socketDir: base,
      logFile: join(base, 'postgres.log'),
      runAs,
    });
    // --no-sync: the cluster is thrown away after the run, so crash safety is not needed.
    await server.pgCommand('initdb', [
      '-D', server.info.dataDir, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ]).catch((err: unknown) => {
      throw new Error(`initdb of the test Postgres cluster failed: ${(err as Error).message}`);
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

  /** Connection URL for database `db` (default `postgres`) as superuser `postgres`, trust auth. */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.info.port}/${db}`;
  }

  /** Whether the postmaster is running (per `pg_ctl status`). */
  async isRunning(): Promise<boolean> {
    try {
      await this.pgCommand('pg_ctl', ['status', '-D', this.info.dataDir]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Starts the server and resolves once it accepts connections (`pg_ctl -w`).
   * No-op if it is running. Throws with the server log's tail if it cannot start.
   */
  async start(): Promise<void> {
    if (await this.isRunning()) return;
    const { port, socketDir, dataDir, logFile } = this.info;
    // fsync, synchronous_commit and full_page_writes are off because this is a
    // throwaway test cluster: it trades crash safety for speed. Never copy these
    // settings anywhere real. max_connections is raised for multi-process tests.
    const opts = [
      `-p ${port}`,
      `-k '${socketDir}'`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=300',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    try {
      // -l sends the postmaster's output to the log file; without it the server
      // would inherit our pipes and pg_ctl's caller would never see them close.
      await this.pgCommand('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', opts]);
    } catch (err) {
      throw new Error(
        `PostgreSQL did not start on 127.0.0.1:${port}: ${(err as Error).message}\n${logTail(logFile)}`,
      );
    }
  }

  /** Stops the server (fast shutdown: clients are disconnected) and waits until it is down. No-op if not running. */
  async stop(): Promise<void> {
    if (!(await this.isRunning())) return;
    try {
      await this.pgCommand('pg_ctl', ['stop', '-D', this.info.dataDir, '-m', 'fast', '-w', '-t', '60']);
    } catch (err) {
      throw new Error(`PostgreSQL did not stop: ${(err as Error).message}\n${logTail(this.info.logFile)}`);
    }
  }

  /** Stops then starts the server on the same port and data directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Synchronously sends the postmaster SIGQUIT (immediate shutdown), for exit
   * hooks that cannot await. Best effort: never throws.
   */
  killNow(): void {
    const pid = postmasterPid(this.info.dataDir);
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }

  private pgCommand(tool: string, args: string[]): Promise<unknown> {
    const bin = join(this.info.binDir, tool);
    if (this.info.runAs === null) return runCommand(bin, args);
    return runCommand('runuser', ['-u', this.info.runAs, '--', bin, ...args]);
  }
}

/** The postmaster's pid from `dataDir/postmaster.pid`, or undefined if there is none. */
export function postmasterPid(dataDir: string): number | undefined {
  const pid = Number.parseInt(readLogSafe(join(dataDir, 'postmaster.pid')).split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function readLogSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
