import type { MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import type { TaskSpecSchema } from '../gen/taskd/v1/task_pb.js';
import { valueOf } from '../internal/rpc/convert/json.js';
import type { Rng } from './rng.js';

/** A task spec as the generated client takes it. */
export type SpecInit = MessageInitShape<typeof TaskSpecSchema>;

/** What the harness submits: plain noops, sleeps, delayed noops, checkpointing steps. */
export type TaskKind = 'noop' | 'sleep' | 'delayed' | 'steps';

/** Steps of every `steps` task, and the ms each takes. */
export const STEPS = { steps: 5, stepMs: 200 } as const;

/** Share of each kind, in percent; the rest are noops. */
const MIX: readonly [TaskKind, number][] = [['sleep', 15], ['delayed', 12], ['steps', 10]];

/**
 * The next task of the stream: mostly `noop`; `sleep` for 50–500 ms; `noop` delayed by
 * up to 2 s; `steps` (5 x 200 ms, a checkpoint after each). Every one carries `key` as
 * its idempotency key and its kind as a label.
 */
export function nextTask(rng: Rng, key: string, seq: number): { kind: TaskKind; spec: SpecInit } {
  const kind = pickKind(rng.next() * 100);
  const base = { idempotencyKey: key, labels: { chaos: kind } };
  switch (kind) {
    case 'sleep':
      return { kind, spec: { ...base, type: 'sleep', payload: valueOf({ ms: rng.int(50, 500) }) } };
    case 'delayed':
      return { kind, spec: { ...base, type: 'noop', payload: valueOf({ seq }), start: { case: 'delay', value: durationFromMs(rng.int(1, 2_000)) } } };
    case 'steps':
      return { kind, spec: { ...base, type: 'steps', payload: valueOf({ ...STEPS }) } };
    default:
      return { kind, spec: { ...base, type: 'noop', payload: valueOf({ seq }) } };
  }
}

function pickKind(percent: number): TaskKind {
  let acc = 0;
  for (const [kind, share] of MIX) {
    acc += share;
    if (percent < acc) return kind;
  }
  return 'noop';
}
