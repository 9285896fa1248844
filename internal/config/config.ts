import { z } from 'zod';
import { fileKeyOf } from './config-file.js';
import { describeIssue, gatherConfigInput, settingLabel, settingMessage, type ConfigText } from './config-input.js';

/** What a setting is besides its type: a list, a secret (never echoed in errors), reloaded live. */
interface SettingTraits {
  list?: true;
  secret?: true;
  live?: true;
}
const traits = z.registry<SettingTraits>();

const ms = (def: number) => z.coerce.number().int().positive().default(def);
const list = (def: string[]) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .default(def)
    .register(traits, { list: true });
/** A setting whose value must never appear in an error message. */
const secret = <T extends z.ZodType>(s: T): T => (traits.add(s, { secret: true }), s);
/** A setting applied while the process runs when the config file changes (config-watcher.ts). */
const live = <T extends z.ZodType>(s: T): T => (traits.add(s, { live: true }), s);

/**
 * Every setting taskd reads, as environment variables (`TASKD_*`). Parsed once per
 * process; defaults live here and nowhere else. Unknown `TASKD_*` variables are an
 * error, so a typo refuses to start instead of being ignored.
 */
export const configSchema = z
  .object({
    /** host:port this process listens on. */
    TASKD_ADDR: z.string().default('127.0.0.1:8080'),
    /** Address other processes use to reach this scheduler (defaults to http://TASKD_ADDR). */
    TASKD_ADVERTISE_ADDR: z.string().optional(),
    /** Reloaded live. */
    TASKD_LOG_LEVEL: live(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
    /** Postgres connection string (apiserver, scheduler). */
    TASKD_DATABASE_URL: secret(z.string().optional()),
    TASKD_DATABASE_POOL: z.coerce.number().int().min(1).max(200).default(10),
    /** Redis URL (scheduler, and apiservers to find the leader). */
    TASKD_REDIS_URL: secret(z.string().optional()),
    /** Prefix of every Redis key, so clusters can share a Redis. */
    TASKD_REDIS_PREFIX: z.string().default('taskd:'),
    /** Scheduler addresses for workers and apiservers, comma-separated http:// URLs. */
    TASKD_SCHEDULER_ADDRS: list(['http://127.0.0.1:8080']),
    /** Leader lock TTL. */
    TASKD_LOCK_TTL_MS: ms(5_000),
    /** Leader lock renewal interval; must be below a third of the TTL. */
    TASKD_LOCK_RENEW_MS: ms(1_000),
    /** A lease lapses when its worker sends no heartbeat for this long. */
    TASKD_LEASE_TTL_MS: ms(10_000),
    TASKD_HEARTBEAT_MS: ms(2_000),
    /** Interval at which the leader looks in Postgres for due and ready work without a hint. */
    TASKD_POLL_MS: ms(500),
    /**
     * Aging: every 10th dispatch from a queue goes to its oldest task that has waited
     * longer than this, whatever its priority, so low priorities are never starved.
     */
    TASKD_AGING_MS: ms(60_000),
    /** Furthest a delay or run_at may reach into the future. */
    TASKD_MAX_HORIZON_MS: ms(366 * 24 * 3600 * 1000),
    /** Most tasks in one workflow. */
    TASKD_WORKFLOW_MAX_TASKS: ms(10_000),
    /** Most dependencies (edges) in one workflow. */
    TASKD_WORKFLOW_MAX_EDGES: ms(100_000),
    /**
     * Misfire grace of a schedule that sets none: a fire the leader reaches later than
     * this counts as missed, and the schedule's misfire policy decides about it.
     */
    TASKD_SCHEDULE_MISFIRE_GRACE_MS: ms(60_000),
    /** Largest accepted payload of one task, in bytes of JSON. */
    TASKD_MAX_PAYLOAD_BYTES: ms(1 << 20),
    /** Largest accepted request body, in bytes. */
    TASKD_MAX_REQUEST_BYTES: ms(32 << 20),
    TASKD_WORKER_ID: z.string().optional(),
    /** Attempts a worker runs at once; reloaded live (lowering it never cancels running attempts). */
    TASKD_WORKER_SLOTS: live(z.coerce.number().int().min(1).max(10_000).default(4)),
    TASKD_WORKER_QUEUES: list(['default']),
    /** Where /healthz, /readyz listen for a worker (it serves no RPCs). */
    TASKD_WORKER_HEALTH_ADDR: z.string().default('127.0.0.1:0'),
    /** Embedded default: data directory of PGlite. */
    TASKD_DATA_DIR: z.string().default('.taskd'),
    /**
     * Authentication (docs/auth.md). It is on when any verifier is configured: an HS256
     * secret, a JWKS URL or a JWKS file. Without it a process binds only to loopback.
     */
    /** Shared secret of HS256 JWTs (at least 32 characters). */
    TASKD_AUTH_HS256_SECRET: secret(z.string().min(32, 'must be at least 32 characters').optional()),
    /** JWKS URL of RS256/ES256 JWT signing keys (fetched and cached with jose's createRemoteJWKSet). */
    TASKD_AUTH_JWKS_URL: z.url().optional(),
    /** JWKS file of RS256/ES256 JWT signing keys, read at start. */
    TASKD_AUTH_JWKS_FILE: z.string().optional(),
    /** Algorithms accepted from JWKS keys; asymmetric only. */
    TASKD_AUTH_JWKS_ALGORITHMS: list(['RS256', 'ES256']),
    /** Required `iss` of JWTs. */
    TASKD_AUTH_ISSUER: z.string().default('taskd'),
    /** Required `aud` of JWTs: one of these, comma-separated. */
    TASKD_AUTH_AUDIENCE: list(['taskd']),
    /** Clock skew tolerated on `exp` and `nbf`. */
    TASKD_AUTH_CLOCK_SKEW_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
    /** How long an API key lookup is cached: a revoked key is refused at most this long after. */
    TASKD_AUTH_API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
    /** The apiserver's credential for its link to the scheduler (a SYSTEM JWT or API key); default: minted with the HS256 secret. */
    TASKD_AUTH_SYSTEM_TOKEN: secret(z.string().optional()),
    /** A worker's credential (JWT or API key with the worker role), sent on its stream. */
    TASKD_WORKER_TOKEN: secret(z.string().optional()),
    /** Task submissions per second per namespace (SubmitTask, SubmitTasks, SubmitWorkflow count tasks); 0 = unlimited. */
    TASKD_SUBMIT_RATE: live(z.coerce.number().min(0).default(0)),
    /** Burst of the submission rate limit (bucket size); 0 = one second's worth of TASKD_SUBMIT_RATE. */
    TASKD_SUBMIT_BURST: live(z.coerce.number().int().min(0).default(0)),
    /** Open streams (WatchTask, WatchWorkflow, WorkerService.Connect) one identity may hold on one process. */
    TASKD_MAX_STREAMS_PER_IDENTITY: live(z.coerce.number().int().min(1).default(1_000)),
    /**
     * Kafka bootstrap brokers (host:port, comma-separated). When set, the scheduler leader
     * runs the outbox relay (docs/events.md); when unset there is no relay and the outbox
     * only grows (the embedded `npm start` needs no Kafka).
     */
    TASKD_KAFKA_BROKERS: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .refine((l) => l.every((b) => /^[^\s:/]+:\d{1,5}$/.test(b)), 'expected host:port[,host:port…]')
      .optional()
      .register(traits, { list: true }),
    /** Kafka client id of the relay's producer and admin client. */
    TASKD_KAFKA_CLIENT_ID: z.string().min(1).default('taskd'),
    /** Topic of every task, workflow and schedule event (key = aggregate id). */
    TASKD_KAFKA_EVENTS_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name').default('taskd.events'),
    /** Topic that also receives every `task.dead_lettered` event. */
    TASKD_KAFKA_DEAD_LETTERS_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name').default('taskd.dead-letters'),
    /** Partitions of the topics the relay creates when they are missing (existing topics are left as they are). */
    TASKD_KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(6),
    /** Replication factor of the topics the relay creates; at most the number of brokers. */
    TASKD_KAFKA_REPLICATION: z.coerce.number().int().min(1).max(32).default(3),
    /** Sent outbox rows are deleted this long after they were sent; unsent rows are never deleted. */
    TASKD_EVENTS_RETENTION_MS: ms(7 * 24 * 3600 * 1000),
    /** Most outbox rows the relay publishes (and marks sent) per batch. */
    TASKD_RELAY_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
    /** How often an idle relay looks for unsent rows (one indexed query on an empty partial index). */
    TASKD_RELAY_POLL_MS: ms(100),
    /**
     * Watch streams (docs/events.md): how often an apiserver's event feed looks at the
     * outbox when no NOTIFY woke it (one read of the sequence when nothing is new).
     */
    TASKD_WATCH_POLL_MS: ms(500),
    /** Events one watch stream may leave unread before it is cut off with RESOURCE_EXHAUSTED. */
    TASKD_WATCH_BUFFER: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * The notifier (docs/notifier.md): consumes events (Kafka when TASKD_KAFKA_BROKERS is
     * set, else the outbox) and delivers webhooks and email.
     */
    /** Consumer group of notifiers reading Kafka. */
    TASKD_NOTIFIER_KAFKA_GROUP: z.string().min(1).default('taskd-notifier'),
    /** Most events recorded per transaction. */
    TASKD_NOTIFIER_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
    /** How often an idle notifier looks at the outbox and for due retries. */
    TASKD_NOTIFIER_POLL_MS: ms(200),
    /** Most delivery attempts in flight per notifier. */
    TASKD_NOTIFIER_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
    /** Timeout of one attempt (the HTTP request; each SMTP stage). */
    TASKD_NOTIFIER_TIMEOUT_MS: ms(10_000),
    /** Attempts per delivery, the first included; then it is FAILED. */
    TASKD_NOTIFIER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    /** Wait before the first retry; doubles per attempt, full jitter. */
    TASKD_NOTIFIER_INITIAL_BACKOFF_MS: ms(1_000),
    /** Cap of the wait between retries. */
    TASKD_NOTIFIER_MAX_BACKOFF_MS: ms(300_000),
    /** Signs webhooks to tasks' own notify targets (subscriptions have their own secrets); unset: unsigned. */
    TASKD_NOTIFIER_WEBHOOK_SECRET: secret(z.string().min(16, 'must be at least 16 characters').optional()),
    /** SMTP server for email notifications: smtp://[user:pass@]host:port or smtps://…; unset: email deliveries fail. */
    TASKD_SMTP_URL: secret(z.string().regex(/^smtps?:\/\/[^\s]+$/, 'expected smtp://host:port or smtps://host:port').optional()),
    /** Sender address of notification emails. */
    TASKD_SMTP_FROM: z.string().min(3).default('taskd <taskd@localhost>'),
    /**
     * Tracing (docs/observability.md): the OTLP/HTTP traces endpoint spans are exported to,
     * e.g. http://collector:4318/v1/traces; unset: tracing is off (no-op tracer).
     */
    TASKD_TRACING_OTLP_URL: z.url().optional(),
    /** Fraction of new traces recorded (0..1); a trace a caller started keeps the caller's decision. */
    TASKD_TRACING_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/** The settings a config file may name, which take lists, which are secrets. */
const SPEC = {
  keys: Object.keys(configSchema.shape),
  isList: (key: string) => traitsOf(key).list === true,
  isSecret: (key: string) => traitsOf(key).secret === true,
};

function traitsOf(key: string): SettingTraits {
  const s = (configSchema.shape as Record<string, z.ZodType>)[key];
  return (s && traits.get(s)) ?? {};
}

/** Settings applied while a process runs (config-watcher.ts); every other change takes effect after a restart. */
export const LIVE_SETTINGS: readonly (keyof Config)[] = SPEC.keys.filter((k) => traitsOf(k).live) as (keyof Config)[];

/** The key a config file uses for a setting: `TASKD_WORKER_SLOTS` → `worker_slots`. */
export const configFileKey = fileKeyOf;

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** A process's own defaults (`TASKD_*` → text), below the file and the environment. */
  defaults?: Record<string, string>;
  /** The config file's text when the caller has read it already (the watcher compares it with the last). */
  fileText?: ConfigText;
}

/**
 * Loads the settings: the process's `defaults`, then the YAML file `env.TASKD_CONFIG_FILE`
 * names (keys are the settings' names without `TASKD_`, in lower case; docs/config.md),
 * then every `TASKD_*` variable of `env` (default `process.env`), each overriding the one
 * before key by key, all through the one schema. Skipped: `TASKD_TEST_*` and the client
 * settings `TASKD_SERVER` and `TASKD_TOKEN`. Throws an Error beginning "invalid
 * configuration:" that names each bad setting where it was written (`TASKD_X`, or
 * `path:line: x`), the rule and the value received (never a secret's), and the closest
 * known name for an unknown one.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadConfigOptions = {}): Config {
  const input = gatherConfigInput(env, opts.defaults ?? {}, SPEC, opts.fileText);
  if (input.problems.length > 0) throw configError(input.problems);
  const parsed = configSchema.safeParse(input.values, { error: settingMessage });
  if (!parsed.success) throw configError(parsed.error.issues.flatMap((i) => describeIssue(i, input, SPEC)));
  const c = parsed.data;
  const n = (key: keyof Config): string => settingLabel(input, key);
  if (c.TASKD_LOCK_RENEW_MS * 3 > c.TASKD_LOCK_TTL_MS) {
    throw configError([`${n('TASKD_LOCK_RENEW_MS')} must be at most a third of ${n('TASKD_LOCK_TTL_MS')}`]);
  }
  if (c.TASKD_HEARTBEAT_MS * 2 > c.TASKD_LEASE_TTL_MS) {
    throw configError([`${n('TASKD_HEARTBEAT_MS')} must be at most half of ${n('TASKD_LEASE_TTL_MS')}`]);
  }
  if (c.TASKD_KAFKA_EVENTS_TOPIC === c.TASKD_KAFKA_DEAD_LETTERS_TOPIC) {
    throw configError([`${n('TASKD_KAFKA_EVENTS_TOPIC')} and ${n('TASKD_KAFKA_DEAD_LETTERS_TOPIC')} must differ (both "${c.TASKD_KAFKA_EVENTS_TOPIC}")`]);
  }
  if (c.TASKD_NOTIFIER_INITIAL_BACKOFF_MS > c.TASKD_NOTIFIER_MAX_BACKOFF_MS) {
    throw configError([`${n('TASKD_NOTIFIER_INITIAL_BACKOFF_MS')} must be at most ${n('TASKD_NOTIFIER_MAX_BACKOFF_MS')}`]);
  }
  if (c.TASKD_AUTH_JWKS_URL && c.TASKD_AUTH_JWKS_FILE) {
    throw configError([`set one of ${n('TASKD_AUTH_JWKS_URL')} and ${n('TASKD_AUTH_JWKS_FILE')}, not both`]);
  }
  const symmetric = c.TASKD_AUTH_JWKS_ALGORITHMS.filter((a) => !/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a));
  if (symmetric.length > 0) {
    throw configError([`${n('TASKD_AUTH_JWKS_ALGORITHMS')}: ${symmetric.join(', ')} not allowed (asymmetric algorithms only: RS*, PS*, ES*, EdDSA)`]);
  }
  return c;
}

function configError(problems: string[]): Error {
  return new Error(`invalid configuration: ${problems.join('; ')}`);
}

/** True when authentication is configured: an HS256 secret, a JWKS URL or a JWKS file. */
export function authEnabled(c: Config): boolean {
  return !!(c.TASKD_AUTH_HS256_SECRET || c.TASKD_AUTH_JWKS_URL || c.TASKD_AUTH_JWKS_FILE);
}

/**
 * Refuses to serve beyond loopback without authentication: throws naming TASKD_ADDR
 * and the settings that turn authentication on. Every serving process calls it.
 */
export function requireAuthBeyondLoopback(c: Config, what: string): void {
  if (authEnabled(c)) return;
  const { host } = parseHostPort(c.TASKD_ADDR);
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') return;
  throw new Error(
    `invalid configuration: ${what} runs without authentication and binds only to loopback; ` +
      `set TASKD_ADDR=127.0.0.1:PORT, or configure TASKD_AUTH_HS256_SECRET, TASKD_AUTH_JWKS_URL or TASKD_AUTH_JWKS_FILE (docs/auth.md)`,
  );
}

/** Splits "host:port" ("[::1]:80" too); throws naming `key` when malformed. */
export function parseHostPort(value: string, key = 'TASKD_ADDR'): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!m) throw new Error(`invalid configuration: ${key}: expected host:port, got "${value}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`invalid configuration: ${key}: port ${port} out of range`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/**
 * The address a scheduler gives workers and apiservers: TASKD_ADVERTISE_ADDR, else
 * http://TASKD_ADDR. Throws when that would be a wildcard (0.0.0.0, ::), which others
 * would dial as their own loopback.
 */
export function advertiseAddress(addr: string, advertise: string | undefined): string {
  if (advertise) return advertise;
  const { host } = parseHostPort(addr);
  if (host === '0.0.0.0' || host === '::' || host === '') {
    throw new Error(`invalid configuration: TASKD_ADVERTISE_ADDR is required when TASKD_ADDR binds all interfaces (${addr})`);
  }
  return `http://${addr}`;
}
