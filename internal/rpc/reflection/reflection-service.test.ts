import { create, createFileRegistry, fromBinary, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { Code, createClient, createRouterTransport, type ConnectRouter } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import * as v1 from '../../../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { LinkService } from '../../../gen/taskd/internal/v1/link_pb.js';
import { ClusterService } from '../../../gen/taskd/v1/cluster_service_pb.js';
import { DeadLetterService } from '../../../gen/taskd/v1/dead_letter_service_pb.js';
import { ScheduleService } from '../../../gen/taskd/v1/schedule_service_pb.js';
import { TaskService } from '../../../gen/taskd/v1/task_service_pb.js';
import { WorkerService } from '../../../gen/taskd/v1/worker_service_pb.js';
import { WorkflowService } from '../../../gen/taskd/v1/workflow_service_pb.js';
import { silentLogger } from '../../shared/logger.js';
import { errorInterceptor } from '../error-interceptor.js';
import { registerReflection } from './reflection-service.js';

type Question = v1.ServerReflectionRequest['messageRequest'];
const API_SERVICES = [TaskService, WorkflowService, DeadLetterService, ScheduleService, ClusterService];
const REFLECTION = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
// Reflection is about which services are routed, not what they do: no implementations.
const routes = (services: DescService[]) => (r: ConnectRouter): void => {
  for (const s of services) r.service(s, {});
  registerReflection(r);
};

/** One reflection stream (v1) on a router serving `services`: every question, then every answer. */
async function ask(services: DescService[], questions: Question[]): Promise<v1.ServerReflectionResponse[]> {
  const transport = createRouterTransport(routes(services), { router: { interceptors: [errorInterceptor(silentLogger())] } });
  const client = createClient(v1.ServerReflection, transport);
  async function* requests() {
    for (const messageRequest of questions) yield create(v1.ServerReflectionRequestSchema, { host: 'h', messageRequest });
  }
  const out: v1.ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(requests())) out.push(res);
  return out;
}

