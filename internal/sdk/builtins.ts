import type { JsonValue } from '@bufbuild/protobuf';
import { sleep } from '../shared/sleep.js';
import { CheckpointError } from './checkpoint-error.js';
import { NonRetryableError } from './non-retryable-error.js';
import type { Handler, TaskContext } from './task-context.js';

/** Anything handlers can be registered on (a {@link Worker}). */
export interface HandlerRegistry {
  register(type: string, handler: Handler): unknown;
}

type JsonObject = { [k: string]: JsonValue };

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function payloadObject(ctx: TaskContext): JsonObject {
  if (!isObject(ctx.payload)) throw new NonRetryableError('payload: must be an object');
  return ctx.payload;
}

/** `noop`: returns its payload. */
export const noopHandler: Handler = (ctx) => ctx.payload;

/**
 * `sleep`: payload `{ "ms": n }` (a non-negative number); waits n ms, or less if the
 * attempt's signal aborts (then it throws the abort reason). Output `{ slept: n }`.
 */
export const sleepHandler: Handler = async (ctx) => {
  const ms = payloadObject(ctx).ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new NonRetryableError('payload.ms: must be a non-negative number');
  }
  if (!(await sleep(ms, ctx.signal))) throw ctx.signal.reason;
  return { slept: ms };
};

/**
 * `steps`: payload `{ "steps": n, "stepMs": m }`; does n steps of m ms each, storing a
 * checkpoint `{ step }` after every one, and starts from the last checkpoint when
 * re-dispatched. Output `{ steps, resumedFrom }`: the demonstration (and test) of
 * resuming long work on another worker.
 */
export const stepsHandler: Handler = async (ctx) => {
  const p = payloadObject(ctx);
  const steps = p.steps;
  const stepMs = p.stepMs ?? 0;
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 0) throw new NonRetryableError('payload.steps: must be a non-negative integer');
  if (typeof stepMs !== 'number' || stepMs < 0) throw new NonRetryableError('payload.stepMs: must be a non-negative number');
  const saved = ctx.lastCheckpoint?.data;
  const resumedFrom = isObject(saved ?? null) && typeof (saved as JsonObject).step === 'number' ? ((saved as JsonObject).step as number) : 0;
  for (let step = resumedFrom; step < steps; step++) {
    if (!(await sleep(stepMs, ctx.signal))) throw ctx.signal.reason;
    await saveProgress(ctx, { step: step + 1 });
  }
  return { steps, resumedFrom };
};

/**
 * Stores a checkpoint, tolerating what a failover does to it: UNAVAILABLE (the stream
 * broke) is skipped, since the next checkpoint carries the progress; ABORTED under a
 * still-valid lease means our own earlier write landed unacknowledged, so it is retried
 * once at the version the SDK now knows. Anything else (a stale lease) ends the attempt.
 */
async function saveProgress(ctx: TaskContext, data: JsonValue): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await ctx.checkpoint(data);
      return;
    } catch (e) {
      if (e instanceof CheckpointError && e.code === 'UNAVAILABLE') return;
      if (!(e instanceof CheckpointError && e.code === 'ABORTED' && tries === 0)) throw e;
    }
  }
}

interface HttpRequestSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function parseHttpPayload(ctx: TaskContext): HttpRequestSpec {
  const p = payloadObject(ctx);
  if (typeof p.url !== 'string' || !URL.canParse(p.url)) throw new NonRetryableError('payload.url: must be an absolute URL');
  if (p.method !== undefined && typeof p.method !== 'string') throw new NonRetryableError('payload.method: must be a string');
  const headers: Record<string, string> = {};
  if (p.headers !== undefined) {
    if (!isObject(p.headers)) throw new NonRetryableError('payload.headers: must be an object of strings');
    for (const [k, v] of Object.entries(p.headers)) {
      if (typeof v !== 'string') throw new NonRetryableError(`payload.headers.${k}: must be a string`);
      headers[k] = v;
    }
  }
  const body = p.body === undefined || p.body === null ? undefined : typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
  if (body !== undefined && typeof p.body !== 'string' && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  return { url: p.url, method: (p.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase(), headers, body };
}

/**
 * `http`: payload `{ url, method?, headers?, body? }` (a non-string body is sent as
 * JSON). Calls `url` with fetch, aborted by the attempt's signal. A non-2xx status
 * fails the attempt as retryable, naming the status. Output `{ status, headers, body }`
 * with the body parsed as JSON when the content-type says JSON, else text.
 */
export const httpHandler: Handler = async (ctx) => {
  const req = parseHttpPayload(ctx);
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: ctx.signal });
  const text = await res.text();
  if (!res.ok) throw new Error(`http ${req.method} ${req.url}: status ${res.status}`);
  const headers = Object.fromEntries(res.headers.entries());
  const isJson = /\bjson\b/i.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers, body: isJson ? parseJsonOr(text) : text };
};

/** `text` parsed as JSON, or `text` itself when it is not JSON (a server mislabelling its body). */
function parseJsonOr(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** Registers the built-in task types `noop`, `sleep` and `http` on `worker`. */
export function registerBuiltins(worker: HandlerRegistry): void {
  worker.register('noop', noopHandler);
  worker.register('sleep', sleepHandler);
  worker.register('http', httpHandler);
  worker.register('steps', stepsHandler);
}
