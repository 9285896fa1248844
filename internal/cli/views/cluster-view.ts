import type { GetClusterResponse } from '../../../gen/taskd/v1/cluster_service_pb.js';
import { renderFields, renderTable } from '../table.js';
import { ageText, durationText, labelsText, timeText } from './format.js';

/** The cluster: leader and leases, then tables of schedulers, workers and queues. */
export function clusterView(c: GetClusterResponse, now: number): string {
  const l = c.leader;
  const head = renderFields([
    ['Leader', l ? `${l.address} (epoch ${l.epoch}, since ${timeText(l.since)}, ${ageText(l.since, now)})` : 'none known'],
    ['Leases', String(c.leases)],
    ['Workers', `${c.workers.length} (${c.workers.reduce((n, w) => n + w.running, 0)}/${c.workers.reduce((n, w) => n + w.slots, 0)} slots busy)`],
  ]);
  const schedulers = renderTable(
    ['SCHEDULER', 'LEADER', 'LAST SEEN'],
    c.schedulers.map((s) => [s.address, s.leader ? 'yes' : '', s.lastSeen ? `${ageText(s.lastSeen, now)} ago` : '']),
    'No schedulers.',
  );
  const workers = renderTable(
    ['WORKER', 'RUNNING', 'SLOTS', 'CREDITS', 'QUEUES', 'TYPES', 'IDLE', 'STATE', 'LABELS'],
    c.workers.map((w) => [
      w.workerId, String(w.running), String(w.slots), String(w.credits), w.queues.join(','), w.taskTypes.join(','),
      durationText(w.idle), w.draining ? 'draining' : 'ready', labelsText(w.labels),
    ]),
    'No workers.',
  );
  const queues = renderTable(
    ['QUEUE', 'PENDING', 'QUEUED', 'RUNNING', 'OLDEST READY'],
    c.queues.map((q) => [q.queue, String(q.pending), String(q.queued), String(q.running), durationText(q.oldestReadyAge)]),
    'No queues with tasks.',
  );
  return [head, schedulers, workers, queues].join('\n');
}
