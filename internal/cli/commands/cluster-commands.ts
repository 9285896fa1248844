import type { Command } from 'commander';
import { GetClusterResponseSchema } from '../../../gen/taskd/v1/cluster_service_pb.js';
import { action } from '../action.js';
import type { CliIo } from '../cli-io.js';
import { clusterView } from '../views/cluster-view.js';

/** Adds `cluster status` to `program`. */
export function addClusterCommands(program: Command, io: CliIo): void {
  const cluster = program.command('cluster').summary('show the cluster').description('The scheduler leader, schedulers, workers and queue depths.');
  cluster.command('status').summary('leader, schedulers, workers and queue depths').description(
    "Show the leader and its epoch, the schedulers, every connected worker's load, and the namespace's queue depths.",
  ).action(action(io, async (s) => {
    const c = await s.api.cluster.getCluster({ namespace: s.conn.namespace }, s.call);
    s.out.print(GetClusterResponseSchema, c, { table: () => clusterView(c, s.now()), ids: () => c.workers.map((w) => w.workerId) });
  }));
}
