/**
 * The Pulumi program (`gpufleetProgram`, which stacks/index.ts runs) under mocks, several configurations in one
 * process (the program is a function, so nothing is reloaded between them):
 *
 * - a fresh account with the default example fleet: cluster, one GPU node group per node configuration, bucket and
 *   read grants, operator release, the CRDs its objects need installed before them (and no object whose API a fresh
 *   cluster lacks), Triton not awaited, the model files the bucket must hold;
 * - an existing cluster and bucket with Pod Identity and the H100 MIG fleet, whose cluster declares the Prometheus
 *   operator and the Gateway API: nothing of them installed;
 * - the `excludeKinds` escape hatch and the public endpoint's CIDR blocks;
 * - bad input: one RunError listing every problem, before any resource.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { settle, setupPulumiMocks, valueOf, type RecordedResource } from './support/pulumi-mocks';
import { once } from './support/once';

const mocks = setupPulumiMocks({ stack: 'dev' });
const ROOT = path.resolve(__dirname, '..');
const SMALL = 'test/cli-fixtures/small.fleet.yaml';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-stack-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Program = typeof import('../stacks/program');
type Outputs = import('../stacks/program').ProgramOutputs;
let program: Program;
let pulumi: typeof import('@pulumi/pulumi');
beforeAll(async () => {
  pulumi = await import('@pulumi/pulumi');
  program = await import('../stacks/program');
});

/** Runs the program for `raw` under the mocks (recorded afresh) and waits until every resource is registered. */
async function run(raw: Record<string, string>, stack = 'dev'): Promise<Outputs> {
  mocks.reset();
  const out = program.gpufleetProgram(raw, { project: 'gpufleet', stack, organization: 'organization', rootDir: ROOT });
  await valueOf(out.kubeconfig);
  await settle();
  return out;
}

/** The error the program stops with; checks it is a RunError and that no resource was registered. */
async function programError(raw: Record<string, string>): Promise<Error> {
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
  expect(error).toBeDefined();
  expect(pulumi.RunError.isInstance(error)).toBe(true);
  expect(mocks.resources).toEqual([]);
  return error!;
}

const problemLines = (e: Error) =>
  e.message
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^ {2}- /, ''));

/** `kubernetes:<group>/<version>:<Kind>` → group (`core` for the core group). */
const groupOf = (r: RecordedResource) => r.type.split(':')[1].split('/')[0];
/** Every Kubernetes object the program registered (not the Helm releases, components or providers). */
const kubeObjects = () =>
  mocks.resources.filter((r) => r.custom && r.type.startsWith('kubernetes:') && r.type !== 'kubernetes:helm.sh/v3:Release');
const isTriton = (d: RecordedResource) =>
  (d.inputs.spec?.template?.spec?.containers ?? []).some((c: any) => /\/tritonserver:/.test(c.image));
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * API groups a fresh EKS cluster serves (Kubernetes 1.33; `kubectl api-resources` on a new cluster): the built-in
 * ones. Anything else needs a CRD. Written out here, not taken from gpufleet's own list.
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
 * Triton r25.08's default model file per platform (triton-inference-server/core r25.08 `src/constants.h`:
 * kOnnxRuntimeOnnxFilename, kTensorRTPlanFilename, kPyTorchLibTorchFilename), read from the uploaded config.pbtxt.
 */
const TRITON_DEFAULT_FILE: Record<string, string> = {
  onnxruntime_onnx: 'model.onnx',
  tensorrt_plan: 'model.plan',
  pytorch_libtorch: 'model.pt',
};

/**
 * The default example fleet's plan and the program's run on a fresh account, once for the `a fresh account…` blocks
 * below. They read the resources this run recorded in `mocks`, so they follow each other, before any other run.
 */
const freshAccount = once(async () => {
  const BASE = { 'gpufleet:region': 'us-east-1', 'gpufleet:bucketPrefix': 'triton', 'gpufleet:gpuNodeMin': '0' };
  const warnings: string[] = [];
  const { loadFleetFile } = await import('../constructs/fleet');
  const { plan } = await import('../constructs/planner');
  const { DEFAULT_FLEET_FILE } = await import('../stacks/config');
  const fleet = loadFleetFile(path.join(ROOT, DEFAULT_FLEET_FILE));
  const expectedPlan = plan(fleet);
  const fleetModels = fleet.models.map((m) => m.name).sort();
  // Under mocks, pulumi.log.warn goes to console.warn: keep what the program warns about.
  const warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    warnings.push(args.join(' '));
  });
  let out: Outputs;
  try {
    out = await run(BASE);
  } finally {
    warn.mockRestore();
  }
  return { out, expectedPlan, fleetModels, warnings };
});

