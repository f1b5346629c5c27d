/**
 * `gpufleet synth FLEET --platform PLATFORM [--out DIR]` and the cdk8s app (`GPUFLEET_FLEET`/`GPUFLEET_PLATFORM`,
 * stacks/cdk8s-app.ts): one rendering behind both, run in this process (the CLI's `main`, the app's `runCdk8sApp`).
 *
 * - the example fleet on examples/platform.yaml: the plan, the manifests and the config.pbtxt files, the platform
 *   file's settings in the objects, every object schema-valid, accepted by `gpufleet check`;
 * - the cdk8s app with the same two files writes the same bytes; pointed at another fleet it renders that fleet;
 *   without the variables it renders the default example as before;
 * - bad input: exit 2, one line per problem naming file, path and value, nothing written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { loadFleetFile } from '../constructs/fleet';
import { plan } from '../constructs/planner';
import { runCdk8sApp } from '../stacks/cdk8s-app';
import { REPO, runCli, tempDir, tempFile } from './cli-fixtures/run-cli';
import { validateObjects } from './support/validate';
import { once } from './support/once';

const FLEET = 'examples/payments-and-vision.fleet.yaml';
const PLATFORM = 'examples/platform.yaml';
/**
 * The other fleet the cdk8s app is pointed at: the H100 example with a cold tier (`coldBelowRps: 30`: its two models
 * below 30 requests/s get no seat, the model router loads them). Its plan costs a fraction of the long-tail example's,
 * and it has what the test looks for: other node configurations, other models, cold models.
 */
const otherFleet = once(() =>
  tempFile(
    'h100-cold.fleet.yaml',
    fs
      .readFileSync(path.join(REPO, 'examples/payments-and-vision-h100.fleet.yaml'), 'utf8')
      .replace(/^processOverheadGiB: 0\.6$/m, 'processOverheadGiB: 0.6\ncoldBelowRps: 30'),
  ),
);

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}
const objectsIn = (file: string): any[] =>
  parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJSON())
    .filter((o) => o);

/**
 * The example fleet synthesized into `work/out` once, for the `gpufleet synth: the example fleet…` blocks below, which
 * run in order (the last test synthesizes into the same folder again).
 */
const exampleSynth = once(async () => {
  const work = tempDir('gpufleet-synth-');
  const out = path.join(work, 'out');
  const fleet = loadFleetFile(path.join(REPO, FLEET));
  const expected = plan(fleet);
  const result = await runCli(['synth', FLEET, '--platform', PLATFORM, '--out', out]);
  const objects: any[] = objectsIn(path.join(out, 'gpufleet.k8s.yaml'));
  return { work, out, fleet, expected, result, objects };
});
type ExampleSynth = Awaited<ReturnType<typeof exampleSynth>>;

describe('gpufleet synth: the example fleet on examples/platform.yaml: files and objects', () => {
  let out: string;
  let fleet: ExampleSynth['fleet'];
  let expected: ExampleSynth['expected'];
  let result: ExampleSynth['result'];
  let objects: any[];
  beforeAll(async () => ({ out, fleet, expected, result, objects } = await exampleSynth()), 120_000);

  test('writes the plan, the manifests and one config.pbtxt per model, and says what it wrote', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(filesUnder(out)).toEqual([
      'gpufleet.k8s.yaml',
      ...fleet.models.map((m) => `model-repository/${m.name}/config.pbtxt`).sort(),
      'plan.json',
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'plan.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(result.stdout).toBe(
      [
        `fleet payments-and-vision on ${PLATFORM}: ${expected.summary.gpuCount} GPUs, $${expected.summary.costPerHour.toFixed(2)}/h`,
        `wrote ${out}/gpufleet.k8s.yaml (${objects.length} objects), ${out}/plan.json, ${out}/model-repository/ ` +
          `(${fleet.models.length} config.pbtxt)`,
        `next: gpufleet check ${out}`,
        '',
      ].join('\n'),
    );
  });

  test('the platform file is in the objects: cluster, node role, repository, routes, scaling', () => {
    const nodeClasses = objects.filter((o) => o.kind === 'EC2NodeClass');
    expect(nodeClasses.length).toBeGreaterThan(0);
    for (const c of nodeClasses) {
      expect(c.spec.role).toBe('KarpenterNodeRole-gpufleet');
      expect(c.spec.subnetSelectorTerms).toEqual([{ tags: { 'karpenter.sh/discovery': 'gpufleet' } }]);
    }
    // one NodePool per node configuration of the plan
    const configs = new Set((expected.nodes ?? []).map((n) => `${n.migConfig} ${n.instanceType}`));
    expect(objects.filter((o) => o.kind === 'NodePool')).toHaveLength(configs.size);
    const triton = objects.filter(
      (o) => o.kind === 'Deployment' && o.spec.template.spec.containers.some((c: any) => /tritonserver/.test(c.image)),
    );
    expect(triton.length).toBeGreaterThan(0);
    for (const d of triton) {
      expect(d.spec.template.spec.containers[0].args).toContain('--model-repository=s3://gpufleet-models/payments-and-vision');
    }
    const sa = objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'triton-model-reader');
    expect(sa.length).toBeGreaterThan(0);
    for (const s of sa)
      expect(s.metadata.annotations['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/gpufleet-model-reader');
    const routes = objects.filter((o) => o.kind === 'HTTPRoute');
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) {
      expect(r.spec.hostnames).toEqual(['inference.example.com']);
      expect(r.spec.parentRefs).toEqual([expect.objectContaining({ name: 'inference', namespace: 'gateway-system' })]);
    }
    // scaling.engine keda, extraReplicas 1: a ScaledObject per Triton pool, from the plan's replicas to one more
    const scaled = objects.filter((o) => o.kind === 'ScaledObject');
    expect(scaled.map((s) => `${s.metadata.namespace}/${s.spec.scaleTargetRef.name}`).sort()).toEqual(
      triton.map((d) => `${d.metadata.namespace}/${d.metadata.name}`).sort(),
    );
    const planned = expected.gpus.flatMap((g) => g.slices).length; // one replica per planned slice
    expect(scaled.reduce((n, s) => n + s.spec.minReplicaCount, 0)).toBe(planned);
    for (const s of scaled) expect(s.spec.maxReplicaCount).toBe(s.spec.minReplicaCount + 1);
  });
});

