import type { DescService } from '@bufbuild/protobuf';
import { LinkService } from '../../gen/taskd/internal/v1/link_pb.js';
import { ApiKeyService } from '../../gen/taskd/v1/auth_service_pb.js';
import { ClusterService } from '../../gen/taskd/v1/cluster_service_pb.js';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { WorkerService } from '../../gen/taskd/v1/worker_service_pb.js';
import { WorkflowService } from '../../gen/taskd/v1/workflow_service_pb.js';

/**
 * Every service taskd defines, public and internal: what the role table in docs/auth.md
 * and the auth matrix test enumerate, method by method.
 */
export const TASKD_SERVICES: readonly DescService[] = [
  TaskService, WorkflowService, ScheduleService, DeadLetterService, ClusterService, ApiKeyService, WorkerService, LinkService,
];
