/**
 * GpuCluster and GpuNodeGroup under Pulumi mocks: the EKS cluster with its roles, access config, OIDC
 * provider, Pod Identity agent, system node group and Kubernetes provider; an existing cluster; one GPU
 * node group per node configuration of a plan with the MIG label, taint, AMI type and scale-from-zero tags.
 */
import type { Plan } from '../constructs/planner/types';
import { parseImageReference } from '../constructs/k8s/common/image-reference';
import { OIDC_ISSUER, settle, setupPulumiMocks, valueOf } from './support/pulumi-mocks';

const mocks = setupPulumiMocks();
let cloud: typeof import('../constructs/cloud');

beforeAll(async () => {
  cloud = await import('../constructs/cloud');
});
beforeEach(() => mocks.reset());

/** A hand-made plan: two A100-80GB layouts on p4de.24xlarge (8 GPUs) and one L4 config used whole. */
function handPlan(): Plan {
  return {
    fleet: 'hand',
    gpus: [],
    migConfigs: [
      {
        name: 'a100-mixed',
        gpuType: 'A100-80GB',
        instanceType: 'p4de.24xlarge',
        nodes: 2,
        devices: [
          [
            { profile: '3g.40gb', start: 4 },
            { profile: '2g.20gb', start: 0 },
            { profile: '1g.10gb', start: 2 },
            { profile: '1g.10gb', start: 3 },
          ],
        ],
      },
      {
        name: 'a100-small',
        gpuType: 'A100-80GB',
        instanceType: 'p4de.24xlarge',
        nodes: 1,
        devices: [[0, 1, 2, 3, 4, 5, 6].map((start) => ({ profile: '1g.10gb', start }))],
      },
      { name: 'all-disabled', gpuType: 'L4', instanceType: 'g6.xlarge', nodes: 3, devices: [[{ profile: 'whole', start: 0 }]] },
    ],
    // every plan lists its nodes: the topology counts the whole-GPU nodes from them
    nodes: [
      ...[0, 1].map((i) => ({ name: `node-${i}`, instanceType: 'p4de.24xlarge', gpuType: 'A100-80GB', migConfig: 'a100-mixed', gpus: [] })),
      { name: 'node-2', instanceType: 'p4de.24xlarge', gpuType: 'A100-80GB', migConfig: 'a100-small', gpus: [] },
      ...[3, 4, 5].map((i) => ({ name: `node-${i}`, instanceType: 'g6.xlarge', gpuType: 'L4', migConfig: 'all-disabled', gpus: [] })),
    ],
    summary: { gpuCount: 19, costPerHour: 57.3, lowerBound: 10, baselines: { dedicated: 30, noMig: 20 } },
  };
}