describe('gpufleet synth: the example fleet on examples/platform.yaml: check, the cdk8s app, a second synth', () => {
  let work: string;
  let out: string;
  let objects: any[];
  beforeAll(async () => ({ work, out, objects } = await exampleSynth()), 120_000);

  test('every object validates against its schema', () => {
    expect(validateObjects(objects)).toEqual([]);
  });

  test('gpufleet check accepts the rendering (and skips the plan document beside it)', async () => {
    const r = await runCli(['check', out]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(
        `^gpufleet check: no findings \\(\\d+ GPU workload\\(s\\), \\d+ NodePool\\(s\\), \\d+ autoscaler\\(s\\), ${objects.length} ` +
          `objects\\)`,
      ),
    );
    expect(r.code).toBe(0);
  });

  test('the cdk8s app with GPUFLEET_FLEET and GPUFLEET_PLATFORM writes the same bytes', () => {
    const outdir = path.join(work, 'app');
    const cwd = process.cwd();
    process.chdir(REPO);
    try {
      const r = runCdk8sApp({ GPUFLEET_FLEET: FLEET, GPUFLEET_PLATFORM: PLATFORM }, new App({ outdir }));
      expect(r.rendered).toBe('fleet');
    } finally {
      process.chdir(cwd);
    }
    expect(filesUnder(outdir)).toEqual(filesUnder(out));
    for (const f of filesUnder(out)) expect(fs.readFileSync(path.join(outdir, f), 'utf8')).toBe(fs.readFileSync(path.join(out, f), 'utf8'));
  }, 120_000);

  test('a second synth into the same folder replaces the earlier rendering whole (no stale file stays)', async () => {
    const stale = path.join(out, 'model-repository', 'removed-model');
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, 'config.pbtxt'), 'name: "removed-model"\n');
    const before = fs.readFileSync(path.join(out, 'gpufleet.k8s.yaml'), 'utf8');
    const r = await runCli(['synth', FLEET, '--platform', PLATFORM, '--out', out]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readFileSync(path.join(out, 'gpufleet.k8s.yaml'), 'utf8')).toBe(before); // deterministic
    expect(fs.readdirSync(work).filter((e) => e.startsWith('.'))).toEqual([]); // no temporary folder left
  }, 120_000);
});

