import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { EventSchema } from '../../gen/taskd/v1/events/events_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import type { OutboxRow } from '../storage/outbox-store.js';
import { eventBatch } from './event-batch.js';
import { eventMessages, eventValue } from './event-message.js';

const topics = { events: 'ev', deadLetters: 'dl' };

/** A row as Postgres renders it: jsonb text has spaces after ':' and ','. */
function row(over: Partial<OutboxRow> = {}, data: Record<string, unknown> = {}): OutboxRow {
  const d = {
    taskId: '01936f0e-0000-7000-8000-000000000001', taskType: 'email', queue: 'default', status: 'TASK_STATUS_DEAD_LETTERED',
    previousStatus: 'TASK_STATUS_RUNNING', attempt: 3, workerId: 'w-1', error: { message: 'always', retryable: true }, output: null,
    runAt: '2026-11-23T10:00:00.123456Z', workflowId: null, node: null, labels: { a: 'b' }, idempotencyKey: null, replayOf: null,
    createdAt: '2026-11-23T09:59:59.000001Z', startedAt: null, finishedAt: '2026-11-23T10:00:01Z', notify: null, ...data,
  };
  return {
    sequence: '9007199254740993', id: '5f0c3a52-1d47-4a47-9a57-3f0b3d1c2e11', namespace: 'default', type: 'task.dead_lettered',
    aggregateType: 'task', aggregateId: d.taskId, occurredAt: '2026-11-23T10:00:01.000002Z',
    data: JSON.stringify(d).replace(/":/g, '": ').replace(/,"/g, ', "'),
    ...over,
  };
}

const parse = (value: string) => fromJson(EventSchema, JSON.parse(value) as JsonValue, { ignoreUnknownFields: false });

describe('eventMessages', () => {
  it('builds the taskd.v1.events.Event proto3 JSON, keyed by aggregate id, with id and type headers', () => {
    const r = row();
    const ms = eventMessages(r, topics);
    expect(ms.map((m) => m.topic)).toEqual(['ev', 'dl']);
    const [m] = ms;
    expect(m!.key).toBe(r.aggregateId);
    expect(m!.headers).toEqual({ 'event-id': r.id, 'event-type': 'task.dead_lettered', namespace: 'default', 'content-type': 'application/json' });
    const e = parse(m!.value);
    expect(e.id).toBe(r.id);
    expect(e.sequence).toBe(9007199254740993n); // beyond 2^53: carried as a string, not a JS number
    expect(e.aggregateType).toBe('task');
    expect(e.occurredAt?.nanos).toBe(2_000);
    expect(e.data.case).toBe('task');
    expect(e.data.value).toMatchObject({ status: TaskStatus.DEAD_LETTERED, attempt: 3, labels: { a: 'b' }, error: { message: 'always' } });
  });

  it('sends other events to the events topic only; workflow and schedule data under their own field', () => {
    expect(eventMessages(row({ type: 'task.succeeded' }), topics).map((m) => m.topic)).toEqual(['ev']);
    const wf = row({ type: 'workflow.created', aggregateType: 'workflow', data: JSON.stringify({ workflowId: 'w', name: 'n', status: 'WORKFLOW_STATUS_RUNNING' }) });
    expect(parse(eventMessages(wf, topics)[0]!.value).data.case).toBe('workflow');
    const sc = row({ type: 'schedule.fired', aggregateType: 'schedule', data: JSON.stringify({ scheduleId: 's', fireAt: '2026-11-23T10:00:00Z', manual: true }) });
    expect(parse(eventMessages(sc, topics)[0]!.value).data).toMatchObject({ case: 'schedule', value: { manual: true } });
  });

  it('shrinks an event too large for Kafka: output first, then everything but small scalars, and says so', () => {
    const big = row({ type: 'task.succeeded' }, { output: { blob: 'x'.repeat(5_000) } });
    expect(eventValue(big, 10_000).truncated).toBeUndefined();
    const noOutput = eventValue(big, 4_000);
    expect(noOutput.truncated).toBe('output');
    expect(parse(noOutput.value).data.value).toMatchObject({ attempt: 3 });
    expect(JSON.parse(noOutput.value).task).not.toHaveProperty('output');
    const huge = row({ type: 'task.failed' }, { status: 'TASK_STATUS_FAILED', output: null, error: { message: 'e'.repeat(5_000) } });
    const small = eventValue(huge, 2_000);
    expect(small.truncated).toBe('data');
    expect(Buffer.byteLength(small.value)).toBeLessThan(2_000);
    expect(parse(small.value).data.value).toMatchObject({ taskId: huge.aggregateId, status: TaskStatus.FAILED });
    expect(JSON.parse(small.value).task).not.toHaveProperty('error');
    expect(eventMessages(huge, topics, 2_000)[0]!.headers.truncated).toBe('data');
  });

  it('refuses a malformed sequence, naming the row', () => {
    expect(() => eventValue(row({ sequence: '1e3' }))).toThrow(/outbox row .*: sequence "1e3" is not a decimal integer/);
  });
});

describe('eventBatch', () => {
  it('takes the leading rows that fit the byte budget, at least one, dead letters counted twice', () => {
    const rows = Array.from({ length: 10 }, (_, i) => row({ sequence: String(i + 1), type: 'task.succeeded' }, { output: 'o'.repeat(800) }));
    const size = Buffer.byteLength(eventValue(rows[0]!).value) + 200;
    const b = eventBatch(rows, topics, { maxBatchBytes: 3 * size + 10, now: 5 });
    expect(b.rows.map((r) => r.sequence)).toEqual(['1', '2', '3']);
    expect(b).toMatchObject({ acked: false, readAt: 5 });
    expect(eventBatch(rows, topics, { maxBatchBytes: 1, now: 0 }).rows).toHaveLength(1);
    const dead = [row({ sequence: '1' }), row({ sequence: '2' })];
    const one = Buffer.byteLength(eventValue(dead[0]!).value) + 200;
    const d = eventBatch(dead, topics, { maxBatchBytes: 3 * one, now: 0 });
    expect([d.rows.length, d.messages.length]).toEqual([1, 2]);
  });
});
