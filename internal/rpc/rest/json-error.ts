import { fromJson, type DescField, type DescMessage, type JsonReadOptions, type JsonValue } from '@bufbuild/protobuf';
import type { FieldViolation } from '../../domain/errors.js';

/**
 * Turns a `fromJson` failure on `json` into a violation naming the field by its full path
 * (`task.retry_policy.max_attempts`, `tasks[1].delay`, `labels["k"]`). protobuf-es names
 * only the innermost message or type, so the path is found again by re-parsing one key at
 * a time, descending into the key that fails: work done only for requests that failed.
 */
export function jsonErrorViolation(schema: DescMessage, json: JsonValue, err: unknown, options: Partial<JsonReadOptions>): FieldViolation {
  const opts = { ...options, ignoreUnknownFields: false };
  return locate(schema, json, '', opts) ?? { field: '', description: describe(err) };
}

function locate(desc: DescMessage, json: JsonValue, path: string, opts: Partial<JsonReadOptions>): FieldViolation | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || desc.typeName.startsWith('google.protobuf.')) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    const here = join(path, field?.name ?? key);
    if (field === undefined) return { field: here, description: `is not a field of ${desc.typeName}` };
    try {
      fromJson(desc, { [key]: value }, opts);
    } catch (e) {
      return inside(field, value, here, opts) ?? { field: here, description: describe(e) };
    }
  }
  // Each key parses alone, so the message as a whole is wrong (a oneof set twice, a field by both names).
  try {
    fromJson(desc, json, opts);
    return undefined;
  } catch (e) {
    return { field: path, description: describe(e) };
  }
}

/** The violation within a field's value: a nested message, a list element, a map value. */
function inside(field: DescField, value: JsonValue, here: string, opts: Partial<JsonReadOptions>): FieldViolation | undefined {
  if (field.fieldKind === 'message') return locate(field.message, value, here, opts);
  const elementMsg = field.fieldKind === 'list' && field.listKind === 'message' ? field.message
    : field.fieldKind === 'map' && field.mapKind === 'message' ? field.message : undefined;
  if (elementMsg === undefined || typeof value !== 'object' || value === null) return undefined;
  const entries: [string, JsonValue][] = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v])
    : Object.entries(value).map(([k, v]) => [`[${JSON.stringify(k)}]`, v]);
  for (const [suffix, v] of entries) {
    try {
      fromJson(elementMsg, v, opts);
    } catch (e) {
      return locate(elementMsg, v, here + suffix, opts) ?? { field: here + suffix, description: describe(e) };
    }
  }
  return undefined;
}

const join = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);

/** protobuf-es's message without its "cannot decode … from JSON:" preamble, naming the type when that is all it says. */
function describe(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^cannot decode (field|message|enum) (\S+) from JSON:? (.*)$/s.exec(msg);
  if (m === null) return msg;
  const [, kind, name, rest] = m as unknown as [string, string, string, string];
  return kind === 'field' ? rest : `invalid ${name}: ${rest}`;
}
