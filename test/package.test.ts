/**
 * gpufleet as an installed package: `npm pack`, install the tarball into a fresh folder, then what a
 * user does there — import the constructs from 'gpufleet' in TypeScript (type-checked against the
 * shipped .d.ts, run as compiled JavaScript), import the layers from ESM, and run `npx gpufleet`.
 *
 * The install is offline, as the whole suite is: `npm install <tarball>` needs the registry's package
 * documents for the dependencies even when every tarball is in the npm cache (ENOTCACHED offline), so
 * the test does what npm's install does for this one package: extracts the tarball into
 * node_modules/gpufleet, links each package of its `dependencies` (pinned to exact versions, so an
 * install resolves the very versions in this repository's node_modules) beside it, and links its
 * `bin` into node_modules/.bin, executable. Nothing else of the repository is reachable from the
 * folder (it lives in the system temp directory): not ts-node, not typescript, not a devDependency,
 * not ../shared. A real `npm install` of the tarball is in docs/package.md.
 *
 * New commands join `npx gpufleet …` below: `gpufleet([...])` runs one in the consumer folder. The example files
 * ship in the package (package.json `files`: `examples/*.yaml`); the folder gets them as a user does, by copying
 * `node_modules/gpufleet/examples` into `examples/`, and then runs the issue's commands verbatim:
 * `npx gpufleet synth examples/payments-and-vision.fleet.yaml --platform examples/platform.yaml --out out/` and
 * `npx gpufleet check out`.
 */
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { loadFleetFile } from '../constructs/fleet';
import { plan } from '../constructs/planner';
import { once } from './support/once';

const REPO = path.resolve(__dirname, '..');

const EXAMPLE_FLEET = 'examples/payments-and-vision.fleet.yaml';
const EXAMPLE_PLATFORM = 'examples/platform.yaml';
/** The library's plan of the example fleet, in this process (planned once for the file), as JSON data. */
const expectedPlan = once(() => JSON.parse(JSON.stringify(plan(loadFleetFile(path.join(REPO, EXAMPLE_FLEET))))) as ReturnType<typeof plan>);

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** The environment of a user's shell: none of the `npm_*` variables `npm test` sets (they point npx at this repository). */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'GPUFLEET_DEBUG') env[k] = v;
  }
  return { ...env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
}

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: userEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}

/** `npm pack` of this repository (lib/ is fresh: test/support/global-setup.js), into `dir`. */
function pack(dir: string): PackResult & { tarball: string } {
  // --ignore-scripts: `prepare` would rebuild lib/, which the global setup has just brought up to date
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO);
  expect(r.status).toBe(0);
  const [result] = JSON.parse(r.stdout) as PackResult[];
  return { ...result, tarball: path.join(dir, result.filename) };
}

/** Installs the tarball into `consumer/node_modules` as npm would (see the file comment). */
function install(tarball: string, consumer: string): void {
  const target = path.join(consumer, 'node_modules', 'gpufleet');
  fs.mkdirSync(target, { recursive: true });
  const tar = run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], consumer);
  expect(tar.stderr).toBe('');
  expect(tar.status).toBe(0);
  const pkg = JSON.parse(fs.readFileSync(path.join(target, 'package.json'), 'utf8'));
  // the package's dependencies, and the consumer's own @types/node (a TypeScript project on Node has it)
  for (const dep of [...Object.keys(pkg.dependencies ?? {}), '@types/node']) {
    const link = path.join(consumer, 'node_modules', dep);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(REPO, 'node_modules', dep), link, 'dir');
  }
  for (const [name, file] of Object.entries(pkg.bin as Record<string, string>)) {
    fs.mkdirSync(path.join(consumer, 'node_modules', '.bin'), { recursive: true });
    fs.symlinkSync(path.join('..', 'gpufleet', file), path.join(consumer, 'node_modules', '.bin', name));
    fs.chmodSync(path.join(target, file), 0o755);
  }
  fs.writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify(
      {
        name: 'consumer',
        version: '1.0.0',
        private: true,
        dependencies: { gpufleet: `file:${tarball}` },
      },
      null,
      2,
    ),
  );
}

