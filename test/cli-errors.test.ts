/**
 * Failure paths of the gpufleet CLI (its `main` in-process, cli-fixtures/run-cli.ts): bad input exits 2
 * with one clear line per problem and writes nothing; an internal error exits 1 without a stack trace
 * unless GPUFLEET_DEBUG=1. The same failures through the compiled command: test/cli-process.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runCli, SMALL_FLEET, tempDir, tempFile } from './cli-fixtures/run-cli';

const BAD_FLEET = `
name: payments-and-vision
gpus:
  - type: A100-80GB
models:
  - name: resnet50
    team: vision
    rps: 353
    latencySloMs: 183
    memoryGiB: 1.0
    throughputPerGpu: 2582
  - name: bert-base
    team: search
    rps: 12
    latencySloMs: 50
    memoryGiB: 0.8
    throughputPerGpu: 900
  - name: fraud-xgb
    team: payments
    rps: 60
    latencySloMs: 50
    memoryGiB: 0.4
    throughputPerGpu: 4000
  - name: ranker
    team: Ads_Team
    rps: -5
    latencySloMs: 80
    memoryGiB: 3.2
    throughputPerGpu: 5200
    colour: red
`;

/** No stack trace and no raw exception text in what the user sees. */
function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  expect(stderr).not.toContain('FleetValidationError');
}

describe('invalid fleet: plan and report', () => {
  const fleet = tempFile('bad.fleet.yaml', BAD_FLEET);

  test('fails plan with exit 2, one line per problem naming path and value, stdout empty', async () => {
    const r = await runCli(['plan', fleet, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'models[3].rps: expected a number > 0, got -5',
        expect.stringMatching(/^models\[3\]\.team: .*"Ads_Team"/),
        expect.stringMatching(/^models\[3\]\.colour: unknown key/),
      ]),
    );
    expect(lines).toHaveLength(3);
    expectNoStack(r.stderr);
  });

  test('fails plan --out without creating the file or its folder', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'new-folder', 'plan.json');
    const r = await runCli(['plan', fleet, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(path.join(dir, 'new-folder'))).toBe(false);
  });

  test('fails report without writing the page, and leaves an existing file untouched', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'plan.html');
    fs.writeFileSync(out, 'previous');
    const r = await runCli(['report', fleet, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('models[3].rps: expected a number > 0, got -5');
    expect(fs.readFileSync(out, 'utf8')).toBe('previous');
    expect(fs.readdirSync(dir)).toEqual(['plan.html']);
    expectNoStack(r.stderr);
  });

  test('fails plan on a bare throughputPerGpu in a fleet of two GPU types: exit 2, one line naming the fix, nothing written', async () => {
    const two = tempFile(
      'two-types.fleet.yaml',
      `name: mixed
gpus: [{ type: H100-80GB }, { type: L4 }]
models:
  - { name: ok, team: t, rps: 10, latencySloMs: 200, memoryGiB: 1, throughputPerGpu: { H100-80GB: 900, L4: 140 } }
  - { name: spell-fixer, team: search, rps: 15, latencySloMs: 300, memoryGiB: 0.7, throughputPerGpu: 900 }
`,
    );
    const out = path.join(tempDir(), 'plan.json');
    const r = await runCli(['plan', two, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'models[1].throughputPerGpu: a single figure is ambiguous in a fleet offering H100-80GB and L4; write { H100-80GB: 900 } ' +
        'with a figure per GPU type it was measured on (the model is planned only on types with a figure or profiles)',
    ]);
    expect(fs.existsSync(out)).toBe(false);
    expectNoStack(r.stderr);
  });
});

