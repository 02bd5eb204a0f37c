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
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      ...transports.map((t) => ({
        extends: true as const,
        test: { name: t, include: ['test/integration/**/*.test.ts'], env: { FOYER_TRANSPORT: t } },
      })),
    ],
  },
});
