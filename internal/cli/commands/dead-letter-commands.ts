import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Command } from 'commander';
import {
  DeadLetterSchema, ListDeadLettersResponseSchema, PurgeDeadLettersResponseSchema, ReplayDeadLetterResponseSchema, type DeadLetter,
} from '../../../gen/taskd/v1/dead_letter_service_pb.js';
import type { Task } from '../../../gen/taskd/v1/task_pb.js';
import { action } from '../action.js';
import { usageError } from '../cli-error.js';
import type { CliIo } from '../cli-io.js';
import { parseDuration, parseTime } from '../duration.js';
import { addPagingFlags, fetchPages, hintMore, type PageFlags } from '../paging.js';
import { deadLetterDetails, deadLettersTable } from '../views/dead-letter-view.js';

/** Adds `dead-letters list|get|replay|purge` to `program`. */
export function addDeadLetterCommands(program: Command, io: CliIo): void {
  const dl = program.command('dead-letters').alias('dlq').summary('inspect, replay and purge dead letters')
    .description('Tasks whose retries were exhausted: inspect, replay (a fresh linked task) or purge.');

  addPagingFlags(dl.command('list').summary('list dead letters').description('List dead letters, newest first.')
    .option('--type <type>', 'only this task type').option('--queue <queue>', 'only this queue'))
    .action(action<PageFlags & { type?: string; queue?: string }>(io, async (s, _a, o) => {
      const page = await fetchPages(async (pageSize, pageToken) => {
        const r = await s.api.deadLetters.listDeadLetters({ namespace: s.conn.namespace, type: o.type ?? '', queue: o.queue ?? '', pageSize, pageToken }, s.call);
        return { items: r.deadLetters, next: r.nextPageToken };
      }, o);
      s.out.print(ListDeadLettersResponseSchema, create(ListDeadLettersResponseSchema, { deadLetters: page.items, nextPageToken: page.next }), {
        table: () => deadLettersTable(page.items, s.now()), ids: () => page.items.map((d) => d.id),
      });
      if (s.out.format === 'table') hintMore(s.io.stderr, page.next);
    }));

  dl.command('get').summary('show a dead letter with every attempt').argument('<id>', 'dead letter id')
    .action(action(io, async (s, [id]) => {
      const d = (await s.api.deadLetters.getDeadLetter({ id, namespace: s.conn.namespace }, s.call)).deadLetter as DeadLetter;
      s.out.print(DeadLetterSchema, d, { table: () => deadLetterDetails(d, s.now()), ids: () => [d.id] });
    }));

  dl.command('replay').summary('submit a fresh task from a dead letter').description(
    'Submit a fresh task with the dead letter\'s spec, linked to the original (in a workflow it takes the original\'s place). Prints the new task.',
  ).argument('<id>', 'dead letter id')
    .action(action(io, async (s, [id]) => {
      const r = await s.api.deadLetters.replayDeadLetter({ id, namespace: s.conn.namespace }, s.call);
      const t = r.task as Task;
      s.out.print(ReplayDeadLetterResponseSchema, r, { table: () => `replayed ${id} as task ${t.id}\n`, ids: () => [t.id] });
    }));

  dl.command('purge').summary('delete dead letters (not their tasks)').description(
    'Delete the given dead letters, or every one created before --before / --older-than. Their tasks stay.',
  ).argument('[ids...]', 'dead letter ids')
    .option('--before <time>', 'every dead letter created before this ISO 8601 time')
    .option('--older-than <duration>', 'every dead letter older than this (e.g. 7d)')
    .action(action<{ before?: string; olderThan?: string }>(io, async (s, [ids], o) => {
      const list = (ids as unknown as string[] | undefined) ?? [];
      if (o.before !== undefined && o.olderThan !== undefined) throw usageError('--before and --older-than cannot be used together');
      const before = o.before !== undefined ? parseTime(o.before, '--before')
        : o.olderThan !== undefined ? new Date(s.now() - parseDuration(o.olderThan, '--older-than')) : undefined;
      if (list.length === 0 && before === undefined) throw usageError('name dead letter ids, or --before / --older-than');
      if (list.length > 0 && before !== undefined) throw usageError('give ids or a time bound, not both');
      const r = await s.api.deadLetters.purgeDeadLetters({
        namespace: s.conn.namespace, ids: list, ...(before ? { before: timestampFromDate(before) } : {}),
      }, s.call);
      s.out.print(PurgeDeadLettersResponseSchema, r, { table: () => `purged ${r.purged} dead letter${r.purged === 1 ? '' : 's'}\n`, ids: () => [] });
    }));
}
