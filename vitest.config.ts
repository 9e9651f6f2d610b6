import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/lab.ts'],
    // The node tests share a few real Docker engines; one file at a time keeps their figures honest.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // CI also asks for a JSON report, to print one plain line with the counts at the end.
    reporters: process.env.KURA_TEST_REPORT ? ['default', 'json'] : ['default'],
    ...(process.env.KURA_TEST_REPORT ? { outputFile: { json: process.env.KURA_TEST_REPORT } } : {}),
  },
});
