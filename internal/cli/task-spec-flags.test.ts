import { create, toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { TaskSpecSchema } from '../../gen/taskd/v1/task_pb.js';
import { applyTaskSpecFlags, hasTaskSpecFlags, readPayload, valueOfJson } from './task-spec-flags.js';
import { bufferIo } from './test-io.js';

describe('task spec flags', () => {
  it('every flag lands in its field of the spec', () => {
    const spec = create(TaskSpecSchema, { type: 'email.send' });
    applyTaskSpecFlags(spec, {
      queue: 'mail', priority: '7', delay: '1m30s', idempotencyKey: 'k1', label: ['env=prod', 'team=a'], maxAttempts: '5',
      initialBackoff: '2s', maxBackoff: '1h', timeout: '45s', notifyWebhook: 'https://hook.example', notifyEmail: 'ops@example.com',
    }, valueOfJson({ to: 'a@example.com' }));
    expect(toJson(TaskSpecSchema, spec)).toEqual({
      type: 'email.send', queue: 'mail', priority: 7, delay: '90s', idempotencyKey: 'k1', labels: { env: 'prod', team: 'a' },
      payload: { to: 'a@example.com' }, retryPolicy: { maxAttempts: 5, initialBackoff: '2s', maxBackoff: '3600s' }, timeout: '45s',
      notify: { webhookUrl: 'https://hook.example', email: 'ops@example.com' },
    });
  });

  it('editing keeps what no flag names and merges labels', () => {
    const spec = create(TaskSpecSchema, { type: 't', queue: 'q', labels: { a: '1' }, retryPolicy: { maxAttempts: 3, multiplier: 3 } });
    applyTaskSpecFlags(spec, { label: ['b=2'], maxAttempts: '9', runAt: '2030-01-02T03:04:05Z' }, undefined);
    expect(toJson(TaskSpecSchema, spec)).toEqual({
      type: 't', queue: 'q', labels: { a: '1', b: '2' }, retryPolicy: { maxAttempts: 9, multiplier: 3 }, runAt: '2030-01-02T03:04:05Z',
    });
    expect(hasTaskSpecFlags({})).toBe(false);
    expect(hasTaskSpecFlags({ queue: 'q' })).toBe(true);
  });

  it('the payload comes from --payload, a file, or stdin with --payload-file -', async () => {
    const { io } = bufferIo({ input: '{"from":"stdin"}' });
    expect(toJson(TaskSpecSchema, create(TaskSpecSchema, { payload: await readPayload({ payloadFile: '-' }, io) }))).toEqual({ payload: { from: 'stdin' } });
    expect(await readPayload({}, io)).toBeUndefined();
    const inline = await readPayload({ payload: '[1,"two",null]' }, io);
    expect(inline?.kind.case).toBe('listValue');
    await expect(readPayload({ payloadFile: '/nonexistent/p.json' }, io)).rejects.toThrow('--payload-file /nonexistent/p.json: no such file');
  });
});
