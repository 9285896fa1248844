import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { fileSize, isAlive, logTail, processCommandLine, readFrom, retryUntil, runCommand } from './exec.js';

/** Everything needed to control the test Kafka from any process; plain data, serializable. */
export interface KafkaServerInfo {
  /** Directory of the broker's jars (scripts/ensure-kafka.sh fills it). */
  libDir: string;
  /** The server's directory: configuration, pid file, logs. */
  dir: string;
  /** `log.dirs`: topic data and the KRaft metadata log; kept across stop/start. */
  dataDir: string;
  /** Client (PLAINTEXT) port on 127.0.0.1; kept across restarts. */
  port: number;
  /** KRaft controller port on 127.0.0.1. */
  controllerPort: number;
  /** The cluster id the data directory was formatted with. */
  clusterId: string;
  /** The broker's own log (log4j2 file appender), appended to by every start. */
  logFile: string;
  /** The JVM's stdout and stderr (JVM errors, not the broker's log). */
  stdoutFile: string;
  /** Holds the pid of the running broker; written by whoever started it. */
  pidFile: string;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KAFKA_MAIN = 'kafka.Kafka';

/**
 * The jars scripts/ensure-kafka.sh fetched (.cache/kafka/lib). Throws, pointing at that
 * script, when they are missing.
 */
export function findKafkaLib(): string {
  const lib = join(REPO_ROOT, '.cache', 'kafka', 'lib');
  if (!existsSync(join(lib, 'kafka.version'))) {
    throw new Error(`No Kafka broker jars in ${lib}. Run \`bash scripts/ensure-kafka.sh\` (npm test does this).`);
  }
  return lib;
}

/**
 * A throwaway single-node Kafka (KRaft, broker and controller in one JVM) on
 * 127.0.0.1 for integration tests, run from the jars of scripts/ensure-kafka.sh as
 * `java -cp '<lib>/*' kafka.Kafka server.properties`. Like the test Redis it runs as
 * an unreferenced child with its pid in a file, so any process holding the
 * {@link KafkaServerInfo} can stop it and start it again on the same ports and data.
 */
export class KafkaServer {
  /** @param info where the server lives; see {@link KafkaServer.create} to make one. */
  constructor(readonly info: KafkaServerInfo) {}

  /**
   * Formats a new cluster (fresh cluster id) under `root/kafka` and starts it on ports
   * from `pickPort`, trying up to three pairs in case another process takes one first.
   * Throws with the failing command's output or the broker log's tail.
   */
  static async create(root: string, pickPort: () => Promise<number>): Promise<KafkaServer> {
    const dir = join(root, 'kafka');
    mkdirSync(dir, { mode: 0o700 });
    const server = new KafkaServer({
      libDir: findKafkaLib(), dir, dataDir: join(dir, 'data'), port: 0, controllerPort: 0,
      clusterId: randomBytes(16).toString('base64url'), // what `kafka-storage.sh random-uuid` prints: 16 random bytes, base64url
      logFile: join(dir, 'server.log'), stdoutFile: join(dir, 'stdout.log'), pidFile: join(dir, 'kafka.pid'),
    });
    for (let attempt = 1; ; attempt++) {
      server.info.port = await pickPort();
      server.info.controllerPort = await pickPort();
      server.writeConfig();
      // The voters (with their port) are part of the formatted metadata: format anew for new ports.
      rmSync(server.info.dataDir, { recursive: true, force: true });
      await server.format();
      const logStart = fileSize(server.info.logFile);
      try {
        await server.start();
        return server;
      } catch (err) {
        const portTaken = /address already in use/i.test(readFrom(server.info.logFile, logStart) + readFrom(server.info.stdoutFile, 0));
        if (!portTaken || attempt === 3) throw err;
      }
    }
  }

  /** `127.0.0.1:<port>`, the bootstrap address clients use. */
  get brokers(): string {
    return `127.0.0.1:${this.info.port}`;
  }

  /** Pid of the running broker per the pid file, if that process is alive and runs kafka.Kafka from this directory. */
  runningPid(): number | undefined {
    return kafkaPidIn(this.info.pidFile, this.info.dir);
  }

  /**
   * Starts the broker on its data (kept from earlier runs) and resolves once it serves
   * clients: an admin client's `describeCluster` answers with this cluster's id. Throws
   * if it is already running, or with the log's tail if it exits or does not serve
   * within 90 s.
   */
  async start(): Promise<void> {
    const { libDir, dir, port, logFile, stdoutFile, pidFile, clusterId } = this.info;
    if (this.runningPid() !== undefined) throw new Error(`Kafka is already running on port ${port}`);
    const out = openSync(stdoutFile, 'a');
    const child = spawn('java', [...jvmArgs(this.info), '-cp', `${libDir}/*`, KAFKA_MAIN, join(dir, 'server.properties')], {
      cwd: dir, stdio: ['ignore', out, out],
    });
    closeSync(out);
    let exit: string | undefined;
    child.on('error', (err) => (exit = `could not spawn java: ${err.message}`));
    child.on('exit', (code, signal) => (exit = `the Kafka JVM exited (code ${code}, signal ${signal})`));
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`Kafka did not start: could not spawn java\n${logTail(stdoutFile)}`);
    writeFileSync(pidFile, `${pid}\n`);
    try {
      await retryUntil(`Kafka (pid ${pid}) serving on 127.0.0.1:${port}`, async () => {
        const c = await describeCluster(this.brokers);
        // Make sure we reached our own broker, not a stranger that holds the port.
        if (c.clusterId !== clusterId) throw new Error(`another cluster (${c.clusterId}) answers on port ${port}`);
      }, { timeoutMs: 90_000, giveUp: () => exit });
    } catch (err) {
      if (exit === undefined) child.kill('SIGKILL');
      rmSync(pidFile, { force: true });
      throw new Error(`Kafka did not start: ${(err as Error).message}\n${logTail(logFile)}\n${logTail(stdoutFile, 10)}`);
    }
  }