/** The file names an answer carries (requested file first); throws on anything but files. */
function fileNames(res: v1.ServerReflectionResponse | undefined): string[] {
  if (res?.messageResponse.case !== 'fileDescriptorResponse') throw new Error(`not files: ${JSON.stringify(res?.messageResponse)}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

/** `files` ordered so that each comes after what it imports, as a FileDescriptorSet must be; throws on a missing import. */
function importsFirst(files: FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out = new Set<FileDescriptorProto>();
  const visit = (f: FileDescriptorProto): void => {
    for (const d of f.dependency) {
      const dep = byName.get(d);
      if (!dep) throw new Error(`${f.name} imports ${d}, which the answer lacks`);
      visit(dep);
    }
    out.add(f);
  };
  files.forEach(visit);
  return [...out];
}

const symbol = (value: string): Question => ({ case: 'fileContainingSymbol', value });
const errorOf = (res: v1.ServerReflectionResponse | undefined) =>
  res?.messageResponse.case === 'errorResponse' ? res.messageResponse.value : undefined;

describe('server reflection (in-memory transport)', () => {
  it('lists exactly the routed services and the reflection services', async () => {
    const [api] = await ask(API_SERVICES, [{ case: 'listServices', value: '' }]);
    expect(api?.messageResponse.case).toBe('listServicesResponse');
    const names = api?.messageResponse.case === 'listServicesResponse' ? api.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual([...API_SERVICES.map((s) => s.typeName), ...REFLECTION].sort());
    const [sched] = await ask([WorkerService, LinkService], [{ case: 'listServices', value: '*' }]);
    const schedNames = sched?.messageResponse.case === 'listServicesResponse' ? sched.messageResponse.value.service.map((s) => s.name) : [];
    expect(schedNames).toEqual(['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', 'taskd.internal.v1.LinkService', 'taskd.v1.WorkerService']);
  });

  it('answers a symbol with its file and every transitive import, which link into a complete registry', async () => {
    const [res] = await ask(API_SERVICES, [symbol('taskd.v1.TaskService')]);
    const files = res?.messageResponse.case === 'fileDescriptorResponse' ? res.messageResponse.value.fileDescriptorProto : [];
    const names = fileNames(res);
    expect(names[0]).toBe('taskd/v1/task_service.proto');
    expect(names).toEqual(expect.arrayContaining([
      'google/api/annotations.proto', 'google/api/http.proto', 'google/protobuf/descriptor.proto', 'google/protobuf/struct.proto',
      'google/protobuf/timestamp.proto', 'google/protobuf/duration.proto', 'taskd/v1/task.proto', 'taskd/v1/options.proto',
    ]));
    expect(new Set(names).size).toBe(names.length);
    // Linking fails on any missing import: the answer is self-contained.
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(files.map((b) => fromBinary(FileDescriptorProtoSchema, b))) }));
    expect(registry.getService('taskd.v1.TaskService')?.methods.map((m) => m.name)).toContain('SubmitTask');
    expect(registry.getMessage('taskd.v1.TaskSpec')?.fields.map((f) => f.name)).toContain('idempotency_key');
    // Method options (google.api.http, taskd.v1.required_role) travel with the descriptor.
    const submit = fromBinary(FileDescriptorProtoSchema, files[0]!).service[0]!.method.find((m) => m.name === 'SubmitTask');
    expect(submit?.options?.$unknown?.map((u) => u.no).sort()).toEqual([50001, 72295728]);
  });

  it('finds methods, messages, fields, oneofs, enums, enum values and nested types', async () => {
    const cases: [string, string][] = [
      ['taskd.v1.TaskService.SubmitTask', 'taskd/v1/task_service.proto'],
      ['.taskd.v1.TaskSpec', 'taskd/v1/task.proto'],
      ['taskd.v1.TaskSpec.idempotency_key', 'taskd/v1/task.proto'],
      ['taskd.v1.TaskSpec.start', 'taskd/v1/task.proto'],
      ['taskd.v1.TaskStatus', 'taskd/v1/task.proto'],
      ['taskd.v1.TASK_STATUS_SUCCEEDED', 'taskd/v1/task.proto'],
      ['taskd.v1.Role', 'taskd/v1/options.proto'],
      ['taskd.v1.required_role', 'taskd/v1/options.proto'],
      ['google.api.http', 'google/api/annotations.proto'],
      ['google.protobuf.DescriptorProto.ExtensionRange', 'google/protobuf/descriptor.proto'],
      ['google.protobuf.FieldDescriptorProto.Type', 'google/protobuf/descriptor.proto'],
      ['google.protobuf.FieldDescriptorProto.TYPE_STRING', 'google/protobuf/descriptor.proto'],
      ['grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo', 'grpc/reflection/v1alpha/reflection.proto'],
    ];
    const answers = await ask(API_SERVICES, cases.map(([s]) => symbol(s)));
    expect(answers.map((a) => fileNames(a)[0])).toEqual(cases.map(([, f]) => f));
  });

  it('answers NOT_FOUND for what the process does not serve, and keeps the stream open', async () => {
    const answers = await ask([WorkerService, LinkService], [
      symbol('taskd.v1.TaskService'),
      symbol('taskd.v1.Nope'),
      { case: 'fileByFilename', value: 'taskd/v1/task_service.proto' },
      { case: 'fileContainingExtension', value: create(v1.ExtensionRequestSchema, { containingType: 'google.protobuf.MethodOptions', extensionNumber: 7 }) },
      { case: 'allExtensionNumbersOfType', value: 'taskd.v1.Nope' },
      { case: undefined, value: undefined },
      symbol('taskd.v1.WorkerService'),
    ]);
    expect(answers.map((a) => errorOf(a)?.errorCode)).toEqual([Code.NotFound, Code.NotFound, Code.NotFound, Code.NotFound, Code.NotFound, Code.InvalidArgument, undefined]);
    expect(errorOf(answers[1])?.errorMessage).toBe('symbol "taskd.v1.Nope" not found');
    expect(answers[0]?.originalRequest?.messageRequest).toEqual({ case: 'fileContainingSymbol', value: 'taskd.v1.TaskService' });
    expect(answers[0]?.validHost).toBe('h');
    expect(fileNames(answers[6])[0]).toBe('taskd/v1/worker_service.proto');
  });

  it('answers files by name and extensions by number, and sends each import once per stream', async () => {
    const [a, b, c, d] = await ask(API_SERVICES, [
      { case: 'fileByFilename', value: 'taskd/v1/task_service.proto' },
      { case: 'fileByFilename', value: 'taskd/v1/workflow_service.proto' },
      { case: 'fileContainingExtension', value: create(v1.ExtensionRequestSchema, { containingType: 'google.protobuf.MethodOptions', extensionNumber: 50001 }) },
      { case: 'allExtensionNumbersOfType', value: 'google.protobuf.MethodOptions' },
    ]);
    expect(fileNames(a)).toContain('taskd/v1/task.proto');
    // The workflow file imports task.proto too, already sent on this stream.
    expect(fileNames(b)[0]).toBe('taskd/v1/workflow_service.proto');
    expect(fileNames(b)).not.toContain('taskd/v1/task.proto');
    expect(fileNames(c)).toEqual(['taskd/v1/options.proto']);
    expect(d?.messageResponse).toEqual({
      case: 'allExtensionNumbersResponse',
      value: expect.objectContaining({ baseTypeName: 'google.protobuf.MethodOptions', extensionNumber: [50001, 72295728] }),
    });
  });

  it('answers v1alpha the same way', async () => {
    const transport = createRouterTransport(routes(API_SERVICES));
    const client = createClient(v1alpha.ServerReflection, transport);
    async function* requests() {
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: 'listServices', value: '' } });
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: 'fileContainingSymbol', value: 'taskd.v1.TaskSpec' } });
    }
    const out: v1alpha.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(requests())) out.push(res);
    expect(out[0]?.messageResponse.case).toBe('listServicesResponse');
    expect(out[1]?.messageResponse.case).toBe('fileDescriptorResponse');
    const first = out[1]?.messageResponse.case === 'fileDescriptorResponse' ? out[1].messageResponse.value.fileDescriptorProto[0] : undefined;
    expect(fromBinary(FileDescriptorProtoSchema, first!).name).toBe('taskd/v1/task.proto');
  });
});
