import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { REPO_ROOT } from './procs.js';

/** gen/openapi.json as committed (and as the apiserver serves it). */
export const OPENAPI: OpenApiDoc = JSON.parse(readFileSync(join(REPO_ROOT, 'gen', 'openapi.json'), 'utf8')) as OpenApiDoc;

export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export type Schema = Record<string, any>;

export interface Operation {
  operationId: string;
  parameters?: { name: string; in: 'path' | 'query'; schema: Schema }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/** One operation of the document with where it lives. */
export interface Op {
  path: string;
  verb: string;
  op: Operation;
}

/** Every operation of the document, in document order. */
export function operations(doc: OpenApiDoc = OPENAPI): Op[] {
  return Object.entries(doc.paths).flatMap(([path, byVerb]) => Object.entries(byVerb).map(([verb, op]) => ({ path, verb, op })));
}

const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
// ajv-formats is CommonJS: the default import is module.exports, whose `default` is the plugin.
addFormats.default(ajv);
const int = (lo: number, hi: number) => (n: number) => Number.isInteger(n) && n >= lo && n <= hi;
ajv.addFormat('int32', { type: 'number', validate: int(-(2 ** 31), 2 ** 31 - 1) });
ajv.addFormat('uint32', { type: 'number', validate: int(0, 2 ** 32 - 1) });
ajv.addFormat('int64', { type: 'string', validate: (s: string) => /^-?\d+$/.test(s) && BigInt(s) >= -(2n ** 63n) && BigInt(s) < 2n ** 63n });
ajv.addFormat('uint64', { type: 'string', validate: (s: string) => /^\d+$/.test(s) && BigInt(s) < 2n ** 64n });
ajv.addFormat('double', true);
ajv.addFormat('float', true);
ajv.addKeyword('components');
ajv.addSchema({ components: OPENAPI.components }, 'openapi.json');

/** A validator for a schema of the document (its `#/components/…` references resolved in the document). */
export function validator(schema: Schema): ValidateFunction {
  return ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')) as Schema);
}

/** Throws, listing what is wrong, unless `value` matches `schema`. */
export function assertMatches(schema: Schema, value: unknown, what: string): void {
  const v = validator(schema);
  if (!v(value)) throw new Error(`${what} does not match its schema in gen/openapi.json: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value)}`);
}

/** A schema with its top-level `$ref` followed. */
export function resolved(schema: Schema): Schema {
  const ref = schema.$ref as string | undefined;
  return ref?.startsWith('#/components/schemas/') ? resolved(OPENAPI.components.schemas[ref.slice('#/components/schemas/'.length)]!) : schema;
}

/**
 * A JSON value of the wrong type for `schema`, or undefined when any value fits (e.g.
 * google.protobuf.Value): a number for a string, a string for a number, boolean, object
 * or array, a name outside an enum.
 */
export function wrongValue(schema: Schema): unknown {
  const s = resolved(schema);
  if (Array.isArray(s.enum)) return 'NOT_A_VALUE';
  const type = Array.isArray(s.type) ? s.type[0] : s.type ?? (s.anyOf ? 'number' : undefined);
  switch (type) {
    case 'string':
      return 12;
    case 'integer':
    case 'number':
    case 'boolean':
    case 'array':
      return 'not-a-' + type;
    case 'object':
      return 42;
    default:
      return undefined;
  }
}

/** The string a query parameter of `schema` cannot take, or undefined when every string fits. */
export function wrongQueryValue(schema: Schema): string | undefined {
  const s = resolved(schema.type === 'array' ? schema.items : schema);
  if (Array.isArray(s.enum)) return 'NOT_A_VALUE';
  if (s.type === 'integer' || s.type === 'number' || s.type === 'boolean') return `not-a-${s.type}`;
  if (s.format === 'date-time') return 'yesterday';
  return undefined;
}

/** Field names compared across spellings: `retry_policy.max_attempts` and `retryPolicy.maxAttempts` alike. */
export const sameField = (reported: string, name: string): boolean => {
  const norm = (s: string) => s.replace(/_/g, '').toLowerCase();
  return norm(reported) === norm(name) || norm(reported).endsWith(`.${norm(name)}`);
};

/** Fills `{param}` placeholders of an OpenAPI path. */
export const fillPath = (path: string, params: Record<string, string>): string =>
  path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`no value for path parameter ${name} of ${path}`);
    return encodeURIComponent(v);
  });

/** An HTTP answer with its body as text and, when it is JSON or NDJSON, parsed. */
export interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** The JSON body; for NDJSON the array of lines. */
  json: any;
}

/**
 * One HTTP/1.1 request with fetch; `body` is sent as JSON (a string as is). With
 * `maxLines`, a body is read only until that many lines arrived, then the request is
 * cancelled (for a stream that does not end by itself).
 */
export async function rest(
  base: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; maxLines?: number } = {},
): Promise<Answer> {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const ctl = new AbortController();
  const r = await fetch(`${base}${path}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json', ...opts.headers }, body, signal: ctl.signal });
  const text = opts.maxLines === undefined ? await r.text() : await firstLines(r, opts.maxLines, ctl);
  const contentType = r.headers.get('content-type') ?? '';
  let json: unknown;
  try {
    json = contentType.startsWith('application/x-ndjson')
      ? text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
      : text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, contentType, text, json };
}

/** The body of `r` up to its `n`th newline (all of it if it ends before), then cancels the request. */
async function firstLines(r: Response, n: number, ctl: AbortController): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of r.body ?? []) {
      text += decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      if (lines.length > n) return `${lines.slice(0, n).join('\n')}\n`;
    }
    return text;
  } finally {
    ctl.abort();
  }
}
