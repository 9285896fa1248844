import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/taskd/v1/auth_service_pb.js';
import { ClusterService } from '../../gen/taskd/v1/cluster_service_pb.js';
import { Role } from '../../gen/taskd/v1/options_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { bearer, signedToken, signingKeys, type SigningKeys, type TokenClaims } from '../auth-kit.js';
import { Cluster, FAST_TIMINGS } from '../cluster.js';
import { reapAll, spawnTaskd } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const API_KEY_CACHE_MS = 1_000;

/** Rejects with a ConnectError of `code` whose message matches `message`. */
async function refusedWith(p: Promise<unknown>, code: Code, message: string | RegExp): Promise<ConnectError> {
  const e = await p.then(() => undefined, (x: unknown) => ConnectError.from(x));
  expect(e, 'expected the call to be refused').toBeInstanceOf(ConnectError);
  expect(Code[(e as ConnectError).code]).toBe(Code[code]);
  expect((e as ConnectError).rawMessage).toMatch(message);
  return e as ConnectError;
}

/**
 * Authentication with RS256 and ES256 keys from a JWKS URL (a local HTTP server), JWKS
 * only: the apiservers link with a configured SYSTEM token, workers connect with their
 * own tokens and run only their namespaces' tasks; API keys created, used and revoked
 * across two apiservers; the offline bootstrap of an API key.
 */
