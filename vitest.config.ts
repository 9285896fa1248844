import { defineConfig } from 'vitest/config';
import { SummaryLineReporter } from './test/summary-reporter.js';

const UNIT_DIRS = ['internal', 'cmd', 'test', 'bench'];
const ALWAYS_EXCLUDED = ['**/node_modules/**', '**/dist/**'];

/**
 * One `vitest run` runs both projects:
 * - `unit`: `*.test.ts` beside the code, no external services.
 * - `int`: `*.int.test.ts` against real Postgres and Redis started by
 *   test/global-setup.ts. Files run one at a time (the machine has 2 cores and
 *   the tests spawn multi-process stacks), after the unit project has finished,
 *   so they never compete with unit tests for CPU.
 * The group orders are 1 and 2, not 0 and 1: vitest moves order-0 projects that
 * have one worker (its default on 2 cores) into a trailing group, which would
 * run the unit files after the int files.
 * The run ends with a plain `Tests: N passed, N failed, N skipped` line.
 */
export default defineConfig({
  test: {
    reporters: ['default', new SummaryLineReporter()],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_DIRS.map((dir) => `${dir}/**/*.test.ts`),
          exclude: [...ALWAYS_EXCLUDED, '**/*.int.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: ['**/*.int.test.ts'],
          exclude: ALWAYS_EXCLUDED,
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
