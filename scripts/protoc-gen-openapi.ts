/**
 * A protoc plugin (run by `buf generate`, see buf.gen.yaml) writing `openapi.json`: the
 * OpenAPI 3.1 document of every service with `google.api.http` bindings among the files
 * to generate, built by internal/rpc/rest/openapi.ts with the binding rules the REST
 * gateway serves. Reads a CodeGeneratorRequest on stdin, writes the response on stdout.
 */
import { create, createFileRegistry, fromBinary, toBinary, type DescFile } from '@bufbuild/protobuf';
import {
  CodeGeneratorRequestSchema, CodeGeneratorResponse_Feature, CodeGeneratorResponse_FileSchema, CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';
import { BadRequestSchema } from '../gen/google/rpc/error_details_pb.js';
import { serviceBindings } from '../internal/rpc/rest/http-bindings.js';
import { openApiDocument } from '../internal/rpc/rest/openapi.js';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = fromBinary(CodeGeneratorRequestSchema, Buffer.concat(chunks));
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: req.protoFile }));
  const files = req.fileToGenerate.map((name) => registry.getFile(name)).filter((f): f is DescFile => f !== undefined);
  const res = create(CodeGeneratorResponseSchema, { supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL) });
  // buf runs the plugin once per input (proto/, google/rpc): only the one with bindings writes the document.
  if (serviceBindings(files.flatMap((f) => f.services)).length > 0) {
    res.file.push(create(CodeGeneratorResponse_FileSchema, { name: 'openapi.json', content: `${JSON.stringify(document(files), null, 2)}\n` }));
  }
  process.stdout.write(toBinary(CodeGeneratorResponseSchema, res));
}

function document(files: DescFile[]): Record<string, unknown> {
  return openApiDocument(files, {
    title: 'taskd',
    version: 'v1',
    description:
      'The REST face of taskd\'s gRPC API, generated from proto/ (google.api.http). Bodies are proto3 JSON; errors are ' +
      'google.rpc.Status JSON. The same methods are served over gRPC, gRPC-Web and Connect on the same port. See docs/rest.md.',
    // Field violations of INVALID_ARGUMENT errors arrive as this detail.
    extraMessages: [BadRequestSchema],
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`protoc-gen-openapi: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