describe('a fresh account, the default example fleet: cluster, node groups, read grants', () => {
  let out: Outputs;
  let expectedPlan: import('../constructs/planner/types').Plan;
  let warnings: string[];
  beforeAll(async () => ({ out, expectedPlan, warnings } = await freshAccount()), 180_000);

  test('creates the cluster, the provider and the bucket named for the stack', async () => {
    const eks = mocks.get('aws:eks/cluster:Cluster', 'gpufleet-cluster-eks');
    expect(eks.inputs.name).toBe('gpufleet-dev');
    // No gpufleet:publicAccessCidrs: EKS's default, written out so that `pulumi preview` shows it, and a warning.
    expect(eks.inputs.vpcConfig).toMatchObject({
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ['0.0.0.0/0'],
    });
    expect(warnings).toEqual([expect.stringContaining('the EKS API endpoint is public and open to any address (0.0.0.0/0)')]);
    expect(await valueOf(out.clusterName)).toBe('gpufleet-dev');
    expect(mocks.get('pulumi:providers:aws', 'aws').inputs.region).toBe('us-east-1');
    const bucket = mocks.get('aws:s3/bucket:Bucket', 'gpufleet-models-bucket');
    expect(bucket.inputs.bucket).toMatch(/^gpufleet-dev-models-[0-9a-f]{8}$/);
    expect(bucket.inputs.tags).toEqual({ 'gpufleet.io/stack': 'dev' });
    expect(await valueOf(out.modelRepository)).toBe(`s3://${bucket.inputs.bucket}/triton`);
    expect(await (out.kubeconfig as any).isSecret).toBe(true);
  });

  test('one GPU node group per node configuration of the plan, with tags matching the layout', () => {
    // Node configurations, from the plan's nodes: (layout, instance type) → node count and per-GPU slices.
    const configs = new Map<
      string,
      { migConfig: string; instanceType: string; nodes: number; devices: readonly (readonly { profile: string }[])[] }
    >();
    for (const n of expectedPlan.nodes ?? []) {
      const key = `${n.migConfig} ${n.instanceType}`;
      const mig = (expectedPlan.migConfigs ?? []).find((c) => c.name === n.migConfig);
      const entry = configs.get(key) ?? {
        migConfig: n.migConfig,
        instanceType: n.instanceType,
        nodes: 0,
        devices: mig ? mig.devices : [[{ profile: 'whole' }]],
      };
      configs.set(key, { ...entry, nodes: entry.nodes + 1 });
    }
    expect(configs.size).toBeGreaterThan(0);
    expect(mocks.ofType('gpufleet:cloud:GpuNodeGroup')).toHaveLength(configs.size);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getInstanceType } = require('../constructs/catalog');
    for (const c of configs.values()) {
      const ng = mocks
        .ofType('aws:eks/nodeGroup:NodeGroup')
        .find((r) => r.inputs.labels?.['nvidia.com/mig.config'] === c.migConfig && r.inputs.instanceTypes[0] === c.instanceType);
      expect(ng).toBeDefined();
      expect(ng!.inputs.amiType).toBe('AL2023_x86_64_NVIDIA');
      expect(ng!.inputs.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' }]);
      expect(ng!.inputs.scalingConfig).toEqual({ minSize: 0, maxSize: Math.max(c.nodes, 1), desiredSize: c.nodes });
      // resources of one node = the slices of every GPU of the node
      const gpus = getInstanceType(c.instanceType).gpuCount;
      const devices = c.devices.length === 1 ? Array(gpus).fill(c.devices[0]) : c.devices;
      const expected: Record<string, number> = {};
      for (const d of devices) {
        for (const sl of d) {
          const r = sl.profile === 'whole' ? 'nvidia.com/gpu' : `nvidia.com/mig-${sl.profile.replace(/\+/g, '.')}`;
          expected[r] = (expected[r] ?? 0) + 1;
        }
      }
      const tagged = Object.fromEntries(
        Object.entries(ng!.inputs.tags as Record<string, string>)
          .filter(([k]) => k.startsWith('k8s.io/cluster-autoscaler/node-template/resources/'))
          .map(([k, v]) => [k.replace('k8s.io/cluster-autoscaler/node-template/resources/', ''), Number(v)]),
      );
      expect(tagged).toEqual(expected);
      expect(ng!.inputs.tags['k8s.io/cluster-autoscaler/gpufleet-dev']).toBe('owned');
      expect(ng!.inputs.tags['k8s.io/cluster-autoscaler/node-template/label/nvidia.com/mig.config']).toBe(c.migConfig);
    }
  });

  test('a read-only grant and the IRSA annotation for every Triton service account', async () => {
    const roles = await valueOf(out.modelReaderRoles);
    const sas = Object.keys(roles);
    expect(sas.length).toBeGreaterThan(0);
    for (const sa of sas) {
      const [ns, name] = sa.split('/');
      const resource = mocks.get('kubernetes:core/v1:ServiceAccount', `gpufleet-platform-${ns}/${name}`);
      expect(resource.inputs.metadata.annotations['eks.amazonaws.com/role-arn']).toBe(roles[sa]);
      const policy = JSON.parse(mocks.get('aws:iam/rolePolicy:RolePolicy', `gpufleet-models-read-${ns}-${name}-policy`).inputs.policy);
      for (const s of policy.Statement) expect(String(s.Resource)).toMatch(/^arn:aws:s3:::gpufleet-dev-models-[0-9a-f]{8}(\/triton\/\*)?$/);
    }
  });
});