describe('GpuCluster (new)', () => {
  test('creates the EKS cluster, roles, OIDC provider, Pod Identity agent, system nodes and a provider', async () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev', region: 'us-east-1' });
    expect(await valueOf(cluster.oidcIssuerUrl)).toBe(OIDC_ISSUER);
    const kubeconfig = JSON.parse(await valueOf(cluster.kubeconfig));
    await settle();
    const eks = mocks.get('aws:eks/cluster:Cluster', 'gf-eks');
    expect(eks.inputs).toMatchObject({
      name: 'gpufleet-dev',
      version: '1.33',
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
      vpcConfig: {
        subnetIds: ['subnet-0a000000000000001', 'subnet-0b000000000000002', 'subnet-0c000000000000003'],
        endpointPublicAccess: true,
      },
    });
    expect(eks.inputs.roleArn).toMatch(/^arn:aws:iam::123456789012:role\/gf-cluster-role/);
    const clusterRole = mocks.get('aws:iam/role:Role', 'gf-cluster-role');
    expect(JSON.parse(clusterRole.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: 'eks.amazonaws.com' });
    expect(mocks.get('aws:iam/rolePolicyAttachment:RolePolicyAttachment', 'gf-cluster-AmazonEKSClusterPolicy').inputs.policyArn).toBe(
      'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
    );
    expect(
      mocks
        .ofType('aws:iam/rolePolicyAttachment:RolePolicyAttachment')
        .map((r) => r.inputs.policyArn.split('/').pop())
        .sort(),
    ).toEqual(['AmazonEC2ContainerRegistryReadOnly', 'AmazonEKSClusterPolicy', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy']);
    expect(mocks.get('aws:iam/openIdConnectProvider:OpenIdConnectProvider', 'gf-oidc').inputs).toMatchObject({
      url: OIDC_ISSUER,
      clientIdLists: ['sts.amazonaws.com'],
    });
    expect(mocks.get('aws:eks/addon:Addon', 'gf-pod-identity-agent').inputs.addonName).toBe('eks-pod-identity-agent');
    const sys = mocks.get('aws:eks/nodeGroup:NodeGroup', 'gf-system');
    expect(sys.inputs).toMatchObject({
      amiType: 'AL2023_x86_64_STANDARD',
      instanceTypes: ['m6i.xlarge'],
      scalingConfig: { minSize: 2, maxSize: 4, desiredSize: 2 },
    });
    expect(sys.inputs.taints).toBeUndefined();
    const provider = mocks.get('pulumi:providers:kubernetes', 'gf-k8s');
    expect(provider.dependencies).toContain(sys.urn);
    // The kubeconfig holds no credentials: it calls aws eks get-token.
    expect(kubeconfig.users[0].user.exec).toMatchObject({
      command: 'aws',
      args: ['eks', 'get-token', '--cluster-name', 'gpufleet-dev', '--output', 'json', '--region', 'us-east-1'],
    });
    expect(kubeconfig.clusters[0].cluster.server).toMatch(/^https:\/\/.*eks\.amazonaws\.com$/);
    expect(await (cluster.kubeconfig as any).isSecret).toBe(true);
    const component = mocks.get('gpufleet:cloud:GpuCluster', 'gf');
    for (const r of mocks.resources.filter((x) => x !== component)) expect(r.parent).toBe(component.urn);
  });

  test('uses an existing cluster by name: looks it up, creates no cluster', async () => {
    const cluster = new cloud.GpuCluster('ex', { existingClusterName: 'prod-eks' });
    expect(await valueOf(cluster.clusterName)).toBe('prod-eks');
    expect(await valueOf(cluster.oidcProviderArn)).toBe(`arn:aws:iam::123456789012:oidc-provider/${OIDC_ISSUER.replace('https://', '')}`);
    expect(await valueOf(cluster.subnetIds)).toEqual(['subnet-0e000000000000001', 'subnet-0f000000000000002']);
    await settle();
    expect(mocks.ofType('aws:eks/cluster:Cluster')).toEqual([]);
    expect(mocks.ofType('aws:eks/nodeGroup:NodeGroup')).toEqual([]);
    expect(mocks.calls.map((c) => c.token)).toEqual(
      expect.arrayContaining(['aws:eks/getCluster:getCluster', 'aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider']),
    );
    expect(mocks.ofType('pulumi:providers:kubernetes')).toHaveLength(1);
  });

  test('irsa: false creates no OIDC provider (Pod Identity only)', async () => {
    const cluster = new cloud.GpuCluster('np', { clusterName: 'gpufleet-dev', irsa: false });
    expect(cluster.oidcProviderArn).toBeUndefined();
    await settle();
    expect(mocks.ofType('aws:iam/openIdConnectProvider:OpenIdConnectProvider')).toEqual([]);
    mocks.get('aws:eks/addon:Addon', 'np-pod-identity-agent');
  });

  test('fails on bad system node group sizes or options that need a new cluster, before any resource', () => {
    expect(() => new cloud.GpuCluster('bad', { systemNodeGroup: { minSize: 3, maxSize: 2 } })).toThrow(
      'GpuCluster bad: systemNodeGroup: expected minSize <= desiredSize <= maxSize, got 3 <= 3 <= 2',
    );
    expect(() => new cloud.GpuCluster('bad2', { existingClusterName: 'x', version: '1.30' })).toThrow(
      'version: only for a new cluster, not allowed with existingClusterName',
    );
    expect(() => new cloud.GpuCluster('bad3', { kubeconfig: '{}' })).toThrow(/kubeconfig: only for an existing cluster/);
    expect(mocks.resources).toEqual([]);
  });
});

describe('GpuNodeGroup', () => {
  test('one node group per node configuration with MIG label, taint, AMI and scale-from-zero tags', async () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const groups = cloud.GpuNodeGroup.fromPlan('gpu', handPlan(), { cluster });
    expect(groups.map((g) => g.pool)).toEqual(['a100-mixed', 'a100-small', 'l4-whole']);
    // MIG-only groups advertise no whole GPU (mixed strategy)
    expect(groups.map((g) => g.resources)).toEqual([
      { 'nvidia.com/gpu': 0, 'nvidia.com/mig-1g.10gb': 16, 'nvidia.com/mig-2g.20gb': 8, 'nvidia.com/mig-3g.40gb': 8 },
      { 'nvidia.com/gpu': 0, 'nvidia.com/mig-1g.10gb': 56 },
      { 'nvidia.com/gpu': 1 },
    ]);
    await settle();
    const ngs = mocks.ofType('aws:eks/nodeGroup:NodeGroup').filter((r) => r.name !== 'gf-system');
    expect(ngs.map((r) => r.name).sort()).toEqual(['gpu-a100-mixed-nodes', 'gpu-a100-small-nodes', 'gpu-l4-whole-nodes']);
    const mixed = mocks.get('aws:eks/nodeGroup:NodeGroup', 'gpu-a100-mixed-nodes');
    expect(mixed.inputs).toMatchObject({
      amiType: 'AL2023_x86_64_NVIDIA',
      instanceTypes: ['p4de.24xlarge'],
      labels: { 'nvidia.com/mig.config': 'a100-mixed', 'gpufleet.io/pool': 'a100-mixed' },
      taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' }],
      scalingConfig: { minSize: 0, maxSize: 2, desiredSize: 2 },
      clusterName: 'gpufleet-dev',
    });
    expect(mixed.inputs.tags).toEqual({
      'gpufleet.io/pool': 'a100-mixed',
      'k8s.io/cluster-autoscaler/enabled': 'true',
      'k8s.io/cluster-autoscaler/gpufleet-dev': 'owned',
      'k8s.io/cluster-autoscaler/node-template/label/gpufleet.io/pool': 'a100-mixed',
      'k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB',
      'k8s.io/cluster-autoscaler/node-template/label/nvidia.com/mig.config': 'a100-mixed',
      'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu': '0',
      'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/mig-1g.10gb': '16',
      'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/mig-2g.20gb': '8',
      'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/mig-3g.40gb': '8',
      'k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu': 'true:NoSchedule',
    });
    const small = mocks.get('aws:eks/nodeGroup:NodeGroup', 'gpu-a100-small-nodes');
    expect(small.inputs.tags['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/mig-1g.10gb']).toBe('56');
    const l4 = mocks.get('aws:eks/nodeGroup:NodeGroup', 'gpu-l4-whole-nodes');
    expect(l4.inputs.tags['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu']).toBe('1');
    expect(l4.inputs.scalingConfig).toEqual({ minSize: 0, maxSize: 3, desiredSize: 3 });
    // The same tags on the Auto Scaling group (EKS does not propagate node group tags).
    const asgTags = mocks
      .ofType('aws:autoscaling/tag:Tag')
      .filter((t) => mocks.isDescendantOf(t.urn, mocks.get('gpufleet:cloud:GpuNodeGroup', 'gpu-a100-mixed').urn));
    const asgMap = Object.fromEntries(asgTags.map((t) => [t.inputs.tag.key, t.inputs.tag.value]));
    const { 'gpufleet.io/pool': _pool, ...caTags } = mixed.inputs.tags;
    expect(asgMap).toEqual(caTags);
    expect(new Set(asgTags.map((t) => t.inputs.autoscalingGroupName)).size).toBe(1);
    expect(asgTags.every((t) => t.inputs.tag.propagateAtLaunch === false && /^eks-/.test(t.inputs.autoscalingGroupName))).toBe(true);
    // Node groups wait for the node role's policies.
    const attachments = mocks
      .ofType('aws:iam/rolePolicyAttachment:RolePolicyAttachment')
      .filter((a) => a.name.startsWith('gf-node-'))
      .map((a) => a.urn);
    expect(mixed.dependencies).toEqual(expect.arrayContaining(attachments));
  });

  test('a hand-declared pool from a MigLayout', async () => {
    const { MigLayout } = await import('../constructs/k8s/gpu/mig-layout');
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const layout = MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });
    const group = cloud.GpuNodeGroup.fromMigLayout('h100', { cluster, pool: 'h100-mig', instanceType: 'p5.48xlarge', layout, maxSize: 2 });
    expect(group.resources).toEqual({
      'nvidia.com/gpu': 0,
      'nvidia.com/mig-1g.10gb': 16,
      'nvidia.com/mig-2g.20gb': 8,
      'nvidia.com/mig-3g.40gb': 8,
    });
    await settle();
    const ng = mocks.get('aws:eks/nodeGroup:NodeGroup', 'h100-nodes');
    expect(ng.inputs.labels).toEqual({ 'gpufleet.io/pool': 'h100-mig', 'nvidia.com/mig.config': 'h100-balanced' });
    expect(ng.inputs.scalingConfig).toEqual({ minSize: 0, maxSize: 2, desiredSize: 0 });
  });

  test('Bottlerocket AMI and explicit sizes', async () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    cloud.GpuNodeGroup.fromPlan('gpu', handPlan(), { cluster, amiType: 'BOTTLEROCKET_x86_64_NVIDIA', minSize: 1, maxSize: 4 });
    await settle();
    const mixed = mocks.get('aws:eks/nodeGroup:NodeGroup', 'gpu-a100-mixed-nodes');
    expect(mixed.inputs.amiType).toBe('BOTTLEROCKET_x86_64_NVIDIA');
    expect(mixed.inputs.scalingConfig).toEqual({ minSize: 1, maxSize: 4, desiredSize: 2 });
  });
});

