import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, workerReadiness, type HealthServer, type Readiness } from './health-server.js';
import type { WorkerStatus } from './worker.js';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const status = (s: Partial<WorkerStatus>): WorkerStatus => ({
  connected: false,
  leader: undefined,
  epoch: undefined,
  draining: false,
  slots: 4,
  running: 0,
  unacknowledged: 0,
  ...s,
});

describe('health server', () => {
  it('answers /healthz always and /readyz by readiness', async () => {
    let readiness: Readiness = { ready: false, reason: 'not connected to a scheduler leader' };
    server = await startHealthServer('127.0.0.1:0', () => readiness);
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`http://${server!.address}${path}`);
      return [res.status, await res.text()];
    };
    expect(await get('/healthz')).toEqual([200, 'ok\n']);
    expect(await get('/readyz')).toEqual([503, 'not connected to a scheduler leader\n']);
    readiness = { ready: true, detail: 'leader x epoch 2' };
    expect(await get('/readyz')).toEqual([200, 'ok: leader x epoch 2\n']);
    expect((await get('/nope'))[0]).toBe(404);
  });

  it('rejects a malformed address naming the setting', async () => {
    await expect(startHealthServer('nonsense', () => ({ ready: true }))).rejects.toThrow(/TASKD_WORKER_HEALTH_ADDR/);
  });

  it('derives readiness from the worker status', () => {
    expect(workerReadiness(status({}))).toEqual({ ready: false, reason: 'not connected to a scheduler leader' });
    expect(workerReadiness(status({ connected: true, draining: true }))).toEqual({ ready: false, reason: 'draining' });
    expect(workerReadiness(status({ connected: true, leader: 'http://a:1', epoch: 3 }))).toEqual({
      ready: true,
      detail: 'leader http://a:1 epoch 3',
    });
  });
});
