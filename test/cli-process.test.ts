/**
 * The real command: `node bin/gpufleet ...` runs the compiled JavaScript in lib/ (no ts-node), and says
 * exactly what the CLI's `main` says in-process (the cli-* tests run most cases that way) — same
 * stdout bytes, same stderr, same exit status — for a plan, a report, a usage error and an invalid
 * fleet. And how bin/gpufleet decides, in a checkout, that lib/ is stale and must be rebuilt.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ONE_SHOT_V8_FLAGS } from '../bin/lib/main';
import { REPO, runCli, runCliProcess, SMALL_FLEET, tempDir, tempFile } from './cli-fixtures/run-cli';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const build = require('../scripts/build.js') as {
  staleness(root?: string): { reason: string; clean: boolean; removed?: string[] } | undefined;
  sourceFiles(root?: string): string[];
  STAMP_NAME: string;
};

describe('bin/gpufleet (compiled) says what main says in-process', () => {
  test.each([
    ['plan --json', ['plan', SMALL_FLEET, '--json']],
    ['plan (summary table)', ['plan', SMALL_FLEET]],
    ['report --out -', ['report', SMALL_FLEET, '--out', '-']],
    ['--version', ['--version']],
    ['plan --help', ['plan', '--help']],
    ['a usage error', ['plna', SMALL_FLEET]],
    ['a missing fleet file', ['plan', 'no/such/fleet.yaml']],
  ])('%s', async (_what, args) => {
    const real = runCliProcess(args);
    const inProcess = await runCli(args);
    expect(real).toEqual(inProcess);
    expect(real.stdout.length + real.stderr.length).toBeGreaterThan(0);
  });

  test('an invalid fleet: exit 2, one line per problem, no stack trace, nothing on stdout', async () => {
    const fleet = tempFile('bad.fleet.yaml', fs.readFileSync(SMALL_FLEET, 'utf8').replace(/rps: [\d.]+/, 'rps: -5'));
    const r = runCliProcess(['plan', fleet, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^models\[\d+\]\.rps: expected a number > 0, got -5\n$/);
    expect(r).toEqual(await runCli(['plan', fleet, '--json']));
  });

  test('the V8 flags of the one-shot commands are known to this Node.js (V8 ignores an unknown flag set at run time)', () => {
    expect(ONE_SHOT_V8_FLAGS.length).toBeGreaterThan(0);
    // on its command line, node refuses a flag it does not know: the check can fail
    const known = spawnSync(process.execPath, [...ONE_SHOT_V8_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect({ status: known.status, stderr: known.stderr }).toEqual({ status: 0, stderr: '' });
    const misspelt = spawnSync(process.execPath, ['--interrupt-budgets=262144', '-e', '0'], { encoding: 'utf8' });
    expect(misspelt.status).not.toBe(0);
    expect(misspelt.stderr).toContain('bad option');
  });

  test("the output does not depend on the user's locale (under da_DK, localeCompare sorts aa- after z-)", () => {
    const model = (name: string): string =>
      `  - { name: ${name}, team: search, rps: 10, latencySloMs: 100, memoryGiB: 1, ` +
      'profiles: [{ gpu: A100-80GB, slice: 1, batch: 1, instances: 1, throughput: 100, latencyMs: 5 }] }\n';
    const fleet = tempFile(
      'locale.fleet.yaml',
      `name: locale\ngpus:\n  - type: A100-80GB\nmodels:\n${model('bert-tiny')}${model('aa-tiny')}`,
    );
    const danish = runCliProcess(['plan', fleet, '--json'], { LC_ALL: 'da_DK.UTF-8', LANG: 'da_DK.UTF-8' });
    const plain = runCliProcess(['plan', fleet, '--json'], { LC_ALL: 'C', LANG: 'C' });
    expect(danish).toEqual(plain);
    // the two models share one slice, listed in code-unit order
    const plan = JSON.parse(plain.stdout) as { gpus: { slices: { models: { name: string }[] }[] }[] };
    const shared = plan.gpus.flatMap((g) => g.slices).filter((s) => s.models.length === 2);
    expect(shared.map((s) => s.models.map((m) => m.name))).toEqual([['aa-tiny', 'bert-tiny']]);
    expect(runCliProcess(['plan', fleet], { LC_ALL: 'da_DK.UTF-8', LANG: 'da_DK.UTF-8' })).toEqual(
      runCliProcess(['plan', fleet], { LC_ALL: 'C' }),
    );
  });

  test("runs from any folder: relative paths are the caller's", () => {
    const dir = tempDir();
    fs.copyFileSync(SMALL_FLEET, path.join(dir, 'mine.fleet.yaml'));
    const r = runCliProcess(['plan', 'mine.fleet.yaml', '--out', 'out/plan.json'], {}, dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'plan.json'), 'utf8')).fleet).toBe('payments-and-vision');
  });
});

describe('scripts/build.js: when lib/ is stale (bin/gpufleet and the test setup rebuild it then)', () => {
  /** A miniature checkout: two sources, the build configs, and a lib/ stamped after them. */
  function checkout(): string {
    const root = tempDir('gpufleet-build-');
    for (const f of ['constructs/a.ts', 'bin/lib/b.ts', 'tsconfig.json', 'tsconfig.build.json']) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), '');
    }
    fs.writeFileSync(path.join(root, 'bin', 'gpufleet'), ''); // the launcher is not a source
    fs.mkdirSync(path.join(root, 'lib'));
    const stamp = path.join(root, 'lib', build.STAMP_NAME);
    fs.writeFileSync(stamp, JSON.stringify({ files: build.sourceFiles(root) }));
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(stamp, later, later);
    return root;
  }

  test('fresh: the stamp names the same sources and is newer than all of them', () => {
    const root = checkout();
    expect(build.sourceFiles(root)).toEqual(['bin/lib/b.ts', 'constructs/a.ts', 'tsconfig.json', 'tsconfig.build.json']);
    expect(build.staleness(root)).toBeUndefined();
  });

  test('stale when a source or a tsconfig is newer than the build: an incremental rebuild', () => {
    for (const f of ['constructs/a.ts', 'tsconfig.build.json']) {
      const root = checkout();
      const later = new Date(Date.now() + 20_000);
      fs.utimesSync(path.join(root, f), later, later);
      expect(build.staleness(root)).toEqual({ reason: `${f} changed since the last build`, clean: false });
    }
  });

  test("stale when a source was added or deleted; the deleted one's output is to be removed", () => {
    const root = checkout();
    fs.writeFileSync(path.join(root, 'constructs', 'new.ts'), '');
    fs.rmSync(path.join(root, 'bin', 'lib', 'b.ts'));
    expect(build.staleness(root)).toEqual({
      reason: 'source files added or removed since the last build (+constructs/new.ts, -bin/lib/b.ts)',
      clean: false,
      removed: ['bin/lib/b.ts'],
    });
  });

  test('stale when lib/ was never built', () => {
    const root = checkout();
    fs.rmSync(path.join(root, 'lib'), { recursive: true });
    expect(build.staleness(root)).toEqual({ reason: 'lib/ has not been built', clean: true });
  });

  test("the repository's own lib/ is fresh during the run (test/support/global-setup.js built it)", () => {
    expect(build.staleness(REPO)).toBeUndefined();
  });
});
