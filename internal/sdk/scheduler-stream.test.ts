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
      { addresses: [proxy.address], keepalive: { pingIntervalMs: 100, pingTimeoutMs: 400 } },
      (w) => w.register('noop', () => null),
    );
    const connected = nextEvent(worker, 'connected');
    h.scheduler.welcomeAll();
    await connected;
    const lost = nextEvent<DisconnectedEvent>(worker, 'disconnected');
    proxy.freeze();
    expect(String((await lost).error)).toMatch(/PING timed out/);
    expect(worker.status.connected).toBe(false);
    const back = nextEvent(worker, 'connected');
    proxy.thaw();
    await back;
  });

  it('abandons a stream that gets no Welcome in time', async () => {
    const { worker } = h.startWorker({ welcomeTimeoutMs: 50 }, (w) => w.register('noop', () => null));
    const lost = await nextEvent<DisconnectedEvent>(worker, 'disconnected');
    expect(String(lost.error)).toMatch(/no Welcome within 50 ms/);
    await (await h.scheduler.nextConnection()).inputEnded;
    const connected = nextEvent(worker, 'connected');
    h.scheduler.welcomeAll();
    await connected;
  });
});
