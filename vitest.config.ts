import { defineConfig } from 'vitest/config';

// CI also asks for a JSON report, to print one plain line with the counts at the end.
const report = process.env.KURA_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', 'json'] : ['default'],
    ...(report ? { outputFile: { json: report } } : {}),
    projects: [
      {
        // Pure logic, services against a fake node registry, the API and pages through inject:
        // no root, no lab, seconds (`npm run test:unit`).
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'tests/api/**/*.test.ts', 'tests/web/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        // Real Docker engines in the lab, and Chromium against a real panel (`npm run test:integration`).
        test: {
          name: 'integration',
          include: ['tests/nodes/**/*.test.ts', 'tests/browser/**/*.test.ts'],
          globalSetup: ['tests/setup/lab.ts'],
          // The node tests share a few real Docker engines; one file at a time keeps their figures honest.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
