import { getOption, hasOption, type DescMessage, type DescMethod, type Message } from '@bufbuild/protobuf';
import { http } from '../../gen/google/api/annotations_pb.js';
import { Role, required_role } from '../../gen/taskd/v1/options_pb.js';
import type { RoleName } from '../auth/identity.js';

/** What a method demands, read once from its descriptor (proto options). */
export interface MethodAccess {
  /** `taskd.v1.TaskService/GetTask`. */
  name: string;
  /**
   * The role it requires; `authenticated` for services that need only an identity (gRPC
   * reflection); `refused` when a taskd method declares none (fail closed).
   */
  role: RoleName | 'authenticated' | 'refused';
  /**
   * For a method on one resource (its REST path names `{id}` or `{x.id}`): the request
   * field path of the id and the resource's noun ("task", "dead letter"), so a namespace
   * outside the caller's is answered exactly like a missing id.
   */
  byId?: { path: string[]; noun: string };
}

const ROLE_NAMES: Partial<Record<Role, RoleName>> = {
  [Role.VIEWER]: 'viewer', [Role.SUBMITTER]: 'submitter', [Role.OPERATOR]: 'operator', [Role.ADMIN]: 'admin',
  [Role.WORKER]: 'worker', [Role.SYSTEM]: 'system',
};

/** Services that carry no taskd options and need only an authenticated caller. */
const IDENTITY_ONLY_SERVICES = /^grpc\.reflection\.v1(alpha)?\.ServerReflection$/;

const cache = new WeakMap<DescMethod, MethodAccess>();

/** The access rules of `method` (cached per descriptor). */
export function methodAccess(method: DescMethod): MethodAccess {
  let a = cache.get(method);
  if (!a) {
    a = { name: `${method.parent.typeName}/${method.name}`, role: roleOf(method), byId: byIdOf(method) };
    cache.set(method, a);
  }
  return a;
}

function roleOf(method: DescMethod): MethodAccess['role'] {
  if (hasOption(method, required_role)) return ROLE_NAMES[getOption(method, required_role)] ?? 'refused';
  return IDENTITY_ONLY_SERVICES.test(method.parent.typeName) ? 'authenticated' : 'refused';
}

function byIdOf(method: DescMethod): MethodAccess['byId'] {
  if (!hasOption(method, http)) return undefined;
  const rule = getOption(method, http).pattern;
  const path = typeof rule.value === 'string' ? rule.value : '';
  // "/v1/dead-letters/{id}:replay" → collection "dead-letters", variable "id".
  const m = /\/([a-z][a-z-]*)\/\{([a-z_.]*\bid)\}/.exec(path);
  if (!m) return undefined;
  const noun = (m[1] as string).replace(/s$/, '').replace(/-/g, ' ');
  return { path: (m[2] as string).split('.').map(camel), noun };
}

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Every namespace a request names: its own `namespace` field and that of each message
 * directly inside it (a task spec, a workflow, a schedule; each in a list too), where
 * empty means "default"; deeper ones (a workflow's task specs, a schedule's template)
 * only when set, since empty there means "the enclosing one". Well-known types (payloads)
 * are not searched.
 */
export function requestNamespaces(desc: DescMessage, msg: Message): string[] {
  const out = new Set<string>();
  collect(desc, msg as unknown as Record<string, unknown>, 0, out);
  return [...out];
}

function collect(desc: DescMessage, msg: Record<string, unknown>, depth: number, out: Set<string>): void {
  for (const f of desc.fields) {
    const v = f.oneof ? oneofValue(msg[f.oneof.localName], f.localName) : msg[f.localName];
    if (f.fieldKind === 'scalar' && f.name === 'namespace' && typeof v === 'string') {
      if (v !== '') out.add(v);
      else if (depth <= 1) out.add('default');
    } else if (f.fieldKind === 'message' && v && !f.message.typeName.startsWith('google.')) {
      collect(f.message, v as Record<string, unknown>, depth + 1, out);
    } else if (f.fieldKind === 'list' && f.listKind === 'message' && Array.isArray(v) && !f.message.typeName.startsWith('google.')) {
      for (const item of v) collect(f.message, item as Record<string, unknown>, depth + 1, out);
    }
  }
}

/** A oneof's value when its selected case is `name` (protobuf-es keeps oneofs as { case, value }). */
function oneofValue(o: unknown, name: string): unknown {
  const sel = o as { case?: string; value?: unknown } | undefined;
  return sel?.case === name ? sel.value : undefined;
}

/** The value at `path` in `msg` as a string ('' when absent). */
export function fieldAt(msg: Message, path: string[]): string {
  let cur: unknown = msg;
  for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return typeof cur === 'string' ? cur : '';
}