describe('GpuNodeGroup fails on bad input', () => {
  test('fails on a plan whose GPU type no catalog instance offers, before any node group', () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const plan = handPlan();
    const bad: Plan = {
      ...plan,
      migConfigs: [
        ...plan.migConfigs!,
        { name: 'gh200', gpuType: 'H100-96GB', instanceType: 'p5.48xlarge', nodes: 1, devices: [[{ profile: 'whole', start: 0 }]] },
      ],
    };
    expect(() => cloud.GpuNodeGroup.fromPlan('gpu', bad, { cluster })).toThrow(
      new RegExp(
        /plan\.migConfigs\[3\] \(gh200\)\.gpuType: no catalog EC2 instance type offers H100-96GB, so no node group can /.source +
          /carry it; GPU types with instances: .*A100-80GB/.source,
      ),
    );
    expect(mocks.resources.filter((r) => r.type === 'gpufleet:cloud:GpuNodeGroup')).toEqual([]);
  });

  test('fails on an instance type that does not carry the GPU, a bad layout or bad sizes', () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const base = { cluster, pool: 'p', gpuType: 'A100-80GB', migConfig: 'x', devices: [[{ profile: '7g.80gb', start: 0 }]] };
    expect(() => new cloud.GpuNodeGroup('a', { ...base, instanceType: 'p5.48xlarge' })).toThrow(
      'GpuNodeGroup.instanceType: p5.48xlarge carries H100-80GB, not A100-80GB; A100-80GB is on p4de.24xlarge',
    );
    expect(() => new cloud.GpuNodeGroup('b', { ...base, devices: [[{ profile: '3g.40gb', start: 1 }]] })).toThrow(
      /GpuNodeGroup\.devices: MIG layout "x" is illegal on A100-80GB/,
    );
    expect(() => new cloud.GpuNodeGroup('c', { ...base, minSize: 2, maxSize: 1 })).toThrow(
      'GpuNodeGroup: expected minSize <= desiredSize <= maxSize, got 2 <= 2 <= 1',
    );
    expect(() => new cloud.GpuNodeGroup('d', { ...base, amiType: 'AL2_x86_64_GPU' as any })).toThrow(
      'GpuNodeGroup.amiType: expected AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA, got "AL2_x86_64_GPU"',
    );
    expect(() => new cloud.GpuNodeGroup('e', { ...base, gpuType: 'Z100' })).toThrow('GpuNodeGroup.gpuType: unknown GPU type "Z100"');
    const noConfig = { ...handPlan(), migConfigs: [], nodes: handPlan().nodes!.filter((n) => n.migConfig !== 'all-disabled') };
    expect(() => cloud.GpuNodeGroup.fromPlan('gpu', noConfig, { cluster })).toThrow(
      'plan.migConfigs: expected at least one node configuration, got none',
    );
    expect(() => cloud.GpuNodeGroup.fromPlan('gpu', { ...handPlan(), nodes: undefined }, { cluster })).toThrow(
      "plan.nodes: expected the plan's nodes with their instance types",
    );
  });
});

