/**
 * The Pulumi program (stacks/index.ts) under mocks, for the default example fleet: it plans the fleet with
 * the real planner, renders the serving platform with cdk8s and creates the cluster, one GPU node group per
 * node configuration, the bucket and read grants, the operator release and the platform release. Bad
 * configuration fails before any resource, listing every problem.
 */
import * as path from 'path';
import { settle, setupPulumiMocks, valueOf } from './support/pulumi-mocks';

const BASE_CONFIG = {
  'gpufleet:region': 'us-east-1',
  'gpufleet:bucketPrefix': 'triton',
  'gpufleet:gpuNodeMin': '0',
};
const mocks = setupPulumiMocks({ config: BASE_CONFIG, stack: 'dev' });
const ROOT = path.resolve(__dirname, '..');

type Program = typeof import('../stacks/index');

async function loadProgram(config: Record<string, string>): Promise<Program> {
  const pulumi = await import('@pulumi/pulumi');
  pulumi.runtime.setAllConfig(config);
  let program: Program | undefined;
  await jest.isolateModulesAsync(async () => {
    program = await import('../stacks/index');
  });
  return program!;
}

describe('stacks/index.ts (default example)', () => {
  let program: Program;
  let expectedPlan: import('../constructs/planner/types').Plan;
  const warnings: string[] = [];

  beforeAll(async () => {
    const { loadFleetFile } = await import('../constructs/fleet');
    const { plan } = await import('../constructs/planner');
    const { DEFAULT_FLEET_FILE } = await import('../stacks/config');
    expectedPlan = plan(loadFleetFile(path.join(ROOT, DEFAULT_FLEET_FILE)));
    mocks.reset();
    // Under mocks, pulumi.log.warn goes to console.warn: keep what the program warns about.
    const warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => { warnings.push(args.join(' ')); });
    try {
      program = await loadProgram(BASE_CONFIG);
      await valueOf(program.kubeconfig);
      await settle();
    } finally {
      warn.mockRestore();
    }
  }, 180_000);

  test('creates the cluster, the provider and the bucket named for the stack', async () => {
    const eks = mocks.get('aws:eks/cluster:Cluster', 'gpufleet-cluster-eks');
    expect(eks.inputs.name).toBe('gpufleet-dev');
    // No gpufleet:publicAccessCidrs: EKS's default, written out so that `pulumi preview` shows it, and a warning.
    expect(eks.inputs.vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ['0.0.0.0/0'] });
    expect(warnings).toEqual([expect.stringContaining('the EKS API endpoint is public and open to any address (0.0.0.0/0)')]);
    expect(await valueOf(program.clusterName)).toBe('gpufleet-dev');
    expect(mocks.get('pulumi:providers:aws', 'aws').inputs.region).toBe('us-east-1');
    const bucket = mocks.get('aws:s3/bucket:Bucket', 'gpufleet-models-bucket');
    expect(bucket.inputs.bucket).toMatch(/^gpufleet-dev-models-[0-9a-f]{8}$/);
    expect(await valueOf(program.modelRepository)).toBe(`s3://${bucket.inputs.bucket}/triton`);
    expect(await (program.kubeconfig as any).isSecret).toBe(true);
  });

  test('one GPU node group per node configuration of the plan, with tags matching the layout', () => {
    // Node configurations, from the plan's nodes: (layout, instance type) → node count and per-GPU slices.
    const configs = new Map<string, { migConfig: string; instanceType: string; nodes: number; devices: readonly (readonly { profile: string }[])[] }>();
    for (const n of expectedPlan.nodes ?? []) {
      const key = `${n.migConfig} ${n.instanceType}`;
      const mig = (expectedPlan.migConfigs ?? []).find((c) => c.name === n.migConfig);
      const entry = configs.get(key) ?? { migConfig: n.migConfig, instanceType: n.instanceType, nodes: 0, devices: mig ? mig.devices : [[{ profile: 'whole' }]] };
      configs.set(key, { ...entry, nodes: entry.nodes + 1 });
    }
    expect(configs.size).toBeGreaterThan(0);
    expect(mocks.ofType('gpufleet:cloud:GpuNodeGroup')).toHaveLength(configs.size);
    const { getInstanceType } = require('../constructs/catalog');
    for (const c of configs.values()) {
      const ng = mocks.ofType('aws:eks/nodeGroup:NodeGroup').find((r) => r.inputs.labels?.['nvidia.com/mig.config'] === c.migConfig && r.inputs.instanceTypes[0] === c.instanceType);
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
      const tagged = Object.fromEntries(Object.entries(ng!.inputs.tags as Record<string, string>)
        .filter(([k]) => k.startsWith('k8s.io/cluster-autoscaler/node-template/resources/'))
        .map(([k, v]) => [k.replace('k8s.io/cluster-autoscaler/node-template/resources/', ''), Number(v)]));
      expect(tagged).toEqual(expected);
      expect(ng!.inputs.tags['k8s.io/cluster-autoscaler/gpufleet-dev']).toBe('owned');
      expect(ng!.inputs.tags['k8s.io/cluster-autoscaler/node-template/label/nvidia.com/mig.config']).toBe(c.migConfig);
    }
  });

  test('a read-only grant and the IRSA annotation for every Triton service account', async () => {
    const roles = await valueOf(program.modelReaderRoles);
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

  test('the operator release and every kept chart object, parented to the platform release', () => {
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'gpufleet-gpu-operator-release');
    expect(helm.inputs.values.driver).toEqual({ enabled: false });
    const release = mocks.get('gpufleet:cloud:PlatformRelease', 'gpufleet-platform');
    const objects = mocks.resources.filter((r) => r.custom && r.type.startsWith('kubernetes:') && r.type !== 'kubernetes:helm.sh/v3:Release');
    expect(objects.length).toBeGreaterThan(20);
    for (const o of objects) expect(mocks.isDescendantOf(o.urn, release.urn)).toBe(true);
    expect(objects.some((o) => o.type.startsWith('kubernetes:karpenter'))).toBe(false);
    expect(objects.some((o) => o.type === 'kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease')).toBe(false);
    mocks.get('kubernetes:core/v1:ConfigMap', 'gpufleet-platform-gpu-operator/gpufleet-mig-parted-config');
    expect(program.skippedObjects.length).toBeGreaterThan(0);
    // Every object of the chart is a resource, except the skipped ones.
    expect(objects.length + program.skippedObjects.length).toBe(program.chartObjectCount);
  });

  test('uploads the config.pbtxt of every model of the fleet', async () => {
    const { loadFleetFile } = await import('../constructs/fleet');
    const { DEFAULT_FLEET_FILE } = await import('../stacks/config');
    const models = loadFleetFile(path.join(ROOT, DEFAULT_FLEET_FILE)).models.map((m) => m.name).sort();
    const keys = mocks.ofType('aws:s3/bucketObjectv2:BucketObjectv2').map((o) => o.inputs.key).sort();
    expect(keys).toEqual(models.map((m) => `triton/${m}/config.pbtxt`));
  });

  test('installs the cluster-autoscaler for the created cluster', () => {
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'gpufleet-cluster-autoscaler-release');
    expect(helm.inputs.values.autoDiscovery).toEqual({ clusterName: 'gpufleet-dev' });
    expect(helm.inputs.values.awsRegion).toBe('us-east-1');
  });

  test('exports the plan\'s cost per hour', () => {
    expect(program.costPerHour).toBe(expectedPlan.summary.costPerHour);
    expect(program.costPerHour).toBeGreaterThan(0);
    expect(program.planSummary).toEqual(expectedPlan.summary);
  });
});

