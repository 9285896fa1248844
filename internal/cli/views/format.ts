import { toJson } from '@bufbuild/protobuf';
import { timestampDate, timestampMs, ValueSchema, durationMs, type Duration, type Timestamp, type Value } from '@bufbuild/protobuf/wkt';
import { TaskStatus } from '../../../gen/taskd/v1/task_pb.js';
import { formatDuration } from '../duration.js';

/** A timestamp as ISO 8601 in UTC to the second (`2026-11-23T10:04:05Z`); unset → "". */
export const timeText = (t: Timestamp | undefined): string =>
  t === undefined ? '' : timestampDate(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Time since `t` as a coarse age (`45s`, `12m`, `5h`, `3d`); unset → "". */
export function ageText(t: Timestamp | undefined, now: number): string {
  if (t === undefined) return '';
  const s = Math.max(0, Math.floor((now - timestampMs(t)) / 1_000));
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3_600) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** A Duration as short text (`30s`, `1m05s`); unset → "". */
export const durationText = (d: Duration | undefined): string => (d === undefined ? '' : formatDuration(durationMs(d)));

/** A google.protobuf.Value as compact JSON; unset → "". */
export const jsonText = (v: Value | undefined): string => (v === undefined ? '' : JSON.stringify(toJson(ValueSchema, v)));

/** A task status's name without its prefix: `RUNNING`, `DEAD_LETTERED`. */
export const taskStatusName = (s: TaskStatus): string => TaskStatus[s] ?? String(s);

/** The statuses a task never leaves. */
export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set([
  TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.DEAD_LETTERED, TaskStatus.CANCELLED, TaskStatus.SKIPPED,
]);

/** Status names (as in workflow counts) of the terminal task statuses. */
export const TERMINAL_STATUS_NAMES: ReadonlySet<string> = new Set([...TERMINAL_TASK_STATUSES].map(taskStatusName));

/** `k=v,k2=v2` of a label map, keys sorted. */
export const labelsText = (labels: Record<string, string>): string =>
  Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
