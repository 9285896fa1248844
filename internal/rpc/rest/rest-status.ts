import { create, toBinary, toJson, type JsonObject, type Registry } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';

/**
 * The HTTP status of each gRPC code: grpc-gateway's `HTTPStatusFromCode` (runtime/errors.go,
 * v2), so clients written against grpc-gateway services read taskd the same way. Note
 * FAILED_PRECONDITION is 400 (not 412) and RESOURCE_EXHAUSTED is 429, as there.
 */
export const HTTP_STATUS_OF_CODE: Readonly<Record<Code, number>> = {
  [Code.Canceled]: 408,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The HTTP status for a gRPC code; 500 for a code outside the table. */
export const httpStatusOf = (code: Code): number => HTTP_STATUS_OF_CODE[code] ?? 500;

/**
 * A ConnectError as `google.rpc.Status` JSON: `{code, message, details}` with the code as
 * its number and each detail as `google.protobuf.Any` JSON (`{"@type": …, …fields}`).
 * A detail whose type `registry` does not know is shown as `{"@type", "value": base64}`.
 */
export function statusJson(err: ConnectError, registry: Registry): JsonObject {
  const details = err.details.map((d): JsonObject => {
    // Outgoing details were made in this process; incoming ones were decoded from a response.
    const [typeName, value] = 'desc' in d ? [d.desc.typeName, toBinary(d.desc, create(d.desc, d.value))] : [d.type, d.value];
    const typeUrl = `type.googleapis.com/${typeName}`;
    try {
      const { '@type': type, ...fields } = toJson(AnySchema, create(AnySchema, { typeUrl, value }), { registry }) as JsonObject;
      return { '@type': type ?? typeUrl, ...fields };
    } catch {
      return { '@type': typeUrl, value: Buffer.from(value).toString('base64') };
    }
  });
  return { code: err.code, message: err.rawMessage, details };
}