describe('auth with a JWKS URL: tokens, workers, API keys', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let keys: SigningKeys;
  let jwksServer: Server;
  let jwksFetches = 0;
  const rs = (c: TokenClaims) => signedToken(c, keys.rsa.privateKey, { alg: 'RS256', kid: keys.rsa.kid });
  const es = (c: TokenClaims) => signedToken(c, keys.ec.privateKey, { alg: 'ES256', kid: keys.ec.kid });

  beforeAll(async () => {
    db = await createTestDatabase();
    keys = await signingKeys('flows');
    jwksServer = createServer((req, res) => {
      jwksFetches++;
      if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys.jwks));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, apiservers: 2, workers: 1,
      env: { ...FAST_TIMINGS },
      auth: {
        env: {
          TASKD_AUTH_JWKS_URL: jwksUrl, TASKD_AUTH_ISSUER: 'https://idp.test', TASKD_AUTH_AUDIENCE: 'taskd-api',
          TASKD_AUTH_API_KEY_CACHE_MS: String(API_KEY_CACHE_MS),
          TASKD_AUTH_SYSTEM_TOKEN: await rs({ sub: 'apiserver', roles: ['system'], namespaces: ['*'], iss: 'https://idp.test', aud: 'taskd-api', expIn: 3600 }),
        },
        workerToken: await es({ sub: 'worker-a', roles: ['worker'], namespaces: ['team-a'], iss: 'https://idp.test', aud: 'taskd-api', expIn: 3600 }),
      },
    });
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
    await new Promise((r) => jwksServer?.close(r));
  });

  const claims = (roles: string[], namespaces: string[], sub = 'user'): TokenClaims => ({ sub, roles, namespaces, iss: 'https://idp.test', aud: 'taskd-api' });

  it('RS256 and ES256 tokens from the JWKS URL work; an authenticated worker runs its namespace\'s task end to end, not another\'s', async () => {
    const submitter = createClient(TaskService, cluster.transport(await rs(claims(['submitter'], ['team-a', 'team-b']))));
    const viewer = createClient(TaskService, cluster.transport(await es(claims(['viewer'], ['team-a', 'team-b']))));
    const a = await submitter.submitTask({ task: { type: 'noop', namespace: 'team-a', payload: { kind: { case: 'stringValue', value: 'hello' } } } });
    const b = await submitter.submitTask({ task: { type: 'noop', namespace: 'team-b' } });
    const done = await waitFor('team-a task to succeed', async () => {
      const t = (await viewer.getTask({ id: a.task!.id, namespace: 'team-a' })).task!;
      return t.status === TaskStatus.SUCCEEDED ? t : undefined;
    }, 30_000, 100);
    expect(done.attempts[0]?.workerId).toBe('worker-0');
    // The worker's token is for team-a only: team-b's task waits for a worker of its own.
    expect((await viewer.getTask({ id: b.task!.id, namespace: 'team-b' })).task!.status).toBe(TaskStatus.QUEUED);
    const cluster_ = createClient(ClusterService, cluster.transport(await rs(claims(['viewer'], ['team-b']))));
    const view = await cluster_.getCluster({ namespace: 'team-b' });
    expect(view.workers).toEqual([]);
    expect(view.queues.find((q) => q.queue === 'default')?.queued).toBe(1n);
    const teamA = await createClient(ClusterService, cluster.transport(await rs(claims(['viewer'], ['team-a'])))).getCluster({ namespace: 'team-a' });
    expect(teamA.workers.map((w) => [w.workerId, w.namespaces])).toEqual([['worker-0', ['team-a']]]);
    expect(jwksFetches).toBeGreaterThan(0);
  });

  it('a worker with a bad token never connects and says why', async () => {
    const bad = await es({ ...claims(['viewer'], ['team-a']), sub: 'not-a-worker' });
    const w = spawnTaskd('bad-worker', 'cmd/worker/main.ts', cluster.env({ TASKD_WORKER_ID: 'bad-worker', TASKD_WORKER_TOKEN: bad }));
    const line = await w.waitForLog((l) => typeof l === 'object' && l.msg === 'stream to scheduler ended', 20_000);
    expect(JSON.stringify(line)).toContain('taskd.v1.WorkerService/Connect requires role worker; the credential has viewer');
    expect(w.output().some((l) => l.includes('worker connected'))).toBe(false);
    w.kill();
    await w.exited;
  });

  it('an API key: created by an admin, used, revoked on one apiserver, refused there at once and on the other within the cache time', async () => {
    const admin = createClient(ApiKeyService, cluster.transport(await rs(claims(['admin'], ['team-a']))));
    const created = await admin.createApiKey({ name: 'ci', role: Role.SUBMITTER, namespaces: ['team-a'] });
    expect(created.secret).toMatch(/^tdk_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toMatchObject({ name: 'ci', role: Role.SUBMITTER, namespaces: ['team-a'], prefix: created.secret.slice(0, 12) });
    const stored = await cluster.sql.query('select secret_hash from api_keys where id = $1', [created.apiKey!.id]);
    expect(stored.rows[0].secret_hash).not.toContain(created.secret.slice(4));
    const on = (i: number, headers: Record<string, string>) =>
      createClient(TaskService, cluster.transport(undefined, `http://${cluster.apiservers[i]!.addr}`)).submitTask({ task: { type: 'noop', namespace: 'team-a' } }, { headers });
    await on(0, { 'x-api-key': created.secret });
    await on(1, bearer(created.secret));
    await refusedWith(
      createClient(TaskService, cluster.transport(undefined, `http://${cluster.apiservers[1]!.addr}`)).submitTask({ task: { type: 'noop', namespace: 'team-b' } }, { headers: bearer(created.secret) }),
      Code.PermissionDenied, 'namespace "team-b" is not among the credential\'s namespaces');
    // Keys are only given what their creator has.
    await refusedWith(admin.createApiKey({ name: 'wide', role: Role.VIEWER, namespaces: ['*'] }), Code.PermissionDenied, 'namespace "*" is not among');
    expect((await admin.listApiKeys({})).apiKeys.map((k) => k.id)).toEqual([created.apiKey!.id]);

    await admin.revokeApiKey({ id: created.apiKey!.id });
    const revokedAt = Date.now();
    await refusedWith(on(0, bearer(created.secret)), Code.Unauthenticated, /was revoked/);
    await waitFor('the other apiserver to refuse the revoked key', async () =>
      on(1, bearer(created.secret)).then(() => false, (e: unknown) => ConnectError.from(e).code === Code.Unauthenticated), API_KEY_CACHE_MS + 2_000, 50);
    expect(Date.now() - revokedAt).toBeLessThan(API_KEY_CACHE_MS + 1_000);
  });

  it('the offline bootstrap creates an admin API key in Postgres that works at once', async () => {
    const p = spawnTaskd('token', 'cmd/token/main.ts', { TASKD_DATABASE_URL: db.url }, { args: ['--api-key', 'bootstrap', '--role', 'admin', '--namespaces', '*', '--ttl', '1d'] });
    expect((await p.exited).code).toBe(0);
    const secret = p.output().find((l) => l.startsWith('tdk_'));
    expect(secret, p.output().join('\n')).toBeDefined();
    const keys = await createClient(ApiKeyService, cluster.transport(secret)).listApiKeys({ includeRevoked: true });
    expect(keys.apiKeys.map((k) => k.name).sort()).toEqual(['bootstrap', 'ci']);
    const bootstrap = keys.apiKeys.find((k) => k.name === 'bootstrap')!;
    expect(bootstrap.createdBy).toMatch(/^offline:/);
    expect(Number(bootstrap.expiresAt!.seconds) * 1000 - Date.now()).toBeGreaterThan(23 * 3600_000);
  });
});
