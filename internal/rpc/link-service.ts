import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { DescribeResponseSchema, LinkResponseSchema, LinkService, type LinkRequest } from '../../gen/taskd/internal/v1/link_pb.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { clusterToPb } from './convert/cluster.js';

/**
 * LinkService.Link on a scheduler: apiservers send ready hints, which kick the
 * leader's dispatch, and schedule hints, which wake its schedule runner. On a passive
 * scheduler, or when the term ends, the stream ends UNAVAILABLE naming the leader, and
 * the apiserver re-links.
 */
export function linkServiceImpl(scheduler: Scheduler): ServiceImpl<typeof LinkService> {
  return {
    async *link(requests: AsyncIterable<LinkRequest>, ctx: HandlerContext) {
      const d = scheduler.active();
      if (!d) {
        const leader = await scheduler.leader();
        yield create(LinkResponseSchema, { epoch: BigInt(leader?.epoch ?? 0), leaderAddress: leader?.address ?? '' });
        throw new ConnectError(`not the leader; leader is ${leader?.address || 'unknown'}`, Code.Unavailable);
      }
      yield create(LinkResponseSchema, { epoch: BigInt(d.epoch) });
      const reading = (async () => {
        for await (const r of requests) {
          if (r.msg.case === 'ready') d.hint(r.msg.value.queues);
          else if (r.msg.case === 'due') d.dueAt(Number(r.msg.value.runAtMs));
          else if (r.msg.case === 'cancel') d.cancelled(r.msg.value.taskId, r.msg.value.attempt);
          else if (r.msg.case === 'schedule') scheduler.scheduleChanged();
        }
      })();
      const clientDone = reading.then(() => 'client' as const, () => 'client' as const);
      const why = await Promise.race([clientDone, d.ended.then(() => 'term' as const)]);
      if (why === 'term' && !ctx.signal.aborted) throw new ConnectError('leadership ended', Code.Unavailable);
    },
    async describe() {
      const view = await scheduler.describe();
      if (!view) {
        const leader = await scheduler.leader();
        throw new ConnectError(`not the leader; leader is ${leader?.address || 'unknown'}`, Code.Unavailable);
      }
      return create(DescribeResponseSchema, { cluster: clusterToPb(view) });
    },
  };
}
