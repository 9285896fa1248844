import { v7 as uuidv7 } from 'uuid';
import { replayTaskOf, type DeadLetter } from '../domain/dead-letter.js';
import { DomainError, type FieldViolation } from '../domain/errors.js';
import { withOrigin, type Task } from '../domain/task.js';
import { ATTR, inSubmitSpan } from '../observability/spans.js';
import type { Base } from '../shared/base.js';
import { isUuid } from '../shared/is-uuid.js';
import type { Db } from '../storage/db.js';
import { deadLetterGet, deadLetterList, deadLetterMarkReplayed, deadLetterPurge } from '../storage/dead-letter-store.js';
import { workflowAdoptReplay } from '../storage/workflow-store.js';
import { taskGet, taskInsertMany } from '../storage/task-store.js';
import { checkId } from './check-id.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';
import type { ReadyHints } from './task-api.js';

/** Most ids one purge request may name. */
export const MAX_PURGE_IDS = 1000;

export interface DeadLetterListInput {
  namespace: string;
  type: string;
  queue: string;
  pageSize: number;
  pageToken: string;
}

export interface DeadLetterPurgeInput {
  namespace: string;
  /** These dead letters; when empty, every one created before `before`. */
  ids: string[];
  before: Date | undefined;
}

/** A replay's outcome: the dead letter, now marked replayed, and the fresh task. */
export interface Replayed {
  deadLetter: DeadLetter;
  task: Task;
}

/**
 * The apiserver's dead-letter operations, protocol-free: list, get, replay, purge. Every
 * request is one transaction and stays inside its namespace (empty = "default").
 */
export class DeadLetterApi {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; hints: Pick<ReadyHints, 'ready'> },
  ) {}

  /** Lists dead letters newest first, filtered by type and queue, one keyset page at a time. */
  async list(p: DeadLetterListInput): Promise<{ deadLetters: DeadLetter[]; nextPageToken: string }> {
    const limit = pageLimit(p.pageSize);
    const afterId = pageAfterId(p.pageToken);
    const found = await deadLetterList(this.opts.db.orm, {
      namespace: p.namespace || 'default', type: p.type || undefined, queue: p.queue || undefined, afterId, limit: limit + 1,
    });
    const { page, nextPageToken } = keysetPage(found, limit);
    return { deadLetters: page, nextPageToken };
  }

  /** One dead letter with its payload and every attempt. Throws `invalid` (id) or `not_found`. */
  async get(namespace: string, id: string): Promise<DeadLetter> {
    const key = checkId(id);
    const d = await deadLetterGet(this.opts.db.orm, { namespace: namespace || 'default', id: key });
    if (!d) throw notFound(id);
    return d;
  }

  /**
   * Submits a fresh task with the dead task's spec, linked to it by `replay_of`, and
   * marks the dead letter replayed — both or neither. Each dead letter is replayed at
   * most once: a second replay throws `failed_precondition` naming the first replay's
   * task. Throws `invalid` (id) or `not_found`.
   */
  async replay(namespace: string, id: string, correlationId?: string): Promise<Replayed> {
    const key = checkId(id);
    const ns = namespace || 'default';
    const now = new Date(this.base.clock.now());
    const r = await inSubmitSpan({ [ATTR.via]: 'replay' }, (traceContext) => this.opts.db.tx(async (tx): Promise<Replayed> => {
      const d = await deadLetterGet(tx, { namespace: ns, id: key });
      const original = d && (await taskGet(tx, { namespace: ns, id: d.taskId }));
      if (!d || !original) throw notFound(id);
      const fresh = replayTaskOf(original, uuidv7());
      // The compare-and-set comes first: a concurrent replay blocks on its row lock and
      // then finds it taken, so two replays can never both insert a task.
      if (!(await deadLetterMarkReplayed(tx, { id: d.id, replayedTaskId: fresh.id, now }))) {
        const cur = await deadLetterGet(tx, { namespace: ns, id: key });
        throw new DomainError('failed_precondition', `dead letter ${d.id} was already replayed as task ${cur?.replayedTaskId ?? d.replayedTaskId}`);
      }
      const [inserted] = await taskInsertMany(tx, { tasks: withOrigin([fresh], { correlationId: correlationId ?? null, traceContext }), now });
      if (!inserted) throw new Error(`replay of dead letter ${d.id}: task ${fresh.id} was not inserted`);
      // In a workflow the replay takes the original's place, and its downstream resumes.
      await workflowAdoptReplay(tx, { originalId: original.id, replayId: fresh.id, now });
      return { deadLetter: { ...d, replayedTaskId: fresh.id, replayedAt: now }, task: inserted.task };
    }));
    if (r.task.status === 'QUEUED') this.opts.hints.ready([r.task.queue]);
    return r;
  }

  /** Deletes dead letters (never their tasks) and returns how many. Throws `invalid` naming `ids[i]` or `before`. */
  async purge(p: DeadLetterPurgeInput): Promise<number> {
    const v: FieldViolation[] = [];
    if (p.ids.length > MAX_PURGE_IDS) v.push({ field: 'ids', description: `must have at most ${MAX_PURGE_IDS} entries` });
    p.ids.forEach((id, i) => {
      if (!isUuid(id)) v.push({ field: `ids[${i}]`, description: 'must be a UUID' });
    });
    if (p.before && Number.isNaN(p.before.getTime())) v.push({ field: 'before', description: 'is not a valid timestamp' });
    if (p.ids.length === 0 && !p.before) v.push({ field: 'before', description: 'is required when ids is empty' });
    if (v.length > 0) throw DomainError.invalid(v);
    const ids = p.ids.length > 0 ? p.ids.map((id) => id.toLowerCase()) : undefined;
    return this.opts.db.tx((tx) => deadLetterPurge(tx, { namespace: p.namespace || 'default', ids, before: p.before }));
  }
}


const notFound = (id: string): DomainError => new DomainError('not_found', `dead letter ${id} not found`);
