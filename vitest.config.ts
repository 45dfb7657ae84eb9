import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Tests start real processes (dbt, Evidence, Chromium): generous limits,
    // and files run in separate processes.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    // The fault suite (test/faults) prints its summary table at the end.
    reporters: ['default', './test/faults/summary-reporter.ts'],
  },
});