describe('a fresh account, the default example fleet: platform release and CRD installs', () => {
  let out: Outputs;
  beforeAll(async () => ({ out } = await freshAccount()), 180_000);

  test('the operator release and every kept chart object, parented to the platform release', () => {
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'gpufleet-gpu-operator-release');
    expect(helm.inputs.values.driver).toEqual({ enabled: false });
    const release = mocks.get('gpufleet:cloud:PlatformRelease', 'gpufleet-platform');
    const objects = kubeObjects();
    expect(objects.length).toBeGreaterThan(20);
    for (const o of objects) expect(mocks.isDescendantOf(o.urn, release.urn)).toBe(true);
    mocks.get('kubernetes:core/v1:ConfigMap', 'gpufleet-platform-gpu-operator/gpufleet-mig-parted-config');
    // Every object of the chart is a resource, except the skipped ones.
    expect(objects.length + out.skippedObjects.length).toBe(out.chartObjectCount);
  });

  test('installs the CRDs its objects need, at pinned versions, and applies those objects after them', () => {
    const crds = mocks.get('kubernetes:helm.sh/v3:Release', 'gpufleet-prerequisites-prometheus-operator-crds');
    expect(crds.inputs).toMatchObject({
      name: 'prometheus-operator-crds',
      chart: 'prometheus-operator-crds',
      version: '31.0.0',
      namespace: 'kube-system',
      repositoryOpts: { repo: 'https://prometheus-community.github.io/helm-charts' },
      // deleting a CRD deletes every object of its kinds in the cluster: Helm keeps them on uninstall
      values: { crds: { annotations: { 'helm.sh/resource-policy': 'keep' } } },
    });
    const gateway = mocks.get('kubernetes:yaml/v2:ConfigFile', 'gpufleet-prerequisites-gateway-api');
    expect(gateway.inputs.file).toBe('https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml');
    expect(gateway.remote).toBe(true); // fetched by the provider at deployment, never by the program
    expect(gateway.retainOnDelete).toBe(true);
    // Both through the cluster's provider, which waits for the system nodes.
    const provider = mocks.get('pulumi:providers:kubernetes', 'gpufleet-cluster-k8s');
    for (const r of [crds, gateway]) expect(r.provider.startsWith(provider.urn)).toBe(true);
    // No KEDA: the program's pools scale with fixed replicas, so no object needs it.
    expect(
      mocks
        .ofType('kubernetes:helm.sh/v3:Release')
        .map((r) => r.inputs.chart)
        .sort(),
    ).toEqual(['cluster-autoscaler', 'gpu-operator', 'prometheus-operator-crds']);

    const monitors = mocks.ofType('kubernetes:monitoring.coreos.com/v1:ServiceMonitor');
    const routes = mocks.ofType('kubernetes:gateway.networking.k8s.io/v1:HTTPRoute');
    expect(monitors.length).toBeGreaterThan(0);
    expect(routes.length).toBeGreaterThan(0);
    for (const m of monitors) expect(m.dependencies).toContain(crds.urn);
    for (const r of routes) expect(r.dependencies).toContain(gateway.urn);
    // Objects of built-in kinds do not wait for the CRD installs.
    const deployment = mocks.ofType('kubernetes:apps/v1:Deployment')[0];
    expect(deployment.dependencies).not.toContain(crds.urn);
    expect(deployment.dependencies).not.toContain(gateway.urn);

    expect(out.prerequisiteInstalls).toEqual([
      expect.objectContaining({
        prerequisite: 'prometheus',
        name: 'prometheus-operator-crds',
        version: '31.0.0',
        leaves: expect.stringContaining('Prometheus'),
      }),
      expect.objectContaining({
        prerequisite: 'gatewayApi',
        name: 'gateway-api',
        version: 'v1.6.1',
        leaves: expect.stringContaining('Gateway API implementation'),
      }),
    ]);
  });
});

