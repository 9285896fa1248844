import { DomainError, type FieldViolation } from './errors.js';
import { validateTaskSpec, type SpecLimits, type TaskSpecInput } from './task-spec.js';
import type { NewTask, TaskStatus } from './task.js';

export type FailurePolicy = 'FAIL_FAST' | 'CONTINUE';
export type WorkflowStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A submitted workflow, as the RPC edge hands it over. */
export interface WorkflowSpecInput {
  namespace?: string;
  name?: string;
  failurePolicy?: FailurePolicy;
  tasks: { name: string; dependsOn: string[]; task: TaskSpecInput | undefined }[];
}

export interface WorkflowLimits extends SpecLimits {
  maxTasks: number;
  maxEdges: number;
}

/** A validated workflow node: its task and the names it waits on. */
export interface NewWorkflowTask {
  name: string;
  dependsOn: string[];
  task: NewTask;
}

export interface NewWorkflow {
  namespace: string;
  name: string;
  failurePolicy: FailurePolicy;
  tasks: NewWorkflowTask[];
}

const NODE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Checks a whole workflow: names unique and well-formed, every dependency known and not
 * the task itself, no cycle (named in order), within the task and edge limits, and each
 * task a valid spec in the workflow's namespace. Throws DomainError `invalid` listing
 * every violation; nothing is stored for an invalid workflow.
 */
export function validateWorkflow(input: WorkflowSpecInput, limits: WorkflowLimits, now: number): NewWorkflow {
  const v: FieldViolation[] = [];
  const namespace = input.namespace || 'default';
  const name = input.name ?? '';
  if (name.length > 200) v.push({ field: 'workflow.name', description: 'must be at most 200 characters' });
  if (input.tasks.length === 0) v.push({ field: 'workflow.tasks', description: 'must not be empty' });
  if (input.tasks.length > limits.maxTasks) v.push({ field: 'workflow.tasks', description: `must have at most ${limits.maxTasks} tasks` });
  const edges = input.tasks.reduce((n, t) => n + t.dependsOn.length, 0);
  if (edges > limits.maxEdges) v.push({ field: 'workflow.tasks', description: `must have at most ${limits.maxEdges} dependencies in all` });
  if (v.length > 0) throw DomainError.invalid(v);

  const seen = new Map<string, number>();
  input.tasks.forEach((t, i) => {
    const at = `workflow.tasks[${i}]`;
    if (!NODE.test(t.name)) v.push({ field: `${at}.name`, description: 'must be 1-128 of A-Z, a-z, 0-9, "_", ".", ":" or "-"' });
    else if (seen.has(t.name)) v.push({ field: `${at}.name`, description: `duplicates tasks[${seen.get(t.name)}] ("${t.name}")` });
    else seen.set(t.name, i);
  });
  input.tasks.forEach((t, i) => {
    const deps = new Set<string>();
    t.dependsOn.forEach((d, j) => {
      const at = `workflow.tasks[${i}].depends_on[${j}]`;
      if (d === t.name) v.push({ field: at, description: `"${d}" is the task itself` });
      else if (!seen.has(d)) v.push({ field: at, description: `"${d}" is not a task of this workflow` });
      else if (deps.has(d)) v.push({ field: at, description: `"${d}" is listed twice` });
      deps.add(d);
    });
  });
  if (v.length === 0) {
    const cycle = findCycle(input.tasks);
    if (cycle) v.push({ field: 'workflow.tasks', description: `dependency cycle: ${cycle.join(' -> ')} -> ${cycle[0]}` });
  }
  const tasks: NewWorkflowTask[] = [];
  input.tasks.forEach((t, i) => {
    const spec = t.task ?? {};
    if (spec.namespace && spec.namespace !== namespace) {
      v.push({ field: `workflow.tasks[${i}].task.namespace`, description: `must be empty or the workflow's namespace "${namespace}"` });
    }
    try {
      tasks.push({ name: t.name, dependsOn: [...new Set(t.dependsOn)], task: validateTaskSpec({ ...spec, namespace }, `workflow.tasks[${i}].task`, limits, now) });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      v.push(...e.violations);
    }
  });
  if (v.length > 0) throw DomainError.invalid(v);
  return { namespace, name, failurePolicy: input.failurePolicy ?? 'FAIL_FAST', tasks };
}

/**
 * A cycle among `tasks` (edges parent → child from depends_on), as its members in
 * order starting from the smallest name; undefined when the graph is acyclic.
 */
export function findCycle(tasks: { name: string; dependsOn: string[] }[]): string[] | undefined {
  const children = new Map<string, string[]>(tasks.map((t) => [t.name, []]));
  for (const t of tasks) for (const d of t.dependsOn) children.get(d)?.push(t.name);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    path.push(n);
    for (const c of children.get(n) ?? []) {
      if (state.get(c) === 'open') return rotate(path.slice(path.indexOf(c)));
      if (!state.has(c)) {
        const found = visit(c);
        if (found) return found;
      }
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const t of [...tasks].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!state.has(t.name)) {
      const found = visit(t.name);
      if (found) return found;
    }
  }
  return undefined;
}

function rotate(cycle: string[]): string[] {
  let min = 0;
  cycle.forEach((n, i) => {
    if (n < (cycle[min] as string)) min = i;
  });
  return [...cycle.slice(min), ...cycle.slice(0, min)];
}

/** The status a workflow ends in, from its tasks' terminal states. */
export function workflowOutcome(statuses: TaskStatus[], cancelled: boolean): WorkflowStatus {
  if (cancelled) return 'CANCELLED';
  return statuses.every((s) => s === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED';
}
