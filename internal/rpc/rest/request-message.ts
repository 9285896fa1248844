import {
  fromJson, ScalarType, type DescField, type DescMessage, type JsonObject, type JsonReadOptions, type JsonValue, type Message,
} from '@bufbuild/protobuf';
import { DomainError, type FieldViolation } from '../../domain/errors.js';
import type { HttpBinding } from './http-bindings.js';
import { jsonErrorViolation } from './json-error.js';

/** What a REST request carries, before it becomes the RPC's request message. */
export interface RestInput {
  /** Path variables by dotted field path, decoded. */
  pathParams: Map<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when the binding takes none or none was sent. */
  body: JsonValue | undefined;
}

/** Messages whose proto3 JSON form is a string or a scalar, so a query parameter can set them. */
const STRING_LIKE_WKT = new Set([
  'google.protobuf.Timestamp', 'google.protobuf.Duration', 'google.protobuf.FieldMask',
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value', 'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value', 'google.protobuf.UInt32Value', 'google.protobuf.BoolValue', 'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

/** True when a query parameter can set `field` (scalars, enums, string-like well-known types; repeated or not). */
export function queryable(field: DescField): boolean {
  if (field.fieldKind === 'scalar' || field.fieldKind === 'enum') return true;
  if (field.fieldKind === 'list') return field.listKind !== 'message' || STRING_LIKE_WKT.has(field.message.typeName);
  return field.fieldKind === 'message' && STRING_LIKE_WKT.has(field.message.typeName);
}

/**
 * Builds the request message of `binding.method` from the body, the path variables and
 * the query, the way grpc-gateway does: the body fills the whole request (`body: "*"`)
 * or one field; path variables override what the body said; remaining fields come from
 * query parameters, by proto name or JSON name, dotted for nested fields, repeated
 * parameters for repeated fields, enums by name or number. Parsing is proto3 JSON with
 * unknown fields rejected. Throws an `invalid` DomainError naming the first bad field.
 */
export function requestMessage(binding: HttpBinding, input: RestInput, options: Partial<JsonReadOptions>): Message {
  const schema = binding.method.input;
  let json: JsonObject = {};
  if (input.body !== undefined && binding.body !== undefined) {
    if (binding.body !== '*') {
      json[binding.body.jsonName] = input.body;
    } else if (isObject(input.body)) {
      json = { ...input.body };
    } else {
      throw DomainError.invalid([{ field: 'body', description: `must be a JSON object (${schema.typeName})` }]);
    }
  }
  const fromBody = json;
  json = { ...json };
  let replaced = false;
  for (const { path, fields } of binding.pathFields) {
    replaced = setAt(json, fields, scalarJson(fields[fields.length - 1]!, input.pathParams.get(path) ?? '')) || replaced;
  }
  const violations = applyQuery(binding, input.query, json);
  if (violations.length > 0) throw DomainError.invalid(violations);
  // A path variable wins over the body's value for the same field, as in grpc-gateway, but
  // a body that does not parse on its own is still an error.
  if (replaced) parse(schema, fromBody, options);
  return parse(schema, json, options);
}

function parse(schema: DescMessage, json: JsonObject, options: Partial<JsonReadOptions>): Message {
  try {
    return fromJson(schema, json, { ...options, ignoreUnknownFields: false });
  } catch (e) {
    throw DomainError.invalid([jsonErrorViolation(schema, json, e, options)]);
  }
}

function applyQuery(binding: HttpBinding, query: URLSearchParams, json: JsonObject): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const schema = binding.method.input;
  for (const key of new Set(query.keys())) {
    if (key === '') continue;
    const values = query.getAll(key);
    if (binding.body === '*') {
      violations.push({ field: key, description: 'is not a query parameter: the request body carries every field' });
      continue;
    }
    const chain = resolve(schema, key);
    if (typeof chain === 'string') {
      violations.push({ field: key, description: chain });
      continue;
    }
    const leaf = chain[chain.length - 1]!;
    const why =
      chain[0] === binding.body ? 'is carried by the request body, not the query'
      : binding.pathFields.some((p) => p.fields.length === chain.length && p.fields.every((f, i) => f === chain[i])) ? 'is set by the path'
      : !queryable(leaf) ? 'cannot be set from a query parameter'
      : leaf.fieldKind !== 'list' && values.length > 1 ? 'is not repeated but was given more than once'
      : undefined;
    if (why !== undefined) {
      violations.push({ field: chain.map((f) => f.name).join('.'), description: why });
      continue;
    }
    setAt(json, chain, leaf.fieldKind === 'list' ? values.map((v) => scalarJson(leaf, v)) : scalarJson(leaf, values[0]!));
  }
  return violations;
}

/** The field chain a dotted query key names (each part by proto or JSON name), or why not. */
function resolve(schema: DescMessage, key: string): DescField[] | string {
  const chain: DescField[] = [];
  let msg: DescMessage | undefined = schema;
  for (const part of key.split('.')) {
    if (msg === undefined) return `is not a field: ${chain.map((f) => f.name).join('.')} has no fields`;
    const f: DescField | undefined = msg.fields.find((x) => x.name === part || x.jsonName === part);
    if (f === undefined) return `is not a field of ${msg.typeName}`;
    chain.push(f);
    msg = f.fieldKind === 'message' && !STRING_LIKE_WKT.has(f.message.typeName) ? f.message : undefined;
  }
  return chain;
}

/** The JSON a string from a path or query becomes: enums by number stay numbers, booleans become booleans. */
function scalarJson(field: DescField, s: string): JsonValue {
  const isEnum = field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum');
  if (isEnum) return /^-?\d+$/.test(s) ? Number(s) : s;
  const scalar =
    field.fieldKind === 'scalar' || (field.fieldKind === 'list' && field.listKind === 'scalar') ? field.scalar
    : field.message?.typeName === 'google.protobuf.BoolValue' ? ScalarType.BOOL
    : undefined;
  if (scalar === ScalarType.BOOL && (s === 'true' || s === 'false')) return s === 'true';
  return s;
}

/**
 * Sets `value` at the field chain in a JSON object tree, copying the objects on the way
 * (the tree given is changed, nothing below it) and replacing a key spelled by the
 * field's other name. A non-object in the way is left for the JSON parser to report.
 * True when a value was there before.
 */
function setAt(json: JsonObject, chain: DescField[], value: JsonValue): boolean {
  let node: JsonObject = json;
  for (const [i, f] of chain.entries()) {
    const key = f.jsonName in node ? f.jsonName : f.name in node ? f.name : f.jsonName;
    if (i === chain.length - 1) {
      const had = node[key] !== undefined;
      if (key !== f.jsonName) delete node[key];
      node[f.jsonName] = value;
      return had;
    }
    const next = node[key];
    if (next === undefined || next === null) {
      node[key] = {};
    } else if (!isObject(next)) {
      return false;
    } else {
      node[key] = { ...next };
    }
    node = node[key] as JsonObject;
  }
  return false;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