describe('the cdk8s app (GPUFLEET_FLEET, GPUFLEET_PLATFORM)', () => {
  test('pointed at another fleet, renders that fleet: its node configurations, its models, its plan', () => {
    const outdir = tempDir('gpufleet-app-');
    const cwd = process.cwd();
    process.chdir(REPO);
    try {
      expect(runCdk8sApp({ GPUFLEET_FLEET: otherFleet(), GPUFLEET_PLATFORM: PLATFORM }, new App({ outdir })).rendered).toBe('fleet');
    } finally {
      process.chdir(cwd);
    }
    const fleet = loadFleetFile(otherFleet());
    const expected = plan(fleet);
    expect(expected.cold?.models.map((m) => m.name).sort()).toEqual(
      fleet.models
        .filter((m) => m.rps < 30)
        .map((m) => m.name)
        .sort(),
    );
    expect(JSON.parse(fs.readFileSync(path.join(outdir, 'plan.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(fs.readdirSync(path.join(outdir, 'model-repository')).sort()).toEqual(fleet.models.map((m) => m.name).sort());
    const objects = objectsIn(path.join(outdir, 'gpufleet.k8s.yaml'));
    const layouts = objects
      .filter((o) => o.kind === 'NodePool')
      .map((o) => o.spec.template.metadata.labels['nvidia.com/mig.config'])
      .sort();
    expect(layouts).toEqual([...new Set((expected.nodes ?? []).map((n) => n.migConfig))].sort());
    // its cold models are served by the model router
    expect(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'model-router')).toBe(true);
  }, 120_000);

  test('without the variables, renders the default example as before', () => {
    const outdir = tempDir('gpufleet-app-');
    const r = runCdk8sApp({}, new App({ outdir }));
    expect(r.rendered).toBe('default-example');
    expect(fs.readdirSync(outdir).sort()).toEqual(['default-platform.k8s.yaml', 'model-repository']);
  }, 120_000);

  test('fails with one variable but not the other, naming it', () => {
    expect(() => runCdk8sApp({ GPUFLEET_FLEET: FLEET }, new App({ outdir: tempDir() }))).toThrow(
      'GPUFLEET_PLATFORM: not set, while GPUFLEET_FLEET is; set both (the fleet file and the platform file) or neither (the default ' +
        'example)',
    );
  });
});

describe('gpufleet synth: bad input, exit 2, nothing written', () => {
  test('fails with one line per problem of the platform file, naming the path and the value', async () => {
    const bad = tempFile(
      'platform.yaml',
      [
        'cluster: { name: gpufleet }',
        'repository: { s3: { bucket: Bad_Bucket, region: us-east-1 } }',
        'routes: { hostname: [inference.example.com] }',
        'scaling: { engine: kedaa, extraReplicas: -1 }',
        'prerequisites: { keda: "yes" }',
        'clusterName: x',
      ].join('\n'),
    );
    const out = path.join(tempDir(), 'out');
    const r = await runCli(['synth', FLEET, '--platform', bad, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l)).toEqual([
      `${bad}: clusterName: unknown key; allowed: cluster, nodeClass, gpuOperator, repository, routes, scaling, coldTier, ` +
        `namespaces, prerequisites`,
      `${bad}: cluster.nodeRole: required, expected the IAM role name of the GPU nodes`,
      `${bad}: repository.s3.bucket: expected an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), got "Bad_Bucket"`,
      `${bad}: routes.hostname: unknown key; did you mean "hostnames"? allowed: hostnames, gateway, requestTimeoutSeconds`,
      `${bad}: scaling.engine: expected one of keda, hpa, fixed, got "kedaa"`,
      `${bad}: scaling.extraReplicas: expected an integer from 0 to 1000, got -1`,
      `${bad}: prerequisites.keda: expected true or false, got "yes"`,
    ]);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('fails listing the problems of both files at once', async () => {
    const fleet = tempFile('fleet.yaml', 'name: f\ngpus: [{ type: L4 }]\nmodels: []\n');
    const platform = tempFile('platform.yaml', 'routes: { hostnames: ["Not A Host"] }\n');
    const r = await runCli(['synth', fleet, '--platform', platform, '--out', path.join(tempDir(), 'out')]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l);
    expect(lines).toContain('models: expected at least one model, got an empty list'); // as `gpufleet plan` prints it
    expect(lines).toContain(
      `${platform}: routes.hostnames[0]: expected a host name such as inference.example.com (lowercase, optionally *.), got "Not A Host"`,
    );
  });

  test('fails without --platform, and on an --out folder that holds other files', async () => {
    const noPlatform = await runCli(['synth', FLEET]);
    expect(noPlatform.code).toBe(2);
    expect(noPlatform.stderr).toContain('missing --platform PLATFORM');
    const r = await runCli(['synth', FLEET, '--platform', PLATFORM, '--out', 'examples']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^--out "examples": holds "default-platform.ts", .* and is not an earlier gpufleet synth rendering; choose an empty or new folder\n/,
    );
  });

  test('fails on a platform the fleet cannot run on (KEDA scaling, KEDA not in the cluster), writing nothing', async () => {
    const platform = tempFile(
      'platform.yaml',
      fs.readFileSync(path.join(REPO, PLATFORM), 'utf8') +
        'prerequisites: { karpenterNodeOverlay: true, prometheus: { namespace: monitoring }, gatewayApi: true }\n',
    );
    const out = path.join(tempDir(), 'out');
    const r = await runCli(['synth', FLEET, '--platform', platform, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^cannot render fleet payments-and-vision on ${platform.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ` +
          `pools\\["[a-z0-9-]+"\\]\\.scaling: kind keda needs KEDA, which prerequisites\\.keda declares absent\n$`,
      ),
    );
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  }, 120_000);
});
