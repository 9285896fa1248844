import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { leadingComment } from './proto-comments.js';

/** A JSON Schema (2020-12, the OpenAPI 3.1 dialect), as a plain object. */
export type JsonSchema = Record<string, unknown>;

/** Where component schemas live in the document. */
export const SCHEMA_REF = '#/components/schemas/';

const NUMBER: JsonSchema = { anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }] };

/** The proto3 JSON form of each scalar type: 64-bit integers as decimal strings, bytes as base64. */
function scalarSchema(t: ScalarType): JsonSchema {
  switch (t) {
    case ScalarType.DOUBLE:
      return { ...NUMBER, format: 'double' };
    case ScalarType.FLOAT:
      return { ...NUMBER, format: 'float' };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', format: 'int32' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'uint32', minimum: 0 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: 'string', format: 'uint64', pattern: '^[0-9]+$' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BYTES:
      return { type: 'string', contentEncoding: 'base64' };
  }
}

/** Well-known types whose JSON is not an object of their fields (google/protobuf JSON mapping). */
const WKT: Record<string, JsonSchema> = {
  'google.protobuf.Timestamp': { type: 'string', format: 'date-time', description: 'An RFC 3339 time in UTC, e.g. "2026-11-23T10:00:00Z".' },
  'google.protobuf.Duration': {
    type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$', description: 'Seconds with up to 9 fractional digits and the suffix "s", e.g. "1.5s".',
  },
  'google.protobuf.FieldMask': { type: 'string', description: 'Comma-separated field paths in lowerCamelCase, e.g. "priority,runAt".' },
  'google.protobuf.Struct': { type: 'object', description: 'Any JSON object.' },
  'google.protobuf.Value': { description: 'Any JSON value.' },
  'google.protobuf.ListValue': { type: 'array', description: 'Any JSON array.' },
  'google.protobuf.Any': {
    type: 'object', required: ['@type'], properties: { '@type': { type: 'string', description: 'type.googleapis.com/<message name>' } },
    description: 'A message of the type named by "@type", its fields beside "@type".',
  },
  'google.protobuf.DoubleValue': { anyOf: [scalarSchema(ScalarType.DOUBLE), { type: 'null' }] },
  'google.protobuf.FloatValue': { anyOf: [scalarSchema(ScalarType.FLOAT), { type: 'null' }] },
  'google.protobuf.Int64Value': { anyOf: [scalarSchema(ScalarType.INT64), { type: 'null' }] },
  'google.protobuf.UInt64Value': { anyOf: [scalarSchema(ScalarType.UINT64), { type: 'null' }] },
  'google.protobuf.Int32Value': { anyOf: [scalarSchema(ScalarType.INT32), { type: 'null' }] },
  'google.protobuf.UInt32Value': { anyOf: [scalarSchema(ScalarType.UINT32), { type: 'null' }] },
  'google.protobuf.BoolValue': { type: ['boolean', 'null'] },
  'google.protobuf.StringValue': { type: ['string', 'null'] },
  'google.protobuf.BytesValue': { type: ['string', 'null'], contentEncoding: 'base64' },
};

/**
 * The component schemas of a document: every message and enum referenced, each once,
 * in its proto3 JSON form (JSON names, enums by name, int64 as strings, well-known
 * types per their JSON mapping, at most one member of each oneof), with descriptions
 * from the proto comments.
 */
export class SchemaSet {
  private readonly schemas = new Map<string, JsonSchema>();

  /** A `$ref` to the component schema of a message or enum, adding it (and what it uses) on first use. */
  ref(desc: DescMessage | DescEnum): JsonSchema {
    if (!this.schemas.has(desc.typeName)) {
      this.schemas.set(desc.typeName, {});
      this.schemas.set(desc.typeName, desc.kind === 'enum' ? enumSchema(desc) : WKT[desc.typeName] ?? this.messageSchema(desc));
    }
    return { $ref: `${SCHEMA_REF}${desc.typeName}` };
  }

  /** Adds a hand-written component schema (e.g. google.rpc.Status) and returns a `$ref` to it. */
  define(name: string, schema: JsonSchema): JsonSchema {
    this.schemas.set(name, schema);
    return { $ref: `${SCHEMA_REF}${name}` };
  }

  /** The schema of a message's JSON object; `omit` leaves fields out (those a path sets). */
  messageSchema(desc: DescMessage, omit: ReadonlySet<DescField> = new Set()): JsonSchema {
    const fields = desc.fields.filter((f) => !omit.has(f));
    const properties = Object.fromEntries(fields.map((f) => [f.jsonName, this.field(f)]));
    const exclusive = desc.oneofs.flatMap((o) => {
      const names = o.fields.filter((f) => !omit.has(f)).map((f) => f.jsonName);
      return names.flatMap((a, i) => names.slice(i + 1).map((b) => ({ not: { required: [a, b] } })));
    });
    return {
      type: 'object',
      ...described(leadingComment(desc)),
      properties,
      additionalProperties: false,
      ...(exclusive.length > 0 ? { allOf: exclusive } : {}),
    };
  }

  /** The schema of a field's JSON value, with the field's comment as description. */
  field(f: DescField): JsonSchema {
    return { ...this.valueSchema(f), ...described(leadingComment(f)) };
  }

  /** The schema of a field's JSON value. */
  valueSchema(f: DescField): JsonSchema {
    switch (f.fieldKind) {
      case 'scalar':
        return scalarSchema(f.scalar);
      case 'enum':
        return this.ref(f.enum);
      case 'message':
        return this.ref(f.message);
      case 'list': {
        const items = f.listKind === 'scalar' ? scalarSchema(f.scalar) : f.listKind === 'enum' ? this.ref(f.enum) : this.ref(f.message);
        return { type: 'array', items };
      }
      case 'map': {
        const values = f.mapKind === 'scalar' ? scalarSchema(f.scalar) : f.mapKind === 'enum' ? this.ref(f.enum) : this.ref(f.message);
        const keys = f.mapKey === ScalarType.STRING ? {} : f.mapKey === ScalarType.BOOL ? { propertyNames: { enum: ['true', 'false'] } }
          : { propertyNames: { pattern: '^-?[0-9]+$' } };
        return { type: 'object', additionalProperties: values, ...keys };
      }
    }
  }

  /** Every schema, by name, sorted. */
  toObject(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.schemas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

function enumSchema(desc: DescEnum): JsonSchema {
  if (desc.typeName === 'google.protobuf.NullValue') return { type: 'null' };
  const values = desc.values.map((v) => {
    const c = leadingComment(v);
    return c === undefined ? undefined : `- \`${v.name}\`: ${c.replace(/\n/g, ' ')}`;
  }).filter((x) => x !== undefined);
  const text = [leadingComment(desc), values.length > 0 ? values.join('\n') : undefined].filter((x) => x !== undefined).join('\n\n');
  return { type: 'string', enum: desc.values.map((v) => v.name), ...described(text === '' ? undefined : text) };
}

const described = (text: string | undefined): { description?: string } => (text === undefined ? {} : { description: text });
