import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate, timestampFromMs } from '@bufbuild/protobuf/wkt';
import { GetClusterResponseSchema, QueueInfoSchema, type GetClusterResponse } from '../../../gen/taskd/v1/cluster_service_pb.js';
import type { ClusterView } from '../../scheduler/scheduler.js';
import type { QueueDepth } from '../../storage/cluster-store.js';

/** The leader's view as the protobuf answer (queues are added by the apiserver). */
export function clusterToPb(v: ClusterView): GetClusterResponse {
  return create(GetClusterResponseSchema, {
    leader: { address: v.leader.address, epoch: BigInt(v.leader.epoch), since: timestampFromDate(v.leader.since) },
    schedulers: v.schedulers.map((s) => ({ address: s.address, leader: s.leader, lastSeen: timestampFromMs(s.lastSeenMs) })),
    workers: v.workers.map((w) => ({
      workerId: w.workerId, sessionId: w.sessionId, queues: w.queues, taskTypes: w.taskTypes, slots: w.slots, credits: w.credits,
      running: w.running, draining: w.draining, idle: durationFromMs(Math.round(w.idleMs)), labels: w.labels, namespaces: w.namespaces,
    })),
    leases: v.leases,
  });
}

export function queueToPb(q: QueueDepth) {
  return create(QueueInfoSchema, {
    queue: q.queue, pending: BigInt(q.pending), queued: BigInt(q.queued), running: BigInt(q.running),
    oldestReadyAge: q.oldestReadyAgeMs === null ? undefined : durationFromMs(Math.max(0, Math.round(q.oldestReadyAgeMs))),
  });
}
