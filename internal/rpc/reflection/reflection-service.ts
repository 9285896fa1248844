import { create, type DescService } from '@bufbuild/protobuf';
import { Code, type ConnectRouter, type ServiceImpl } from '@connectrpc/connect';
import * as v1 from '../../../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { DescriptorIndex } from './descriptor-index.js';

/** A reflection question, as both protocol versions carry it. */
type Question =
  | { case: 'fileByFilename' | 'fileContainingSymbol' | 'allExtensionNumbersOfType' | 'listServices'; value: string }
  | { case: 'fileContainingExtension'; value: { containingType: string; extensionNumber: number } }
  | { case: undefined; value?: undefined };

/** The answer to one question, as both protocol versions carry it. */
type Answer =
  | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: 'allExtensionNumbersResponse'; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: 'listServicesResponse'; value: { service: { name: string }[] } }
  | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } };

const notFound = (what: string): Answer => ({ case: 'errorResponse', value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } });

/**
 * Answers questions on one reflection stream. Problems are answers too (an
 * `error_response` with NOT_FOUND or INVALID_ARGUMENT); the stream stays open. Files
 * already sent on this stream are not sent again as dependencies, as the protocol allows.
 */
export class ReflectionSession {
  private readonly sent = new Set<string>();

  constructor(private readonly index: DescriptorIndex) {}

  answer(q: Question): Answer {
    const files = (f: ReturnType<DescriptorIndex['fileByName']>, what: string): Answer =>
      f ? { case: 'fileDescriptorResponse', value: { fileDescriptorProto: this.index.withDependencies(f, this.sent) } } : notFound(what);
    switch (q.case) {
      case 'listServices':
        return { case: 'listServicesResponse', value: { service: this.index.serviceNames.map((name) => ({ name })) } };
      case 'fileByFilename':
        return files(this.index.fileByName(q.value), `file ${JSON.stringify(q.value)}`);
      case 'fileContainingSymbol':
        return files(this.index.fileContainingSymbol(q.value), `symbol ${JSON.stringify(q.value)}`);
      case 'fileContainingExtension': {
        const { containingType: t, extensionNumber: n } = q.value;
        return files(this.index.fileContainingExtension(t, n), `extension ${n} of ${JSON.stringify(t)}`);
      }
      case 'allExtensionNumbersOfType': {
        const numbers = this.index.extensionNumbers(q.value);
        if (!numbers) return notFound(`message type ${JSON.stringify(q.value)}`);
        return { case: 'allExtensionNumbersResponse', value: { baseTypeName: q.value.replace(/^\./, ''), extensionNumber: numbers } };
      }
      default:
        return { case: 'errorResponse', value: { errorCode: Code.InvalidArgument, errorMessage: 'message_request: one question is required' } };
    }
  }
}

/** grpc.reflection.v1.ServerReflection over `index`. */
export function reflectionV1Impl(index: DescriptorIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const session = new ReflectionSession(index);
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: session.answer(req.messageRequest) });
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection over `index`: the same answers in the older package. */
export function reflectionV1alphaImpl(index: DescriptorIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const session = new ReflectionSession(index);
      for await (const req of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: session.answer(req.messageRequest) });
      }
    },
  };
}

/** The services registered on `router` so far, each once, in registration order. */
export function routedServices(router: ConnectRouter): DescService[] {
  return [...new Map(router.handlers.map((h) => [h.service.typeName, h.service])).values()];
}

/**
 * Adds server reflection (v1 and v1alpha) to `router`, describing exactly the services
 * registered on it before this call, plus the two reflection services. Call it last.
 */
export function registerReflection(router: ConnectRouter): DescriptorIndex {
  const index = new DescriptorIndex([...routedServices(router), v1.ServerReflection, v1alpha.ServerReflection]);
  router.service(v1.ServerReflection, reflectionV1Impl(index));
  router.service(v1alpha.ServerReflection, reflectionV1alphaImpl(index));
  return index;
}
