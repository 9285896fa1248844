import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { ClusterService, GetClusterResponseSchema, type GetClusterResponse } from '../../gen/taskd/v1/cluster_service_pb.js';
import { DomainError } from '../domain/errors.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/db.js';
import { queueDepths } from '../storage/cluster-store.js';
import { queueToPb } from './convert/cluster.js';
import { allowsAllNamespaces } from '../auth/identity.js';
import { identityOf } from './identity-context.js';

const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * ClusterService on the apiserver: the leader's view (asked over the internal link;
 * absent while no leader answers) plus queue depths read from Postgres. The caller sees
 * the queues of the namespace it asks about (the auth interceptor checked it may) and
 * only the workers serving that namespace; a caller limited to some namespaces sees as
 * leases only what those workers run.
 */
export function clusterServiceImpl(opts: { db: Db; clock: Clock; leaderView: () => Promise<GetClusterResponse | undefined> }): ServiceImpl<typeof ClusterService> {
  return {
    async getCluster(req, ctx) {
      const namespace = req.namespace || 'default';
      if (!NAMESPACE.test(namespace)) throw DomainError.invalid([{ field: 'namespace', description: 'is not a valid namespace' }]);
      const [view, queues] = await Promise.all([
        opts.leaderView(),
        queueDepths(opts.db.orm, { namespace, now: new Date(opts.clock.now()) }),
      ]);
      const out = view ?? create(GetClusterResponseSchema, {});
      out.workers = out.workers.filter((w) => w.namespaces.includes('*') || w.namespaces.includes(namespace));
      if (!allowsAllNamespaces(identityOf(ctx))) out.leases = out.workers.reduce((n, w) => n + w.running, 0);
      out.queues = queues.map(queueToPb);
      return out;
    },
  };
}
