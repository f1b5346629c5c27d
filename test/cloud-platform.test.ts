/**
 * GpuPlatform under Pulumi mocks with a hand-made plan and chart: the composition order, determinism under
 * reversed input order, and the failure cases that must stop it before the first resource.
 */
import { Testing } from 'cdk8s';
import * as plus from 'cdk8s-plus-28';
import type { Plan } from '../constructs/planner/types';
import { settle, setupPulumiMocks, valueOf } from './support/pulumi-mocks';

const mocks = setupPulumiMocks();
let cloud: typeof import('../constructs/cloud');
let k8sLayer: typeof import('../constructs/k8s');

beforeAll(async () => {
  cloud = await import('../constructs/cloud');
  k8sLayer = await import('../constructs/k8s');
});
beforeEach(() => mocks.reset());

function handPlan(): Plan {
  return {
    fleet: 'hand',
    gpus: [],
    migConfigs: [
      {
        name: 'h100-small',
        gpuType: 'H100-80GB',
        instanceType: 'p5.48xlarge',
        nodes: 1,
        devices: [[0, 1, 2, 3, 4, 5, 6].map((start) => ({ profile: '1g.10gb', start }))],
      },
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
    ],
    nodes: [{ name: 'node-9', instanceType: 'g6.xlarge', gpuType: 'L4', migConfig: 'all-disabled', gpus: ['gpu-9'] }],
    summary: { gpuCount: 25, costPerHour: 110.73, lowerBound: 12, baselines: { dedicated: 40, noMig: 30 } },
  };
}

