/**
 * The static checks of the repository, on one TypeScript program built once (test/support/static-checks.mjs, run in a
 * child process: ESLint and prettier load their configuration with import(), which jest's module registry does not
 * support):
 * - the type check: the suite transpiles each file without type checking (fast on 2-core CI), so this is where
 *   `npm test` fails on a type error (the same diagnostics as `tsc --noEmit -p tsconfig.json`);
 * - the ```ts examples in the doc comments of constructs/, type-checked in the same program against the layer's
 *   exports (an example that drifts from the API fails here, naming its file and line);
 * - ESLint (eslint.config.mjs: typescript-eslint's type-aware rules), given that program;
 * - prettier's format check (.prettierrc.json), and no line of code over 140 characters once formatted
 *   (test/support/format-check.mjs, in a process of its own started first: prettier on a small heap, beside the type check).
 * Each step keeps what it learnt in node_modules/.cache/gpufleet/, so a run checks again only what changed (a clean
 * clone checks everything). `npm run lint` and `npm run format` run ESLint and prettier alone.
 */
import { spawnSync } from 'child_process';
import { resolve } from 'path';

interface Report {
  typecheck: string[];
  docExamples: { count: number; problems: string[] };
  lint: { files: number; problems: string[] };
  format: { files: number; unformatted: string[]; longLines: string[] };
  cpu: Record<string, number>;
}

const root = resolve(__dirname, '..');
let report: Report;

beforeAll(() => {
  // a larger young generation: the checker and ESLint allocate short-lived objects by the million, and with the default
  // semi-space the garbage collector took about a tenth of the run's CPU time (clean clone)
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', resolve(__dirname, 'support', 'static-checks.mjs')], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`test/support/static-checks.mjs failed (exit ${r.status}):\n${r.stderr}`);
  report = JSON.parse(r.stdout) as Report;
}, 600_000);

test('the repository type-checks (tsc --noEmit)', () => {
  expect(report.typecheck).toEqual([]);
});

test('every ```ts example in constructs/ type-checks', () => {
  expect(report.docExamples.count).toBeGreaterThanOrEqual(6);
  expect(report.docExamples.problems).toEqual([]);
});

test('eslint reports nothing (eslint.config.mjs)', () => {
  expect(report.lint.files).toBeGreaterThan(100);
  expect(report.lint.problems).toEqual([]);
});

test('every file is formatted (prettier)', () => {
  expect(report.format.files).toBeGreaterThan(100);
  expect(report.format.unformatted).toEqual([]);
});

/**
 * Prettier wraps code at 140 columns but cannot wrap long strings, template literals and comments: those are split by
 * hand, and none is left. A line over 140 characters fails here, listed with its file and line.
 */
test('no line of code over 140 characters once formatted', () => {
  expect(report.format.longLines).toEqual([]);
});
