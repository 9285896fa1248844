import { fromJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import { usageError } from './cli-error.js';
import { readAll, type CliIo } from './cli-io.js';
import { parseDuration } from './duration.js';
import { readText } from './task-spec-flags.js';

/** Enum fields whose values may be written without their prefix (`continue` for FAILURE_POLICY_CONTINUE). */
const ENUM_PREFIXES: Record<string, string> = {
  failurePolicy: 'FAILURE_POLICY', failure_policy: 'FAILURE_POLICY',
  misfirePolicy: 'MISFIRE_POLICY', misfire_policy: 'MISFIRE_POLICY',
  overlapPolicy: 'OVERLAP_POLICY', overlap_policy: 'OVERLAP_POLICY',
};
/** Duration fields, which may be written as `5m` or `1h30m` besides protobuf JSON's `300s`. */
const DURATION_KEYS = new Set([
  'delay', 'timeout', 'initialBackoff', 'initial_backoff', 'maxBackoff', 'max_backoff', 'misfireGrace', 'misfire_grace',
]);

/**
 * Rewrites the conveniences people write in spec files into protobuf JSON: enum values
 * without prefix or in lower case, durations with any unit. Pure; returns a copy.
 */
export function normalizeSpecJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalizeSpecJson);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const prefix = ENUM_PREFIXES[k];
    if (prefix && typeof x === 'string') {
      const up = x.toUpperCase().replace(/-/g, '_');
      out[k] = up.startsWith(`${prefix}_`) ? up : `${prefix}_${up}`;
    } else if (DURATION_KEYS.has(k) && typeof x === 'string' && !/^-?\d+(\.\d+)?s$/.test(x)) {
      out[k] = `${parseDuration(x, k) / 1_000}s`;
    } else if (k === 'payload' || k === 'labels') {
      out[k] = x; // user data: left exactly as written
    } else {
      out[k] = normalizeSpecJson(x);
    }
  }
  return out;
}

/**
 * Parses YAML or JSON text (YAML is a superset) into message `schema` through the
 * protobuf JSON mapping (field names in lowerCamelCase or as in the proto). Unknown
 * fields are an error. Throws a usage error naming `source`.
 */
export function parseSpec<D extends DescMessage>(schema: D, text: string, source: string): MessageShape<D> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw usageError(`${source}: not valid YAML or JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw usageError(`${source}: expected an object (a ${schema.name})`);
  try {
    return fromJson(schema, normalizeSpecJson(raw) as JsonValue);
  } catch (e) {
    throw usageError(`${source}: ${(e as Error).message}`);
  }
}

/** Reads `path` ("-" for stdin) and parses it with {@link parseSpec}. */
export async function readSpecFile<D extends DescMessage>(schema: D, path: string, io: CliIo): Promise<MessageShape<D>> {
  const text = path === '-' ? await readAll(io.stdin) : readText(path, 'file');
  return parseSpec(schema, text, path === '-' ? 'stdin' : path);
}