describe('a fresh account, the default example fleet: APIs left out, declared prerequisites', () => {
  let out: Outputs;
  beforeAll(async () => ({ out } = await freshAccount()), 180_000);

  test('registers no object whose API a fresh cluster lacks and gpufleet does not install; lists those it leaves out', () => {
    const custom = [
      ...new Set(
        kubeObjects()
          .map(groupOf)
          .filter((g) => !FRESH_CLUSTER_GROUPS.includes(g)),
      ),
    ].sort();
    expect(custom).toEqual(['gateway.networking.k8s.io', 'monitoring.coreos.com']);
    // Left out: what the Pulumi Helm release of the GPU operator installs itself, and Karpenter's objects (the managed
    // node groups carry the pools). Nothing is left out for a missing API: every one the objects need is installed.
    expect(out.skippedObjects.map((s) => `${s.apiVersion} ${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`).sort()).toEqual([
      'helm.toolkit.fluxcd.io/v2 HelmRelease gpu-operator/gpu-operator',
      'karpenter.k8s.aws/v1 EC2NodeClass l4-whole',
      'karpenter.sh/v1 NodePool l4-whole',
      'source.toolkit.fluxcd.io/v1 HelmRepository gpu-operator/nvidia',
      'v1 Namespace gpu-operator',
    ]);
    for (const s of out.skippedObjects) expect(s.reason).toMatch(/gpu-operator|Karpenter object|operator namespace/);
  });

  test('declares what the cluster will have: CRDs alone declare nothing', () => {
    const none = {
      karpenterNodeOverlay: false,
      prometheus: false,
      prometheusAdapter: false,
      keda: false,
      gatewayApi: false,
      flux: false,
      metricsSources: [],
    };
    expect(out.prerequisites).toEqual(none);
    const cm = mocks.get('kubernetes:core/v1:ConfigMap', 'gpufleet-platform-gpu-operator/gpufleet-prerequisites');
    expect(parseYaml(cm.inputs.data['prerequisites.yaml'])).toEqual({
      karpenter: { nodeOverlay: false },
      prometheus: false,
      prometheusAdapter: false,
      keda: false,
      gatewayApi: false,
      flux: false,
      metricsSources: [],
    });
  });
});

describe('a fresh account, the default example fleet: awaiting, model files, autoscaler, cost', () => {
  let out: Outputs;
  let expectedPlan: import('../constructs/planner/types').Plan;
  let fleetModels: string[];
  beforeAll(async () => ({ out, expectedPlan, fleetModels } = await freshAccount()), 180_000);

  test('Triton Deployments and the Services that select their pods are not awaited; other workloads are', () => {
    const deployments = mocks.ofType('kubernetes:apps/v1:Deployment');
    const triton = deployments.filter(isTriton);
    expect(triton.length).toBeGreaterThan(0);
    for (const d of triton) {
      expect(d.inputs.metadata.annotations?.['pulumi.com/skipAwait']).toBe('true');
      expect(d.customTimeouts?.create ?? '').toBe('');
    }
    for (const d of deployments.filter((x) => !isTriton(x))) {
      expect(d.inputs.metadata.annotations?.['pulumi.com/skipAwait']).toBeUndefined();
      expect(d.customTimeouts?.create).toBe('30m');
    }
    const tritonPods = triton.map((d) => ({ ns: d.inputs.metadata.namespace, labels: d.inputs.spec.template.metadata.labels }));
    const services = mocks.ofType('kubernetes:core/v1:Service');
    const toTriton = services.filter((s) =>
      tritonPods.some((p) => p.ns === s.inputs.metadata.namespace && selects(s.inputs.spec.selector, p.labels)),
    );
    expect(toTriton.length).toBeGreaterThanOrEqual(triton.length);
    for (const s of services) {
      expect(s.inputs.metadata.annotations?.['pulumi.com/skipAwait']).toBe(toTriton.includes(s) ? 'true' : undefined);
    }
    const name = (r: RecordedResource) => `${r.inputs.metadata.namespace}/${r.inputs.metadata.name}`;
    expect(out.notAwaited).toEqual([...triton.map((d) => `Deployment ${name(d)}`), ...toTriton.map((s) => `Service ${name(s)}`)].sort());
  });

  test('says which files the bucket must hold for each model, and which pools wait for them', () => {
    const bucket = mocks.get('aws:s3/bucket:Bucket', 'gpufleet-models-bucket').inputs.bucket;
    const uploaded = new Map(mocks.ofType('aws:s3/bucketObjectv2:BucketObjectv2').map((o) => [o.inputs.key, o.inputs.content as string]));
    expect([...uploaded.keys()].sort()).toEqual(fleetModels.map((m) => `triton/${m}/config.pbtxt`));
    expect(Object.keys(out.modelRepositoryContents)).toEqual(fleetModels);
    const triton = mocks.ofType('kubernetes:apps/v1:Deployment').filter(isTriton);
    for (const m of fleetModels) {
      const c = out.modelRepositoryContents[m];
      expect(c.config).toBe(`s3://${bucket}/triton/${m}/config.pbtxt`);
      const platform = /^platform: "([a-z_]+)"$/m.exec(uploaded.get(`triton/${m}/config.pbtxt`)!)?.[1];
      expect(c.upload).toEqual([`s3://${bucket}/triton/${m}/1/${TRITON_DEFAULT_FILE[platform!]}`]);
      // the pools whose servers load the model at start
      const loading = triton
        .filter((d) => d.inputs.spec.template.spec.containers[0].args.includes(`--load-model=${m}`))
        .map((d) => `${d.inputs.metadata.namespace}/${d.inputs.metadata.name}`)
        .sort();
      expect(c.pools).toEqual(loading);
      expect(c.pools.length).toBeGreaterThan(0);
    }
  });

  test('installs the cluster-autoscaler for the created cluster', () => {
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'gpufleet-cluster-autoscaler-release');
    expect(helm.inputs.values.autoDiscovery).toEqual({ clusterName: 'gpufleet-dev' });
    expect(helm.inputs.values.awsRegion).toBe('us-east-1');
  });

  test("exports the plan's cost per hour", () => {
    expect(out.costPerHour).toBe(expectedPlan.summary.costPerHour);
    expect(out.costPerHour).toBeGreaterThan(0);
    expect(out.planSummary).toEqual(expectedPlan.summary);
  });
});

