import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clone, create, type DescMethod, type DescService, type Message } from '@bufbuild/protobuf';
import { Code, createClient, type Transport } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/taskd/v1/auth_service_pb.js';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { Role } from '../../gen/taskd/v1/options_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { allowsNamespace, hasRole, ROLE_NAMES, type Identity, type RoleName } from '../../internal/auth/identity.js';
import { fieldAt, methodAccess, requestNamespaces } from '../../internal/rpc/method-access.js';
import { taskdServices } from '../taskd-services.js';
import { matrixFixtures, type MatrixFixture } from '../auth-matrix-fixtures.js';
import {
  bearer, codeName, forgedToken, hsToken, invoke, signedToken, signingKeys, TEST_HS256_SECRET, writeJwks, type CallOutcome, type SigningKeys,
} from '../auth-kit.js';
import { Cluster, FAST_TIMINGS } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const OWN = 'team-a';
const OTHER = 'team-b';

interface Cell {
  method: DescMethod;
  name: string;
  role: RoleName;
  variant: 'own' | 'other' | 'foreign-id';
  request: Message;
}

/**
 * Every method of every service (enumerated from the descriptors) × every role × the
 * caller's own namespace, another namespace, and another namespace's id under its own,
 * plus every kind of bad credential, against a real apiserver and scheduler. Afterwards
 * nothing of the other namespace was changed, and no answer mentioned it.
 */
