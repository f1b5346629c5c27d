/**
 * The suite transpiles each file without type checking (fast on 2-core CI); this test type-checks
 * the whole repository once, so `npm test` fails on any type error. Incremental: tsc keeps what it
 * learnt in node_modules/.cache/gpufleet/ and, on the next run, checks again only the files that
 * changed and those that depend on them (a clean clone checks everything).
 */
import { spawnSync } from 'child_process';
import { resolve } from 'path';

test('the repository type-checks (tsc --noEmit)', () => {
  const root = resolve(__dirname, '..');
  const tsc = require.resolve('typescript/bin/tsc');
  const buildInfo = resolve(root, 'node_modules', '.cache', 'gpufleet', 'typecheck.tsbuildinfo');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', buildInfo], { cwd: root, encoding: 'utf8' });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 300_000);