const CONFIG = {
  'gpufleet:region': 'us-west-2',
  'gpufleet:clusterName': 'prod-eks',
  'gpufleet:kubeconfig': '{"apiVersion":"v1","kind":"Config"}',
  'gpufleet:bucket': 'acme-model-repo',
  'gpufleet:bucketPrefix': 'serving/prod',
  'gpufleet:fleetFile': 'examples/payments-and-vision-h100.fleet.yaml',
  'gpufleet:workloadIdentity': 'pod-identity',
  'gpufleet:gpuNodeMax': '3',
  // as `pulumi config set --path gpufleet:prerequisites.gatewayApi true` (and .prometheus.namespace) store it
  'gpufleet:prerequisites': '{"gatewayApi":true,"prometheus":{"namespace":"monitoring"}}',
};

/** The H100 MIG fleet's plan and the program's run on an existing cluster, once for the two blocks below (as above). */
const existingCluster = once(async () => {
  const { loadFleetFile } = await import('../constructs/fleet');
  const { plan } = await import('../constructs/planner');
  const expectedPlan = plan(loadFleetFile(path.join(ROOT, CONFIG['gpufleet:fleetFile'])));
  const out = await run(CONFIG, 'prod');
  return { out, expectedPlan };
});

describe('existing cluster (Prometheus operator, Gateway API), bucket, Pod Identity, H100 MIG: nothing of the cluster installed', () => {
  let out: Outputs;
  beforeAll(async () => ({ out } = await existingCluster()), 180_000);

  test('creates no cluster and no bucket; uses the given kubeconfig as a secret', async () => {
    expect(mocks.ofType('aws:eks/cluster:Cluster')).toEqual([]);
    expect(mocks.ofType('aws:s3/bucket:Bucket')).toEqual([]);
    expect(mocks.calls.map((c) => c.token)).toContain('aws:eks/getCluster:getCluster');
    // Pod Identity only: no IAM OIDC provider is looked up (the cluster may have none).
    expect(mocks.calls.map((c) => c.token)).not.toContain('aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider');
    expect(await valueOf(out.clusterName)).toBe('prod-eks');
    expect(await valueOf(out.kubeconfig)).toBe(CONFIG['gpufleet:kubeconfig']);
    expect(await (out.kubeconfig as any).isSecret).toBe(true);
    // The provider receives it as a secret (Pulumi's secret signature), so it is encrypted in the state.
    expect(mocks.get('pulumi:providers:kubernetes', 'gpufleet-cluster-k8s').inputs.kubeconfig).toEqual({
      '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270',
      value: CONFIG['gpufleet:kubeconfig'],
    });
    expect(await valueOf(out.modelRepository)).toBe('s3://acme-model-repo/serving/prod');
    // An existing cluster runs its own autoscaler unless gpufleet:clusterAutoscaler is true.
    expect(mocks.ofType('gpufleet:cloud:ClusterAutoscaler')).toEqual([]);
    // The GPU nodes get their own role, named for the cluster.
    expect(mocks.get('aws:iam/role:Role', 'gpufleet-cluster-node-role').inputs.name).toBe('prod-eks-gpu-nodes');
  });

  test('what the cluster declares it has is not installed, and its objects wait for nothing of it', () => {
    expect(mocks.ofType('kubernetes:yaml/v2:ConfigFile')).toEqual([]);
    expect(mocks.ofType('kubernetes:helm.sh/v3:Release').map((r) => r.inputs.chart)).toEqual(['gpu-operator']);
    expect(out.prerequisiteInstalls).toEqual([]);
    const prerequisites = mocks.get('gpufleet:cloud:ClusterPrerequisites', 'gpufleet-prerequisites');
    expect(mocks.childrenOf(prerequisites.urn)).toEqual([]);
    const monitors = mocks.ofType('kubernetes:monitoring.coreos.com/v1:ServiceMonitor');
    const routes = mocks.ofType('kubernetes:gateway.networking.k8s.io/v1:HTTPRoute');
    expect(monitors.length).toBeGreaterThan(0);
    expect(routes.length).toBeGreaterThan(0);
    // the platform declares them, in the namespace the cluster's Prometheus runs in
    expect(out.prerequisites).toMatchObject({ prometheus: { namespace: 'monitoring' }, gatewayApi: true, keda: false, flux: false });
    const cm = mocks.get('kubernetes:core/v1:ConfigMap', 'gpufleet-platform-gpu-operator/gpufleet-prerequisites');
    expect(parseYaml(cm.inputs.data['prerequisites.yaml'])).toMatchObject({
      prometheus: { namespace: 'monitoring' },
      gatewayApi: true,
      keda: false,
    });
  });
});

