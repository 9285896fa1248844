import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterService } from '../../gen/taskd/v1/cluster_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster, logMsg } from '../cluster.js';
import { freePort, reapAll, spawnTaskd, type LogLine } from '../procs.js';
import { scrape } from '../metrics-scrape.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const REJECTED = 'config reload rejected; the running configuration stays';

/** A `config reloaded` line whose `applied` settings are exactly `applied`. */
const reloadedWith = (applied: string[]) => (l: LogLine): boolean =>
  typeof l === 'object' && l.msg === 'config reloaded' && JSON.stringify(l.applied) === JSON.stringify(applied);

/**
 * The config file (docs/config.md) in real processes: a typo or a wrong type refuses to
 * start naming the key; a worker follows its file's worker_slots and log_level while it
 * runs (the leader sees the new slots; lowering them cancels nothing); an apiserver turns
 * its submission limit on and off live.
 */
describe('config file: refusals at start, live reload in a worker and an apiserver', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'taskd-config-int-'));
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, apiservers: 1, workers: 0 });
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a typo or a wrong type refuses to start: exit status 2, one fatal line naming the key, where, and the value', async () => {
    const cases: Array<{ entry: string; file: string; env?: Record<string, string>; message: (file: string) => string }> = [
      {
        entry: 'cmd/worker/main.ts', file: 'worker_slots: 2\nworker_slot: 3\n',
        message: (f) => `invalid configuration: ${f}:2: unknown setting "worker_slot" (did you mean "worker_slots"?)`,
      },
      {
        entry: 'cmd/apiserver/main.ts', file: 'log_level: info\nsubmit_rate: fast\n',
        message: (f) => `invalid configuration: ${f}:2: submit_rate: expected a number, got "fast"`,
      },
      {
        entry: 'cmd/scheduler/main.ts', file: 'worker_slots: 2\n', env: { TASKD_WORKER_SLOTS: 'lots' },
        message: () => 'invalid configuration: TASKD_WORKER_SLOTS: expected a number, got "lots"',
      },
    ];
    for (const [i, c] of cases.entries()) {
      const file = join(dir, `refused-${i}.yaml`);
      writeFileSync(file, c.file);
      const p = spawnTaskd(`refused-${i}`, c.entry, { TASKD_CONFIG_FILE: file, ...c.env });
      expect((await p.exited).code, p.output().join('\n')).toBe(2);
      const fatal = await p.waitForLog((l) => typeof l === 'object' && l.level === 60, 0).catch(() => undefined);
      expect(fatal, p.output().join('\n')).toMatchObject({ msg: c.message(file) });
    }
  });

  it('a worker follows its file: more slots at once and debug lines; fewer slots cancel nothing; a bad edit is refused', async () => {
    const file = join(dir, 'worker.yaml');
    writeFileSync(file, 'worker_slots: 1\nlog_level: info\n');
    const { TASKD_LOG_LEVEL: _level, ...env } = cluster.env({ TASKD_WORKER_ID: 'live-worker', TASKD_CONFIG_FILE: file });
    const worker = spawnTaskd('live-worker', 'cmd/worker/main.ts', env);
    await worker.waitForLog(logMsg('worker connected'), 30_000);
    const clusterApi = createClient(ClusterService, cluster.transport());
    const view = () => clusterApi.getCluster({}).then((v) => v.workers.find((w) => w.workerId === 'live-worker'));
    const until = (what: string, pred: (w: NonNullable<Awaited<ReturnType<typeof view>>>) => boolean) =>
      waitFor(`the leader to show live-worker with ${what}`, async () => {
        const w = await view();
        return w && pred(w) ? w : undefined;
      }, 20_000);

    const tasks = await cluster.client().submitTasks({ tasks: Array.from({ length: 4 }, () => ({ type: 'sleep', payload: valueOf({ ms: 120_000 }) })) });
    const ids = tasks.tasks.map((t) => t.id);
    expect(await until('1 slot, 1 running', (w) => w.slots === 1 && w.running === 1)).toMatchObject({ credits: 0 });
    expect(worker.output().some((l) => l.includes('"msg":"attempt assigned"'))).toBe(false);

    writeFileSync(file, 'worker_slots: 3\nlog_level: debug\n');
    await worker.waitForLog(reloadedWith(['log_level', 'worker_slots']), 20_000);
    await until('3 slots, 3 running', (w) => w.slots === 3 && w.running === 3);
    // The attempts assigned after the reload log at debug.
    await worker.waitForLog((l) => typeof l === 'object' && l.msg === 'attempt assigned' && l.level === 20, 20_000);

    writeFileSync(file, 'worker_slots: 1\nlog_level: debug\n');
    await worker.waitForLog(logMsg('worker slots changed', { from: 3, to: 1, running: 3 }), 20_000);
    expect(await until('1 slot', (w) => w.slots === 1)).toMatchObject({ running: 3, credits: 0 });
    const running = async () => (await cluster.sql.query<{ id: string }>("select id from tasks where status = 'RUNNING' order by id")).rows.map((r) => r.id);
    const runningIds = await running();
    expect(runningIds).toHaveLength(3);
    const queued = ids.find((id) => !runningIds.includes(id)) as string;

    // Two of the three end: one still runs, which the one slot covers, so nothing new starts.
    for (const id of runningIds.slice(0, 2)) await cluster.client().cancelTask({ id });
    expect(await until('1 running', (w) => w.running === 1)).toMatchObject({ credits: 0 });
    expect((await cluster.sql.query('select status from tasks where id = $1', [queued])).rows[0].status).toBe('QUEUED');
    // The last one ends: the slot is free again and the queued task starts.
    await cluster.client().cancelTask({ id: runningIds[2] as string });
    await waitFor('the queued task to start', async () => (await running()).includes(queued), 20_000);
    expect(worker.output().filter((l) => l.includes('aborting'))).toEqual([]);

    writeFileSync(file, 'worker_slots: none\nlog_level: debug\n');
    const rejected = await worker.waitForLog(logMsg(REJECTED), 20_000);
    expect(rejected).toMatchObject({ level: 50, error: `invalid configuration: ${file}:1: worker_slots: expected a number, got "none"` });
    expect((await view())?.slots).toBe(1);

    await cluster.client().cancelTask({ id: queued });
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('an apiserver turns its submission limit on (SIGHUP) and off (the file poll) without a restart', async () => {
    const file = join(dir, 'apiserver.yaml');
    writeFileSync(file, 'submit_rate: 0\n');
    const port = await freePort();
    const api = spawnTaskd('live-apiserver', 'cmd/apiserver/main.ts', cluster.env({ TASKD_CONFIG_FILE: file, TASKD_ADDR: `127.0.0.1:${port}` }));
    await api.waitForLog(logMsg('listening'), 30_000);
    const client = createClient(TaskService, cluster.transport(undefined, `http://127.0.0.1:${port}`));
    const submit = () => client.submitTask({ task: { type: 'noop', namespace: 'live-limit' } }).then(() => 'ok', (e: unknown) => Code[ConnectError.from(e).code]);
    expect([await submit(), await submit(), await submit()]).toEqual(['ok', 'ok', 'ok']);

    // One token per 2 s: the second quick submission is refused.
    writeFileSync(file, 'submit_rate: 0.5\nsubmit_burst: 1\n');
    api.kill('SIGHUP');
    await api.waitForLog(reloadedWith(['submit_rate', 'submit_burst']), 20_000);
    expect([await submit(), await submit()]).toEqual(['ok', 'ResourceExhausted']);

    writeFileSync(file, 'submit_rate: 0\nsubmit_burst: 1\n');
    await api.waitForLog(reloadedWith(['submit_rate']), 20_000);
    expect([await submit(), await submit(), await submit()]).toEqual(['ok', 'ok', 'ok']);
    // Its /metrics counts both reloads and the one refusal.
    const m = await scrape(`127.0.0.1:${port}`);
    expect(m.sum('taskd_config_reloads_total', { result: 'applied' })).toBe(2);
    expect(m.sum('taskd_rpc_requests_total', { method: 'SubmitTask', code: 'RESOURCE_EXHAUSTED' })).toBe(1);
  });
});
