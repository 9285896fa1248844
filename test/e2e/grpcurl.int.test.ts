import { create, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v1alpha from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { Cluster, logMsg } from '../cluster.js';
import { GRPC_PYTHON, GRPCURL, GrpcurlStream, run, tool } from '../grpc-tools.js';
import { InprocWorkers } from '../inproc-worker.js';
import { freePort, REPO_ROOT, reapAll, spawnTaskd } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';

const API_SERVICES = ['taskd.v1.TaskService', 'taskd.v1.WorkflowService', 'taskd.v1.DeadLetterService', 'taskd.v1.ScheduleService', 'taskd.v1.ClusterService'];
const REFLECTION = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
const TASK_METHODS = ['SubmitTask', 'SubmitTasks', 'GetTask', 'ListTasks', 'UpdateTask', 'CancelTask', 'RetryTask', 'DeleteTask', 'WatchTask'];

/** A handler the test releases: the task stays RUNNING until `open()`. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('grpcurl and other generic clients through server reflection, no proto files', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let api: string;
  const workers = new InprocWorkers();
  const release = gate();
  const streams: GrpcurlStream[] = [];
  const grpcurl = (...args: string[]) => run(tool(GRPCURL), ['-plaintext', ...args]);

  beforeAll(async () => {
    tool(GRPCURL);
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
    api = cluster.apiUrl.replace('http://', '');
    await workers.start(cluster.schedulerAddrs, {
      'grpcurl.gated': async (ctx) => {
        await release.opened;
        return { echoed: ctx.payload ?? null };
      },
    });
  });
  afterAll(async () => {
    release.open();
    for (const s of streams) s.close();
    await Promise.all(streams.map((s) => s.exited));
    await workers.stopAll();
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  it('lists what the apiserver serves, and what the scheduler serves', async () => {
    const onApi = await grpcurl(api, 'list');
    expect(onApi.stderr).toBe('');
    const names = onApi.stdout.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining([...API_SERVICES, ...REFLECTION]));
    expect(names.filter((n) => !n.startsWith('taskd.v1.') && !REFLECTION.includes(n))).toEqual([]);
    expect(names).not.toContain('taskd.v1.WorkerService');
    const onScheduler = await grpcurl(cluster.schedulers[0]!.addr, 'list');
    expect(onScheduler.stdout.trim().split('\n')).toEqual([...REFLECTION, 'taskd.internal.v1.LinkService', 'taskd.v1.WorkerService']);
  });

  it('describes TaskService, its methods and TaskSpec; an unknown symbol is an error', async () => {
    const svc = await grpcurl(api, 'describe', 'taskd.v1.TaskService');
    expect(svc.code, svc.stderr).toBe(0);
    expect(svc.stdout).toContain('taskd.v1.TaskService is a service:');
    for (const m of TASK_METHODS) expect(svc.stdout).toMatch(new RegExp(`rpc ${m} \\( \\.taskd\\.v1\\.${m}Request \\) returns \\( (stream )?\\.taskd\\.v1\\.${m}Response \\)`));
    expect(svc.stdout).toContain('returns ( stream .taskd.v1.WatchTaskResponse )');
    expect(svc.stdout).toContain('option (.google.api.http) = { get: "/v1/tasks/{id}", response_body: "task" };');
    const spec = await grpcurl(api, 'describe', 'taskd.v1.TaskSpec');
    expect(spec.code, spec.stderr).toBe(0);
    expect(spec.stdout).toContain('taskd.v1.TaskSpec is a message:');
    expect(spec.stdout).toContain('string idempotency_key = 10;');
    expect(spec.stdout).toContain('map<string, string> labels = 11;');
    const method = await grpcurl(api, 'describe', 'taskd.v1.TaskService.WatchTask');
    expect(method.stdout).toContain('taskd.v1.TaskService.WatchTask is a method:');
    const unknown = await grpcurl(api, 'describe', 'taskd.v1.NoSuchThing');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Symbol not found: taskd.v1.NoSuchThing');
  });

  it('submits a task with -d JSON and streams WatchTask until SUCCEEDED', async () => {
    const sub = await grpcurl('-d', JSON.stringify({ task: { type: 'grpcurl.gated', payload: { via: 'grpcurl' } } }), api, 'taskd.v1.TaskService/SubmitTask');
    expect(sub.code, sub.stderr).toBe(0);
    const task = (JSON.parse(sub.stdout) as { task: { id: string; status: string } }).task;
    expect(task.status).toBe('TASK_STATUS_QUEUED');

    const watch = new GrpcurlStream(['-plaintext', '-d', JSON.stringify({ id: task.id }), api, 'taskd.v1.TaskService/WatchTask']);
    streams.push(watch);
    const status = (s: string) => (m: Record<string, unknown>) => (m.task as { status?: string } | undefined)?.status === s;
    // The handler holds the task RUNNING until the stream has shown it so.
    await watch.next(status('TASK_STATUS_RUNNING'), 30_000);
    release.open();
    const done = await watch.next(status('TASK_STATUS_SUCCEEDED'), 30_000);
    expect(done.task).toMatchObject({ id: task.id, output: { echoed: { via: 'grpcurl' } }, attemptCount: 1 });
    const end = await watch.exited;
    expect(end.code, end.stderr).toBe(0);
    expect(watch.messages.at(-1)).toBe(done);
  });

  it('answers v1alpha (what grpcurl falls back to) over gRPC', async () => {
    const client = createClient(v1alpha.ServerReflection, createGrpcTransport({ baseUrl: cluster.apiUrl }));
    async function* questions() {
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: 'listServices', value: '' } });
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: 'fileContainingSymbol', value: 'taskd.v1.TaskSpec' } });
      yield create(v1alpha.ServerReflectionRequestSchema, { messageRequest: { case: 'fileContainingSymbol', value: 'taskd.v1.WorkerService' } });
    }
    const answers: v1alpha.ServerReflectionResponse[] = [];
    for await (const a of client.serverReflectionInfo(questions())) answers.push(a);
    const [list, spec, worker] = answers;
    expect(list?.messageResponse.case === 'listServicesResponse' && list.messageResponse.value.service.map((s) => s.name))
      .toEqual(expect.arrayContaining([...API_SERVICES, ...REFLECTION]));
    const files = spec?.messageResponse.case === 'fileDescriptorResponse' ? spec.messageResponse.value.fileDescriptorProto : [];
    expect(files.map((b) => fromBinary(FileDescriptorProtoSchema, b).name)).toEqual(expect.arrayContaining(['taskd/v1/task.proto', 'google/protobuf/struct.proto']));
    // The apiserver does not serve the worker stream, so it does not describe it.
    expect(worker?.messageResponse).toEqual({ case: 'errorResponse', value: expect.objectContaining({ errorCode: 5 }) });
  });

  it('serves a Python grpcio client that learns the API from reflection alone', async () => {
    const request = JSON.stringify({ task: { type: 'grpcurl.gated', payload: { via: 'python' } } });
    const py = await run(tool(GRPC_PYTHON), [join(REPO_ROOT, 'test', 'fixtures', 'grpc_reflection_client.py'), api, request]);
    expect(py.code, py.stderr).toBe(0);
    const out = JSON.parse(py.stdout) as { services: string[]; methods: string[]; response: { task: { id: string; payload: unknown } } };
    expect(out.services).toEqual(expect.arrayContaining([...API_SERVICES, ...REFLECTION]));
    expect(out.methods).toEqual(TASK_METHODS);
    expect(out.response.task.payload).toEqual({ via: 'python' });
    const row = await cluster.sql.query<{ type: string }>('select type from tasks where id = $1', [out.response.task.id]);
    expect(row.rows).toEqual([{ type: 'grpcurl.gated' }]);
  });
});

describe('reflection on the embedded default (npm start)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskd-reflection-'));
  afterAll(async () => {
    await reapAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists every service, the apiserver\'s and the scheduler\'s', async () => {
    const port = await freePort();
    const dev = spawnTaskd('dev', 'cmd/dev/main.ts', { TASKD_ADDR: `127.0.0.1:${port}`, TASKD_DATA_DIR: dataDir });
    await dev.waitForLog(logMsg('listening'), 60_000);
    const list = await run(tool(GRPCURL), ['-plaintext', `127.0.0.1:${port}`, 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n')).toEqual(
      expect.arrayContaining([...API_SERVICES, ...REFLECTION, 'taskd.v1.WorkerService', 'taskd.internal.v1.LinkService']),
    );
    dev.kill('SIGTERM');
    expect((await dev.exited).code).toBe(0);
  });
});
