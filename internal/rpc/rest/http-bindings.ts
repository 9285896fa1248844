import { getOption, type DescField, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { http } from '../../../gen/google/api/annotations_pb.js';
import type { HttpRule } from '../../../gen/google/api/http_pb.js';
import { PathTemplate } from './path-template.js';

/** One REST binding of an RPC: a `google.api.http` rule (or one of its additional_bindings). */
export interface HttpBinding {
  method: DescMethod;
  /** Upper case: GET, POST, PUT, PATCH, DELETE, or a custom rule's kind. */
  verb: string;
  template: PathTemplate;
  /** Each path variable with the chain of fields it sets (`schedule.id` = [schedule, id]). */
  pathFields: { path: string; fields: DescField[] }[];
  /** `'*'`: the body is the whole request; a field: the body is that top-level field; undefined: no body. */
  body: '*' | DescField | undefined;
  /** The top-level response field that is the REST response, or undefined for the whole response. */
  responseBody: DescField | undefined;
}

/**
 * The REST bindings of `method` from its `google.api.http` option, validated against the
 * request and response messages: [] when it has none. Throws an Error naming the method
 * when the rule is unusable (unknown field, a path variable on a repeated or message
 * field, a body on GET or DELETE, a client-streaming method).
 */
export function httpBindings(method: DescMethod): HttpBinding[] {
  const rule = getOption(method, http);
  if (rule.pattern.case === undefined) return [];
  const where = `${method.parent.typeName}.${method.name}`;
  if (method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming') {
    throw new Error(`${where}: google.api.http on a ${method.methodKind} method is not supported`);
  }
  return [rule, ...rule.additionalBindings].map((r) => bindingOf(method, r, where));
}

/** Every REST binding of every method of `services`. */
export function serviceBindings(services: Iterable<DescService>): HttpBinding[] {
  return [...services].flatMap((s) => s.methods.flatMap(httpBindings));
}

function bindingOf(method: DescMethod, rule: HttpRule, where: string): HttpBinding {
  const fail = (why: string): never => {
    throw new Error(`${where}: google.api.http: ${why}`);
  };
  const p = rule.pattern;
  let verb: string;
  let path: string;
  if (p.case === 'custom') [verb, path] = [p.value.kind.toUpperCase(), p.value.path];
  else if (p.case !== undefined) [verb, path] = [p.case.toUpperCase(), p.value];
  else return fail('an additional binding has no pattern');
  const template = new PathTemplate(path);
  const pathFields = template.variables.map((v) => ({ path: v, fields: fieldChain(method, v, fail) }));
  const body = rule.body === '' ? undefined : rule.body === '*' ? '*' : topField(method.input.fields, rule.body, 'body', fail);
  if (body !== undefined && (verb === 'GET' || verb === 'DELETE')) fail(`${verb} may not have a body`);
  if (body !== undefined && body !== '*' && pathFields.some((f) => f.fields.length === 1 && f.fields[0] === body)) {
    fail(`body field "${body.name}" is also a path variable`);
  }
  const responseBody = rule.responseBody === '' ? undefined : topField(method.output.fields, rule.responseBody, 'response_body', fail);
  return { method, verb, template, pathFields, body, responseBody };
}

function topField(fields: DescField[], name: string, what: string, fail: (why: string) => never): DescField {
  return fields.find((f) => f.name === name) ?? fail(`${what} "${name}" is not a top-level field`);
}

/** The fields a dotted path walks through; the last must be a singular scalar or enum. */
function fieldChain(method: DescMethod, path: string, fail: (why: string) => never): DescField[] {
  const chain: DescField[] = [];
  let fields = method.input.fields;
  for (const [i, name] of path.split('.').entries()) {
    const f = fields.find((x) => x.name === name) ?? fail(`path variable "${path}": no field "${name}"`);
    chain.push(f);
    const last = i === path.split('.').length - 1;
    if (last && f.fieldKind !== 'scalar' && f.fieldKind !== 'enum') fail(`path variable "${path}" must be a singular scalar or enum`);
    if (!last) {
      if (f.fieldKind !== 'message') fail(`path variable "${path}": "${name}" is not a message field`);
      fields = f.message.fields;
    }
  }
  return chain;
}