function chartObjects() {
  const chart = Testing.chart();
  const op = new k8sLayer.GpuOperator(chart, 'GpuOperator', { nodeImage: 'al2023-nvidia' });
  op.migConfig.addLayout(k8sLayer.MigLayout.fromProfiles('a100-mixed', 'A100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }));
  new plus.k8s.KubeNamespace(chart, 'Vision', { metadata: { name: 'vision' } });
  new plus.k8s.KubeServiceAccount(chart, 'Reader', { metadata: { name: 'triton-model-reader', namespace: 'vision' } });
  return { values: op.values, objects: chart.toJson() as Record<string, any>[] };
}

/** The platform of the hand-made plan and chart, on cluster gpufleet-dev in us-east-1 with bucket acme-models. */
function composedPlatform(): InstanceType<typeof cloud.GpuPlatform> {
  const { values, objects } = chartObjects();
  return new cloud.GpuPlatform('gf', {
    plan: handPlan(),
    objects,
    operatorValues: values,
    cluster: { clusterName: 'gpufleet-dev', region: 'us-east-1' },
    bucket: { bucketName: 'acme-models' },
  });
}

describe('GpuPlatform composition', () => {
  test('composes cluster, node groups (MIG and whole GPUs), autoscaler, bucket, grants, operator and release', async () => {
    const platform = composedPlatform();
    expect(platform.nodeGroups.map((g) => g.pool)).toEqual(['a100-mixed', 'h100-small', 'l4-whole']);
    expect(platform.grants.map((g) => `${g.serviceAccount.namespace}/${g.serviceAccount.name}`)).toEqual(['vision/triton-model-reader']);
    expect(platform.costPerHour).toBe(110.73);
    await settle();
    const root = mocks.get('gpufleet:cloud:GpuPlatform', 'gf');
    for (const type of [
      'gpufleet:cloud:GpuCluster',
      'gpufleet:cloud:GpuNodeGroup',
      'gpufleet:cloud:ClusterAutoscaler',
      'gpufleet:cloud:ModelRepositoryBucket',
      'gpufleet:cloud:GpuOperatorRelease',
      'gpufleet:cloud:PlatformRelease',
    ]) {
      expect(mocks.ofType(type).length).toBeGreaterThan(0);
      for (const r of mocks.ofType(type)) expect(r.parent).toBe(root.urn);
    }
    const l4 = mocks.get('aws:eks/nodeGroup:NodeGroup', 'gf-gpu-l4-whole-nodes');
    expect(l4.inputs.labels).toEqual({ 'gpufleet.io/pool': 'l4-whole', 'nvidia.com/mig.config': 'all-disabled' });
    expect(l4.inputs.tags['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu']).toBe('1');
    const sa = mocks.get('kubernetes:core/v1:ServiceAccount', 'gf-platform-vision/triton-model-reader');
    expect(sa.inputs.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(
      /^arn:aws:iam::123456789012:role\/gf-models-read-vision-triton-model-reader-role/,
    );
  });

  test("the same resources whatever the order of the plan's node configurations", async () => {
    const { values, objects } = chartObjects();
    const snapshot = () =>
      mocks.resources
        .filter((r) => r.custom)
        .map((r) => JSON.stringify({ t: r.type, n: r.name, i: r.inputs }))
        .sort();
    new cloud.GpuPlatform('gf', {
      plan: handPlan(),
      objects,
      operatorValues: values,
      cluster: { clusterName: 'gpufleet-dev' },
      bucket: { bucketName: 'acme-models' },
    });
    await settle();
    const forward = snapshot();
    mocks.reset();
    const reversed = { ...handPlan(), migConfigs: [...handPlan().migConfigs!].reverse() };
    new cloud.GpuPlatform('gf', {
      plan: reversed,
      objects: [...objects].reverse(),
      operatorValues: values,
      cluster: { clusterName: 'gpufleet-dev' },
      bucket: { bucketName: 'acme-models' },
    });
    await settle();
    expect(snapshot()).toEqual(forward);
  });

  test('fails before any resource: unknown GPU type, no Triton service account, missing mig-parted ConfigMap', () => {
    const { values, objects } = chartObjects();
    const plan = handPlan();
    const bad: Plan = {
      ...plan,
      migConfigs: [
        ...plan.migConfigs!,
        { name: 'x', gpuType: 'Z100', instanceType: 'p5.48xlarge', nodes: 1, devices: [[{ profile: 'whole', start: 0 }]] },
      ],
    };
    const noReader = objects.filter(
      (o) => o.kind !== 'ServiceAccount' && !(o.kind === 'ConfigMap' && o.metadata.name === 'gpufleet-mig-parted-config'),
    );
    expect(() => new cloud.GpuPlatform('gf', { plan: bad, objects: noReader, operatorValues: values })).toThrow(
      'plan.migConfigs[2] (x).gpuType: unknown GPU type "Z100"; ' +
        'objects: no ServiceAccount named "triton-model-reader" (modelReaderServiceAccount), so no Triton pool could read the ' +
        'model repository; ' +
        "objects: the GPU operator's migManager.config.name names ConfigMap gpu-operator/gpufleet-mig-parted-config, which is not " +
        'among the objects',
    );
    expect(mocks.resources).toEqual([]);
  });
});

describe('GpuPlatform prerequisites and AMI fit', () => {
  test('installs what its objects need and the cluster lacks; what the cluster has is not installed', async () => {
    const { values, objects } = chartObjects();
    const monitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'm', namespace: 'vision' },
      spec: { selector: {}, endpoints: [] },
    };
    const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'vision' }, spec: {} };
    const args = {
      plan: handPlan(),
      objects: [...objects, monitor, route],
      operatorValues: values,
      cluster: { clusterName: 'gpufleet-dev' },
      bucket: { bucketName: 'acme-models' },
    };
    expect(cloud.GpuPlatform.prerequisiteInstalls(args).map((i) => i.name)).toEqual(['prometheus-operator-crds', 'gateway-api']);
    const fresh = new cloud.GpuPlatform('gf', args);
    await settle();
    expect(fresh.prerequisites.installs.map((i) => i.name)).toEqual(['prometheus-operator-crds', 'gateway-api']);
    expect(mocks.get('gpufleet:cloud:ClusterPrerequisites', 'gf-prerequisites').parent).toBe(
      mocks.get('gpufleet:cloud:GpuPlatform', 'gf').urn,
    );
    expect(mocks.get('kubernetes:monitoring.coreos.com/v1:ServiceMonitor', 'gf-platform-vision/m').dependencies).toContain(
      mocks.get('kubernetes:helm.sh/v3:Release', 'gf-prerequisites-prometheus-operator-crds').urn,
    );
    mocks.reset();
    const existing = new cloud.GpuPlatform('gf', {
      ...args,
      clusterHas: { gatewayApi: true },
      excludeKinds: ['monitoring.coreos.com/ServiceMonitor'],
    });
    await settle();
    expect(existing.prerequisites.installs).toEqual([]);
    expect(existing.release.skipped.map((s) => s.kind)).toContain('ServiceMonitor');
    mocks.get('kubernetes:gateway.networking.k8s.io/v1:HTTPRoute', 'gf-platform-vision/r');
    mocks.reset();
    expect(() => new cloud.GpuPlatform('gf', { ...args, clusterHas: { keda: 'yes' as unknown as boolean } })).toThrow(
      'clusterHas: prerequisites.keda: expected true or false, got "yes"',
    );
    expect(mocks.resources).toEqual([]);
  });

  test('fails: IRSA or the autoscaler on a cluster without IRSA', () => {
    const { values, objects } = chartObjects();
    expect(() => new cloud.GpuPlatform('gf', { plan: handPlan(), objects, operatorValues: values, cluster: { irsa: false } })).toThrow(
      'clusterAutoscaler: the cluster-autoscaler needs IRSA, but cluster.irsa is false (set clusterAutoscaler: false); ' +
        "workloadIdentity: 'irsa' needs cluster.irsa, which is false (use 'pod-identity')",
    );
    expect(mocks.resources).toEqual([]);
  });

  test('fails: operator values that do not fit the NVIDIA AMI of the GPU nodes', () => {
    const { objects } = chartObjects();
    const generic = k8sLayer.gpuOperatorValues({ nodeImage: 'generic' });
    expect(() => new cloud.GpuPlatform('gf', { plan: handPlan(), objects, operatorValues: generic })).toThrow(
      'operatorValues: driver.enabled and toolkit.enabled must be false on AL2023_x86_64_NVIDIA nodes (the AMI ships them), got ' +
        "driver true, toolkit true; render the GPU operator with nodeImage 'al2023-nvidia' or 'bottlerocket-nvidia'",
    );
    const al2023 = k8sLayer.gpuOperatorValues({ nodeImage: 'al2023-nvidia' });
    expect(
      () =>
        new cloud.GpuPlatform('gf', {
          plan: handPlan(),
          objects,
          operatorValues: al2023,
          nodeGroups: { amiType: 'BOTTLEROCKET_x86_64_NVIDIA' },
        }),
    ).toThrow(
      'operatorValues: devicePlugin.enabled must be false on BOTTLEROCKET_x86_64_NVIDIA nodes (they run their own device plugin), got true',
    );
    expect(mocks.resources).toEqual([]);
  });
});

