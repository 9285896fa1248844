import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { ApiKeyService } from '../../gen/taskd/v1/auth_service_pb.js';
import { Role } from '../../gen/taskd/v1/options_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { bearer, hsToken, TEST_HS256_SECRET } from '../auth-kit.js';
import { Cluster, FAST_TIMINGS, logMsg } from '../cluster.js';
import { freePort, reapAll, spawnTaskd } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

// Slow enough that a refill never races the next call on a busy machine (one token per 2 s).
const RATE = 0.5;
const BURST = 10;
const MAX_REQUEST_BYTES = 64 * 1024;

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(() => undefined, (x: unknown) => ConnectError.from(x));
  if (!e) throw new Error('expected the call to be refused, it succeeded');
  return e;
}

/**
 * Limits with authentication on: submissions per namespace (a token bucket shared by two
 * apiservers through Redis), open streams per identity, the request size; processes
 * refusing to serve beyond loopback without authentication; `npm run token`.
 */
describe('limits: submission rate, open streams, request size; binding without auth; npm run token', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  const api = (i: number, token: string) => createClient(TaskService, cluster.transport(token, `http://${cluster.apiservers[i]!.addr}`));

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, apiservers: 2, workers: 0,
      env: { ...FAST_TIMINGS },
      auth: {
        env: {
          TASKD_AUTH_HS256_SECRET: TEST_HS256_SECRET, TASKD_SUBMIT_RATE: String(RATE), TASKD_SUBMIT_BURST: String(BURST),
          TASKD_MAX_STREAMS_PER_IDENTITY: '2', TASKD_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
        },
      },
    });
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  it('a namespace over its submission rate gets RESOURCE_EXHAUSTED with RetryInfo, on every apiserver, and recovers', async () => {
    const token = await hsToken({ sub: 'submitter', roles: ['submitter'], namespaces: ['team-a', 'team-b', 'team-c'] });
    const tooBig = await refusal(api(0, token).submitTasks({ tasks: Array.from({ length: BURST + 1 }, () => ({ type: 'noop', namespace: 'team-c' })) }));
    expect(tooBig.code).toBe(Code.ResourceExhausted);
    expect(tooBig.rawMessage).toBe(`namespace "team-c": ${BURST + 1} tasks in one request exceed the submission burst of ${BURST} (TASKD_SUBMIT_BURST); split the request`);

    await api(0, token).submitTasks({ tasks: Array.from({ length: BURST }, () => ({ type: 'noop', namespace: 'team-a' })) });
    const over = await refusal(api(0, token).submitTask({ task: { type: 'noop', namespace: 'team-a' } }));
    expect(over.code).toBe(Code.ResourceExhausted);
    expect(over.rawMessage).toMatch(new RegExp(`^namespace "team-a" is over its submission rate limit of 0\\.5 tasks/s \\(burst ${BURST}\\); retry in \\d+ ms$`));
    const [info] = over.findDetails(RetryInfoSchema);
    const delay = durationMs(info!.retryDelay!);
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(1000 / RATE);
    // The bucket lives in Redis: the other apiserver refuses too.
    expect((await refusal(api(1, token).submitTask({ task: { type: 'noop', namespace: 'team-a' } }))).code).toBe(Code.ResourceExhausted);
    // Other namespaces have buckets of their own.
    await api(1, token).submitTask({ task: { type: 'noop', namespace: 'team-b' } });
    // Over Connect (plain HTTP) it is 429, with the RetryInfo detail.
    const http = await fetch(`http://${cluster.apiservers[0]!.addr}/taskd.v1.TaskService/SubmitTask`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify({ task: { type: 'noop', namespace: 'team-a' } }),
    });
    expect(http.status).toBe(429);
    expect(await http.json()).toMatchObject({ code: 'resource_exhausted', details: [{ type: 'google.rpc.RetryInfo' }] });
    const refusedAt = Date.now();
    await waitFor('team-a to be admitted again', () => api(0, token).submitTask({ task: { type: 'noop', namespace: 'team-a' } }).then(() => true, () => false), 10_000, 50);
    expect(Date.now() - refusedAt).toBeLessThan(1000 / RATE + 2_000);
    const counts = await cluster.sql.query<{ namespace: string; n: string }>('select namespace, count(*) n from tasks group by namespace order by namespace');
    expect(counts.rows.map((r) => [r.namespace, Number(r.n)])).toEqual([['team-a', BURST + 1], ['team-b', 1]]);
  });

  it('an identity holding its cap of open streams gets RESOURCE_EXHAUSTED until one closes', async () => {
    const watcher = await hsToken({ sub: 'watcher', roles: ['viewer'], namespaces: ['team-s'] });
    const submitter = await hsToken({ sub: 'watch-submitter', roles: ['submitter'], namespaces: ['team-s'] });
    const t = (await api(0, submitter).submitTask({ task: { type: 'noop', namespace: 'team-s' } })).task!;
    const open = async (token: string) => {
      const ctl = new AbortController();
      const it = api(0, token).watchTask({ id: t.id, namespace: 'team-s' }, { signal: ctl.signal })[Symbol.asyncIterator]();
      const first = await it.next();
      return { ctl, first, it };
    };
    const a = await open(watcher);
    const b = await open(watcher);
    expect(a.first.value?.task?.id).toBe(t.id);
    const third = await refusal(open(watcher));
    expect(third.code).toBe(Code.ResourceExhausted);
    expect(third.rawMessage).toBe('too many open streams: "watcher" holds 2 (TASKD_MAX_STREAMS_PER_IDENTITY); close one first');
    // Another identity is not affected; the same one on another apiserver neither (the cap is per process).
    (await open(submitter)).ctl.abort();
    a.ctl.abort();
    const again = await waitFor('a stream slot to free up', () => open(watcher).then((s) => s, () => undefined), 5_000, 50);
    again.ctl.abort();
    b.ctl.abort();
  });

  it('a request over TASKD_MAX_REQUEST_BYTES is RESOURCE_EXHAUSTED naming the limit, and nothing is stored', async () => {
    const token = await hsToken({ sub: 'big', roles: ['submitter'], namespaces: ['team-z'] });
    const big = valueOf({ blob: 'x'.repeat(MAX_REQUEST_BYTES + 1024) });
    const e = await refusal(api(0, token).submitTask({ task: { type: 'noop', namespace: 'team-z', payload: big } }));
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(e.rawMessage).toMatch(new RegExp(`larger than configured readMaxBytes ${MAX_REQUEST_BYTES}`));
    const http = await fetch(`http://${cluster.apiservers[0]!.addr}/taskd.v1.TaskService/SubmitTask`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ task: { type: 'noop', namespace: 'team-z', payload: { blob: 'x'.repeat(MAX_REQUEST_BYTES + 1024) } } }),
    });
    expect(http.status).toBe(429);
    expect(await http.json()).toMatchObject({ code: 'resource_exhausted', message: expect.stringContaining(`readMaxBytes ${MAX_REQUEST_BYTES}`) });
    expect((await cluster.sql.query(`select count(*) n from tasks where namespace = 'team-z'`)).rows[0].n).toBe('0');
  });

  it('npm run token mints a JWT the cluster accepts', async () => {
    const p = spawnTaskd('token', 'cmd/token/main.ts', { TASKD_AUTH_HS256_SECRET: TEST_HS256_SECRET },
      { args: ['--role', 'admin', '--namespaces', '*', '--subject', 'bootstrap-admin', '--ttl', '5m'] });
    expect((await p.exited).code).toBe(0);
    const token = p.output().find((l) => l.startsWith('ey'));
    expect(token, p.output().join('\n')).toBeDefined();
    const keys = createClient(ApiKeyService, cluster.transport(token));
    const k = await keys.createApiKey({ name: 'from-bootstrap', role: Role.ADMIN, namespaces: ['*'] });
    expect(k.apiKey?.createdBy).toBe('bootstrap-admin');
  });

  it('the apiserver and the scheduler refuse to bind beyond loopback without authentication', async () => {
    for (const [name, entry] of [['apiserver', 'cmd/apiserver/main.ts'], ['scheduler', 'cmd/scheduler/main.ts']] as const) {
      const p = spawnTaskd(`${name}-public`, entry, {
        TASKD_DATABASE_URL: db.url, TASKD_REDIS_URL: testEnv().redisUrl, TASKD_ADDR: '0.0.0.0:0', TASKD_ADVERTISE_ADDR: 'http://127.0.0.1:1',
      });
      const line = await p.waitForLog(logMsg('failed'), 30_000);
      expect(JSON.stringify(line)).toContain(`the ${name} runs without authentication and binds only to loopback`);
      expect((await p.exited).code).toBe(1);
    }
  });

  it('npm start with authentication configured serves beyond loopback; its own worker and link authenticate', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'taskd-dev-auth-'));
    try {
      const port = await freePort();
      const dev = spawnTaskd('dev-auth', 'cmd/dev/main.ts', { TASKD_ADDR: `0.0.0.0:${port}`, TASKD_DATA_DIR: dataDir, TASKD_AUTH_HS256_SECRET: TEST_HS256_SECRET });
      await dev.waitForLog(logMsg('worker connected'), 60_000);
      const url = `http://127.0.0.1:${port}`;
      const anonymous = await fetch(`${url}/taskd.v1.TaskService/SubmitTask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"task":{"type":"noop"}}' });
      expect(anonymous.status).toBe(401);
      const client = createClient(TaskService, cluster.transport(await hsToken({ roles: ['submitter'], namespaces: ['default'] }), url));
      const t = (await client.submitTask({ task: { type: 'noop', payload: valueOf({ via: 'dev' }) } })).task!;
      await waitFor('the embedded worker to run it', async () => (await client.getTask({ id: t.id })).task!.status === TaskStatus.SUCCEEDED, 20_000, 100);
      dev.kill();
      expect((await dev.exited).code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
