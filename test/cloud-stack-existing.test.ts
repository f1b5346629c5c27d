/**
 * The Pulumi program into an existing cluster and an existing bucket, with EKS Pod Identity, for the H100
 * MIG example fleet: nothing of the cluster or bucket is created, the GPU node group carries the plan's
 * per-GPU MIG layout in its scale-from-zero tags, and each Triton service account gets a Pod Identity
 * association instead of the IRSA annotation.
 */
import * as path from 'path';
import { settle, setupPulumiMocks, valueOf } from './support/pulumi-mocks';

const CONFIG = {
  'gpufleet:region': 'us-west-2',
  'gpufleet:clusterName': 'prod-eks',
  'gpufleet:kubeconfig': '{"apiVersion":"v1","kind":"Config"}',
  'gpufleet:bucket': 'acme-model-repo',
  'gpufleet:bucketPrefix': 'serving/prod',
  'gpufleet:fleetFile': 'examples/payments-and-vision-h100.fleet.yaml',
  'gpufleet:workloadIdentity': 'pod-identity',
  'gpufleet:gpuNodeMax': '3',
};
const mocks = setupPulumiMocks({ config: CONFIG, stack: 'prod' });
const ROOT = path.resolve(__dirname, '..');

describe('stacks/index.ts (existing cluster and bucket, Pod Identity, H100 MIG fleet)', () => {
  let program: typeof import('../stacks/index');
  let expectedPlan: import('../constructs/planner/types').Plan;

  beforeAll(async () => {
    const { loadFleetFile } = await import('../constructs/fleet');
    const { plan } = await import('../constructs/planner');
    expectedPlan = plan(loadFleetFile(path.join(ROOT, CONFIG['gpufleet:fleetFile'])));
    program = await import('../stacks/index');
    await valueOf(program.kubeconfig);
    await settle();
  }, 180_000);

  test('creates no cluster and no bucket; uses the given kubeconfig as a secret', async () => {
    expect(mocks.ofType('aws:eks/cluster:Cluster')).toEqual([]);
    expect(mocks.ofType('aws:s3/bucket:Bucket')).toEqual([]);
    expect(mocks.calls.map((c) => c.token)).toContain('aws:eks/getCluster:getCluster');
    // Pod Identity only: no IAM OIDC provider is looked up (the cluster may have none).
    expect(mocks.calls.map((c) => c.token)).not.toContain('aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider');
    expect(await valueOf(program.clusterName)).toBe('prod-eks');
    expect(await valueOf(program.kubeconfig)).toBe(CONFIG['gpufleet:kubeconfig']);
    expect(await (program.kubeconfig as any).isSecret).toBe(true);
    // The provider receives it as a secret (Pulumi's secret signature), so it is encrypted in the state.
    expect(mocks.get('pulumi:providers:kubernetes', 'gpufleet-cluster-k8s').inputs.kubeconfig)
      .toEqual({ '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', value: CONFIG['gpufleet:kubeconfig'] });
    expect(await valueOf(program.modelRepository)).toBe('s3://acme-model-repo/serving/prod');
    // An existing cluster runs its own autoscaler unless gpufleet:clusterAutoscaler is true.
    expect(mocks.ofType('gpufleet:cloud:ClusterAutoscaler')).toEqual([]);
    // The GPU nodes get their own role, named for the cluster.
    expect(mocks.get('aws:iam/role:Role', 'gpufleet-cluster-node-role').inputs.name).toBe('prod-eks-gpu-nodes');
  });

  test('the MIG node group carries the plan\'s layout in its autoscaler tags', () => {
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
    for (const device of devices) for (const s of device) counts[`nvidia.com/mig-${s.profile}`] = (counts[`nvidia.com/mig-${s.profile}`] ?? 0) + 1;
    for (const [r, n] of Object.entries(counts)) expected[`k8s.io/cluster-autoscaler/node-template/resources/${r}`] = String(n);
    // every GPU is cut into MIG slices: the template must not count the instance's whole GPU (cluster-autoscaler-1.33.1
    // aws_manager.go buildNodeFromTemplate starts from the instance's GPU count and lets resources tags overwrite it)
    expected['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu'] = '0';
    const tagged = Object.fromEntries(Object.entries(ng.inputs.tags as Record<string, string>).filter(([k]) => k.includes('/node-template/resources/')));
    expect(tagged).toEqual(expected);
    expect(ng.inputs.tags['k8s.io/cluster-autoscaler/prod-eks']).toBe('owned');
    expect(ng.inputs.tags['k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.product']).toBe('NVIDIA-H100-80GB-HBM3');
    // The mig-parted ConfigMap released to the cluster holds the same layout.
    const cm = mocks.get('kubernetes:core/v1:ConfigMap', 'gpufleet-platform-gpu-operator/gpufleet-mig-parted-config');
    expect(cm.inputs.data['config.yaml']).toContain(config.name);
  });

  test('Pod Identity: an association per Triton service account, no IRSA annotation, prefix-scoped policy', async () => {
    const roles = await valueOf(program.modelReaderRoles);
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
        { Sid: 'ListModelRepository', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::acme-model-repo', Condition: { StringLike: { 's3:prefix': ['serving/prod', 'serving/prod/*'] } } },
        { Sid: 'HeadModelRepositoryBucket', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::acme-model-repo', Condition: { Null: { 's3:prefix': 'true' } } },
        { Sid: 'ReadModelRepository', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-model-repo/serving/prod/*' },
      ]);
    }
    // The Triton objects wait for the associations.
    const deployment = mocks.ofType('kubernetes:apps/v1:Deployment')[0];
    expect(deployment.dependencies).toEqual(expect.arrayContaining(associations.map((a) => a.urn)));
  });

  test('exports the plan\'s cost per hour', () => {
    expect(program.costPerHour).toBe(expectedPlan.summary.costPerHour);
  });
});