  /**
   * Stops the broker and resolves once it is gone; its data stays for {@link start}.
   * SIGTERM (a clean shutdown) by default, SIGKILL after 30 s or when `kill` is set.
   * No-op if it is not running.
   */
  async stop(opts: { kill?: boolean } = {}): Promise<void> {
    const pid = this.runningPid();
    if (pid !== undefined) {
      process.kill(pid, 'SIGCONT'); // a frozen broker would never act on SIGTERM
      process.kill(pid, opts.kill ? 'SIGKILL' : 'SIGTERM');
      try {
        await retryUntil(`Kafka (pid ${pid}) exiting`, async () => {
          if (isAlive(pid)) throw new Error('still running');
        }, { timeoutMs: 30_000 });
      } catch {
        process.kill(pid, 'SIGKILL');
        await retryUntil(`Kafka (pid ${pid}) exiting after SIGKILL`, async () => {
          if (isAlive(pid)) throw new Error('still running');
        }, { timeoutMs: 10_000 });
      }
    }
    rmSync(this.info.pidFile, { force: true });
  }

  /**
   * Freezes the broker (SIGSTOP): its sockets stay open and requests sent to it wait
   * unanswered, as with a broker stuck in a long GC. Throws if it is not running.
   */
  freeze(): void {
    const pid = this.runningPid();
    if (pid === undefined) throw new Error(`Kafka is not running on port ${this.info.port}; nothing to freeze`);
    process.kill(pid, 'SIGSTOP');
  }

  /** Resumes a broker frozen by {@link KafkaServer.freeze} (SIGCONT). No-op if it is not running. */
  thaw(): void {
    const pid = this.runningPid();
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
  }

  /** Synchronously SIGKILLs the broker, for exit hooks that cannot await. Best effort: never throws. */
  killNow(): void {
    const pid = this.runningPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private writeConfig(): void {
    const { dir, dataDir, port, controllerPort, logFile } = this.info;
    // Single node: every internal topic has one replica, and few partitions so the
    // coordinators load fast. Topics are created explicitly (the relay does it).
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
    ];
    writeFileSync(join(dir, 'server.properties'), `${props.join('\n')}\n`);
    const log4j = [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = FILE',
      `appender.file.fileName = ${logFile}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.file.ref = FILE',
      // The request log and the state-change log are as chatty as their names say.
      'logger.request.name = kafka.request.logger',
      'logger.request.level = WARN',
      'logger.state.name = state.change.logger',
      'logger.state.level = WARN',
    ];
    writeFileSync(join(dir, 'log4j2.properties'), `${log4j.join('\n')}\n`);
  }

  /** Formats the data directory for KRaft with the cluster id (the storage tool of the jars). */
  private async format(): Promise<void> {
    const { libDir, dir, clusterId } = this.info;
    await runCommand('java', [
      ...jvmArgs(this.info), '-cp', `${libDir}/*`, 'kafka.tools.StorageTool',
      'format', '--cluster-id', clusterId, '--config', join(dir, 'server.properties'), '--ignore-formatted',
    ], { timeoutMs: 90_000, cwd: dir }).catch((err: unknown) => {
      throw new Error(`formatting the test Kafka's storage failed: ${(err as Error).message}`);
    });
  }
}

function jvmArgs(info: KafkaServerInfo): string[] {
  return [
    '-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(info.dir, 'log4j2.properties')}`, `-Dkafka.logs.dir=${info.dir}`,
  ];
}

/**
 * The pid in `pidFile` if that process is alive and is a Kafka broker started from
 * `dir` (so a recycled pid is never taken for it). For sweeping a dead run's broker.
 */
export function kafkaPidIn(pidFile: string, dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const cmd = processCommandLine(pid);
  return cmd.includes(KAFKA_MAIN) && cmd.includes(dir) ? pid : undefined;
}

/** Asks the broker at `brokers` for its cluster id with a short-lived admin client; rejects when it does not answer. */
export async function describeCluster(brokers: string): Promise<{ clusterId: string; brokers: number }> {
  const kafka = new Kafka({
    clientId: 'taskd-test-probe', brokers: [brokers], logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return { clusterId: c.clusterId, brokers: c.brokers.length };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
