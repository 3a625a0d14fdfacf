import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e suites start worker pools sized to the cores; run files one after another on small machines
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // a private temp directory for the run; fails it naming whatever a test left behind there or in runs/
    globalSetup: ['test/global-setup.ts'],
  },
});
