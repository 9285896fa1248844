import { DomainError } from '../domain/errors.js';
import { validateTaskSpec, type SpecLimits, type TaskSpecInput } from '../domain/task-spec.js';
import type { NewTask, Task, TaskStatus } from '../domain/task.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { taskGet, taskInsertMany, taskList, type Inserted } from '../storage/task-store.js';

/** Tells the leader that work became ready; best effort, only cuts latency. */
export interface ReadyHints {
  ready(queues: string[]): void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BATCH = 10_000;

export interface ListInput {
  namespace: string;
  statuses: TaskStatus[];
  type: string;
  queue: string;
  workflowId: string;
  pageSize: number;
  pageToken: string;
}

/**
 * The apiserver's task operations, protocol-free. Every request is one transaction:
 * a batch is stored whole or not at all.
 */
export class TaskApi {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; limits: SpecLimits; hints: ReadyHints },
  ) {}

  /** Validates and stores `specs`; `field` names each spec in errors ("task", "tasks"). */
  async submit(specs: TaskSpecInput[], field: string, indexed: boolean): Promise<Inserted[]> {
    if (indexed && specs.length === 0) throw DomainError.invalid([{ field, description: 'must not be empty' }]);
    if (specs.length > MAX_BATCH) throw DomainError.invalid([{ field, description: `must have at most ${MAX_BATCH} tasks` }]);
    const now = this.base.clock.now();
    const tasks: NewTask[] = [];
    const violations = [];
    for (const [i, s] of specs.entries()) {
      try {
        tasks.push(validateTaskSpec(s, indexed ? `${field}[${i}]` : field, this.opts.limits, now));
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        violations.push(...e.violations);
      }
    }
    if (violations.length > 0) throw DomainError.invalid(violations);
    const inserted = await this.opts.db.tx((tx) => taskInsertMany(tx, { tasks, now: new Date(now) }));
    const ready = new Set(inserted.filter((r) => !r.existing && r.task.status === 'QUEUED').map((r) => r.task.queue));
    if (ready.size > 0) this.opts.hints.ready([...ready]);
    return inserted;
  }

  async get(namespace: string, id: string): Promise<Task> {
    if (!id) throw DomainError.invalid([{ field: 'id', description: 'is required' }]);
    if (!UUID.test(id)) throw DomainError.invalid([{ field: 'id', description: 'must be a UUID' }]);
    const t = await taskGet(this.opts.db.orm, { namespace: namespace || 'default', id: id.toLowerCase() });
    if (!t) throw new DomainError('not_found', `task ${id} not found`);
    return t;
  }

  async list(p: ListInput): Promise<{ tasks: Task[]; nextPageToken: string }> {
    const limit = p.pageSize || 100;
    if (limit < 1 || limit > 1000) throw DomainError.invalid([{ field: 'page_size', description: 'must be from 1 to 1000' }]);
    let afterId: string | undefined;
    if (p.pageToken) {
      afterId = Buffer.from(p.pageToken, 'base64url').toString();
      if (!UUID.test(afterId)) throw DomainError.invalid([{ field: 'page_token', description: 'is not a token this server issued' }]);
    }
    if (p.workflowId && !UUID.test(p.workflowId)) throw DomainError.invalid([{ field: 'workflow_id', description: 'must be a UUID' }]);
    const tasks = await taskList(this.opts.db.orm, {
      namespace: p.namespace || 'default', statuses: p.statuses, type: p.type || undefined, queue: p.queue || undefined,
      workflowId: p.workflowId || undefined, afterId, limit: limit + 1,
    });
    const more = tasks.length > limit;
    const page = more ? tasks.slice(0, limit) : tasks;
    const last = page[page.length - 1];
    return { tasks: page, nextPageToken: more && last ? Buffer.from(last.id).toString('base64url') : '' };
  }
}
