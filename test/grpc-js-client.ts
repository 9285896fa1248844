import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT } from './procs.js';

/**
 * A TaskService client built the way most Node users do it: `@grpc/grpc-js` with
 * `@grpc/proto-loader` reading the .proto files, no generated code. Methods are
 * promisified unary calls taking and returning plain objects.
 */
export function grpcJsTaskClient(address: string): {
  call: (method: string, req: object) => Promise<any>;
  close: () => void;
} {
  const def = protoLoader.loadSync('taskd/v1/task_service.proto', {
    includeDirs: [`${REPO_ROOT}/proto`, `${REPO_ROOT}/node_modules/google-proto-files`],
    keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const client = new pkg.taskd.v1.TaskService(address, grpc.credentials.createInsecure());
  return {
    call: (method, req) =>
      new Promise((resolve, reject) => client[method](req, (err: grpc.ServiceError | null, res: any) => (err ? reject(err) : resolve(res)))),
    close: () => client.close(),
  };
}
