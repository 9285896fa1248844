import type { DescField, DescFile, DescMessage } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { httpBindings, type HttpBinding } from './http-bindings.js';
import { SchemaSet, type JsonSchema } from './openapi-schemas.js';
import { leadingComment } from './proto-comments.js';
import { queryable } from './request-message.js';
import { NDJSON } from './http-io.js';
import { HTTP_STATUS_OF_CODE } from './rest-status.js';

const VERBS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  title: string;
  version: string;
  description: string;
  /** Messages to describe in components although no operation names them (e.g. google.rpc.BadRequest). */
  extraMessages?: DescMessage[];
}

/**
 * The OpenAPI 3.1 document of every `google.api.http` binding of every service in `files`,
 * built with the same binding rules the gateway serves: one operation per binding
 * (operationId `Service_Method`), path and query parameters, the request body, the
 * response (NDJSON lines for server streams) and `google.rpc.Status` for errors.
 * Deterministic for the same input, so the committed copy can be checked for staleness.
 */
export function openApiDocument(files: DescFile[], opts: OpenApiOptions): Record<string, unknown> {
  const schemas = new SchemaSet();
  const status = defineStatus(schemas);
  const paths: Record<string, Record<string, unknown>> = {};
  const tags: Record<string, unknown>[] = [];
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const service of file.services) {
      const bindings = service.methods.flatMap(httpBindings);
      if (bindings.length === 0) continue;
      tags.push({ name: service.name, ...described(leadingComment(service)) });
      const seen = new Map<string, number>();
      for (const b of bindings) {
        const verb = b.verb.toLowerCase();
        if (!VERBS.has(verb)) throw new Error(`${service.typeName}.${b.method.name}: HTTP verb ${b.verb} has no OpenAPI operation`);
        const n = seen.get(b.method.name) ?? 0;
        seen.set(b.method.name, n + 1);
        const operationId = `${service.name}_${b.method.name}${n === 0 ? '' : `_${n}`}`;
        const path = b.template.toOpenApiPath();
        paths[path] ??= {};
        if (paths[path][verb] !== undefined) throw new Error(`${verb.toUpperCase()} ${path} is bound twice (${operationId})`);
        paths[path][verb] = operation(b, operationId, service.name, schemas, status);
      }
    }
  }
  for (const m of opts.extraMessages ?? []) schemas.ref(m);
  return {
    openapi: '3.1.0',
    info: { title: opts.title, version: opts.version, description: opts.description },
    tags,
    paths,
    components: {
      schemas: schemas.toObject(),
      responses: {
        Error: {
          description: `An error as google.rpc.Status JSON. HTTP status by gRPC code (grpc-gateway's mapping): ${statusTable()}.`,
          content: { 'application/json': { schema: status } },
        },
      },
    },
  };
}

function operation(b: HttpBinding, operationId: string, tag: string, schemas: SchemaSet, status: JsonSchema): Record<string, unknown> {
  const comment = leadingComment(b.method);
  const parameters = [
    ...b.pathFields.map(({ path, fields }) => {
      const leaf = fields[fields.length - 1]!;
      return { name: path, in: 'path', required: true, schema: schemas.valueSchema(leaf), ...described(leadingComment(leaf)) };
    }),
    ...(b.body === '*' ? [] : queryParameters(b, schemas)),
  ];
  const result = b.responseBody ? schemas.field(b.responseBody) : schemas.ref(b.method.output);
  const ok = b.method.methodKind === 'server_streaming'
    ? {
      description: 'A stream of newline-delimited JSON objects: {"result": …} for each message; a failure ends it with {"error": google.rpc.Status}. ' +
        'An error before the first message is answered with its HTTP status and that one error line.',
      content: {
        [NDJSON]: {
          schema: {
            type: 'object', properties: { result: result, error: status }, additionalProperties: false, minProperties: 1, maxProperties: 1,
          },
        },
      },
    }
    : { description: 'OK', content: { 'application/json': { schema: result } } };
  return {
    operationId,
    tags: [tag],
    ...summarized(comment),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(b.body === undefined ? {} : { requestBody: requestBody(b, schemas) }),
    responses: { 200: ok, default: { $ref: '#/components/responses/Error' } },
  };
}

function requestBody(b: HttpBinding, schemas: SchemaSet): Record<string, unknown> {
  if (b.body !== '*' && b.body !== undefined) {
    return { required: true, content: { 'application/json': { schema: schemas.field(b.body) } } };
  }
  const inPath = new Set(b.pathFields.filter((p) => p.fields.length === 1).map((p) => p.fields[0]!));
  const schema = inPath.size === 0 ? schemas.ref(b.method.input) : schemas.messageSchema(b.method.input, inPath);
  return { required: false, content: { 'application/json': { schema } } };
}

/**
 * The query parameters of a binding: every field the path and the body leave, by dotted
 * JSON name, descending into singular messages; what the gateway accepts (it also takes
 * the proto names).
 */
function queryParameters(b: HttpBinding, schemas: SchemaSet): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const pathChains = b.pathFields.map((p) => p.fields);
  const walk = (msg: DescMessage, prefix: DescField[], visiting: Set<string>): void => {
    for (const f of msg.fields) {
      const chain = [...prefix, f];
      if (chain[0] === b.body) continue;
      if (pathChains.some((c) => c.length === chain.length && c.every((x, i) => x === chain[i]))) continue;
      if (queryable(f)) {
        const name = chain.map((x) => x.jsonName).join('.');
        const repeated = f.fieldKind === 'list';
        out.push({
          name, in: 'query', schema: schemas.valueSchema(f), ...(repeated ? { style: 'form', explode: true } : {}), ...described(leadingComment(f)),
        });
      } else if (f.fieldKind === 'message' && !visiting.has(f.message.typeName)) {
        walk(f.message, chain, new Set([...visiting, f.message.typeName]));
      }
    }
  };
  walk(b.method.input, [], new Set([b.method.input.typeName]));
  return out;
}

function defineStatus(schemas: SchemaSet): JsonSchema {
  return schemas.define('google.rpc.Status', {
    type: 'object',
    description: 'An error: the gRPC status code (google.rpc.Code) as a number, a message, and typed details ' +
      '(google.rpc.BadRequest naming each invalid field, google.rpc.RetryInfo, …).',
    required: ['code', 'message'],
    properties: {
      code: { type: 'integer', format: 'int32', description: 'The gRPC status code, e.g. 3 INVALID_ARGUMENT, 5 NOT_FOUND.' },
      message: { type: 'string' },
      details: { type: 'array', items: schemas.ref(AnySchema) },
    },
    additionalProperties: false,
  });
}

const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
];

function statusTable(): string {
  return Object.entries(HTTP_STATUS_OF_CODE).map(([code, http]) => `${CODE_NAMES[Number(code)]} ${http}`).join(', ');
}

/** The first sentence as summary; the whole comment as description when it says more. */
function summarized(comment: string | undefined): { summary?: string; description?: string } {
  if (comment === undefined) return {};
  const flat = comment.replace(/\s*\n\s*/g, ' ');
  const summary = /^.*?[.;](?=\s|$)/.exec(flat)?.[0] ?? flat;
  return summary === flat ? { summary } : { summary, description: comment };
}

const described = (text: string | undefined): { description?: string } => (text === undefined ? {} : { description: text });
