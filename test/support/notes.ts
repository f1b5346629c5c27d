/**
 * What a test run did not check, collected for the run's summary instead of printed where it happens:
 * skipped tests with their reason (`describeIf` / `testIf`), tests that ran on weaker input than they
 * are written for (`noteReduced`), and objects `validateObjects` left unvalidated with the reason.
 * `test/support/summary-reporter.js` prints them once, after the results.
 *
 * Notes are JSON lines in the folder `GPUFLEET_TEST_NOTES` (made by test/support/global-setup.js, one
 * per run, one file per jest worker process). Without that folder (jest started with another
 * configuration) a note is printed with `console.warn` where it happens, so nothing goes unsaid.
 */
import * as fs from 'fs';
import * as path from 'path';

export type Note =
  | { readonly kind: 'skip'; readonly scope: string; readonly reason: string }
  | { readonly kind: 'unvalidated'; readonly object: string; readonly reason: string }
  | { readonly kind: 'reduced'; readonly scope: string; readonly reason: string };

/** The test file that is running (relative to the repository), or '?' outside a test file. */
function currentTestFile(): string {
  const testPath = typeof expect === 'function' ? expect.getState().testPath : undefined;
  return testPath
    ? path
        .relative(path.resolve(__dirname, '..', '..'), testPath)
        .split(path.sep)
        .join('/')
    : '?';
}

/** Records notes for the run's summary; `fallback` is what to print when there is no summary to go to. */
export function recordNotes(notes: readonly Note[], fallback: () => string): void {
  if (notes.length === 0) return;
  const dir = process.env.GPUFLEET_TEST_NOTES;
  if (!dir || !fs.existsSync(dir)) {
    console.warn(fallback());
    return;
  }
  const file = currentTestFile();
  fs.appendFileSync(path.join(dir, `${process.pid}.jsonl`), notes.map((n) => `${JSON.stringify({ file, ...n })}\n`).join(''));
}

/**
 * `describe` when `condition` holds; otherwise `describe.skip`, and the block's title with `reason`
 * goes into the run's summary. Usage: `describeIf(haveShared, `${dir} is absent`)('CRD checks', () => …)`.
 */
export function describeIf(condition: boolean, reason: string): jest.Describe {
  if (condition) return describe;
  return ((name: string, fn: () => void) => {
    recordNotes([{ kind: 'skip', scope: name, reason }], () => `skipped "${name}": ${reason}`);
    describe.skip(name, fn);
  }) as jest.Describe;
}

/** `test` when `condition` holds; otherwise `test.skip`, and the test's title with `reason` goes into the run's summary. */
export function testIf(condition: boolean, reason: string): jest.It {
  if (condition) return test;
  return ((name: string, fn?: jest.ProvidesCallback, timeout?: number) => {
    recordNotes([{ kind: 'skip', scope: name, reason }], () => `skipped "${name}": ${reason}`);
    test.skip(name, fn, timeout);
  }) as jest.It;
}

/**
 * A test that runs, but on weaker input than it is written for (e.g. estimated throughput because the
 * measured profiles in ../shared are absent): the test's title and `reason` go into the run's summary.
 */
export function noteReduced(reason: string): void {
  const scope = typeof expect === 'function' ? (expect.getState().currentTestName ?? '?') : '?';
  recordNotes([{ kind: 'reduced', scope, reason }], () => `${scope}: ${reason}`);
}