/** The bare module names a compiled file imports or requires (comments and strings aside). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return [...info.importedFiles, ...info.typeReferenceDirectives].map((f) => f.fileName);
}

const CONSUMER_APP = `
import * as fs from 'fs';
import { App, Chart } from 'cdk8s';
import { GpuNodePool, ModelRepository, ServingPlatform, k8s, parseFleet, plan, planner, warmUpSolver, type Plan } from 'gpufleet';

// a script that plans once and exits: HiGHS compiled by V8's baseline compiler only (docs/planner.md, Solver)
warmUpSolver({ baselineCompiler: true });
const file = '${EXAMPLE_FLEET}';
const fleet = parseFleet(fs.readFileSync(file, 'utf8'), file);
const result: Plan = plan(fleet);
const app = new App({ outdir: 'app-out' });
const chart = new Chart(app, 'platform');
const platform = ServingPlatform.fromPlan(chart, 'Platform', {
  fleet,
  plan: result,
  cluster: { name: 'my-cluster', nodeRole: 'KarpenterNodeRole-my-cluster' },
  repository: ModelRepository.s3({ bucket: 'my-models', prefix: fleet.name, region: 'eu-west-1' }),
  scaling: { kind: 'keda', maxReplicas: 1 },
  extraReplicas: 1,
});
const extra = new GpuNodePool(chart, 'Extra', {
  name: 'batch-l4',
  gpuType: 'L4',
  clusterName: 'my-cluster',
  nodeRole: 'KarpenterNodeRole-my-cluster',
});
const objects = chart.toJson();
app.synth();
ModelRepository.writeAllConfigs(app, app.outdir);
console.log(JSON.stringify({
  plan: result,
  nodePools: objects.filter((o) => o.kind === 'NodePool').map((o) => o.metadata.name).sort(),
  deployments: objects.filter((o) => o.kind === 'Deployment').length,
  layersAreTheSame: platform instanceof k8s.ServingPlatform && extra instanceof k8s.GpuNodePool && planner.plan === plan,
}));
`;

const CONSUMER_ESM = `
import { plan, GpuNodePool, k8s } from 'gpufleet';
import { GpuPlatform } from 'gpufleet/cloud';
import { Router } from 'gpufleet/runtime';
import { getGpuType } from 'gpufleet/catalog';
import { parseFleet } from 'gpufleet/fleet';
import { verifyPlan } from 'gpufleet/planner';
import { ServingPlatform } from 'gpufleet/k8s';
const functions = { plan, GpuNodePool, GpuPlatform, Router, getGpuType, parseFleet, verifyPlan, ServingPlatform };
console.log(JSON.stringify({
  types: Object.fromEntries(Object.entries(functions).map(([k, v]) => [k, typeof v])),
  sameClass: ServingPlatform === k8s.ServingPlatform,
}));
`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-package-'));
const consumer = path.join(work, 'consumer');
const gpufleet = (args: readonly string[]): SpawnSyncReturns<string> => run('npx', ['gpufleet', ...args], consumer);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * The package packed and installed in `consumer` once, for the `the packed package…` blocks below, which run in
 * order: later tests read what earlier ones wrote to the folder (app-out by the TypeScript app, out by synth).
 */
const installed = once(() => {
  const packed: PackResult & { tarball: string } = pack(work);
  const files = new Set(packed.files.map((f) => f.path));
  install(packed.tarball, consumer);
  // what a user does to try the examples: copy them out of the installed package (docs/package.md)
  fs.cpSync(path.join(consumer, 'node_modules', 'gpufleet', 'examples'), path.join(consumer, 'examples'), { recursive: true });
  return { files };
});