describe('auth matrix: every method × role × namespace × bad credential', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let keys: SigningKeys;
  const dir = mkdtempSync(join(tmpdir(), 'taskd-matrix-'));
  const workers = new InprocWorkers();
  let admin: string;
  let revokedKey: string;
  const outcomes = new Map<Cell, CallOutcome>();
  const cells: Cell[] = [];
  let fixtures: Record<string, MatrixFixture>;
  /** Every service the protos define, and which process serves it (found by asking both). */
  let services: DescService[];
  const servedBy = new Map<string, Transport>();
  const unserved: string[] = [];
  /** The transport (credentials go per call) to the process serving `m`. */
  const transportFor = (m: DescMethod): Transport => {
    const t = servedBy.get(m.parent.typeName);
    if (!t) throw new Error(`${m.parent.typeName} is served by no process of the cluster`);
    return t;
  };
  /** `req` (a by-id request) naming `ns`, and `id` when given. */
  const retarget = (m: DescMethod, req: Message, ns: string, id?: string): Message => {
    const copy = clone(m.input, req) as unknown as Record<string, Record<string, string>>;
    const target = 'namespace' in copy ? (copy as unknown as Record<string, string>) : (copy.schedule as Record<string, string>);
    target.namespace = ns;
    if (id !== undefined) {
      const path = methodAccess(m).byId!.path;
      const holder = path.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, copy as unknown as Record<string, unknown>);
      holder[path[path.length - 1] as string] = id;
    }
    return copy as unknown as Message;
  };

  const identity = (role: RoleName): Identity =>
    ({ subject: role, roles: new Set([role]), namespaces: new Set(role === 'system' ? ['*'] : [OWN]), via: 'jwt' });
  const tokenOf = (role: RoleName): Promise<string> => hsToken({ sub: `matrix-${role}`, roles: [role], namespaces: [...identity(role).namespaces] });

  /** Postgres rows of the other namespace, everything a call could change. */
  const otherRows = async (): Promise<unknown[]> => {
    const q = async (sql: string) => (await cluster.sql.query(sql, [OTHER])).rows;
    return [
      await q('select * from tasks where namespace = $1 order by id'),
      await q('select a.* from attempts a join tasks t on t.id = a.task_id where t.namespace = $1 order by a.task_id, a.number'),
      await q('select * from workflows where namespace = $1 order by id'),
      await q('select * from schedules where namespace = $1 order by id'),
      await q('select f.* from schedule_fires f join schedules s on s.id = f.schedule_id where s.namespace = $1 order by f.id'),
      await q('select * from dead_letters where namespace = $1 order by id'),
      await q('select * from api_keys where $1 = any(namespaces) order by id'),
      await q('select * from subscriptions where namespace = $1 order by id'),
      await q('select * from deliveries where namespace = $1 order by id'),
    ];
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    keys = await signingKeys('matrix');
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0,
      auth: { env: { TASKD_AUTH_HS256_SECRET: TEST_HS256_SECRET, TASKD_AUTH_JWKS_FILE: writeJwks(dir, keys.jwks) } },
      env: { ...FAST_TIMINGS },
    });
    admin = await hsToken({ sub: 'matrix-setup', roles: ['admin'], namespaces: ['*'] });
    // Dead letters to get, replay and purge, made the real way: a worker whose handler always fails.
    const doomed = await cluster.client(admin).submitTasks({
      tasks: [OWN, OTHER].flatMap((namespace) => Array.from({ length: 40 }, () => ({ type: 'doomed', namespace, retryPolicy: { maxAttempts: 1 } }))),
    });
    await workers.start(cluster.schedulerAddrs, { doomed: async () => { throw new Error('doomed to fail'); } }, {
      token: await hsToken({ sub: 'matrix-worker', roles: ['worker'], namespaces: ['*'] }),
    });
    const deadLetters = await waitFor('80 dead letters', async () => {
      const dl = createClient(DeadLetterService, cluster.transport(admin));
      const [a, b] = await Promise.all([OWN, OTHER].map((namespace) => dl.listDeadLetters({ namespace })));
      return a!.deadLetters.length + b!.deadLetters.length === doomed.tasks.length
        ? new Map([[OWN, a!.deadLetters.map((d) => d.id)], [OTHER, b!.deadLetters.map((d) => d.id)]]) : undefined;
    }, 60_000, 100);
    await workers.stopAll();
    const apiKeys = createClient(ApiKeyService, cluster.transport(admin));
    const revoked = await apiKeys.createApiKey({ name: 'revoked', role: Role.ADMIN, namespaces: ['*'] });
    await apiKeys.revokeApiKey({ id: revoked.apiKey!.id });
    revokedKey = revoked.secret;

    fixtures = matrixFixtures({ transport: cluster.transport(admin), deadLetters });
    // Which process serves each service: a served method refuses a call without credentials
    // (UNAUTHENTICATED), one no process routes is UNIMPLEMENTED.
    services = await taskdServices();
    const processes = [cluster.transport(), cluster.transport(undefined, cluster.schedulerAddrs[0])];
    for (const service of services) {
      for (const t of processes) {
        const probe = await invoke(t, service.methods[0]!, create(service.methods[0]!.input), {});
        if (probe.code === Code.Unauthenticated) servedBy.set(service.typeName, t);
        else if (probe.code !== Code.Unimplemented) throw new Error(`${service.typeName}: a call without credentials answered ${codeName(probe.code)} ${probe.message}`);
      }
      if (!servedBy.has(service.typeName)) unserved.push(service.typeName);
    }
    for (const service of services.filter((s) => servedBy.has(s.typeName))) {
      for (const method of service.methods) {
        const name = `${service.typeName}/${method.name}`;
        const f = fixtures[name];
        if (!f) throw new Error(`no matrix fixture for ${name}: add one to test/auth-matrix-fixtures.ts`);
        for (const role of ROLE_NAMES) {
          cells.push({ method, name, role, variant: 'own', request: await f.build(OWN) });
          const other = await f.build(OTHER);
          cells.push({ method, name, role, variant: 'other', request: other });
          if (methodAccess(method).byId && requestNamespaces(method.input, other).length > 0) {
            cells.push({ method, name, role, variant: 'foreign-id', request: retarget(method, await f.build(OTHER), OWN) });
          }
        }
      }
    }
    const before = await otherRows();
    for (const cell of cells) {
      const token = await tokenOf(cell.role);
      outcomes.set(cell, await invoke(transportFor(cell.method), cell.method, cell.request, bearer(token), { maxResponses: fixtures[cell.name]?.maxResponses }));
    }
    expect(await otherRows(), `rows of namespace ${OTHER} changed`).toEqual(before);
  }, 300_000);

  afterAll(async () => {
    await workers.stopAll();
    await reapAll();
    await cluster?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What a cell must answer, from the method's required role and the namespaces its request names. */
  function expected(cell: Cell): { code: Code | 'OK'; message?: string } {
    const access = methodAccess(cell.method);
    const id = identity(cell.role);
    const role = access.role as RoleName;
    if (!hasRole(id, role)) return { code: Code.PermissionDenied, message: `${access.name} requires role ${role}; the credential has ${cell.role}` };
    const outside = requestNamespaces(cell.method.input, cell.request).find((n) => !allowsNamespace(id, n));
    const notFound = { code: Code.NotFound, message: `${access.byId?.noun} ${fieldAt(cell.request, access.byId?.path ?? [])} not found` };
    if (outside && access.byId) return notFound;
    if (outside) return { code: Code.PermissionDenied, message: `namespace "${outside}" is not among the credential's namespaces` };
    if (cell.variant === 'foreign-id') return notFound;
    const special = cell.variant === 'other' && !id.namespaces.has('*') ? fixtures[cell.name]?.outside : undefined;
    return special ? special(cell.request) : { code: 'OK' };
  }

  it('every cell answers as its role and namespace demand', () => {
    const wrong: string[] = [];
    for (const cell of cells) {
      const got = outcomes.get(cell)!;
      const want = expected(cell);
      if (got.code !== want.code || (want.message !== undefined && got.message !== want.message)) {
        wrong.push(`${cell.name} as ${cell.role} (${cell.variant}): want ${codeName(want.code)} ${want.message ?? ''}, got ${codeName(got.code)} ${got.message}`);
      }
    }
    expect(wrong).toEqual([]);
    // The matrix is what it claims to be: every method, every role, the three variants where they apply.
    const served = services.filter((s) => servedBy.has(s.typeName));
    expect(new Set(cells.map((c) => c.name)).size).toBe(served.reduce((n, s) => n + s.methods.length, 0));
    // The core services are all served; any other service of the protos that no process routes
    // yet is listed here (it answers UNIMPLEMENTED to everyone) and joins the matrix once routed.
    expect(served.map((s) => s.typeName)).toEqual(expect.arrayContaining([
      'taskd.v1.TaskService', 'taskd.v1.WorkflowService', 'taskd.v1.ScheduleService', 'taskd.v1.DeadLetterService', 'taskd.v1.ClusterService',
      'taskd.v1.ApiKeyService', 'taskd.v1.WorkerService', 'taskd.internal.v1.LinkService',
    ]));
    const count = (variant: Cell['variant'], code: Code | 'OK') => cells.filter((c) => c.variant === variant && outcomes.get(c)!.code === code).length;
    expect(count('own', 'OK')).toBeGreaterThan(60);
    expect(count('other', Code.NotFound)).toBeGreaterThan(30);
    expect(count('foreign-id', Code.NotFound)).toBeGreaterThan(30);
  });

  it('no answer to a caller of one namespace mentions the other', async () => {
    const otherIds = (await cluster.sql.query<{ id: string }>(
      `select id from tasks where namespace = $1 union all select id from workflows where namespace = $1
       union all select id from schedules where namespace = $1 union all select id from api_keys where $1 = any(namespaces)
       union all select id from subscriptions where namespace = $1`, [OTHER])).rows.map((r) => r.id);
    const leaks = cells
      .filter((c) => c.role !== 'system' && outcomes.get(c)!.code === 'OK')
      .flatMap((c) => {
        const text = JSON.stringify(outcomes.get(c)!.responses);
        return [OTHER, ...otherIds].filter((s) => text.includes(s)).map((s) => `${c.name} as ${c.role} (${c.variant}) returned ${s}`);
      });
    expect(leaks).toEqual([]);
  });

  it('a namespace outside the caller\'s is answered exactly like a missing id', async () => {
    const token = await tokenOf('admin');
    const missingId = '0190aaaa-0000-7000-8000-000000000000';
    const byId = cells.filter((c) => c.role === 'admin' && c.variant === 'other' && methodAccess(c.method).byId && requestNamespaces(c.method.input, c.request).length > 0);
    expect(byId.length).toBeGreaterThan(15);
    for (const cell of byId) {
      const real = await invoke(transportFor(cell.method), cell.method, retarget(cell.method, cell.request, OWN, missingId), bearer(token));
      const hidden = outcomes.get(cell)!;
      expect(codeName(hidden.code), cell.name).toBe(codeName(real.code));
      const id = fieldAt(cell.request, methodAccess(cell.method).byId!.path);
      expect(hidden.message.replace(id, '<id>'), cell.name).toBe(real.message.replace(missingId, '<id>'));
    }
  });

  it('every bad credential is UNAUTHENTICATED naming why, on every method', async () => {
    const otherSecret = await hsToken({}, 'a-different-secret-that-is-long-enough-0123');
    const bad: [string, Record<string, string>, string][] = [
      ['no credential', {}, 'missing credentials: send "authorization: Bearer <token>" or "x-api-key: <key>"'],
      ['expired', bearer(await hsToken({ expIn: -3600 })), 'token expired'],
      ['bad signature', bearer(otherSecret), 'bad token signature'],
      ['RS256 with an unknown key', bearer(await signedToken({}, (await signingKeys('x')).rsa.privateKey, { alg: 'RS256', kid: keys.rsa.kid })), 'bad token signature'],
      ['alg none', bearer(forgedToken({ alg: 'none' }, {})), 'unsigned tokens (alg "none") are refused'],
      ['algorithm confusion', bearer(forgedToken({ alg: 'HS256', kid: keys.rsa.kid }, {}, keys.rsaPublicPem)), 'bad token signature'],
      ['wrong issuer', bearer(await hsToken({ iss: 'https://evil.example' })), 'wrong issuer: expected "taskd"'],
      ['wrong audience', bearer(await hsToken({ aud: 'another-app' })), 'wrong audience: expected "taskd"'],
      ['revoked API key', { 'x-api-key': revokedKey }, `API key ${revokedKey.slice(0, 12)}… was revoked`],
      ['unknown API key', bearer(`tdk_${'A'.repeat(43)}`), 'unknown API key tdk_AAAAAAAA…'],
      ['not a bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 'the authorization header must be "Bearer <token>"'],
    ];
    const fixtures = new Map(cells.filter((c) => c.role === 'admin' && c.variant === 'own').map((c) => [c.name, c]));
    const wrong: string[] = [];
    for (const [what, headers, message] of bad) {
      for (const cell of fixtures.values()) {
        const got = await invoke(transportFor(cell.method), cell.method, cell.request, headers);
        if (got.code !== Code.Unauthenticated || got.message !== message) wrong.push(`${cell.name} with ${what}: got ${codeName(got.code)} ${got.message}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('over Connect and gRPC-Web too: 401 for none, 403 naming the role', async () => {
    const url = `${cluster.apiUrl}/${TaskService.typeName}/ListTasks`;
    const none = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: 'unauthenticated', message: expect.stringContaining('missing credentials') });
    const viewer = await tokenOf('viewer');
    const denied = await fetch(`${cluster.apiUrl}/${TaskService.typeName}/SubmitTask`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(viewer) }, body: JSON.stringify({ task: { type: 'noop', namespace: OWN } }),
    });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'permission_denied', message: 'taskd.v1.TaskService/SubmitTask requires role submitter; the credential has viewer' });
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(viewer) }, body: JSON.stringify({ namespace: OWN }) });
    expect(ok.status).toBe(200);
    const web = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/grpc-web+json' }, body: Buffer.from([0, 0, 0, 0, 2, 123, 125]) });
    expect(web.status).toBe(200);
    expect(web.headers.get('grpc-status') ?? (await web.text())).toMatch(/16/);
  });
});
