import { readFileSync } from 'node:fs';
import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate, ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import type { Command } from 'commander';
import { NotifySchema, RetryPolicySchema, type TaskSpec } from '../../gen/taskd/v1/task_pb.js';
import { collect, parseInteger, parseJson, parseLabels } from './arg-parsers.js';
import { usageError } from './cli-error.js';
import { readAll, type CliIo } from './cli-io.js';
import { parseDuration, parseTime } from './duration.js';

/** The task-spec flags as commander hands them over (strings, unparsed). */
export interface TaskSpecFlags {
  payload?: string;
  payloadFile?: string;
  queue?: string;
  priority?: string;
  delay?: string;
  runAt?: string;
  idempotencyKey?: string;
  label?: string[];
  maxAttempts?: string;
  initialBackoff?: string;
  maxBackoff?: string;
  timeout?: string;
  notifyWebhook?: string;
  notifyEmail?: string;
}

/**
 * Adds the flags that describe a task to `cmd`. `oneShot` adds `--run-at` and
 * `--idempotency-key`, which a schedule's template may not set.
 */
export function addTaskSpecFlags(cmd: Command, oneShot: boolean): Command {
  cmd
    .option('--payload <json>', 'payload as JSON text')
    .option('--payload-file <path>', 'payload from a JSON file ("-" reads stdin)')
    .option('--queue <name>', 'queue (server default: "default")')
    .option('--priority <n>', 'priority 0..1000, higher runs first')
    .option('--delay <duration>', 'start no earlier than this from now (e.g. 30s, 5m, 1h30m)');
  if (oneShot) {
    cmd
      .option('--run-at <time>', 'start no earlier than this ISO 8601 time')
      .option('--idempotency-key <key>', 'a second submit with this key returns the first task');
  }
  return cmd
    .option('--label <key=value>', 'label (repeatable)', collect)
    .option('--max-attempts <n>', 'attempts in all, the first included (1..100)')
    .option('--initial-backoff <duration>', 'wait before the first retry')
    .option('--max-backoff <duration>', 'cap on the wait between retries')
    .option('--timeout <duration>', 'time limit of one attempt')
    .option('--notify-webhook <url>', 'POST the terminal event to this URL')
    .option('--notify-email <address>', 'email the terminal event to this address');
}

/** True when any flag of {@link addTaskSpecFlags} was given. */
export const hasTaskSpecFlags = (f: TaskSpecFlags): boolean =>
  (Object.keys(f) as Array<keyof TaskSpecFlags>).some((k) => TASK_SPEC_KEYS.has(k) && f[k] !== undefined);

const TASK_SPEC_KEYS = new Set<keyof TaskSpecFlags>([
  'payload', 'payloadFile', 'queue', 'priority', 'delay', 'runAt', 'idempotencyKey', 'label', 'maxAttempts',
  'initialBackoff', 'maxBackoff', 'timeout', 'notifyWebhook', 'notifyEmail',
]);

/**
 * Sets on `spec` each field whose flag was given, leaving the others as they are (so
 * the same function builds a new spec and edits a schedule's template). `payload` is
 * the payload read by {@link readPayload}, or undefined to keep the spec's. Throws a
 * usage error for a value that does not parse; ranges are the server's to check.
 */
export function applyTaskSpecFlags(spec: TaskSpec, f: TaskSpecFlags, payload: Value | undefined): void {
  if (payload !== undefined) spec.payload = payload;
  if (f.queue !== undefined) spec.queue = f.queue;
  if (f.priority !== undefined) spec.priority = parseInteger(f.priority, '--priority');
  if (f.delay !== undefined && f.runAt !== undefined) throw usageError('--delay and --run-at cannot be used together');
  if (f.delay !== undefined) spec.start = { case: 'delay', value: durationFromMs(parseDuration(f.delay, '--delay')) };
  if (f.runAt !== undefined) spec.start = { case: 'runAt', value: timestampFromDate(parseTime(f.runAt, '--run-at')) };
  if (f.idempotencyKey !== undefined) spec.idempotencyKey = f.idempotencyKey;
  if (f.label !== undefined) spec.labels = { ...spec.labels, ...parseLabels(f.label) };
  if (f.maxAttempts !== undefined || f.initialBackoff !== undefined || f.maxBackoff !== undefined) {
    const rp = spec.retryPolicy ?? create(RetryPolicySchema);
    if (f.maxAttempts !== undefined) rp.maxAttempts = parseInteger(f.maxAttempts, '--max-attempts');
    if (f.initialBackoff !== undefined) rp.initialBackoff = durationFromMs(parseDuration(f.initialBackoff, '--initial-backoff'));
    if (f.maxBackoff !== undefined) rp.maxBackoff = durationFromMs(parseDuration(f.maxBackoff, '--max-backoff'));
    spec.retryPolicy = rp;
  }
  if (f.timeout !== undefined) spec.timeout = durationFromMs(parseDuration(f.timeout, '--timeout'));
  if (f.notifyWebhook !== undefined || f.notifyEmail !== undefined) {
    const n = spec.notify ?? create(NotifySchema);
    if (f.notifyWebhook !== undefined) n.webhookUrl = f.notifyWebhook;
    if (f.notifyEmail !== undefined) n.email = f.notifyEmail;
    spec.notify = n;
  }
}

/** JSON (already parsed) as a google.protobuf.Value. */
export const valueOfJson = (json: unknown): Value => fromJson(ValueSchema, json as JsonValue);

/**
 * The payload from `--payload` or `--payload-file` (a path, or "-" for stdin), or
 * undefined when neither was given. Throws a usage error when both are given, the
 * file cannot be read, or the text is not JSON.
 */
export async function readPayload(f: TaskSpecFlags, io: CliIo): Promise<Value | undefined> {
  if (f.payload !== undefined && f.payloadFile !== undefined) throw usageError('--payload and --payload-file cannot be used together');
  if (f.payload !== undefined) return valueOfJson(parseJson(f.payload, '--payload'));
  if (f.payloadFile === undefined) return undefined;
  const text = f.payloadFile === '-' ? await readAll(io.stdin) : readText(f.payloadFile, '--payload-file');
  return valueOfJson(parseJson(text, f.payloadFile === '-' ? 'payload from stdin' : `--payload-file ${f.payloadFile}`));
}

/** A file's text; a usage error naming `what` when it cannot be read. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}
