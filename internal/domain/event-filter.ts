import { isUuid } from '../shared/is-uuid.js';
import type { FieldViolation } from './errors.js';
import type { TaskEventFacts } from './event-facts.js';

/**
 * Which events a subscription (or a watch) takes; an empty list does not filter. Within
 * a list any entry may match; every non-empty list must match.
 */
export interface EventFilter {
  /** Event types, e.g. "task.succeeded"; a trailing "*" matches a prefix ("task.*", "*"). */
  types: string[];
  /** Only events of these tasks, workflows or schedules. */
  aggregateIds: string[];
  /** Only task events of these task types. */
  taskTypes: string[];
  /** Only task events whose task has every one of these labels, each "key=value". */
  labels: string[];
}

/** What a filter looks at in an event. */
export interface FilterableEvent {
  type: string;
  aggregateId: string;
  task?: Pick<TaskEventFacts, 'taskType' | 'labels'>;
}

/** Most entries in each list of a filter. */
export const MAX_FILTER_ENTRIES = 100;

const TYPE_PATTERN = /^[a-z0-9_.]{0,100}\*?$/;

export const emptyFilter = (): EventFilter => ({ types: [], aggregateIds: [], taskTypes: [], labels: [] });

/**
 * The violations of `f`, each naming its field under `prefix` (e.g.
 * `subscription.filter.types[0]`); empty when valid.
 */
export function eventFilterViolations(f: EventFilter, prefix: string): FieldViolation[] {
  const v: FieldViolation[] = [];
  const each = (name: keyof EventFilter, snake: string, ok: (s: string) => boolean, rule: string): void => {
    const list = f[name];
    if (list.length > MAX_FILTER_ENTRIES) v.push({ field: `${prefix}.${snake}`, description: `must have at most ${MAX_FILTER_ENTRIES} entries` });
    list.forEach((s, i) => {
      if (!ok(s)) v.push({ field: `${prefix}.${snake}[${i}]`, description: rule });
    });
  };
  each('types', 'types', (s) => s !== '' && TYPE_PATTERN.test(s), 'must be an event type such as "task.succeeded", or a prefix ending in "*" such as "task.*"');
  each('aggregateIds', 'aggregate_ids', isUuid, 'must be a UUID');
  each('taskTypes', 'task_types', (s) => s.length >= 1 && s.length <= 128, 'must be a task type of 1-128 characters');
  each('labels', 'labels', (s) => /^[^=]{1,128}=.{0,256}$/s.test(s), 'must be "key=value" with a non-empty key');
  return v;
}

/** True when `e` passes every non-empty list of `f` (task types and labels match task events only). */
export function eventMatches(f: EventFilter, e: FilterableEvent): boolean {
  if (f.types.length > 0 && !f.types.some((t) => (t.endsWith('*') ? e.type.startsWith(t.slice(0, -1)) : e.type === t))) return false;
  if (f.aggregateIds.length > 0 && !f.aggregateIds.some((id) => id.toLowerCase() === e.aggregateId.toLowerCase())) return false;
  if (f.taskTypes.length > 0 && !(e.task && f.taskTypes.includes(e.task.taskType))) return false;
  if (f.labels.length > 0) {
    const labels = e.task?.labels;
    if (!labels) return false;
    for (const l of f.labels) {
      const at = l.indexOf('=');
      if (labels[l.slice(0, at)] !== l.slice(at + 1)) return false;
    }
  }
  return true;
}