describe('existing cluster (Prometheus operator, Gateway API), bucket, Pod Identity, H100 MIG: node group, Pod Identity, exports', () => {
  let out: Outputs;
  let expectedPlan: import('../constructs/planner/types').Plan;
  beforeAll(async () => ({ out, expectedPlan } = await existingCluster()), 180_000);

  test("the MIG node group carries the plan's layout in its autoscaler tags", () => {
    const config = expectedPlan.migConfigs![0];
    expect(config.devices.some((d) => d.some((sl) => sl.profile !== 'whole'))).toBe(true);
    const ng = mocks.ofType('aws:eks/nodeGroup:NodeGroup').find((r) => r.inputs.labels['nvidia.com/mig.config'] === config.name)!;
    // the plan's 2 GPUs on 2 single-GPU p5.4xlarge nodes ($13.76/h) instead of a p5.48xlarge ($55.04/h)
    expect(config.instanceType).toBe('p5.4xlarge');
    expect(ng.inputs.instanceTypes).toEqual(['p5.4xlarge']);
    expect(ng.inputs.scalingConfig).toEqual({ minSize: 0, maxSize: 3, desiredSize: config.nodes });
    const expected: Record<string, string> = {};
    const counts: Record<string, number> = {};
    const devices = config.devices; // p5.4xlarge: 1 GPU per node
    for (const device of devices)
      for (const s of device) counts[`nvidia.com/mig-${s.profile}`] = (counts[`nvidia.com/mig-${s.profile}`] ?? 0) + 1;
    for (const [r, n] of Object.entries(counts)) expected[`k8s.io/cluster-autoscaler/node-template/resources/${r}`] = String(n);
    // every GPU is cut into MIG slices: the template must not count the instance's whole GPU (cluster-autoscaler-1.33.1
    // aws_manager.go buildNodeFromTemplate starts from the instance's GPU count and lets resources tags overwrite it)
    expected['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu'] = '0';
    const tagged = Object.fromEntries(
      Object.entries(ng.inputs.tags as Record<string, string>).filter(([k]) => k.includes('/node-template/resources/')),
    );
    expect(tagged).toEqual(expected);
    expect(ng.inputs.tags['k8s.io/cluster-autoscaler/prod-eks']).toBe('owned');
    expect(ng.inputs.tags['k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.product']).toBe('NVIDIA-H100-80GB-HBM3');
    // The mig-parted ConfigMap released to the cluster holds the same layout.
    const cm = mocks.get('kubernetes:core/v1:ConfigMap', 'gpufleet-platform-gpu-operator/gpufleet-mig-parted-config');
    expect(cm.inputs.data['config.yaml']).toContain(config.name);
  });

  test('Pod Identity: an association per Triton service account, no IRSA annotation, prefix-scoped policy', async () => {
    const roles = await valueOf(out.modelReaderRoles);
    expect(Object.keys(roles).length).toBeGreaterThan(0);
    const associations = mocks.ofType('aws:eks/podIdentityAssociation:PodIdentityAssociation');
    expect(associations.map((a) => `${a.inputs.namespace}/${a.inputs.serviceAccount}`).sort()).toEqual(Object.keys(roles).sort());
    for (const a of associations) expect(a.inputs.clusterName).toBe('prod-eks');
    for (const sa of Object.keys(roles)) {
      const [ns, name] = sa.split('/');
      const r = mocks.get('kubernetes:core/v1:ServiceAccount', `gpufleet-platform-${ns}/${name}`);
      expect(r.inputs.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
      const policy = JSON.parse(mocks.get('aws:iam/rolePolicy:RolePolicy', `gpufleet-models-read-${ns}-${name}-policy`).inputs.policy);
      expect(policy.Statement).toEqual([
        {
          Sid: 'ListModelRepository',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::acme-model-repo',
          Condition: { StringLike: { 's3:prefix': ['serving/prod', 'serving/prod/*'] } },
        },
        {
          Sid: 'HeadModelRepositoryBucket',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::acme-model-repo',
          Condition: { Null: { 's3:prefix': 'true' } },
        },
        { Sid: 'ReadModelRepository', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-model-repo/serving/prod/*' },
      ]);
    }
    // The Triton objects wait for the associations.
    const deployment = mocks.ofType('kubernetes:apps/v1:Deployment')[0];
    expect(deployment.dependencies).toEqual(expect.arrayContaining(associations.map((a) => a.urn)));
  });

  test("exports the plan's cost per hour and the model files under the existing bucket's prefix", () => {
    expect(out.costPerHour).toBe(expectedPlan.summary.costPerHour);
    for (const [m, c] of Object.entries(out.modelRepositoryContents)) {
      expect(c.config).toBe(`s3://acme-model-repo/serving/prod/${m}/config.pbtxt`);
      for (const u of c.upload) expect(u.startsWith(`s3://acme-model-repo/serving/prod/${m}/1/`)).toBe(true);
    }
  });
});

describe('the escape hatch and the public endpoint', () => {
  test('excludeKinds leaves the kinds out, and with them the installs only they needed', async () => {
    const out = await run({
      'gpufleet:region': 'us-east-1',
      'gpufleet:fleetFile': SMALL,
      'gpufleet:publicAccessCidrs': '203.0.113.0/24',
      'gpufleet:excludeKinds': 'gateway.networking.k8s.io/HTTPRoute',
    });
    // the program passes the configured blocks to the cluster
    expect(mocks.get('aws:eks/cluster:Cluster', 'gpufleet-cluster-eks').inputs.vpcConfig).toMatchObject({
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ['203.0.113.0/24'],
    });
    expect(mocks.ofType('kubernetes:gateway.networking.k8s.io/v1:HTTPRoute')).toEqual([]);
    expect(mocks.ofType('kubernetes:yaml/v2:ConfigFile')).toEqual([]);
    expect(out.prerequisiteInstalls.map((i) => i.name)).toEqual(['prometheus-operator-crds']);
    const routes = out.skippedObjects.filter((s) => s.kind === 'HTTPRoute');
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) expect(r.reason).toBe('kind gateway.networking.k8s.io/HTTPRoute excluded (excludeKinds)');
  }, 60_000);
});

describe('bad input stops the program with a RunError before any resource', () => {
  test('fails listing every problem of the configuration', async () => {
    const e = await programError({
      'gpufleet:region': 'moon-1',
      'gpufleet:fleetFile': 'examples/missing.fleet.yaml',
      'gpufleet:gpuNodeMin': '-1',
      'gpufleet:amiType': 'AL2_x86_64_GPU',
      'gpufleet:bukcet': 'typo',
    });
    expect(e.message).toBe(
      'invalid stack configuration (5 problems):\n' +
        '  - gpufleet:bukcet: unknown key; allowed: amiType, bucket, bucketName, bucketPrefix, clusterAutoscaler, clusterName, ' +
        'endpointPublicAccess, excludeKinds, fleetFile, gpuNodeMax, gpuNodeMin, kmsKeyArn, kubeconfig, kubernetesVersion, ' +
        'newClusterName, platformFile, prerequisites, publicAccessCidrs, region, subnetIds, workloadIdentity\n' +
        '  - gpufleet:region: expected an AWS region such as us-east-1, got "moon-1"\n' +
        `  - gpufleet:fleetFile: "examples/missing.fleet.yaml" (resolved to "${path.join(ROOT, 'examples/missing.fleet.yaml')}"): ` +
        `cannot read the file (no such file)\n` +
        '  - gpufleet:amiType: expected AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA, got "AL2_x86_64_GPU"\n' +
        '  - gpufleet:gpuNodeMin: expected an integer from 0 to 10000, got "-1"',
    );
  });

  test('fails without a region', async () => {
    mocks.reset();
    expect(() => program.gpufleetProgram({}, { project: 'gpufleet', stack: 'dev', rootDir: ROOT })).toThrow(
      'gpufleet:region: required (or aws:region)',
    );
    expect(mocks.resources).toEqual([]);
  });

  test('fails on a fleet file that is no fleet', async () => {
    const e = await programError({ 'gpufleet:fleetFile': 'Pulumi.dev.yaml' });
    expect(e.message).toMatch(/^invalid stack configuration \(\d+ problems\):\n {2}- gpufleet:fleetFile: config: unknown key/);
  });

  test('fails on a prerequisites declaration outside the vocabulary, naming each key', async () => {
    const e = await programError({
      'gpufleet:prerequisites': '{"keda":"yes","istio":true,"prometheus":true,"metricsSources":["istio","graphite"]}',
    });
    expect(problemLines(e)).toEqual([
      'gpufleet:prerequisites.keda: expected true or false, got "yes"',
      'gpufleet:prerequisites.istio: unknown key; allowed: flux, gatewayApi, karpenterNodeOverlay, keda, metricsSources, ' +
        'prometheus, prometheusAdapter',
      'gpufleet:prerequisites.prometheus: expected {"namespace": <namespace>} or false, got true',
      'gpufleet:prerequisites.metricsSources[1]: expected one of dcgm-exporter, envoy-gateway, istio, kube-state-metrics, ' +
        'metrics-server, node-exporter, got "graphite"',
    ]);
    expect(problemLines(await programError({ 'gpufleet:prerequisites': 'keda' }))).toEqual([
      'gpufleet:prerequisites: expected a mapping such as {"keda": true, "gatewayApi": true, "prometheus": {"namespace": ' +
        '"monitoring"}}, got "keda"',
    ]);
  });

  test('fails on a fleetFile that is no fleet (say /etc/passwd) without printing its content', async () => {
    const passwd = path.join(tmp, 'passwd');
    fs.writeFileSync(
      passwd,
      Array.from({ length: 60 }, (_, i) => `user${i}:x:${1000 + i}:${1000 + i}::/home/user${i}:/bin/bash`).join('\n'),
    );
    const e = await programError({ 'gpufleet:fleetFile': passwd });
    expect(problemLines(e)).toEqual([
      expect.stringMatching(
        /^gpufleet:fleetFile: fleet: expected a mapping with name, gpus and models, got "user0:x:1000:1000::.{60,}…" \(\d+ characters\)$/,
      ),
    ]);
    expect(e.message).not.toContain('user59');
    expect(e.message.length).toBeLessThan(400);
  });

  test('fails on a fleet no GPU type can serve, one line per model', async () => {
    const fleet = path.join(tmp, 'tight.fleet.yaml');
    fs.writeFileSync(fleet, fs.readFileSync(path.join(ROOT, SMALL), 'utf8').replace('latencySloMs: 183', 'latencySloMs: 0.01'));
    const e = await programError({ 'gpufleet:fleetFile': fleet });
    expect(e.message.split('\n')).toEqual([
      `cannot plan fleet payments-and-vision of gpufleet:fleetFile ${JSON.stringify(fleet)} (1 problem):`,
      expect.stringMatching(/^ {2}- models\.resnet50: no profile entry meets latency <= 0\.5 x 0\.01 ms/),
    ]);
  });
});

describe('stacks/index.ts', () => {
  test('runs the program with the stack configuration and exports its outputs', async () => {
    mocks.reset();
    pulumi.runtime.setAllConfig({ 'gpufleet:region': 'us-east-1', 'gpufleet:fleetFile': SMALL, 'gpufleet:endpointPublicAccess': 'false' });
    const index = await import('../stacks/index');
    await valueOf(index.kubeconfig);
    await settle();
    expect(await valueOf(index.clusterName)).toBe('gpufleet-dev');
    expect(mocks.get('aws:eks/cluster:Cluster', 'gpufleet-cluster-eks').inputs.vpcConfig).toMatchObject({ endpointPublicAccess: false });
    const outputs: (keyof Outputs)[] = [
      'clusterName',
      'kubeconfig',
      'bucketName',
      'modelRepository',
      'modelReaderRoles',
      'gpuNodeGroups',
      'costPerHour',
      'planSummary',
      'chartObjectCount',
      'skippedObjects',
      'prerequisiteInstalls',
      'prerequisites',
      'modelRepositoryContents',
      'notAwaited',
      'platformFileOverridden',
    ];
    expect(Object.keys(index).sort()).toEqual([...outputs].sort());
  }, 60_000);
});
