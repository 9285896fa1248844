import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * vitest reporter that ends a run with one plain line,
 * `Tests: N passed, N failed, N skipped`, the closing line CI reads to count
 * tests (vitest's own summary has another shape). A file that failed outside
 * any test (an import error, a failing hook) and each unhandled error count as
 * one failure each.
 */
export class SummaryLineReporter implements Reporter {
  /** Prints the summary line to stdout. */
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const mod of modules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      failed += failedHere > 0 ? failedHere : mod.state() === 'failed' ? 1 : 0;
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
