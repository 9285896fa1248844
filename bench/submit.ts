import type { MessageInitShape } from '@bufbuild/protobuf';
import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import type { TaskSpecSchema } from '../gen/taskd/v1/task_pb.js';
import type { TaskService } from '../gen/taskd/v1/task_service_pb.js';

/** The bench's TaskService client. */
export type TaskClient = Client<typeof TaskService>;
type SpecInit = MessageInitShape<typeof TaskSpecSchema>;

/** `size` noop tasks numbered from `first`; payload `{ seq }`, priority 0. */
export function noopBatch(first: number, size: number): SpecInit[] {
  return Array.from({ length: size }, (_, i) => ({ type: 'noop', payload: fromJson(ValueSchema, { seq: first + i }) }));
}

/** What a run of submissions did. */
export interface SubmitResult {
  tasks: number;
  calls: number;
  /** Epoch ms when the first call was sent. */
  startedAt: number;
  /** Epoch ms when the last call answered. */
  endedAt: number;
  /** Duration of each SubmitTasks call, ms. */
  callMs: number[];
}

/** Options of {@link submitAll}. */
export interface SubmitAllOptions {
  total: number;
  batch: number;
  concurrency: number;
  signal: AbortSignal;
  /** Epoch ms after which submitting fails; none by default. */
  deadline?: number;
  /** Called after each answered call with the tasks stored so far. */
  onBatch?: (sent: number) => void;
}

/**
 * Submits `total` noop tasks in batches of `batch` from `concurrency` submitters
 * that each send their next batch as soon as the previous one answered. Throws the
 * first failed call's error (the others stop after their current call), and when
 * `signal` aborts or the deadline passes.
 */
export async function submitAll(client: TaskClient, p: SubmitAllOptions): Promise<SubmitResult> {
  const callMs: number[] = [];
  let next = 0;
  let sent = 0;
  let failed = false;
  const submitOne = async (): Promise<void> => {
    if (p.signal.aborted) throw new Error(`interrupted while submitting: ${sent} of ${p.total} stored`);
    if (p.deadline !== undefined && Date.now() > p.deadline) throw new Error(`timed out submitting: ${sent} of ${p.total} stored`);
    const first = next;
    const size = Math.min(p.batch, p.total - first);
    next += size;
    const t = performance.now();
    await client.submitTasks({ tasks: noopBatch(first, size) }, { signal: p.signal });
    callMs.push(performance.now() - t);
    sent += size;
    p.onBatch?.(sent);
  };
  const submitter = async (): Promise<void> => {
    try {
      while (next < p.total && !failed) await submitOne();
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: p.concurrency }, submitter));
  return { tasks: sent, calls: callMs.length, startedAt, endedAt: Date.now(), callMs };
}
