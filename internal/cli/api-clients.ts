import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { ApiKeyService } from '../../gen/taskd/v1/auth_service_pb.js';
import { ClusterService } from '../../gen/taskd/v1/cluster_service_pb.js';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { WorkflowService } from '../../gen/taskd/v1/workflow_service_pb.js';
import type { Connection } from './connection.js';

/** A client for each public service, sharing one transport. */
export interface ApiClients {
  tasks: Client<typeof TaskService>;
  workflows: Client<typeof WorkflowService>;
  schedules: Client<typeof ScheduleService>;
  deadLetters: Client<typeof DeadLetterService>;
  cluster: Client<typeof ClusterService>;
  apiKeys: Client<typeof ApiKeyService>;
}

/** Sets `authorization: Bearer <token>` on every request when a token is given. */
export function bearerAuth(token: string | undefined): Interceptor {
  return (next) => (req) => {
    if (token) req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}

/**
 * Clients over gRPC (HTTP/2; h2c for http://, TLS for https://) to `conn.server`, the
 * same port that serves Connect, gRPC-Web and REST.
 */
export function createApiClients(conn: Connection): ApiClients {
  const transport = createGrpcTransport({ baseUrl: conn.server, interceptors: [bearerAuth(conn.token)] });
  return {
    tasks: createClient(TaskService, transport),
    workflows: createClient(WorkflowService, transport),
    schedules: createClient(ScheduleService, transport),
    deadLetters: createClient(DeadLetterService, transport),
    cluster: createClient(ClusterService, transport),
    apiKeys: createClient(ApiKeyService, transport),
  };
}
