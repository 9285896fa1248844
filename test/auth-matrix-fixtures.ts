import { create, type Message } from '@bufbuild/protobuf';
import { Code, createClient, type Client, type Transport } from '@connectrpc/connect';
import { ConnectRequestSchema } from '../gen/taskd/v1/worker_service_pb.js';
import { DescribeRequestSchema, LinkRequestSchema } from '../gen/taskd/internal/v1/link_pb.js';
import { ApiKeyService, CreateApiKeyRequestSchema, ListApiKeysRequestSchema, RevokeApiKeyRequestSchema } from '../gen/taskd/v1/auth_service_pb.js';
import { GetClusterRequestSchema } from '../gen/taskd/v1/cluster_service_pb.js';
import {
  DeadLetterService, GetDeadLetterRequestSchema, ListDeadLettersRequestSchema, PurgeDeadLettersRequestSchema, ReplayDeadLetterRequestSchema,
} from '../gen/taskd/v1/dead_letter_service_pb.js';
import {
  CreateSubscriptionRequestSchema, DeleteSubscriptionRequestSchema, GetSubscriptionRequestSchema, ListDeliveriesRequestSchema,
  ListSubscriptionsRequestSchema, NotificationService,
} from '../gen/taskd/v1/notification_service_pb.js';
import { Role } from '../gen/taskd/v1/options_pb.js';
import {
  CreateScheduleRequestSchema, DeleteScheduleRequestSchema, GetScheduleRequestSchema, ListSchedulesRequestSchema, PauseScheduleRequestSchema,
  ResumeScheduleRequestSchema, ScheduleService, TriggerScheduleRequestSchema, UpdateScheduleRequestSchema,
} from '../gen/taskd/v1/schedule_service_pb.js';
import {
  CancelTaskRequestSchema, DeleteTaskRequestSchema, GetTaskRequestSchema, ListTasksRequestSchema, RetryTaskRequestSchema, SubmitTaskRequestSchema,
  SubmitTasksRequestSchema, TaskService, UpdateTaskRequestSchema, WatchTaskRequestSchema,
} from '../gen/taskd/v1/task_service_pb.js';
import { EventService, ListEventsRequestSchema, WatchEventsRequestSchema } from '../gen/taskd/v1/event_service_pb.js';
import { waitFor } from './wait.js';
import {
  CancelWorkflowRequestSchema, GetWorkflowRequestSchema, ListWorkflowsRequestSchema, SubmitWorkflowRequestSchema, WatchWorkflowRequestSchema,
  WorkflowService,
} from '../gen/taskd/v1/workflow_service_pb.js';

/** One method's request in the matrix. */
export interface MatrixFixture {
  /** A request for one call, with what it needs created in namespace `ns` (by an admin of every namespace). */
  build(ns: string): Promise<Message>;
  /**
   * For methods whose requests name no `namespace` field (API keys): what an allowed
   * caller limited to another namespace gets for a request built in `ns`.
   */
  outside?: (req: Message) => { code: Code; message: string };
  /** For a stream that does not end by itself (WatchEvents): the responses to read before closing it. */
  maxResponses?: number;
}

/** Admin clients (namespaces "*") to create what requests refer to, and dead letters made beforehand. */
export interface SetupKit {
  transport: Transport;
  /** Ids of DEAD_LETTERED tasks per namespace; each build takes its own. */
  deadLetters: Map<string, string[]>;
}

let seq = 0;
const unique = (p: string): string => `${p}-${process.pid}-${++seq}`;

/**
 * A request for every method of every taskd service, by "Service/Method". A method
 * without an entry fails the matrix test: a new RPC is covered by construction.
 */
