import type { JsonValue } from '@bufbuild/protobuf';

/**
 * Normalises what a handler returned (or checkpointed) to a JSON value the way
 * `JSON.stringify` would: `undefined` becomes `null`, Dates become strings,
 * non-finite numbers become `null`. Throws a TypeError for what JSON cannot hold
 * (BigInt, cycles).
 */
export function toJsonValue(value: unknown): JsonValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}
