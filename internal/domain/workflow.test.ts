import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { DEFAULT_LIMITS } from './task-spec.js';
import { findCycle, validateWorkflow, type WorkflowSpecInput } from './workflow.js';

const limits = { ...DEFAULT_LIMITS, maxTasks: 100, maxEdges: 200 };
const wf = (tasks: [string, string[]][]): WorkflowSpecInput => ({
  name: 'w', tasks: tasks.map(([name, dependsOn]) => ({ name, dependsOn, task: { type: 'noop' } })),
});
const messages = (input: WorkflowSpecInput): string[] => {
  try {
    validateWorkflow(input, limits, 0);
    return [];
  } catch (e) {
    return (e as DomainError).violations.map((x) => `${x.field}: ${x.description}`);
  }
};

describe('validateWorkflow', () => {
  it('accepts a diamond', () => {
    const w = validateWorkflow(wf([['a', []], ['b', ['a']], ['c', ['a']], ['d', ['b', 'c']]]), limits, 0);
    expect(w.tasks.map((t) => [t.name, t.dependsOn])).toEqual([['a', []], ['b', ['a']], ['c', ['a']], ['d', ['b', 'c']]]);
    expect(w.failurePolicy).toBe('FAIL_FAST');
  });

  it('names the members of a cycle in order', () => {
    expect(messages(wf([['c', ['b']], ['a', ['c']], ['b', ['a']]]))).toEqual(['workflow.tasks: dependency cycle: a -> b -> c -> a']);
    expect(findCycle([{ name: 'x', dependsOn: [] }, { name: 'y', dependsOn: ['x'] }])).toBeUndefined();
  });

  it('rejects unknown, duplicate and self dependencies, and duplicate names', () => {
    expect(messages(wf([['a', ['a']], ['b', ['zz']], ['a', []]]))).toEqual([
      'workflow.tasks[2].name: duplicates tasks[0] ("a")',
      'workflow.tasks[0].depends_on[0]: "a" is the task itself',
      'workflow.tasks[1].depends_on[0]: "zz" is not a task of this workflow',
    ]);
  });

  it('enforces the limits and validates each task with its path', () => {
    expect(messages(wf(Array.from({ length: 101 }, (_, i) => [`t${i}`, []])))).toEqual(['workflow.tasks: must have at most 100 tasks']);
    expect(messages({ tasks: [{ name: 'a', dependsOn: [], task: { type: '' } }] })).toEqual(['workflow.tasks[0].task.type: is required']);
    expect(messages({ tasks: [] })).toEqual(['workflow.tasks: must not be empty']);
  });
});
