import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { durationMs, timestampDate, ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import { TaskErrorSchema } from '../../gen/taskd/v1/task_pb.js';
import {
  AttemptRefSchema,
  ConnectRequestSchema,
  type AttemptRef as ProtoAttemptRef,
  type ConnectRequest,
  type ConnectResponse,
  type Assign,
} from '../../gen/taskd/v1/worker_service_pb.js';
import type { AssignMessage, AttemptRef, SchedulerMessage, WorkerMessage } from './protocol.js';

/** Converts between the SDK's protocol types and `taskd.v1` messages. */

function refToProto(ref: AttemptRef): ProtoAttemptRef {
  return create(AttemptRefSchema, ref);
}

function refFromProto(ref: ProtoAttemptRef | undefined): AttemptRef {
  return { taskId: ref?.taskId ?? '', attempt: ref?.attempt ?? 0, leaseToken: ref?.leaseToken ?? '' };
}

function valueToProto(json: JsonValue): Value {
  return fromJson(ValueSchema, json);
}

function valueFromProto(value: Value | undefined): JsonValue {
  return value === undefined ? null : toJson(ValueSchema, value);
}

/** Encodes one outbound message. */
export function encodeWorkerMessage(msg: WorkerMessage): ConnectRequest {
  switch (msg.kind) {
    case 'hello': {
      const { kind: _kind, running, ...rest } = msg;
      return create(ConnectRequestSchema, { msg: { case: 'hello', value: { ...rest, running: running.map(refToProto) } } });
    }
    case 'credit':
      return create(ConnectRequestSchema, { msg: { case: 'credit', value: { slots: msg.slots, totalSlots: msg.totalSlots } } });
    case 'heartbeat':
      return create(ConnectRequestSchema, { msg: { case: 'heartbeat', value: {} } });
    case 'draining':
      return create(ConnectRequestSchema, { msg: { case: 'draining', value: {} } });
    case 'checkpoint':
      return create(ConnectRequestSchema, {
        msg: {
          case: 'checkpoint',
          value: { attempt: refToProto(msg.attempt), data: valueToProto(msg.data), expectedVersion: BigInt(msg.expectedVersion) },
        },
      });
    case 'result': {
      const o = msg.outcome;
      const outcome =
        'output' in o
          ? { case: 'output' as const, value: valueToProto(o.output) }
          : { case: 'error' as const, value: create(TaskErrorSchema, o.error) };
      return create(ConnectRequestSchema, {
        msg: { case: 'result', value: { attempt: refToProto(msg.attempt), outcome, traceContext: msg.traceContext ?? {} } },
      });
    }
  }
}

function decodeAssign(a: Assign): AssignMessage {
  return {
    kind: 'assign',
    attempt: refFromProto(a.attempt),
    type: a.type,
    queue: a.queue,
    namespace: a.namespace,
    payload: valueFromProto(a.payload),
    idempotencyKey: a.idempotencyKey,
    deadline: a.deadline ? timestampDate(a.deadline) : undefined,
    checkpoint: a.checkpoint
      ? { data: valueFromProto(a.checkpoint.data), version: Number(a.checkpoint.version) }
      : undefined,
    labels: { ...a.labels },
    workflowId: a.workflowId,
    parents: Object.fromEntries(Object.entries(a.parentOutputs).map(([k, v]) => [k, valueFromProto(v)])),
    correlationId: a.correlationId,
    traceContext: { ...a.traceContext },
  };
}

/** Decodes one inbound message; undefined for an empty or unknown oneof. */
export function decodeSchedulerMessage(res: ConnectResponse): SchedulerMessage | undefined {
  const m = res.msg;
  switch (m.case) {
    case 'welcome':
      return {
        kind: 'welcome',
        sessionId: m.value.sessionId,
        heartbeatIntervalMs: m.value.heartbeatInterval ? durationMs(m.value.heartbeatInterval) : 0,
        leaseTtlMs: m.value.leaseTtl ? durationMs(m.value.leaseTtl) : 0,
        epoch: Number(m.value.epoch),
        adopted: m.value.adopted.map(refFromProto),
      };
    case 'assign':
      return decodeAssign(m.value);
    case 'cancel':
      return { kind: 'cancel', attempt: refFromProto(m.value.attempt), reason: m.value.reason };
    case 'checkpointAck': {
      const { ok, code, message } = m.value;
      return { kind: 'checkpoint_ack', attempt: refFromProto(m.value.attempt), ok, version: Number(m.value.version), code, message };
    }
    case 'resultAck': {
      const { accepted, code, message } = m.value;
      return { kind: 'result_ack', attempt: refFromProto(m.value.attempt), accepted, code, message };
    }
    case 'notLeader':
      return { kind: 'not_leader', leaderAddress: m.value.leaderAddress, epoch: Number(m.value.epoch) };
    default:
      return undefined;
  }
}