describe('stacks/index.ts (bad configuration)', () => {
  test('fails before any resource, listing every problem', async () => {
    mocks.reset();
    await expect(loadProgram({
      'gpufleet:region': 'moon-1',
      'gpufleet:fleetFile': 'examples/missing.fleet.yaml',
      'gpufleet:gpuNodeMin': '-1',
      'gpufleet:amiType': 'AL2_x86_64_GPU',
      'gpufleet:bukcet': 'typo',
    })).rejects.toThrow(
      'invalid stack configuration (5 problems):\n'
      + '  - gpufleet:bukcet: unknown key; allowed: amiType, bucket, bucketName, bucketPrefix, clusterAutoscaler, clusterName, endpointPublicAccess, excludeKinds, fleetFile, gpuNodeMax, gpuNodeMin, kmsKeyArn, kubeconfig, kubernetesVersion, newClusterName, publicAccessCidrs, region, subnetIds, workloadIdentity\n'
      + '  - gpufleet:region: expected an AWS region such as us-east-1, got "moon-1"\n'
      + `  - gpufleet:fleetFile: "examples/missing.fleet.yaml" (resolved to "${path.join(ROOT, 'examples/missing.fleet.yaml')}"): cannot read the file (no such file)\n`
      + '  - gpufleet:amiType: expected AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA, got "AL2_x86_64_GPU"\n'
      + '  - gpufleet:gpuNodeMin: expected an integer from 0 to 10000, got "-1"',
    );
    await settle();
    expect(mocks.resources).toEqual([]);
  });

  test('fails without a region', async () => {
    mocks.reset();
    await expect(loadProgram({})).rejects.toThrow('gpufleet:region: required (or aws:region)');
    expect(mocks.resources).toEqual([]);
  });

  test('fails on an invalid fleet file before any resource', async () => {
    mocks.reset();
    await expect(loadProgram({ 'gpufleet:region': 'us-east-1', 'gpufleet:fleetFile': 'Pulumi.dev.yaml' }))
      .rejects.toThrow(/invalid stack configuration \(4 problems\):\n {2}- gpufleet:fleetFile: config: unknown key/);
    await settle();
    expect(mocks.resources).toEqual([]);
  });
});
