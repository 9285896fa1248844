import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { DeadLetterApi } from '../api/dead-letter-api.js';
import { Metrics } from '../observability/metrics.js';
import { systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import type { Db } from '../storage/db.js';
import { parseExposition } from '../../test/metrics-scrape.js';
import { deadLetterServiceImpl } from './dead-letter-service.js';
import { errorInterceptor } from './error-interceptor.js';
import { metricsInterceptor } from './metrics-interceptor.js';
import { codeName } from './rpc-end.js';

describe('metricsInterceptor', () => {
  it('counts each RPC by the code the client gets (after the error interceptor) and times unary calls', async () => {
    const logger = silentLogger();
    const metrics = new Metrics({ process: 'test', parts: ['rpc'], defaultMetrics: false });
    const db = { kind: 'pg' } as unknown as Db; // invalid ids are refused before any query
    const api = new DeadLetterApi({ logger, clock: systemClock }, { db, hints: { ready: () => undefined } });
    const transport = createRouterTransport((r) => r.service(DeadLetterService, deadLetterServiceImpl(api)), {
      router: { interceptors: [metricsInterceptor(metrics), errorInterceptor(logger)] },
    });
    const c = createClient(DeadLetterService, transport);
    for (let i = 0; i < 3; i++) {
      const e = await c.getDeadLetter({ id: 'not-a-uuid' }).then(() => undefined, (x: unknown) => ConnectError.from(x));
      expect(e?.code).toBe(Code.InvalidArgument);
    }
    const s = parseExposition(await metrics.scrape());
    expect(s.sum('taskd_rpc_requests_total', { service: 'taskd.v1.DeadLetterService', method: 'GetDeadLetter', code: 'INVALID_ARGUMENT' })).toBe(3);
    expect(s.sum('taskd_rpc_duration_seconds_count', { method: 'GetDeadLetter' })).toBe(3);
  });

  it('names codes as gRPC does', () => {
    expect(codeName(new ConnectError('x', Code.ResourceExhausted))).toBe('RESOURCE_EXHAUSTED');
    expect(codeName(new ConnectError('x', Code.NotFound))).toBe('NOT_FOUND');
    expect(codeName(new Error('plain'))).toBe('UNKNOWN');
  });
});

describe('Metrics', () => {
  it('registers only the families of the parts a process plays', async () => {
    const m = new Metrics({ process: 'worker', parts: ['worker'], defaultMetrics: false });
    m.tasksDispatched.inc({ queue: 'q', type: 't' }); // a scheduler family: recorded into, never shown
    m.workerReconnects.inc();
    const names = parseExposition(await m.scrape()).names();
    expect(names.has('taskd_worker_reconnects_total')).toBe(true);
    expect(names.has('taskd_build_info')).toBe(true);
    expect(names.has('taskd_tasks_dispatched_total')).toBe(false);
  });

  it('a failing or hung collector leaves its gauges as they were and does not fail the scrape', async () => {
    const m = new Metrics({ process: 'scheduler', parts: ['scheduler'], defaultMetrics: false });
    m.leasesActive.set(7);
    m.collect(() => {
      throw new Error('down');
    });
    m.collect(() => new Promise<void>(() => undefined));
    m.collect(() => m.workersConnected.set(2));
    const s = parseExposition(await m.scrape(50));
    expect(s.sum('taskd_leases_active')).toBe(7);
    expect(s.sum('taskd_workers_connected')).toBe(2);
  });
});