describe("GpuPlatform and the SDK's walks of output values", () => {
  test("a Kubernetes object's value leads to its own ancestors and providers only, not to the rest of the program", async () => {
    // @pulumi/kubernetes 4.34.2 yaml/yaml.ts parseYamlObject makes each object of a ConfigGroup the value of an Output
    // (`{ name, resource }`), and @pulumi/pulumi 3.248.0 output.ts containsUnknowns walks that value through every
    // enumerable own property, recursively (resource.ts sets `__parentResource` and `__providers` on each resource).
    // The components keep their fields out of that walk (constructs/cloud/value-walks.ts): otherwise it reaches every
    // resource of the program from every object, and `pulumi up` walks the whole program once per object.
    const platform = composedPlatform();
    await settle();
    const byName = await valueOf(platform.release.workloads.resources);
    const sa = Object.values(byName).find((r: any) => r.__name === 'gf-platform-vision/triton-model-reader') as any;
    expect(sa).toBeDefined();
    const isResource = (v: any) => v?.__pulumiResource === true;
    const allowed = new Set<unknown>();
    const withAncestors = (r: any) => {
      for (let a = r; a && !allowed.has(a); a = a.__parentResource) allowed.add(a);
    };
    withAncestors(sa);
    for (const p of Object.values(sa.__providers ?? {})) withAncestors(p);
    const reached = new Set<any>();
    const seen = new Set<unknown>();
    const walk = (v: any) => {
      if (v === null || typeof v !== 'object' || seen.has(v)) return;
      seen.add(v);
      if (isResource(v)) reached.add(v);
      for (const k of Object.keys(v)) walk(v[k]);
    };
    walk({ name: 'v1/ServiceAccount::vision/triton-model-reader', resource: sa });
    expect([...reached].filter((r) => !allowed.has(r)).map((r) => `${r.__pulumiType} ${r.__name}`)).toEqual([]);
    // the walk does reach the object's own chain: the platform, its cluster (the provider's parent) and the provider
    expect([...reached].map((r) => r.__pulumiType)).toEqual(
      expect.arrayContaining(['gpufleet:cloud:GpuPlatform', 'gpufleet:cloud:GpuCluster', 'pulumi:providers:kubernetes']),
    );
    expect(seen.size).toBeLessThan(400);
  });
});
