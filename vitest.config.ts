import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Integration tests run once per transport: the whole suite must hold on both.
const transports = ['uws', 'ws'] as const;

export default defineConfig({
  resolve: {
    alias: {
      '@foyer/shared': src('./shared/src/index.ts'),
      '@foyer/client-sdk': src('./client-sdk/src/index.ts'),
      '@foyer/server/config': src('./server/src/config.ts'),
    },
  },
  test: {
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      ...transports.map((t) => ({
        extends: true as const,
        test: { name: t, include: ['test/integration/**/*.test.ts'], env: { FOYER_TRANSPORT: t } },
      })),
      // Several node processes sharing one lobby through Redis (test/helpers/cluster.ts runs the built
      // server/dist/main.js: `npx tsc -b` first). Each file starts its own nodes (3 processes), so files run
      // one at a time, after the other projects.
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      // The C# client (csharp/), built with Mono and run against an in-process node; once, on uws (the transports are covered above).
      {
        extends: true,
        test: {
          name: 'csharp',
          include: ['test/csharp/**/*.test.ts'],
          env: { FOYER_TRANSPORT: 'uws' },
          globalSetup: ['test/csharp/globalSetup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // The same cluster tests with the nodes on a Redis Cluster (3 masters: sharded pub/sub, hash-tagged keys)
      // instead of one Redis: test/setup/redisCluster.ts starts one for the run (or takes FOYER_TEST_REDIS_CLUSTER's).
      // After the single-Redis run, so that no more than one file's nodes run at a time.
      {
        extends: true,
        test: {
          name: 'cluster-rc',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/setup/redisCluster.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      // The lobby page in headless Chromium against an in-process node (uws only: the transports are covered above).
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env: { FOYER_TRANSPORT: 'uws' },
          globalSetup: ['test/e2e/globalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
