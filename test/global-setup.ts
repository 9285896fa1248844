import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './procs.js';
import { isAlive, processCommandLine, retryUntil } from './servers/exec.js';
import { KafkaServer, kafkaPidIn } from './servers/kafka-server.js';
import { PgServer, postmasterPid } from './servers/pg-server.js';
import { RedisServer } from './servers/redis-server.js';
import { STACK_KEY, type StackInfo } from './servers/stack-info.js';

const STACK_DIR_PREFIX = 'taskd-stack-';

/**
 * vitest globalSetup of the `int` project: starts a private PostgreSQL, Redis and
 * Kafka (KRaft, one node; jars from scripts/ensure-kafka.sh) on 127.0.0.1, on fresh ephemeral ports with data under a fresh temporary
 * directory, and publishes them to test files (read them through test/stack.ts).
 *
 * Publishes the {@link StackInfo} with `project.provide('taskdStack', …)`, and
 * also sets `TASKD_TEST_PG_URL`, `TASKD_TEST_REDIS_URL`, `TASKD_TEST_PG_CTL`,
 * `TASKD_TEST_PG_DATA`, `TASKD_TEST_REDIS_PORT` and `TASKD_TEST_KAFKA_BROKERS` in process.env (inherited by
 * every worker and spawned process; informational, tests use test/stack.ts).
 *
 * Throws, with the server's log tail, if either server cannot start; integration
 * tests never run without the stack. Returns the teardown, which stops both
 * servers and deletes the directory. Servers left by a run that died without
 * teardown are killed the next time this runs.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await sweepStaleStacks();
  const root = mkdtempSync(join(tmpdir(), STACK_DIR_PREFIX));
  chmodSync(root, 0o755); // the postgres user must traverse it to reach pg/
  writeFileSync(join(root, 'owner.pid'), `${process.pid}\n`);

  const started: Array<PgServer | RedisServer | KafkaServer> = [];
  const killNow = (): void => {
    for (const s of started) s.killNow();
    removeStackDir(root);
  };
  // A run that exits without teardown (a crash, process.exit) still kills both servers.
  process.on('exit', killNow);

  const [pg, redis, kafka] = await Promise.allSettled([
    PgServer.create(root, freePort).then((s) => (started.push(s), s)),
    RedisServer.create(root, freePort).then((s) => (started.push(s), s)),
    KafkaServer.create(root, freePort).then((s) => (started.push(s), s)),
  ]);
  if (pg.status === 'rejected' || redis.status === 'rejected' || kafka.status === 'rejected') {
    await stopAll(started).catch(() => undefined);
    process.off('exit', killNow);
    killNow();
    const reasons = [pg, redis, kafka].flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    throw new Error(`The integration test stack could not start:\n${reasons.join('\n\n')}`);
  }

  const info: StackInfo = {
    root,
    pgUrl: pg.value.url(),
    redisUrl: redis.value.url,
    pg: pg.value.info,
    redis: redis.value.info,
    kafkaBrokers: kafka.value.brokers,
    kafka: kafka.value.info,
  };
  project.provide(STACK_KEY, info);
  const env: Record<string, string> = {
    TASKD_TEST_PG_URL: info.pgUrl,
    TASKD_TEST_REDIS_URL: info.redisUrl,
    TASKD_TEST_PG_CTL: join(info.pg.binDir, 'pg_ctl'),
    TASKD_TEST_PG_DATA: info.pg.dataDir,
    TASKD_TEST_REDIS_PORT: String(info.redis.port),
    TASKD_TEST_KAFKA_BROKERS: info.kafkaBrokers,
  };
  Object.assign(process.env, env);
  console.log(`taskd test stack: postgres ${info.pgUrl} (${info.pg.binDir}), redis ${info.redisUrl}, kafka ${info.kafkaBrokers}, data in ${root}`);

  return async () => {
    for (const key of Object.keys(env)) delete process.env[key];
    try {
      await stopAll([new PgServer(info.pg), new RedisServer(info.redis), new KafkaServer(info.kafka)]);
    } finally {
      process.off('exit', killNow);
      killNow();
    }
  };
}

async function stopAll(servers: Array<PgServer | RedisServer | KafkaServer>): Promise<void> {
  const results = await Promise.allSettled(servers.map((s) => s.stop()));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
  if (failed.length > 0) throw new Error(`Stopping the integration test stack failed:\n${failed.join('\n')}`);
}

/**
 * Kills servers and removes directories left by earlier runs whose vitest
 * process is gone (killed before its teardown ran). Runs of other checkouts
 * that are still alive are left alone.
 */
async function sweepStaleStacks(): Promise<void> {
  const base = tmpdir();
  for (const name of readdirSync(base)) {
    if (!name.startsWith(STACK_DIR_PREFIX)) continue;
    const dir = join(base, name);
    const owner = Number.parseInt(readSafe(join(dir, 'owner.pid')), 10);
    if (Number.isInteger(owner) && owner > 0 ? isAlive(owner) : ageMs(dir) < 10 * 60_000) continue;
    const pids: number[] = [];
    const pgPid = postmasterPid(join(dir, 'pg', 'data'));
    if (pgPid !== undefined && processCommandLine(pgPid).includes(dir)) {
      signal(pgPid, 'SIGQUIT');
      pids.push(pgPid);
    }
    const redis = new RedisServer({ bin: '', port: 0, dir, logFile: '', pidFile: join(dir, 'redis', 'redis.pid') });
    const redisPid = redis.runningPid();
    if (redisPid !== undefined) {
      signal(redisPid, 'SIGKILL');
      pids.push(redisPid);
    }
    const kafkaPid = kafkaPidIn(join(dir, 'kafka', 'kafka.pid'), join(dir, 'kafka'));
    if (kafkaPid !== undefined) {
      signal(kafkaPid, 'SIGKILL');
      pids.push(kafkaPid);
    }
    // Deleting files under a postmaster that is still shutting down can leave the tree half-removed.
    await retryUntil(`servers of the dead run in ${dir} exiting`, async () => {
      if (pids.some(isAlive)) throw new Error('still running');
    }, { timeoutMs: 30_000 });
    if (removeStackDir(dir)) console.log(`taskd test stack: removed leftovers of a dead run in ${dir}`);
    else console.warn(`taskd test stack: could not fully remove ${dir}, left by a dead run`);
  }
}

/**
 * Deletes a stack directory, owner.pid last, so that a directory only partly
 * removed (a server was still writing) is still recognized and swept by the next
 * run. Returns whether it is gone. Synchronous for use in the 'exit' hook.
 */
function removeStackDir(dir: string): boolean {
  try {
    for (const entry of readdirSync(dir)) {
      if (entry !== 'owner.pid') rmSync(join(dir, entry), { recursive: true, force: true });
    }
    if (readdirSync(dir).some((e) => e !== 'owner.pid')) return false;
    rmSync(dir, { recursive: true, force: true });
    return !existsSync(dir);
  } catch {
    return !existsSync(dir);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