describe('the packed package, installed in a fresh folder: contents and entry points', () => {
  let files: Set<string>;
  beforeAll(() => ({ files } = installed()));

  test('the tarball holds compiled JavaScript with declarations, the command, the example fleets; no sources, tests, build state', () => {
    for (const f of [
      'package.json',
      'README.md',
      'bin/gpufleet',
      'lib/bin/gpufleet.js',
      'lib/constructs/index.js',
      'lib/constructs/index.d.ts',
      EXAMPLE_FLEET,
      EXAMPLE_PLATFORM,
    ]) {
      expect(files).toContain(f);
    }
    const unexpected = [...files].filter(
      (f) => !/^(lib\/.+\.(js|d\.ts)|bin\/gpufleet|examples\/[^/]+\.yaml|package\.json|README\.md)$/.test(f),
    );
    expect(unexpected).toEqual([]);
    // every compiled module has its declarations
    const js = [...files].filter((f) => f.endsWith('.js') && f.startsWith('lib/'));
    expect(js.filter((f) => !files.has(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
  });

  test('every entry point of package.json (main, types, exports, typesVersions) is in the tarball', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'gpufleet', 'package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined();
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin as Record<string, string>)];
    for (const [sub, t] of Object.entries(pkg.exports as Record<string, string | Record<string, string>>)) {
      if (sub === './package.json') continue;
      targets.push(...Object.values(typeof t === 'string' ? { default: t } : t));
    }
    for (const list of Object.values(pkg.typesVersions['*'] as Record<string, string[]>)) targets.push(...list);
    const missing = targets.map((t: string) => t.replace(/^\.\//, '')).filter((t: string) => !files.has(t));
    expect(missing).toEqual([]);
    expect(Object.keys(pkg.exports).sort()).toEqual([
      '.',
      './catalog',
      './cloud',
      './fleet',
      './k8s',
      './package.json',
      './planner',
      './runtime',
    ]);
  });

  test('the compiled code imports only Node.js built-ins, its own files and its declared dependencies', () => {
    const root = path.join(consumer, 'node_modules', 'gpufleet');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules, 'node']); // "node": `/// <reference types="node" />`
    const problems: string[] = [];
    for (const f of [...files].filter((x) => /\.(js|d\.ts)$/.test(x))) {
      for (const spec of importsOf(path.join(root, f))) {
        if (spec.startsWith('.')) {
          const base = path.posix.join(path.posix.dirname(f), spec);
          const ext = f.endsWith('.d.ts') ? '.d.ts' : '.js';
          if (![`${base}${ext}`, `${base}/index${ext}`, base].some((c) => files.has(c)))
            problems.push(`${f}: ${spec} is not in the package`);
          continue;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.replace(/^node:/, '').split('/')[0];
        if (!allowed.has(name)) problems.push(`${f}: imports ${spec}, which is not a dependency of the package`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the packed package, installed in a fresh folder: TypeScript, ESM, nothing else reachable', () => {
  beforeAll(() => installed());

  test("TypeScript: import { ServingPlatform, plan, GpuNodePool } from 'gpufleet' type-checks against the .d.ts and runs compiled", () => {
    fs.writeFileSync(path.join(consumer, 'app.ts'), CONSUMER_APP);
    // and a type error, which must be found: the .d.ts are read, not `any`
    fs.writeFileSync(path.join(consumer, 'wrong.ts'), `import { plan } from 'gpufleet';\nexport const n: number = plan;\n`);
    // the compiler options of tsconfig/bases' bases/node20.json (the Node 20 base users extend; its `lib` is ES2023
    // alone, no DOM), the consumer's @types/node and skipLibCheck
    fs.writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          lib: ['ES2023'],
          module: 'node16',
          moduleResolution: 'node16',
          target: 'ES2022',
          strict: true,
          outDir: 'dist',
          types: ['node'],
          skipLibCheck: true,
        },
        files: ['app.ts', 'wrong.ts'],
      }),
    );
    const tsc = run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], consumer);
    expect(tsc.stderr).toBe('');
    expect(tsc.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^wrong\.ts\(2,14\): error TS2322: Type '\(fleet: Fleet.*' is not assignable to type 'number'\.$/),
    ]);

    const r = run(process.execPath, ['dist/app.js'], consumer);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.plan).toEqual(expectedPlan());
    expect(out.nodePools).toContain('batch-l4');
    expect(out.nodePools.length).toBeGreaterThan(1); // and the plan's
    expect(out.deployments).toBeGreaterThan(0);
    expect(out.layersAreTheSame).toBe(true);
  });

  test('ESM: the root and every layer entry (gpufleet/cloud, gpufleet/runtime, …) import by name', () => {
    fs.writeFileSync(path.join(consumer, 'esm.mjs'), CONSUMER_ESM);
    const r = run(process.execPath, ['esm.mjs'], consumer);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      types: {
        plan: 'function',
        GpuNodePool: 'function',
        GpuPlatform: 'function',
        Router: 'function',
        getGpuType: 'function',
        parseFleet: 'function',
        verifyPlan: 'function',
        ServingPlatform: 'function',
      },
      sameClass: true,
    });
  });

  test('nothing outside the package is reachable from the folder: no ts-node, no typescript, no deep imports', () => {
    const probe = run(
      process.execPath,
      [
        '-e',
        `
      const out = {};
      for (const m of ['ts-node', 'typescript', 'jest', 'gpufleet/lib/constructs/planner/plan']) {
        try { require.resolve(m); out[m] = 'resolved'; } catch (e) { out[m] = e.code; }
      }
      console.log(JSON.stringify(out));`,
      ],
      consumer,
    );
    expect(JSON.parse(probe.stdout)).toEqual({
      'ts-node': 'MODULE_NOT_FOUND',
      typescript: 'MODULE_NOT_FOUND',
      jest: 'MODULE_NOT_FOUND',
      'gpufleet/lib/constructs/planner/plan': 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });
});

