/**
 * The Pulumi program with a stack configuration naming a fleet file and a platform file (`gpufleet:fleetFile`,
 * `gpufleet:platformFile`): the same files `gpufleet synth` and the cdk8s app render, through the same function
 * (`renderFleetPlatform`). Under mocks: node groups for that fleet's plan, the platform file's routes and scaling in
 * the applied objects, the stack's cluster and bucket instead of the file's (and said so), and no object whose
 * custom-resource API a fresh cluster lacks and gpufleet does not install.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { settle, setupPulumiMocks, valueOf, type RecordedResource } from './support/pulumi-mocks';

const mocks = setupPulumiMocks({ stack: 'dev' });
const ROOT = path.resolve(__dirname, '..');
const PLATFORM = 'examples/platform.yaml';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-platform-stack-'));
/**
 * The fleet file: the H100 example with a cold tier (`coldBelowRps: 30`: its two models below 30 requests/s get no seat,
 * the model router loads them), so the applied objects include the router's. Its plan and program run cost a fraction
 * of the long-tail example's, and nothing here depends on the fleet's size.
 */
const FLEET = path.join(tmp, 'h100-cold.fleet.yaml');
fs.writeFileSync(
  FLEET,
  fs
    .readFileSync(path.join(ROOT, 'examples/payments-and-vision-h100.fleet.yaml'), 'utf8')
    .replace(/^processOverheadGiB: 0\.6$/m, 'processOverheadGiB: 0.6\ncoldBelowRps: 30'),
);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Program = typeof import('../stacks/program');
type Outputs = import('../stacks/program').ProgramOutputs;
let program: Program;
let pulumi: typeof import('@pulumi/pulumi');
beforeAll(async () => {
  pulumi = await import('@pulumi/pulumi');
  program = await import('../stacks/program');
});

async function run(raw: Record<string, string>): Promise<Outputs> {
  mocks.reset();
  const out = program.gpufleetProgram(raw, { project: 'gpufleet', stack: 'dev', organization: 'organization', rootDir: ROOT });
  await valueOf(out.kubeconfig);
  await settle();
  return out;
}

/**
 * API groups a fresh EKS cluster serves (Kubernetes 1.33, `kubectl api-resources` on a new cluster): the built-in ones.
 * Written out here, not taken from gpufleet's own list.
 */
const FRESH_CLUSTER_GROUPS = [
  'core',
  'apps',
  'batch',
  'policy',
  'autoscaling',
  'rbac.authorization.k8s.io',
  'networking.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
];
/**
 * The API groups each install serves: the CRDs of the pinned upstream releases (prometheus-community
 * prometheus-operator-crds, gateway-api standard-install.yaml, kedacore keda chart), written out here.
 */
const SERVED_BY: Record<string, readonly string[]> = {
  'prometheus-operator-crds': ['monitoring.coreos.com'],
  'gateway-api': ['gateway.networking.k8s.io'],
  keda: ['keda.sh', 'eventing.keda.sh'],
};
const groupOf = (r: RecordedResource) => r.type.split(':')[1].split('/')[0];
const kubeObjects = () =>
  mocks.resources.filter(
    (r) =>
      r.custom &&
      r.type.startsWith('kubernetes:') &&
      r.type !== 'kubernetes:helm.sh/v3:Release' &&
      r.type !== 'kubernetes:yaml/v2:ConfigFile',
  );

describe('gpufleet:fleetFile and gpufleet:platformFile: a fleet with a cold tier on examples/platform.yaml, fresh account', () => {
  let out: Outputs;
  let expectedPlan: import('../constructs/planner/types').Plan;
  const warnings: string[] = [];

  beforeAll(async () => {
    const { loadFleetFile } = await import('../constructs/fleet');
    const { plan } = await import('../constructs/planner');
    expectedPlan = plan(loadFleetFile(FLEET));
    expect(expectedPlan.cold?.models.length).toBeGreaterThan(0);
    const warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args.join(' '));
    });
    try {
      out = await run({
        'gpufleet:region': 'us-east-1',
        'gpufleet:fleetFile': FLEET,
        'gpufleet:platformFile': PLATFORM,
        'gpufleet:publicAccessCidrs': '203.0.113.0/24',
      });
    } finally {
      warn.mockRestore();
    }
  }, 180_000);

  test("one GPU node group per node configuration of that fleet's plan", () => {
    const configs = new Map<string, number>();
    for (const n of expectedPlan.nodes ?? [])
      configs.set(`${n.migConfig} ${n.instanceType}`, (configs.get(`${n.migConfig} ${n.instanceType}`) ?? 0) + 1);
    const groups = mocks.ofType('aws:eks/nodeGroup:NodeGroup').filter((g) => g.inputs.labels?.['nvidia.com/mig.config'] !== undefined);
    expect(
      groups
        .map((g) => `${g.inputs.labels['nvidia.com/mig.config']} ${g.inputs.instanceTypes[0]} ${g.inputs.scalingConfig.desiredSize}`)
        .sort(),
    ).toEqual([...configs].map(([k, n]) => `${k} ${n}`).sort());
    expect(out.costPerHour).toBe(expectedPlan.summary.costPerHour);
    expect(out.planSummary).toEqual(expectedPlan.summary);
  });

  test("the platform file's routes and scaling are in the applied objects", () => {
    const routes = mocks.ofType('kubernetes:gateway.networking.k8s.io/v1:HTTPRoute');
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) {
      expect(r.inputs.spec.hostnames).toEqual(['inference.example.com']);
      expect(r.inputs.spec.parentRefs).toEqual([expect.objectContaining({ name: 'inference', namespace: 'gateway-system' })]);
    }
    // scaling.engine keda: a ScaledObject per planned pool that is not a cache pool, KEDA installed for them
    const scaled = mocks.ofType('kubernetes:keda.sh/v1alpha1:ScaledObject');
    expect(scaled.length).toBeGreaterThan(0);
    expect(out.prerequisiteInstalls.map((i) => i.name)).toContain('keda');
  });

  test('registers no object whose API a fresh cluster lacks and gpufleet does not install', () => {
    const installed = new Set(out.prerequisiteInstalls.flatMap((i) => SERVED_BY[i.name] ?? []));
    const unserved = [...new Set(kubeObjects().map(groupOf))].filter((g) => !FRESH_CLUSTER_GROUPS.includes(g) && !installed.has(g));
    expect(unserved).toEqual([]);
    // the cold tier's model router is among the objects checked
    expect(kubeObjects().some((o) => o.type === 'kubernetes:apps/v1:Deployment' && o.inputs.metadata.name === 'model-router')).toBe(true);
  });

  test("the stack's cluster, node role and bucket replace the file's, and the program says so", async () => {
    const bucket = mocks.get('aws:s3/bucket:Bucket', 'gpufleet-models-bucket').inputs.bucket;
    expect(await valueOf(out.modelRepository)).toBe(`s3://${bucket}/models`);
    expect(out.platformFileOverridden).toEqual([
      'cluster.name: "gpufleet" in the file, "gpufleet-dev" used (the stack\'s cluster)',
      'cluster.nodeRole: "KarpenterNodeRole-gpufleet" in the file, "gpufleet-dev-gpu-nodes" used (the role of the stack\'s GPU node ' +
        'groups)',
      `repository.s3.bucket: "gpufleet-models" in the file, "${bucket}" used (gpufleet:bucket or the bucket the stack creates)`,
      'repository.s3.prefix: "payments-and-vision" in the file, "models" used (gpufleet:bucketPrefix)',
      'repository.s3.roleArn: "arn:aws:iam::123456789012:role/gpufleet-model-reader" in the file, nothing used (the stack grants ' +
        'each Triton service account its own role)',
    ]);
    for (const line of out.platformFileOverridden) expect(warnings).toContainEqual(expect.stringContaining(line));
  });
});

