import type { DescMethod } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import { TaskService, type SubmitTaskRequest, type SubmitTasksRequest } from '../../gen/taskd/v1/task_service_pb.js';
import { WorkflowService, type SubmitWorkflowRequest } from '../../gen/taskd/v1/workflow_service_pb.js';
import { DomainError } from '../domain/errors.js';
import type { StreamCap } from '../limits/stream-cap.js';
import type { SubmitLimiter } from '../limits/submit-limiter.js';
import { IDENTITY } from './identity-context.js';

const ns = (n: string | undefined): string => n || 'default';

/** Tasks per namespace a submission creates; the methods the submission rate limit counts. */
const SUBMISSIONS = new Map<DescMethod, (m: unknown) => Map<string, number>>([
  [TaskService.method.submitTask, (m) => new Map([[ns((m as SubmitTaskRequest).task?.namespace), 1]])],
  [TaskService.method.submitTasks, (m) => {
    const out = new Map<string, number>();
    for (const t of (m as SubmitTasksRequest).tasks) out.set(ns(t.namespace), (out.get(ns(t.namespace)) ?? 0) + 1);
    return out;
  }],
  [WorkflowService.method.submitWorkflow, (m) => {
    const w = (m as SubmitWorkflowRequest).workflow;
    return new Map([[ns(w?.namespace), Math.max(1, w?.tasks.length ?? 0)]]);
  }],
]);

/**
 * Limits after authentication (it reads the identity the auth interceptor left):
 * - submissions (SubmitTask, SubmitTasks, SubmitWorkflow, by tasks created) per
 *   namespace, by `submit`'s limiter while one is active (it may change between calls):
 *   RESOURCE_EXHAUSTED naming the namespace and the limit, with a google.rpc.RetryInfo
 *   delay;
 * - open server and bidi streams (WatchTask, WatchWorkflow, WorkerService.Connect, …)
 *   per authenticated identity on this process, by `streams`: RESOURCE_EXHAUSTED naming
 *   the cap.
 */
export function limitsInterceptor(opts: { submit: { readonly active: SubmitLimiter | undefined }; streams: StreamCap }): Interceptor {
  return (next) => async (req) => {
    const limiter = req.stream ? undefined : opts.submit.active;
    const cost = limiter ? SUBMISSIONS.get(req.method)?.(req.message) : undefined;
    if (cost && limiter) await admit(limiter, cost);
    const kind = req.method.methodKind;
    const identity = req.contextValues.get(IDENTITY);
    // Without authentication (loopback only) everyone is one identity: a cap per identity
    // would be a cap on the whole process (a 1,000-stream load test, the embedded worker).
    if ((kind !== 'server_streaming' && kind !== 'bidi_streaming') || !identity || identity.via === 'anonymous') return next(req);
    const who = identity.subject;
    const release = opts.streams.open(who);
    if (!release) {
      throw new DomainError('resource_exhausted', `too many open streams: "${who}" holds ${opts.streams.max} (TASKD_MAX_STREAMS_PER_IDENTITY); close one first`);
    }
    try {
      const res = await next(req);
      if (!res.stream) {
        release();
        return res;
      }
      return { ...res, message: releasing(res.message, release) };
    } catch (e) {
      release();
      throw e;
    }
  };
}

async function admit(limiter: SubmitLimiter, cost: Map<string, number>): Promise<void> {
  for (const [name, n] of cost) {
    if (n > limiter.limit.burst) {
      throw new DomainError('resource_exhausted',
        `namespace "${name}": ${n} tasks in one request exceed the submission burst of ${limiter.limit.burst} (TASKD_SUBMIT_BURST); split the request`);
    }
  }
  const r = await limiter.take(cost);
  if (r.ok) return;
  throw new DomainError('resource_exhausted',
    `namespace "${r.namespace}" is over its submission rate limit of ${limiter.limit.rate} tasks/s (burst ${limiter.limit.burst}); retry in ${r.retryAfterMs} ms`,
    [], { retryAfterMs: r.retryAfterMs });
}

async function* releasing<T>(it: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  try {
    yield* it;
  } finally {
    release();
  }
}
