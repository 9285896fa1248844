import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { ClusterService, GetClusterResponseSchema, type GetClusterResponse } from '../../gen/taskd/v1/cluster_service_pb.js';
import { DomainError } from '../domain/errors.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/db.js';
import { queueDepths } from '../storage/cluster-store.js';
import { queueToPb } from './convert/cluster.js';

const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * ClusterService on the apiserver: the leader's view (asked over the internal link;
 * absent while no leader answers) plus queue depths read from Postgres.
 */
export function clusterServiceImpl(opts: { db: Db; clock: Clock; leaderView: () => Promise<GetClusterResponse | undefined> }): ServiceImpl<typeof ClusterService> {
  return {
    async getCluster(req) {
      const namespace = req.namespace || 'default';
      if (!NAMESPACE.test(namespace)) throw DomainError.invalid([{ field: 'namespace', description: 'is not a valid namespace' }]);
      const [view, queues] = await Promise.all([
        opts.leaderView(),
        queueDepths(opts.db.orm, { namespace, now: new Date(opts.clock.now()) }),
      ]);
      const out = view ?? create(GetClusterResponseSchema, {});
      out.queues = queues.map(queueToPb);
      return out;
    },
  };
}
