import { ClusterService } from '../../gen/taskd/v1/cluster_service_pb.js';
import { ApiKeyService } from '../../gen/taskd/v1/auth_service_pb.js';
import { ApiKeyApi } from '../api/api-key-api.js';
import { apiKeyServiceImpl } from '../rpc/api-key-service.js';
import { internalCredential, type RpcEdge } from './rpc-edge.js';
import type { Presence } from '../coordination/presence.js';
import { clusterServiceImpl } from '../rpc/cluster-service.js';
import { WorkflowService } from '../../gen/taskd/v1/workflow_service_pb.js';
import { ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { ScheduleApi } from '../api/schedule-api.js';
import type { ScheduleLimits } from '../domain/schedule.js';
import { scheduleServiceImpl } from '../rpc/schedule-service.js';
import { WorkflowApi } from '../api/workflow-api.js';
import { workflowServiceImpl } from '../rpc/workflow-service.js';
import type { ConnectRouter } from '@connectrpc/connect';
import { LinkService } from '../../gen/taskd/internal/v1/link_pb.js';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { WorkerService } from '../../gen/taskd/v1/worker_service_pb.js';
import { DeadLetterApi } from '../api/dead-letter-api.js';
import { TaskApi } from '../api/task-api.js';
import { LeaderLink } from '../apiserver/leader-link.js';
import type { Config } from '../config/config.js';
import type { LeaderLock } from '../coordination/leader-lock.js';
import { DEFAULT_LIMITS } from '../domain/task-spec.js';
import { deadLetterServiceImpl } from '../rpc/dead-letter-service.js';
import { linkServiceImpl } from '../rpc/link-service.js';
import { taskServiceImpl } from '../rpc/task-service.js';
import { workerServiceImpl } from '../rpc/worker-service.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import type { OutboxRelay } from '../events/outbox-relay.js';
import { OutboxJanitor } from '../events/outbox-janitor.js';
import { EventService } from '../../gen/taskd/v1/event_service_pb.js';
import { EventApi } from '../api/event-api.js';
import { EventFeed } from '../events/event-feed.js';
import { eventServiceImpl } from '../rpc/event-service.js';
import { NotificationService } from '../../gen/taskd/v1/notification_service_pb.js';
import { NotificationApi } from '../api/notification-api.js';
import { notificationServiceImpl } from '../rpc/notification-service.js';
import { notifierFromConfig } from '../notifier/notifier-from-config.js';
import type { Notifier } from '../notifier/notifier.js';

/** A role a process plays: RPC routes it serves, work it runs, what makes it ready. */
export interface Role {
  routes(router: ConnectRouter): void;
  run(signal: AbortSignal): Promise<void>;
  readiness(): Promise<Record<string, unknown>>;
}

/** Submission limits from the config: tasks, workflows and schedule templates alike. */
function scheduleLimits(config: Config): ScheduleLimits {
  return {
    ...DEFAULT_LIMITS, maxPayloadBytes: config.TASKD_MAX_PAYLOAD_BYTES, maxHorizonMs: config.TASKD_MAX_HORIZON_MS,
    maxTasks: config.TASKD_WORKFLOW_MAX_TASKS, maxEdges: config.TASKD_WORKFLOW_MAX_EDGES,
    defaultMisfireGraceMs: config.TASKD_SCHEDULE_MISFIRE_GRACE_MS,
  };
}

/**
 * The apiserver role: the public services on Postgres, hints to the leader over the link
 * (authenticated as SYSTEM when authentication is on). `edge`: the process's RPC edge,
 * whose cached API key lookups a revocation here forgets at once.
 */
export function apiserverRole(base: Base, db: Db, config: Config, edge?: Pick<RpcEdge, 'authenticator'>): Role {
  const credential = internalCredential(config, base.clock, {
    role: 'system', subject: 'taskd-apiserver', fixed: config.TASKD_AUTH_SYSTEM_TOKEN, fixedKey: 'TASKD_AUTH_SYSTEM_TOKEN',
  });
  const link = new LeaderLink(base, { addresses: config.TASKD_SCHEDULER_ADDRS, credential });
  const limits = { ...DEFAULT_LIMITS, maxPayloadBytes: config.TASKD_MAX_PAYLOAD_BYTES, maxHorizonMs: config.TASKD_MAX_HORIZON_MS };
  // One tail of the outbox per process feeds every watch stream (docs/events.md).
  const feed = new EventFeed(base, { db, pollMs: config.TASKD_WATCH_POLL_MS, bufferSize: config.TASKD_WATCH_BUFFER });
  const api = new TaskApi(base, { db, limits, hints: link, feed });
  return {
    routes: (r) => {
      r.service(TaskService, taskServiceImpl(api));
      r.service(DeadLetterService, deadLetterServiceImpl(new DeadLetterApi(base, { db, hints: link })));
      r.service(ClusterService, clusterServiceImpl({ db, clock: base.clock, leaderView: () => link.describe() }));
      r.service(WorkflowService, workflowServiceImpl(new WorkflowApi(base, {
        db, hints: link, feed,
        limits: { ...limits, maxTasks: config.TASKD_WORKFLOW_MAX_TASKS, maxEdges: config.TASKD_WORKFLOW_MAX_EDGES },
      })));
      r.service(ScheduleService, scheduleServiceImpl(new ScheduleApi(base, { db, hints: link, limits: scheduleLimits(config) })));
      r.service(ApiKeyService, apiKeyServiceImpl(new ApiKeyApi(base, { db, onRevoked: () => edge?.authenticator.apiKeys?.forget() })));
      r.service(NotificationService, notificationServiceImpl(new NotificationApi(base, { db })));
      r.service(EventService, eventServiceImpl(new EventApi(base, { db, feed })));
    },
    run: async (signal) => {
      await Promise.all([link.run(signal), feed.run(signal)]);
    },
    readiness: async () => ({ postgres: await db.ping(), leaderLinked: link.linked }),
  };
}

/**
 * The scheduler role: leader election, dispatch, the worker and link streams; with
 * `relay`, the outbox relay in every leadership term.
 */
export function schedulerRole(
  base: Base, db: Db, coordination: { lock: LeaderLock; presence: Presence }, config: Config, address: string, relay?: OutboxRelay,
): Role & { scheduler: Scheduler; relay?: OutboxRelay } {
  const scheduler = new Scheduler(base, {
    db, ...coordination, address,
    lockTtlMs: config.TASKD_LOCK_TTL_MS, lockRenewMs: config.TASKD_LOCK_RENEW_MS,
    leaseTtlMs: config.TASKD_LEASE_TTL_MS, heartbeatMs: config.TASKD_HEARTBEAT_MS, pollMs: config.TASKD_POLL_MS,
    agingMs: config.TASKD_AGING_MS, scheduleLimits: scheduleLimits(config),
    // Without a relay nothing marks events sent: the janitor keeps the outbox to the retention.
    termLoops: relay
      ? [(term, epoch) => relay.run(term, epoch)]
      : [(term, epoch) => new OutboxJanitor(base, { db, retentionMs: config.TASKD_EVENTS_RETENTION_MS }).run(term, epoch)],
  });
  return {
    scheduler,
    relay,
    routes: (r) => {
      r.service(WorkerService, workerServiceImpl(scheduler, {
        heartbeatMs: config.TASKD_HEARTBEAT_MS, leaseTtlMs: config.TASKD_LEASE_TTL_MS, logger: base.logger,
      }));
      r.service(LinkService, linkServiceImpl(scheduler));
    },
    run: (signal) => scheduler.run(signal),
    readiness: async () => {
      const leader = await scheduler.leader();
      return { postgres: await db.ping(), leader: scheduler.elector.isLeader(), epoch: leader?.epoch ?? 0, leaderAddress: leader?.address ?? '' };
    },
  };
}

/**
 * The notifier role (docs/notifier.md): consumes events (Kafka when configured, else
 * the outbox; `outboxOnly` for the embedded default, which has no relay) and delivers
 * webhooks and email. Serves no RPCs.
 */
export function notifierRole(base: Base, db: Db, config: Config, opts: { outboxOnly?: boolean } = {}): Role & { notifier: Notifier } {
  const notifier = notifierFromConfig(base, db, config, opts);
  return {
    notifier,
    routes: () => {},
    run: (signal) => notifier.run(signal),
    readiness: async () => ({ postgres: await db.ping(), notifierSource: notifier.input.kind }),
  };
}