describe('ClusterAutoscaler', () => {
  test('ClusterAutoscaler: Helm release with an IRSA role allowed to scale only owned groups', async () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    new cloud.ClusterAutoscaler('ca', { cluster, provider: cluster.provider, region: 'us-east-1' });
    await settle();
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'ca-release');
    expect(helm.inputs).toMatchObject({
      chart: 'cluster-autoscaler',
      version: '9.56.0',
      namespace: 'kube-system',
      repositoryOpts: { repo: 'https://kubernetes.github.io/autoscaler' },
    });
    expect(helm.inputs.values).toMatchObject({
      cloudProvider: 'aws',
      awsRegion: 'us-east-1',
      autoDiscovery: { clusterName: 'gpufleet-dev' },
      rbac: {
        serviceAccount: {
          name: 'cluster-autoscaler',
          annotations: { 'eks.amazonaws.com/role-arn': expect.stringMatching(/^arn:aws:iam::123456789012:role\/ca-role/) },
        },
      },
    });
    const trust = JSON.parse(mocks.get('aws:iam/role:Role', 'ca-role').inputs.assumeRolePolicy);
    expect(trust.Statement[0].Condition.StringEquals[`${OIDC_ISSUER.replace('https://', '')}:sub`]).toBe(
      'system:serviceaccount:kube-system:cluster-autoscaler',
    );
    const policy = JSON.parse(mocks.get('aws:iam/rolePolicy:RolePolicy', 'ca-policy').inputs.policy);
    const mutating = policy.Statement.find((st: any) => st.Sid === 'ScaleOwnedGroups');
    expect(mutating.Action).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
    expect(mutating.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/gpufleet-dev': 'owned' } });
    const describe = policy.Statement.find((st: any) => st.Sid === 'DescribeGroups');
    expect(describe.Action.every((a: string) => /:(Describe|Get)/.test(a))).toBe(true);
    expect(helm.dependencies).toContain(mocks.get('aws:iam/rolePolicy:RolePolicy', 'ca-policy').urn);
  });

  test('fails: ClusterAutoscaler on a cluster without OIDC provider or with a bad image tag', () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const noOidc = { clusterName: cluster.clusterName, oidcIssuerUrl: cluster.oidcIssuerUrl };
    expect(() => new cloud.ClusterAutoscaler('ca', { cluster: noOidc, provider: cluster.provider, region: 'us-east-1' })).toThrow(
      'cluster: the cluster-autoscaler authenticates with IRSA and needs a cluster with an OIDC provider, got none',
    );
    expect(
      () => new cloud.ClusterAutoscaler('ca2', { cluster, provider: cluster.provider, region: 'us-east-1', imageTag: '1.33' }),
    ).toThrow('imageTag: expected v1.<minor>.<patch>, got "1.33"');
    expect(
      () => new cloud.ClusterAutoscaler('ca3', { cluster, provider: cluster.provider, region: 'us-east-1', imageDigest: 'sha256:abc' }),
    ).toThrow('imageDigest: expected sha256: and 64 lowercase hex digits, got "sha256:abc"');
  });

  test('ClusterAutoscaler pinned by digest: the chart renders "<repository>:<tag>", whose digest decides the pull', async () => {
    // cluster-autoscaler chart 9.56.0 (kubernetes/autoscaler, tag cluster-autoscaler-chart-9.56.0),
    // templates/deployment.yaml: image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const digest = `sha256:${'ab'.repeat(32)}`;
    new cloud.ClusterAutoscaler('cad', { cluster, provider: cluster.provider, region: 'us-east-1', imageDigest: digest });
    await settle();
    const values = mocks.get('kubernetes:helm.sh/v3:Release', 'cad-release').inputs.values;
    expect(values.image).toEqual({ tag: `v1.33.1@${digest}` });
    const rendered = `${cloud.CLUSTER_AUTOSCALER_DEFAULTS.imageRepository}:${values.image.tag}`;
    expect(parseImageReference(rendered)).toEqual({
      domain: 'registry.k8s.io',
      path: 'autoscaling/cluster-autoscaler',
      repository: 'registry.k8s.io/autoscaling/cluster-autoscaler',
      tag: 'v1.33.1',
      digest,
    });
  });
});
