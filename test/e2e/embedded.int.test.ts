import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logMsg } from '../cluster.js';
import { connectJson, curl } from '../curl.js';
import { freePort, reapAll, spawnTaskd } from '../procs.js';
import { waitFor } from '../wait.js';
import { scrape } from '../metrics-scrape.js';

const SVC = 'taskd.v1.TaskService';

describe('the embedded default (npm start): PGlite, in-process coordination, one port', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskd-embedded-'));
  afterAll(async () => {
    await reapAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (port: number) => {
    const p = spawnTaskd('dev', 'cmd/dev/main.ts', { TASKD_ADDR: `127.0.0.1:${port}`, TASKD_DATA_DIR: dataDir });
    await p.waitForLog(logMsg('listening'), 60_000);
    await p.waitForLog(logMsg('worker connected'), 30_000);
    return p;
  };

  it('runs a task from curl to SUCCEEDED, serves health, and keeps it across a restart', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let dev = await start(port);
    expect(dev.output().join('\n')).toContain(`curl -s -H 'content-type: application/json'`);
    expect((await curl([`${url}/healthz`])).status).toBe(200);
    const ready = await curl([`${url}/readyz`]);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, leader: true, postgres: true });

    const sub = await connectJson(url, `${SVC}/SubmitTask`, { task: { type: 'noop', payload: { hello: 'embedded' } } });
    expect(sub.status).toBe(200);
    const id = sub.json.task.id as string;
    const done = await waitFor('task to succeed', async () => {
      const g = await connectJson(url, `${SVC}/GetTask`, { id });
      return g.json.task.status === 'TASK_STATUS_SUCCEEDED' ? g.json.task : undefined;
    }, 20_000);
    expect(done.output).toEqual({ hello: 'embedded' });
    // One process plays every role: its /metrics shows the task from submission to the worker.
    const m = await waitFor('the worker to count the attempt', async () => {
      const s = await scrape(`127.0.0.1:${port}`);
      return s.sum('taskd_worker_attempts_total', { outcome: 'succeeded' }) === 1 && s;
    }, 20_000);
    expect(m.sum('taskd_tasks_submitted_total')).toBe(1);
    expect(m.sum('taskd_tasks_dispatched_total')).toBe(1);
    expect(m.sum('taskd_tasks_completed_total', { status: 'succeeded' })).toBe(1);
    expect(m.sum('taskd_leader')).toBe(1);
    expect(m.sum('taskd_rpc_requests_total', { method: 'SubmitTask', code: 'OK' })).toBe(1);

    dev.kill('SIGTERM');
    expect((await dev.exited).code).toBe(0);
    dev = await start(port);
    const again = await connectJson(url, `${SVC}/GetTask`, { id });
    expect(again.json.task).toMatchObject({ id, status: 'TASK_STATUS_SUCCEEDED', output: { hello: 'embedded' } });
  });

  it('refuses to bind beyond loopback without authentication', async () => {
    const p = spawnTaskd('dev-public', 'cmd/dev/main.ts', { TASKD_ADDR: '0.0.0.0:0', TASKD_DATA_DIR: dataDir });
    const line = await p.waitForLog(logMsg('the embedded default runs without authentication and binds only to loopback; set TASKD_ADDR=127.0.0.1:PORT'), 30_000);
    expect(line).toBeTruthy();
    expect((await p.exited).code).toBe(1);
  });
});
