import { describe, expect, it } from 'vitest';
import { emptyFilter } from '../domain/event-filter.js';
import type { Subscription } from '../domain/subscription.js';
import { planDeliveries } from './delivery-plan.js';
import { receivedEvent } from './received-event.js';

const TASK = '01900000-0000-7000-8000-00000000000a';
const event = (type: string, notify: { webhookUrl?: string; email?: string } = {}, namespace = 'default') => receivedEvent(JSON.stringify({
  id: `ev-${type}`, namespace, type, aggregateType: 'task', aggregateId: TASK, sequence: '7', occurredAt: '2026-01-01T00:00:10Z',
  task: { taskId: TASK, taskType: 'noop', status: 'TASK_STATUS_SUCCEEDED', labels: { team: 'a' }, notify },
}));
const sub = (id: string, p: Partial<Subscription> = {}): Subscription => ({
  id, namespace: 'default', name: id, channel: 'webhook', target: `http://h/${id}`, filter: emptyFilter(), createdAt: new Date('2026-01-01T00:00:00Z'), ...p,
});
let n = 0;
const newId = () => `d${++n}`;

describe('planDeliveries', () => {
  it('a terminal task event goes to the task\'s own webhook and email, each keyed for deduplication', () => {
    for (const type of ['task.succeeded', 'task.failed', 'task.dead_lettered', 'task.cancelled']) {
      const planned = planDeliveries(event(type, { webhookUrl: 'http://own/hook', email: 'me@example.com' }), [], newId);
      expect(planned.map((d) => [d.dedupKey, d.channel, d.target, d.subscriptionId, d.taskId, d.eventType])).toEqual([
        ['notify:webhook', 'webhook', 'http://own/hook', null, TASK, type],
        ['notify:email', 'email', 'me@example.com', null, TASK, type],
      ]);
    }
  });

  it('other task events do not go to the task\'s own targets', () => {
    for (const type of ['task.created', 'task.queued', 'task.started', 'task.retrying', 'task.skipped', 'task.deleted']) {
      expect(planDeliveries(event(type, { webhookUrl: 'http://own/hook' }), [], newId)).toEqual([]);
    }
  });

  it('matching subscriptions of the event\'s namespace, created before it occurred', () => {
    const subs = [
      sub('s1'),
      sub('s2', { filter: { ...emptyFilter(), types: ['task.failed'] } }),
      sub('s3', { namespace: 'other' }),
      sub('s4', { createdAt: new Date('2026-01-01T00:00:11Z') }),
      sub('s5', { channel: 'email', target: 'ops@example.com', filter: { ...emptyFilter(), labels: ['team=a'] } }),
    ];
    const planned = planDeliveries(event('task.succeeded'), subs, newId);
    expect(planned.map((d) => [d.dedupKey, d.subscriptionId, d.channel, d.target])).toEqual([
      ['sub:s1', 's1', 'webhook', 'http://h/s1'],
      ['sub:s5', 's5', 'email', 'ops@example.com'],
    ]);
    expect(planned[0]!.payload).toContain('"type":"task.succeeded"');
  });
});
