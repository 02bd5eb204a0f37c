import type { TestProject } from 'vitest/node';
import { RedisCluster } from '../../bench/redisCluster.js';
import { ensureSystemPackages } from './systemPackages.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Seed nodes (host:port,…) of the Redis Cluster the cluster-rc project's nodes share. */
    redisCluster: string;
  }
}

/**
 * The Redis Cluster of the `cluster-rc` project: the one FOYER_TEST_REDIS_CLUSTER
 * names (seed nodes of a running cluster: CI may start one), else one of this
 * run's own (3 masters on free local ports, stopped at the end), so that
 * `npm test` needs nothing started beforehand. Runs never collide: each
 * test cluster uses a key and channel prefix of its own.
 */
export default async function setup(project: TestProject) {
  const given = process.env.FOYER_TEST_REDIS_CLUSTER;
  if (given) {
    project.provide('redisCluster', given);
    return;
  }
  await ensureSystemPackages([
    { pkg: 'redis-server', bin: '/usr/bin/redis-server', neededBy: 'the cluster tests on a Redis Cluster (cluster-rc)' },
    { pkg: 'redis-tools', bin: '/usr/bin/redis-cli', neededBy: 'the cluster tests on a Redis Cluster (cluster-rc)' },
  ]);
  const rc = await RedisCluster.start(3);
  project.provide('redisCluster', rc.seeds);
  return () => rc.destroy();
}
