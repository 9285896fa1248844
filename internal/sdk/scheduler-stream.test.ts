import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FreezableProxy } from './testing/freezable-proxy.js';
import { nextEvent } from './testing/test-helpers.js';
import { WorkerHarness } from './testing/worker-harness.js';
import type { DisconnectedEvent } from './worker-events.js';

const h = new WorkerHarness();
let proxy: FreezableProxy;
beforeEach(async () => {
  await h.setup();
  proxy = await FreezableProxy.start(Number(new URL(h.scheduler.address).port));
});
afterEach(async () => {
  await h.teardown();
  await proxy.close();
});

describe('scheduler stream keepalive', () => {
  it('notices a frozen scheduler through unanswered HTTP/2 PINGs and reconnects', async () => {
    const { worker } = h.startWorker(
      { addresses: [proxy.address], keepalive: { pingIntervalMs: 50, pingTimeoutMs: 100 } },
      (w) => w.register('noop', () => null),
    );
    await h.welcomed({ heartbeatMs: 60_000 });
    await nextEvent(worker, 'connected');
    const lost = nextEvent<DisconnectedEvent>(worker, 'disconnected');
    proxy.freeze();
    expect((await lost).error).toBeDefined();
    expect(worker.status.connected).toBe(false);
    proxy.thaw();
    const back = nextEvent(worker, 'connected');
    await h.welcomed();
    await back;
  });

  it('abandons a stream that gets no Welcome in time', async () => {
    const { worker } = h.startWorker({ welcomeTimeoutMs: 50 }, (w) => w.register('noop', () => null));
    const first = await h.scheduler.nextConnection();
    const lost = await nextEvent<DisconnectedEvent>(worker, 'disconnected');
    expect(String(lost.error)).toMatch(/no Welcome within 50 ms/);
    await first.inputEnded;
    await h.welcomed();
    await nextEvent(worker, 'connected');
  });
});
