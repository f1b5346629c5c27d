/**
 * Property tests at their full counts (`npm run bench -- properties`): `npm test` runs the first cases of each
 * seeded fast-check property (test/support/property-runs.ts); this runs the same test files with
 * GPUFLEET_PROPERTY_RUNS=full and prints, per test, its outcome, its wall time and the files' CPU time.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative, resolve } from 'path';

const REPO = resolve(__dirname, '..');
const FILES = ['test/planner-properties.test.ts', 'test/planner-migration-property.test.ts', 'test/k8s-serving-routes-property.test.ts'];

interface JestJson {
  numFailedTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    assertionResults: { fullName: string; status: string; duration: number | null }[];
  }[];
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-bench-properties-'));
  try {
    const out = join(dir, 'jest.json');
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--json', '--outputFile', out, '--silent', ...FILES], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, GPUFLEET_PROPERTY_RUNS: 'full', GPUFLEET_TEST_CPU: '1' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const result = JSON.parse(readFileSync(out, 'utf8')) as JestJson;
    for (const file of result.testResults) {
      console.log(`${relative(REPO, file.name)} (${((file.endTime - file.startTime) / 1000).toFixed(1)} s)`);
      for (const t of file.assertionResults)
        console.log(`  ${t.status.padEnd(6)} ${((t.duration ?? 0) / 1000).toFixed(1).padStart(6)} s  ${t.fullName}`);
    }
    // the summary reporter's CPU lines (stderr)
    for (const line of r.stderr.split('\n').filter((l) => /^CPU time|^ +[\d.]+ s {2}test\//.test(l))) console.log(line);
    console.log(`${FILES.length} files at full counts: ${result.numFailedTests} failed, ${wall.toFixed(1)} s wall`);
    if (r.status !== 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
