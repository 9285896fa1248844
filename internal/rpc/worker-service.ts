import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  ConnectResponseSchema, WorkerService, type AttemptRef as PbRef, type ConnectRequest, type ConnectResponse, type Hello,
} from '../../gen/taskd/v1/worker_service_pb.js';
import type { Dispatcher } from '../scheduler/dispatcher.js';
import type { AttemptRef, HelloIn, ToWorker } from '../scheduler/messages.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { WorkerSession } from '../scheduler/worker-session.js';
import type { Logger } from '../shared/logger.js';
import { errorFromPb } from './convert/task.js';
import { jsonOf, valueOf } from './convert/json.js';
import { identityOf } from './identity-context.js';

const refOf = (r: PbRef | undefined): AttemptRef => ({ taskId: r?.taskId ?? '', attempt: r?.attempt ?? 0, leaseToken: r?.leaseToken ?? '' });

/**
 * WorkerService.Connect: the first message must be Hello. The worker receives tasks of
 * its credential's namespaces only (the identity the auth interceptor established). A passive scheduler answers
 * NotLeader (naming the leader) and ends UNAVAILABLE; the leader attaches a session,
 * sends Welcome, then streams assignments and acks while it reads credits, heartbeats
 * and results. When the term ends the stream ends UNAVAILABLE and workers reconnect.
 */
export function workerServiceImpl(
  scheduler: Scheduler,
  opts: { heartbeatMs: number; leaseTtlMs: number; logger: Logger },
): ServiceImpl<typeof WorkerService> {
  return {
    async *connect(requests: AsyncIterable<ConnectRequest>, ctx: HandlerContext) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.msg.case !== 'hello') {
        throw new ConnectError('the first message must be hello', Code.InvalidArgument);
      }
      const hello = helloOf(first.value.msg.value, [...identityOf(ctx).namespaces]);
      const d = scheduler.active();
      if (!d) {
        const leader = await scheduler.leader();
        yield create(ConnectResponseSchema, {
          msg: { case: 'notLeader', value: { leaderAddress: leader?.address ?? '', epoch: BigInt(leader?.epoch ?? 0) } },
        });
        throw new ConnectError(`not the leader; leader is ${leader?.address || 'unknown'}`, Code.Unavailable);
      }
      await d.ready;
      const { session, adopted } = d.attach(hello);
      yield create(ConnectResponseSchema, {
        msg: {
          case: 'welcome',
          value: {
            sessionId: session.id, heartbeatInterval: durationFromMs(opts.heartbeatMs), leaseTtl: durationFromMs(opts.leaseTtlMs),
            epoch: BigInt(d.epoch), adopted: adopted.map((a) => ({ ...a })),
          },
        },
      });
      // The inbound half runs beside the outbound one; when the worker half-closes, the session detaches.
      void readInbound(it, d, session, opts.logger).finally(() => d.detach(session, 'stream closed'));
      ctx.signal.addEventListener('abort', () => d.detach(session, 'client gone'), { once: true });
      for await (const msg of session.out) yield toPb(msg);
      if (session.closedReason !== 'stream closed' && session.closedReason !== 'client gone') {
        throw new ConnectError(`stream ended: ${session.closedReason}`, Code.Unavailable);
      }
    },
  };
}

function helloOf(h: Hello, namespaces: string[]): HelloIn {
  return {
    namespaces,
    workerId: h.workerId || 'anonymous',
    taskTypes: h.taskTypes,
    queues: h.queues.length > 0 ? h.queues : ['default'],
    slots: h.slots,
    labels: h.labels,
    running: h.running.map(refOf),
  };
}

async function readInbound(it: AsyncIterator<ConnectRequest>, d: Dispatcher, s: WorkerSession, logger: Logger): Promise<void> {
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const m = r.value.msg;
      switch (m.case) {
        case 'credit':
          d.credit(s, m.value.slots, m.value.totalSlots);
          break;
        case 'heartbeat':
          d.heartbeat(s);
          break;
        case 'draining':
          d.drain(s);
          break;
        case 'result': {
          const out = m.value.outcome;
          const result = {
            ref: refOf(m.value.attempt),
            output: out.case === 'output' ? (jsonOf(out.value) ?? null) : null,
            error: out.case === 'error' ? errorFromPb(out.value) : null,
            traceContext: m.value.traceContext,
          };
          // Not awaited: results of one stream are written together in group commits.
          d.result(s, result).catch((e) => {
            logger.warn({ err: (e as Error).message, taskId: result.ref.taskId }, 'result not written; closing the stream so the worker re-sends');
            s.close('result write failed');
          });
          break;
        }
        case 'checkpoint': {
          const ref = refOf(m.value.attempt);
          d.checkpoint(s, ref, jsonOf(m.value.data) ?? null, Number(m.value.expectedVersion)).catch((e) => {
            logger.warn({ err: (e as Error).message, taskId: ref.taskId }, 'checkpoint not written');
            s.send({ kind: 'checkpoint_ack', ref, ok: false, version: 0, code: 'UNAVAILABLE', message: 'checkpoint not stored; retry' });
          });
          break;
        }
        default:
          break;
      }
    }
  } catch (e) {
    logger.debug({ err: (e as Error).message, session: s.id }, 'worker stream read ended');
  }
}

function toPb(m: ToWorker): ConnectResponse {
  switch (m.kind) {
    case 'assign':
      return create(ConnectResponseSchema, {
        msg: {
          case: 'assign',
          value: {
            attempt: { ...m.ref }, type: m.type, queue: m.queue, payload: valueOf(m.payload), idempotencyKey: m.idempotencyKey ?? '',
            deadline: m.deadline ? timestampFromDate(m.deadline) : undefined, labels: m.labels, namespace: m.namespace,
            checkpoint: m.checkpoint ? { data: valueOf(m.checkpoint.data), version: BigInt(m.checkpoint.version) } : undefined,
            workflowId: m.workflowId ?? '',
            parentOutputs: Object.fromEntries(Object.entries(m.parentOutputs).map(([k, v]) => [k, valueOf(v)])),
            correlationId: m.correlationId ?? '', traceContext: m.traceContext,
          },
        },
      });
    case 'cancel':
      return create(ConnectResponseSchema, { msg: { case: 'cancel', value: { attempt: { ...m.ref }, reason: m.reason } } });
    case 'result_ack':
      return create(ConnectResponseSchema, {
        msg: { case: 'resultAck', value: { attempt: { ...m.ref }, accepted: m.accepted, code: m.code ?? '', message: m.message ?? '' } },
      });
    case 'checkpoint_ack':
      return create(ConnectResponseSchema, {
        msg: {
          case: 'checkpointAck',
          value: { attempt: { ...m.ref }, ok: m.ok, version: BigInt(m.version), code: m.code ?? '', message: m.message ?? '' },
        },
      });
  }
}