describe("gpufleet:platformFile with repository.s3.egressCidrs: the stack's bucket, the file's egress ranges", () => {
  // the small CLI fleet (four teams, so several serving namespaces): the egress rule does not depend on the fleet
  const SMALL = 'test/cli-fixtures/small.fleet.yaml';
  test('every serving namespace may reach only those CIDRs on 443 (no 0.0.0.0/0)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-egress-'));
    const file = path.join(dir, 'platform.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(path.join(ROOT, PLATFORM), 'utf8')
        .replace('    region: us-east-1\n', '    region: us-east-1\n    egressCidrs: [52.216.0.0/15, 10.0.8.0/22]\n'),
    );
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await run({
        'gpufleet:region': 'us-east-1',
        'gpufleet:fleetFile': SMALL,
        'gpufleet:platformFile': file,
        'gpufleet:publicAccessCidrs': '203.0.113.0/24',
      });
    } finally {
      warn.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const policies = mocks
      .ofType('kubernetes:networking.k8s.io/v1:NetworkPolicy')
      .filter((p) => p.inputs.metadata.name === 'allow-model-repository');
    expect(policies.length).toBeGreaterThan(1);
    for (const p of policies) {
      expect(p.inputs.spec.egress).toEqual([
        { to: [{ ipBlock: { cidr: '10.0.8.0/22' } }, { ipBlock: { cidr: '52.216.0.0/15' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ]);
    }
  }, 180_000);
});

describe('gpufleet:platformFile: bad input stops the program before any resource', () => {
  async function programError(raw: Record<string, string>): Promise<string[]> {
    mocks.reset();
    let error: Error | undefined;
    try {
      program.gpufleetProgram(
        { 'gpufleet:region': 'us-east-1', ...raw },
        { project: 'gpufleet', stack: 'dev', organization: 'organization', rootDir: ROOT },
      );
    } catch (e) {
      error = e as Error;
    }
    await settle();
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(mocks.resources).toEqual([]);
    return error!.message
      .split('\n')
      .slice(1)
      .map((l) => l.replace(/^ {2}- /, ''));
  }

  test('fails with one line per problem of the platform file, naming the key', async () => {
    const file = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(file, 'scaling: { engine: kedda }\nroutes: { hostname: [a.example.com] }\n');
    expect(await programError({ 'gpufleet:platformFile': file })).toEqual(
      [
        `gpufleet:platformFile: ${file}: routes.hostname: unknown key; did you mean "hostnames"? allowed: hostnames, gateway, ` +
          `requestTimeoutSeconds`,
        `gpufleet:platformFile: ${file}: scaling.engine: expected one of keda, hpa, fixed, got "kedda"`,
      ].sort(),
    );
  });

  test('fails when the platform file and gpufleet:prerequisites both say what the cluster has', async () => {
    const file = path.join(tmp, 'has.yaml');
    fs.writeFileSync(file, 'prerequisites: { keda: true }\n');
    expect(await programError({ 'gpufleet:platformFile': file, 'gpufleet:prerequisites': '{"keda": true}' })).toEqual([
      `gpufleet:prerequisites: set, and gpufleet:platformFile "${file}" lists prerequisites too; say what the cluster has in one of them`,
    ]);
  });

  test('fails on a platform file that is a folder, before reading anything', async () => {
    expect(await programError({ 'gpufleet:platformFile': 'examples' })).toEqual([
      `gpufleet:platformFile: "examples" (resolved to "${path.join(ROOT, 'examples')}"): is a directory, expected a file`,
    ]);
  });
});
