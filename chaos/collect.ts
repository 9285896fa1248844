import type pg from 'pg';

/** A task as the checks read it from Postgres. */
export interface TaskRow {
  id: string;
  type: string;
  status: string;
  /** Dispatches so far (tasks.attempt). */
  attempt: number;
  idempotencyKey: string | null;
  output: unknown;
  error: { kind?: string; message?: string } | null;
  checkpoint: unknown;
  checkpointVersion: number;
}

/** An attempt as the checks read it from Postgres. */
export interface AttemptRow {
  taskId: string;
  number: number;
  workerId: string;
  status: string;
  /** error->>'kind', e.g. `worker_lost`, `timeout`, `handler`. */
  kind: string | null;
  message: string | null;
  epoch: number;
  /** Wall-clock ms, with the microseconds Postgres keeps as a fraction. */
  startedAt: number;
  endedAt: number | null;
}

/** Everything the checks look at, read once after the drain. */
export interface Snapshot {
  tasks: TaskRow[];
  attempts: AttemptRow[];
  /** The epoch in the `leadership` row. */
  leadershipEpoch: number;
}

/** Reads every task and attempt of the run's database (it holds nothing else). */
export async function collectSnapshot(sql: pg.Pool): Promise<Snapshot> {
  const tasks = await sql.query<TaskRow>(
    `select id, type, status, attempt, idempotency_key as "idempotencyKey", output, error, checkpoint,
            checkpoint_version as "checkpointVersion"
     from tasks`,
  );
  const attempts = await sql.query<AttemptRow>(
    `select task_id as "taskId", number, worker_id as "workerId", status, error->>'kind' as kind, error->>'message' as message,
            epoch, extract(epoch from started_at)::float8 * 1000 as "startedAt", extract(epoch from ended_at)::float8 * 1000 as "endedAt"
     from attempts order by task_id, number`,
  );
  const lead = await sql.query<{ epoch: number }>('select epoch from leadership where id = 1');
  return { tasks: tasks.rows, attempts: attempts.rows, leadershipEpoch: lead.rows[0]?.epoch ?? 0 };
}