describe('invalid fleet: syntax, unservable models', () => {
  test('fails on a YAML syntax error with the line and column', async () => {
    const r = await runCli(['plan', tempFile('broken.yaml', 'name: x\n  gpus: [\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: YAML syntax error/);
    expectNoStack(r.stderr);
  });

  test('fails on a fleet no GPU can serve (latency SLO too tight) with exit 2', async () => {
    const text = BAD_FLEET.replace('team: Ads_Team', 'team: ads')
      .replace('rps: -5', 'rps: 5')
      .replace('    colour: red\n', '')
      .replace('latencySloMs: 183', 'latencySloMs: 0.01');
    const r = await runCli(['plan', tempFile('tight.fleet.yaml', text)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cannot plan fleet payments-and-vision: models\.resnet50: /);
    expectNoStack(r.stderr);
  });

  test('fails on a fleet where several models fit no GPU: exit 2, one line per model, nothing written', async () => {
    const text = BAD_FLEET.replace('team: Ads_Team', 'team: ads')
      .replace('rps: -5', 'rps: 5')
      .replace('    colour: red\n', '')
      .replace('latencySloMs: 183', 'latencySloMs: 0.01')
      .replace('memoryGiB: 3.2', 'memoryGiB: 500');
    const dir = tempDir();
    const out = path.join(dir, 'plan.json');
    const r = await runCli(['plan', tempFile('two-bad.fleet.yaml', text), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^cannot plan fleet payments-and-vision: models\.ranker: no profile entry meets latency <= 0\.5 x 80 ms and memory 500 GiB/,
      ),
      expect.stringMatching(/^cannot plan fleet payments-and-vision: models\.resnet50: no profile entry meets latency <= 0\.5 x 0\.01 ms/),
    ]);
    expect(fs.readdirSync(dir)).toEqual([]);
    expectNoStack(r.stderr);
    expect(r.stderr).not.toContain('PlanError');
  });
});

describe('usage errors exit 2', () => {
  test.each([
    [
      ['plan', SMALL_FLEET, '--jsn'],
      /unknown flag "--jsn" for "gpufleet plan"; did you mean --json\? allowed: --json, --out, --max-input-size, --help/,
    ],
    [['plna', SMALL_FLEET], /unknown command "plna"; did you mean plan\? commands: plan, report, rebalance, router/],
    [['plan', SMALL_FLEET, '--out', '-'], /--out: "-" is not a file; use --json/],
    [['plan', SMALL_FLEET, '-x'], /unknown flag "-x"/],
    [['plan'], /missing argument FLEET/],
    [['plan', SMALL_FLEET, 'extra'], /unexpected argument "extra"/],
    [['plan', SMALL_FLEET, '--out'], /--out: expected FILE after --out/],
    [['plan', SMALL_FLEET, '--json', '--json'], /--json: given more than once/],
    [['plan', SMALL_FLEET, '--json=yes'], /--json: takes no value/],
    [['report', SMALL_FLEET], /missing --out FILE/],
    [['deploy', SMALL_FLEET], /unknown command "deploy"; commands: plan, report, rebalance, router/],
    [['--frobnicate'], /unknown flag "--frobnicate"/],
    [['help', 'nope'], /help: unknown command "nope"/],
  ])('fails on %j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/run "gpufleet (\w+ )?--help" for usage/);
    expectNoStack(r.stderr);
  });

  test('fails without a command: prints the usage on stderr', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('usage: gpufleet <command>');
  });
});

describe('unreadable files exit 2', () => {
  test('fails on a missing fleet file', async () => {
    const r = await runCli(['plan', 'no/such/fleet.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('FLEET "no/such/fleet.yaml": cannot read the file (no such file)\n');
    expect(r.stdout).toBe('');
  });

  test('fails on a folder given as the fleet', async () => {
    const r = await runCli(['report', tempDir(), '--out', path.join(tempDir(), 'x.html')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a directory, expected a file/);
  });

  test('fails on a folder given as --out', async () => {
    const dir = tempDir();
    const r = await runCli(['plan', SMALL_FLEET, '--json', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out ".*": is a directory/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('fails on a missing or foreign --plan document', async () => {
    const out = path.join(tempDir(), 'x.html');
    const missing = await runCli(['report', SMALL_FLEET, '--plan', 'nope.json', '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--plan "nope.json": cannot read the file (no such file)');
    const foreign = tempFile('plan.json', JSON.stringify({ fleet: 'other', gpus: [], summary: {} }));
    const r = await runCli(['report', SMALL_FLEET, '--plan', foreign, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('summary.gpuCount: required, expected an integer in [0, 1e6]');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('fails on a --plan document that does not fit the fleet (a model dropped)', async () => {
    const dir = tempDir();
    const planFile = path.join(dir, 'plan.json');
    expect((await runCli(['plan', SMALL_FLEET, '--json', '--out', planFile])).code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    const dropped = doc.gpus[0].slices[0].models[0].name;
    for (const g of doc.gpus) for (const s of g.slices) s.models = s.models.filter((m: any) => m.name !== dropped);
    fs.writeFileSync(planFile, JSON.stringify(doc));
    const out = path.join(dir, 'plan.html');
    const r = await runCli(['report', SMALL_FLEET, '--plan', planFile, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(dropped);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('help and version', () => {
  test('--help, help and <cmd> --help exit 0 on stdout', async () => {
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    for (const c of ['plan FLEET', 'report FLEET', 'router --config FILE', 'exit codes']) expect(main.stdout).toContain(c);
    const plan = await runCli(['plan', '--help']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('usage: gpufleet plan FLEET [--json] [--out FILE]');
    const report = await runCli(['help', 'report']);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('usage: gpufleet report FLEET [--out FILE] [--plan PLAN]');
  });

  test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(r.stdout).toBe(`${require('../package.json').version}\n`);
  });
});
