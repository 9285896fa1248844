import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import {
  ListSchedulesResponseSchema, ScheduleSchema, TriggerScheduleResponseSchema, type Schedule,
} from '../../../gen/taskd/v1/schedule_service_pb.js';
import { WorkflowSpecSchema } from '../../../gen/taskd/v1/workflow_service_pb.js';
import { action } from '../action.js';
import { parseInteger } from '../arg-parsers.js';
import { usageError } from '../cli-error.js';
import type { CliIo } from '../cli-io.js';
import { addPagingFlags, fetchPages, hintMore, type PageFlags } from '../paging.js';
import { addScheduleFlags, applyScheduleFlags, type ScheduleFlags } from '../schedule-flags.js';
import type { Session } from '../session.js';
import { readSpecFile } from '../spec-file.js';
import { readPayload } from '../task-spec-flags.js';
import { timeText } from '../views/format.js';
import { fireText, scheduleDetails, schedulesTable } from '../views/schedule-view.js';

const printSchedule = (s: Session, sc: Schedule, summary?: string): void =>
  s.out.print(ScheduleSchema, sc, { table: () => summary ?? scheduleDetails(sc), ids: () => [sc.id] });

const EXAMPLES = `
Examples:
  taskctl schedules create --name nightly-report --cron "30 2 * * *" --tz Europe/Berlin \\
      --task-type report --payload '{"kind":"daily"}' --max-attempts 5
  taskctl schedules create --file schedule.yaml     # a Schedule in YAML/JSON (body of POST /v1/schedules)
`;

/** Adds `schedules create|get|list|update|pause|resume|trigger|delete` to `program`. */
export function addScheduleCommands(program: Command, io: CliIo): void {
  const sch = program.command('schedules').alias('schedule').summary('manage cron schedules').description('Cron schedules: each fire time creates one task or workflow run.');
  addCreateAndUpdate(sch, io);
  addReadsAndActions(sch, io);
}

/** create, update: the commands that take the schedule flags. */
function addCreateAndUpdate(sch: Command, io: CliIo): void {
  addScheduleFlags(sch.command('create').summary('create a schedule from flags or a file').description(
    'Create a schedule. From flags, or from --file (a Schedule in YAML/JSON) with flags overriding its fields.',
  ))
    .option('--file <path>', 'a Schedule in YAML or JSON ("-" reads stdin)')
    .option('--paused', 'create it paused')
    .addHelpText('after', EXAMPLES)
    .action(action<ScheduleFlags & { file?: string; paused?: boolean }>(io, async (s, _a, o) => {
      const base = o.file !== undefined ? await readSpecFile(ScheduleSchema, o.file, s.io) : create(ScheduleSchema);
      const workflow = o.workflowFile !== undefined ? await readSpecFile(WorkflowSpecSchema, o.workflowFile, s.io) : undefined;
      const { schedule } = applyScheduleFlags(base, o, await readPayload(o, s.io), workflow);
      if (o.paused) schedule.paused = true;
      if (s.conn.namespace) schedule.namespace = s.conn.namespace;
      const sc = (await s.api.schedules.createSchedule({ schedule }, s.call)).schedule as Schedule;
      printSchedule(s, sc, `created schedule ${sc.id}; next fire ${scheduleNext(sc)}\n`);
    }));

  addScheduleFlags(sch.command('update').summary('change a schedule').description(
    'Change the fields given by flags (task flags edit the task template). Uses the version just read as the etag unless --if-version is given; a stale one exits 8.',
  ).argument('<id>', 'schedule id'))
    .option('--if-version <n>', 'change only if the schedule is still at this version (etag)')
    .action(action<ScheduleFlags & { ifVersion?: string }>(io, async (s, [id], o) => {
      const cur = (await s.api.schedules.getSchedule({ id, namespace: s.conn.namespace }, s.call)).schedule as Schedule;
      const workflow = o.workflowFile !== undefined ? await readSpecFile(WorkflowSpecSchema, o.workflowFile, s.io) : undefined;
      const { schedule, mask } = applyScheduleFlags(cur, o, await readPayload(o, s.io), workflow);
      if (mask.length === 0) throw usageError('nothing to change: give at least one flag');
      if (o.ifVersion !== undefined) schedule.version = BigInt(parseInteger(o.ifVersion, '--if-version'));
      const sc = (await s.api.schedules.updateSchedule({ schedule, updateMask: { paths: mask } }, s.call)).schedule as Schedule;
      printSchedule(s, sc, `updated schedule ${sc.id} (${mask.join(', ')}); version ${sc.version}\n`);
    }));
}

/** get, list, pause, resume, trigger, delete. */
function addReadsAndActions(sch: Command, io: CliIo): void {
  sch.command('get').summary('show a schedule with its next fire times').argument('<id>', 'schedule id')
    .action(action(io, async (s, [id]) => printSchedule(s, (await s.api.schedules.getSchedule({ id, namespace: s.conn.namespace }, s.call)).schedule as Schedule)));

  addPagingFlags(sch.command('list').summary('list schedules').description('List schedules, newest first.'))
    .action(action<PageFlags>(io, async (s, _a, o) => {
      const page = await fetchPages(async (pageSize, pageToken) => {
        const r = await s.api.schedules.listSchedules({ namespace: s.conn.namespace, pageSize, pageToken }, s.call);
        return { items: r.schedules, next: r.nextPageToken };
      }, o);
      s.out.print(ListSchedulesResponseSchema, create(ListSchedulesResponseSchema, { schedules: page.items, nextPageToken: page.next }), {
        table: () => schedulesTable(page.items), ids: () => page.items.map((x) => x.id),
      });
      if (s.out.format === 'table') hintMore(s.io.stderr, page.next);
    }));


  sch.command('pause').summary('stop firing (missed fire times are never run)').argument('<id>', 'schedule id')
    .action(action(io, async (s, [id]) => {
      const sc = (await s.api.schedules.pauseSchedule({ id, namespace: s.conn.namespace }, s.call)).schedule as Schedule;
      printSchedule(s, sc, `paused schedule ${sc.id}\n`);
    }));

  sch.command('resume').summary('fire again from the next fire time').argument('<id>', 'schedule id')
    .action(action(io, async (s, [id]) => {
      const sc = (await s.api.schedules.resumeSchedule({ id, namespace: s.conn.namespace }, s.call)).schedule as Schedule;
      printSchedule(s, sc, `resumed schedule ${sc.id}; next fire ${scheduleNext(sc)}\n`);
    }));

  sch.command('trigger').summary('create a run now').description('Create a run now (a manual fire), paused or not, whatever the overlap policy.')
    .argument('<id>', 'schedule id')
    .action(action(io, async (s, [id]) => {
      const r = await s.api.schedules.triggerSchedule({ id, namespace: s.conn.namespace }, s.call);
      const runId = r.fire?.taskId || r.fire?.workflowId || '';
      s.out.print(TriggerScheduleResponseSchema, r, { table: () => `${fireText(r.fire)}\n`, ids: () => (runId ? [runId] : []) });
    }));

  sch.command('delete').summary('delete a schedule (its runs stay)').argument('<id>', 'schedule id')
    .action(action(io, async (s, [id]) => {
      await s.api.schedules.deleteSchedule({ id, namespace: s.conn.namespace }, s.call);
      if (s.out.format === 'json') s.out.text('{}\n');
      else if (s.out.format === 'table') s.out.text(`deleted schedule ${id}\n`);
    }));
}

const scheduleNext = (sc: Schedule): string => timeText(sc.nextFireTimes[0]) || '(none)';
