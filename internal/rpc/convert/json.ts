import { create, fromJson, toJson } from '@bufbuild/protobuf';
import { durationFromMs, durationMs, timestampDate, timestampFromDate, ValueSchema, type Duration, type Timestamp, type Value } from '@bufbuild/protobuf/wkt';
import type { Json } from '../../domain/task.js';

/** google.protobuf.Value → JSON; unset → undefined. */
export function jsonOf(v: Value | undefined): Json | undefined {
  return v === undefined ? undefined : (toJson(ValueSchema, v) as Json);
}

/** JSON → google.protobuf.Value; null/undefined → a null Value. */
export function valueOf(j: Json | null | undefined): Value {
  return j === null || j === undefined ? create(ValueSchema, { kind: { case: 'nullValue', value: 0 } }) : fromJson(ValueSchema, j);
}

export const msOf = (d: Duration | undefined): number | undefined => (d === undefined ? undefined : durationMs(d));
export const durationOf = (ms: number | null | undefined): Duration | undefined => (ms == null ? undefined : durationFromMs(ms));
export const dateOf = (t: Timestamp | undefined): Date | undefined => (t === undefined ? undefined : timestampDate(t));
export const timestampOf = (d: Date | null | undefined): Timestamp | undefined => (d == null ? undefined : timestampFromDate(d));