describe('the packed package, installed in a fresh folder: the gpufleet command', () => {
  let files: Set<string>;
  beforeAll(() => ({ files } = installed()));

  test(`npx gpufleet plan ${EXAMPLE_FLEET} runs the installed command (compiled, without ts-node)`, () => {
    // what npx runs: the folder's node_modules/.bin/gpufleet (npm_* variables of `npm test` are not passed
    // on, so npx looks in this folder, not in the repository), which is the installed package's command
    expect(fs.realpathSync(path.join(consumer, 'node_modules', '.bin', 'gpufleet'))).toBe(
      path.join(fs.realpathSync(consumer), 'node_modules', 'gpufleet', 'bin', 'gpufleet'),
    );
    const r = gpufleet(['plan', EXAMPLE_FLEET, '--out', 'plan.json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const expected = expectedPlan();
    expect(r.stdout).toContain(
      `fleet payments-and-vision: ${expected.summary.gpuCount} GPUs, $${expected.summary.costPerHour.toFixed(2)}/h`,
    );
    expect(r.stdout).toContain('plan document written to plan.json');
    expect(JSON.parse(fs.readFileSync(path.join(consumer, 'plan.json'), 'utf8'))).toEqual(expected);
  });

  test('npx gpufleet router --demo --script: the router and its Triton stand-ins run from the package alone, and exit', () => {
    // the stand-in ships compiled (lib/constructs/runtime/standin) and decodes gRPC loads with protobufjs, a dependency
    for (const f of ['lib/constructs/runtime/demo.js', 'lib/constructs/runtime/standin/index.js', 'lib/constructs/runtime/standin/grpc.js'])
      expect(files).toContain(f);
    const pkg = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'gpufleet', 'package.json'), 'utf8'));
    expect(pkg.dependencies.protobufjs).toBeDefined();
    // the installed command as npx runs it (the plan test shows npx runs node_modules/.bin/gpufleet; the issue names
    // npx for plan, synth and check, whose tests keep it; npm's start-up is most of a second of CPU).
    // spawnSync's timeout: a handle left open would keep the process from exiting
    const r = run(path.join(consumer, 'node_modules', '.bin', 'gpufleet'), ['router', '--demo', '--script'], consumer);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ 1\. resnet50 +cold load {2}200 in \d+\.\d{3} s {2}loaded on triton-0$/m);
    expect(r.stdout).toMatch(/^ 2\. resnet50 +hit /m);
    expect(r.stdout).toMatch(/evicted bert-base from triton-1 \(least recently used\), then loaded on triton-1$/m);
  });

  test(`npx gpufleet synth ${EXAMPLE_FLEET} --platform ${EXAMPLE_PLATFORM} --out out/ writes the fleet on the user's platform`, () => {
    const r = gpufleet(['synth', EXAMPLE_FLEET, '--platform', EXAMPLE_PLATFORM, '--out', 'out/']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const fleet = loadFleetFile(path.join(REPO, EXAMPLE_FLEET));
    expect(fs.readdirSync(path.join(consumer, 'out')).sort()).toEqual(['gpufleet.k8s.yaml', 'model-repository', 'plan.json']);
    expect(fs.readdirSync(path.join(consumer, 'out', 'model-repository')).sort()).toEqual(fleet.models.map((m) => m.name).sort());
    expect(JSON.parse(fs.readFileSync(path.join(consumer, 'out', 'plan.json'), 'utf8'))).toEqual(expectedPlan());
    // the platform file's settings, rendered by the installed package
    const manifest = fs.readFileSync(path.join(consumer, 'out', 'gpufleet.k8s.yaml'), 'utf8');
    expect(manifest).toContain('--model-repository=s3://gpufleet-models/payments-and-vision');
    expect(manifest).toContain('kind: ScaledObject');
    expect(r.stdout).toContain('next: gpufleet check out\n');
  });

  test('npx gpufleet check out accepts what synth wrote, and the rendering the TypeScript app wrote serves too', () => {
    // `npx gpufleet check out` as the issue writes it; the app's rendering through the same installed command without
    // npx (the plan test shows npx runs node_modules/.bin/gpufleet; npm's start-up is a second of CPU)
    for (const dir of ['out', 'app-out']) {
      const r =
        dir === 'out' ? gpufleet(['check', dir]) : run(path.join(consumer, 'node_modules', '.bin', 'gpufleet'), ['check', dir], consumer);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        /^gpufleet check: no findings \(\d+ GPU workload\(s\), \d+ NodePool\(s\), \d+ autoscaler\(s\), \d+ objects\)/,
      );
      expect(r.status).toBe(0);
    }
    // app-out is what the compiled app.js of the TypeScript test synthesized with the installed constructs
    expect(fs.readdirSync(path.join(consumer, 'app-out')).sort()).toEqual(['model-repository', 'platform.k8s.yaml']);
  });
});