export function matrixFixtures(kit: SetupKit): Record<string, MatrixFixture> {
  const tasks: Client<typeof TaskService> = createClient(TaskService, kit.transport);
  const workflows: Client<typeof WorkflowService> = createClient(WorkflowService, kit.transport);
  const schedules: Client<typeof ScheduleService> = createClient(ScheduleService, kit.transport);
  const deadLetters: Client<typeof DeadLetterService> = createClient(DeadLetterService, kit.transport);
  const apiKeys: Client<typeof ApiKeyService> = createClient(ApiKeyService, kit.transport);

  const task = async (ns: string) => (await tasks.submitTask({ task: { type: 'noop', queue: 'matrix', namespace: ns } })).task!;
  const ended = async (ns: string) => {
    const t = await task(ns);
    return (await tasks.cancelTask({ id: t.id, namespace: ns, reason: 'matrix' })).task!;
  };
  const workflow = async (ns: string) =>
    (await workflows.submitWorkflow({ workflow: { namespace: ns, name: unique('wf'), tasks: [{ name: 'a', task: { type: 'noop', queue: 'matrix' } }] } })).workflow!;
  // Yearly, so nothing fires while the test runs.
  const schedule = async (ns: string) =>
    (await schedules.createSchedule({ schedule: { namespace: ns, name: unique('s'), cron: '0 0 1 1 *', template: { case: 'task', value: { type: 'noop', queue: 'matrix' } } } })).schedule!;
  const deadLetter = (ns: string): string => {
    const id = kit.deadLetters.get(ns)?.pop();
    if (!id) throw new Error(`the matrix ran out of dead letters in namespace ${ns}; make more in beforeAll`);
    return id;
  };
  const key = async (ns: string) => (await apiKeys.createApiKey({ name: unique('k'), role: Role.VIEWER, namespaces: [ns] })).apiKey!;
  const events: Client<typeof EventService> = createClient(EventService, kit.transport);
  // A task's first event, once the apiserver's feed lists it (it lists up to its position), with the task ended after it.
  const firstEvent = async (ns: string) => {
    const t = await ended(ns);
    const found = await waitFor(`the events of task ${t.id}`, async () => {
      const r = await events.listEvents({ namespace: ns, filter: { aggregateIds: [t.id] } });
      return r.events.length >= 2 ? r.events : undefined;
    }, 10_000);
    return { task: t, event: found[0]! };
  };
  const notifications: Client<typeof NotificationService> = createClient(NotificationService, kit.transport);
  // Port 9 (discard) on loopback: no notifier runs in the matrix, nothing is ever sent.
  const subscription = async (ns: string) =>
    (await notifications.createSubscription({ subscription: { namespace: ns, name: unique('sub'), target: { case: 'webhookUrl', value: 'http://127.0.0.1:9/matrix' } } })).subscription!;

  return {
    'taskd.v1.TaskService/SubmitTask': { build: async (ns) => create(SubmitTaskRequestSchema, { task: { type: 'noop', queue: 'matrix', namespace: ns } }) },
    'taskd.v1.TaskService/SubmitTasks': { build: async (ns) => create(SubmitTasksRequestSchema, { tasks: [{ type: 'noop', queue: 'matrix', namespace: ns }] }) },
    'taskd.v1.TaskService/GetTask': { build: async (ns) => create(GetTaskRequestSchema, { id: (await task(ns)).id, namespace: ns }) },
    'taskd.v1.TaskService/ListTasks': { build: async (ns) => create(ListTasksRequestSchema, { namespace: ns }) },
    'taskd.v1.TaskService/UpdateTask': {
      build: async (ns) => {
        const t = await task(ns);
        return create(UpdateTaskRequestSchema, { id: t.id, namespace: ns, version: t.version, updateMask: { paths: ['priority'] }, priority: 7 });
      },
    },
    'taskd.v1.TaskService/CancelTask': { build: async (ns) => create(CancelTaskRequestSchema, { id: (await task(ns)).id, namespace: ns }) },
    'taskd.v1.TaskService/RetryTask': { build: async (ns) => create(RetryTaskRequestSchema, { id: (await ended(ns)).id, namespace: ns }) },
    'taskd.v1.TaskService/DeleteTask': { build: async (ns) => create(DeleteTaskRequestSchema, { id: (await ended(ns)).id, namespace: ns }) },
    'taskd.v1.TaskService/WatchTask': { build: async (ns) => create(WatchTaskRequestSchema, { id: (await ended(ns)).id, namespace: ns }) },
    'taskd.v1.WorkflowService/SubmitWorkflow': {
      build: async (ns) => create(SubmitWorkflowRequestSchema, { workflow: { namespace: ns, name: unique('wf'), tasks: [{ name: 'a', task: { type: 'noop', queue: 'matrix' } }] } }),
    },
    'taskd.v1.WorkflowService/GetWorkflow': { build: async (ns) => create(GetWorkflowRequestSchema, { id: (await workflow(ns)).id, namespace: ns }) },
    'taskd.v1.WorkflowService/ListWorkflows': { build: async (ns) => create(ListWorkflowsRequestSchema, { namespace: ns }) },
    'taskd.v1.WorkflowService/CancelWorkflow': { build: async (ns) => create(CancelWorkflowRequestSchema, { id: (await workflow(ns)).id, namespace: ns }) },
    'taskd.v1.WorkflowService/WatchWorkflow': {
      build: async (ns) => {
        const w = await workflow(ns);
        await workflows.cancelWorkflow({ id: w.id, namespace: ns });
        return create(WatchWorkflowRequestSchema, { id: w.id, namespace: ns });
      },
    },
    'taskd.v1.ScheduleService/CreateSchedule': {
      build: async (ns) => create(CreateScheduleRequestSchema, {
        schedule: { namespace: ns, name: unique('s'), cron: '0 0 1 1 *', template: { case: 'task', value: { type: 'noop', queue: 'matrix' } } },
      }),
    },
    'taskd.v1.ScheduleService/GetSchedule': { build: async (ns) => create(GetScheduleRequestSchema, { id: (await schedule(ns)).id, namespace: ns }) },
    'taskd.v1.ScheduleService/ListSchedules': { build: async (ns) => create(ListSchedulesRequestSchema, { namespace: ns }) },
    'taskd.v1.ScheduleService/UpdateSchedule': {
      build: async (ns) => {
        const s = await schedule(ns);
        return create(UpdateScheduleRequestSchema, { schedule: { id: s.id, namespace: ns, version: s.version, cron: '0 0 2 1 *' }, updateMask: { paths: ['cron'] } });
      },
    },
    'taskd.v1.ScheduleService/DeleteSchedule': { build: async (ns) => create(DeleteScheduleRequestSchema, { id: (await schedule(ns)).id, namespace: ns }) },
    'taskd.v1.ScheduleService/PauseSchedule': { build: async (ns) => create(PauseScheduleRequestSchema, { id: (await schedule(ns)).id, namespace: ns }) },
    'taskd.v1.ScheduleService/ResumeSchedule': { build: async (ns) => create(ResumeScheduleRequestSchema, { id: (await schedule(ns)).id, namespace: ns }) },
    'taskd.v1.ScheduleService/TriggerSchedule': { build: async (ns) => create(TriggerScheduleRequestSchema, { id: (await schedule(ns)).id, namespace: ns }) },
    'taskd.v1.DeadLetterService/ListDeadLetters': { build: async (ns) => create(ListDeadLettersRequestSchema, { namespace: ns }) },
    'taskd.v1.DeadLetterService/GetDeadLetter': { build: async (ns) => create(GetDeadLetterRequestSchema, { id: deadLetter(ns), namespace: ns }) },
    'taskd.v1.DeadLetterService/ReplayDeadLetter': { build: async (ns) => create(ReplayDeadLetterRequestSchema, { id: deadLetter(ns), namespace: ns }) },
    'taskd.v1.DeadLetterService/PurgeDeadLetters': { build: async (ns) => create(PurgeDeadLettersRequestSchema, { namespace: ns, ids: [deadLetter(ns)] }) },
    'taskd.v1.ClusterService/GetCluster': { build: async (ns) => create(GetClusterRequestSchema, { namespace: ns }) },
    'taskd.v1.ApiKeyService/CreateApiKey': {
      build: async (ns) => create(CreateApiKeyRequestSchema, { name: unique('k'), role: Role.VIEWER, namespaces: [ns] }),
      outside: (req) => ({
        code: Code.PermissionDenied,
        message: `namespace "${(req as unknown as { namespaces: string[] }).namespaces[0]}" is not among the credential's namespaces; a key can only be given namespaces its creator has`,
      }),
    },
    'taskd.v1.ApiKeyService/ListApiKeys': { build: async () => create(ListApiKeysRequestSchema, { includeRevoked: true }) },
    'taskd.v1.ApiKeyService/RevokeApiKey': {
      build: async (ns) => create(RevokeApiKeyRequestSchema, { id: (await key(ns)).id }),
      outside: (req) => ({ code: Code.NotFound, message: `api key ${(req as unknown as { id: string }).id} not found` }),
    },
    'taskd.v1.NotificationService/CreateSubscription': {
      build: async (ns) => create(CreateSubscriptionRequestSchema, {
        subscription: { namespace: ns, name: unique('sub'), target: { case: 'webhookUrl', value: 'http://127.0.0.1:9/matrix' }, filter: { types: ['task.*'] } },
      }),
    },
    'taskd.v1.NotificationService/GetSubscription': { build: async (ns) => create(GetSubscriptionRequestSchema, { id: (await subscription(ns)).id, namespace: ns }) },
    'taskd.v1.NotificationService/ListSubscriptions': { build: async (ns) => create(ListSubscriptionsRequestSchema, { namespace: ns }) },
    'taskd.v1.NotificationService/DeleteSubscription': { build: async (ns) => create(DeleteSubscriptionRequestSchema, { id: (await subscription(ns)).id, namespace: ns }) },
    'taskd.v1.EventService/WatchEvents': {
      // Resumes after the task's first event, so the stream answers at once with the next (the task's end).
      build: async (ns) => {
        const { task: t, event } = await firstEvent(ns);
        return create(WatchEventsRequestSchema, { namespace: ns, filter: { aggregateIds: [t.id] }, afterEventId: event.id });
      },
      maxResponses: 1,
    },
    'taskd.v1.EventService/ListEvents': { build: async (ns) => create(ListEventsRequestSchema, { namespace: ns, filter: { types: ['task.*'] }, pageSize: 5 }) },
    'taskd.v1.NotificationService/ListDeliveries': { build: async (ns) => create(ListDeliveriesRequestSchema, { namespace: ns }) },
    'taskd.v1.WorkerService/Connect': {
      build: async () => create(ConnectRequestSchema, { msg: { case: 'hello', value: { workerId: unique('matrix-worker'), taskTypes: ['matrix-none'], queues: ['matrix'], slots: 1 } } }),
    },
    'taskd.internal.v1.LinkService/Link': { build: async () => create(LinkRequestSchema, { msg: { case: 'schedule', value: {} } }) },
    'taskd.internal.v1.LinkService/Describe': { build: async () => create(DescribeRequestSchema, {}) },
  };
}
