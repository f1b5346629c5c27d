/**
 * GpuOperatorRelease and PlatformRelease under Pulumi mocks, fed by a real cdk8s chart (the GPU operator
 * construct with a MIG layout, a team namespace with a Triton model-reader service account and a
 * Deployment): the Helm release values are the chart's typed values, every kept object of the chart is
 * a Pulumi resource under the release component, Flux objects that would install the operator twice
 * are left out, the service account carries the IRSA role, and the objects wait for the operator and
 * the GPU node groups.
 */
import { Testing } from 'cdk8s';
import * as plus from 'cdk8s-plus-28';
import type { Plan } from '../constructs/planner/types';
import { settle, setupPulumiMocks } from './support/pulumi-mocks';

const mocks = setupPulumiMocks();
let cloud: typeof import('../constructs/cloud');
let k8sLayer: typeof import('../constructs/k8s');

beforeAll(async () => {
  cloud = await import('../constructs/cloud');
  k8sLayer = await import('../constructs/k8s');
});
beforeEach(() => mocks.reset());

const ROLE_ARN = 'arn:aws:iam::123456789012:role/models-read-vision';

/** A cdk8s chart: GPU operator (Flux objects, namespace, mig-parted and device-plugin ConfigMaps) + a team's objects. */
function platformChart() {
  const chart = Testing.chart();
  const op = new k8sLayer.GpuOperator(chart, 'GpuOperator', { nodeImage: 'al2023-nvidia', migStrategy: 'mixed' });
  op.migConfig.addLayout(k8sLayer.MigLayout.fromProfiles('a100-mixed', 'A100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }));
  const k = plus.k8s;
  new k.KubeNamespace(chart, 'Vision', { metadata: { name: 'vision' } });
  new k.KubeServiceAccount(chart, 'Reader', { metadata: { name: 'triton-model-reader', namespace: 'vision' } });
  new k.KubeDeployment(chart, 'Triton', {
    metadata: { name: 'triton-a', namespace: 'vision' },
    spec: {
      selector: { matchLabels: { app: 'triton-a' } },
      template: {
        metadata: { labels: { app: 'triton-a' } },
        spec: {
          serviceAccountName: 'triton-model-reader',
          containers: [{ name: 'triton', image: 'nvcr.io/nvidia/tritonserver:25.10-py3' }],
        },
      },
    },
  });
  return { op, objects: chart.toJson() as Record<string, any>[] };
}

function handPlan(): Plan {
  return {
    fleet: 'hand',
    gpus: [],
    migConfigs: [
      {
        name: 'a100-mixed',
        gpuType: 'A100-80GB',
        instanceType: 'p4de.24xlarge',
        nodes: 1,
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
    // every plan lists its nodes (the topology the node groups map reads them)
    nodes: [{ name: 'node-0', instanceType: 'p4de.24xlarge', gpuType: 'A100-80GB', migConfig: 'a100-mixed', gpus: [] }],
    summary: { gpuCount: 8, costPerHour: 27.44705, lowerBound: 5, baselines: { dedicated: 9, noMig: 8 } },
  };
}

function resourceType(o: Record<string, any>): string {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['core', o.apiVersion];
  return `kubernetes:${group}/${version}:${o.kind}`;
}
function resourceName(prefix: string, o: Record<string, any>): string {
  return `${prefix}-${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

describe('GpuOperatorRelease', () => {
  test("a Helm release of gpu-operator v26.7.0 from NGC with the chart construct's values object", async () => {
    const { op } = platformChart();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const release = new cloud.GpuOperatorRelease('gpu-operator', { values: op.values, provider: cluster.provider });
    expect(release.values).toBe(op.values);
    await settle();
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'gpu-operator-release');
    expect(helm.inputs).toMatchObject({
      name: 'gpu-operator',
      chart: 'gpu-operator',
      version: 'v26.7.0',
      namespace: 'gpu-operator',
      createNamespace: true,
      repositoryOpts: { repo: 'https://helm.ngc.nvidia.com/nvidia' },
    });
    expect(helm.inputs.values).toEqual(JSON.parse(JSON.stringify(op.values)));
    expect(helm.inputs.values).toMatchObject({
      driver: { enabled: false },
      toolkit: { enabled: false },
      mig: { strategy: 'mixed' },
      migManager: { enabled: true, config: { name: 'gpufleet-mig-parted-config', default: 'all-disabled', create: false } },
    });
    expect(helm.provider).toMatch(/pulumi:providers:kubernetes::gf-k8s::/);
    expect(helm.parent).toBe(mocks.get('gpufleet:cloud:GpuOperatorRelease', 'gpu-operator').urn);
    expect(release.referencedConfigMaps().map((c) => `${c.namespace}/${c.name}`)).toEqual([
      'gpu-operator/gpufleet-mig-parted-config',
      'gpu-operator/gpufleet-device-plugin-config',
    ]);
  });

  test('fails on values that are not gpuOperatorValues, before any resource', () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    mocks.reset();
    expect(() => new cloud.GpuOperatorRelease('op', { values: {} as any, provider: cluster.provider })).toThrow(
      'values: expected the object of gpuOperatorValues(...), got {}',
    );
    expect(
      () => new cloud.GpuOperatorRelease('op', { values: k8sLayer.gpuOperatorValues(), provider: cluster.provider, timeoutSeconds: 5 }),
    ).toThrow('timeoutSeconds: expected an integer >= 60, got 5');
    expect(mocks.resources).toEqual([]);
  });
});

describe('PlatformRelease objects', () => {
  test('every kept chart object is a resource under the release, after the operator and the node groups', async () => {
    const { op, objects } = platformChart();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const groups = cloud.GpuNodeGroup.fromPlan('gpu', handPlan(), { cluster });
    const operator = new cloud.GpuOperatorRelease('gpu-operator', { values: op.values, provider: cluster.provider });
    const release = new cloud.PlatformRelease('platform', {
      objects,
      provider: cluster.provider,
      operatorRelease: operator,
      nodeGroups: groups,
      serviceAccountRoles: [{ namespace: 'vision', name: 'triton-model-reader', roleArn: ROLE_ARN }],
    });
    await settle();

    const skippedKinds = release.skipped.map((s) => `${s.kind} ${s.namespace ?? ''}/${s.name}`).sort();
    expect(skippedKinds).toEqual([
      'HelmRelease gpu-operator/gpu-operator',
      'HelmRepository gpu-operator/nvidia',
      'Namespace /gpu-operator',
    ]);
    const kept = objects.filter(
      (o) =>
        !release.skipped.some(
          (s) => s.kind === o.kind && s.name === o.metadata.name && (s.namespace ?? '') === (o.metadata.namespace ?? ''),
        ),
    );
    expect(kept.length).toBe(objects.length - 3);
    expect(release.objectCount).toBe(kept.length);

    const component = mocks.get('gpufleet:cloud:PlatformRelease', 'platform');
    const helm = mocks.get('kubernetes:helm.sh/v3:Release', 'gpu-operator-release');
    const nodeGroupUrns = groups.map((g) => mocks.get('aws:eks/nodeGroup:NodeGroup', `gpu-${g.pool}-nodes`).urn);
    const namespaceUrn = mocks.get('kubernetes:core/v1:Namespace', 'platform-vision').urn;
    for (const o of kept) {
      const r = mocks.get(resourceType(o), resourceName('platform', o));
      expect(mocks.isDescendantOf(r.urn, component.urn)).toBe(true);
      expect(r.provider).toMatch(/pulumi:providers:kubernetes::gf-k8s::/);
      expect(r.inputs.metadata.name).toBe(o.metadata.name);
      if (o.kind !== 'Namespace') {
        expect(r.dependencies).toEqual(expect.arrayContaining([helm.urn, ...nodeGroupUrns, namespaceUrn]));
      }
    }
    // Nothing else was released: k8s resources under the component are exactly the kept objects.
    const released = mocks.resources.filter(
      (r) => r.custom && r.type.startsWith('kubernetes:') && mocks.isDescendantOf(r.urn, component.urn),
    );
    expect(released.length).toBe(kept.length);
    expect(mocks.resources.some((r) => r.type.endsWith(':HelmRelease'))).toBe(false);

    // Workloads are awaited long enough for a GPU node to boot and apply its MIG layout.
    expect(mocks.get('kubernetes:apps/v1:Deployment', 'platform-vision/triton-a').customTimeouts).toMatchObject({
      create: '30m',
      update: '30m',
    });
    // The mig-parted ConfigMap the operator values name is released.
    const migCm = mocks.get('kubernetes:core/v1:ConfigMap', 'platform-gpu-operator/gpufleet-mig-parted-config');
    expect(migCm.inputs.data['config.yaml']).toContain('a100-mixed');
    // IRSA: the role ARN annotation on the Triton service account; the chart JSON itself is untouched.
    const sa = mocks.get('kubernetes:core/v1:ServiceAccount', 'platform-vision/triton-model-reader');
    expect(sa.inputs.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': ROLE_ARN });
    expect(objects.find((o) => o.kind === 'ServiceAccount')!.metadata.annotations).toBeUndefined();
  });

  test('without an operator release every object is applied, the Flux operator objects included', async () => {
    const { objects } = platformChart();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const release = new cloud.PlatformRelease('flux', { objects, provider: cluster.provider });
    await settle();
    expect(release.skipped).toEqual([]);
    mocks.get('kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease', 'flux-gpu-operator/gpu-operator');
    mocks.get('kubernetes:core/v1:Namespace', 'flux-gpu-operator');
  });
});

describe('PlatformRelease errors and excluded kinds', () => {
  test('fails when the mig-parted ConfigMap the operator reads is not among the objects, before any resource', () => {
    const { op, objects } = platformChart();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const operator = new cloud.GpuOperatorRelease('gpu-operator', { values: op.values, provider: cluster.provider });
    const before = mocks.resources.length;
    const withoutCm = objects.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'gpufleet-mig-parted-config'));
    expect(
      () => new cloud.PlatformRelease('platform', { objects: withoutCm, provider: cluster.provider, operatorRelease: operator }),
    ).toThrow(
      new RegExp(
        /objects: the GPU operator's migManager.config.name names ConfigMap gpu-operator\/gpufleet-mig-parted-config, /.source +
          /which is not among the objects/.source,
      ),
    );
    expect(mocks.resources.slice(before).filter((r) => r.type === 'gpufleet:cloud:PlatformRelease')).toEqual([]);
  });

  test('fails on a role for a service account the chart does not have, or a malformed object', () => {
    const { objects } = platformChart();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    expect(
      () =>
        new cloud.PlatformRelease('p', {
          objects,
          provider: cluster.provider,
          serviceAccountRoles: [{ namespace: 'nlp', name: 'triton-model-reader', roleArn: ROLE_ARN }],
        }),
    ).toThrow(
      'serviceAccountRoles: no ServiceAccount nlp/triton-model-reader among the objects (ServiceAccounts: ServiceAccount ' +
        'vision/triton-model-reader)',
    );
    expect(() => new cloud.PlatformRelease('q', { objects: [...objects, { kind: 'ConfigMap' }], provider: cluster.provider })).toThrow(
      /objects\[\d+\]: expected a Kubernetes object with apiVersion, kind and metadata.name/,
    );
  });

  test('excludeKinds leaves out the named kinds and reports them', async () => {
    const { objects } = platformChart();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const release = new cloud.PlatformRelease('ex', {
      objects,
      provider: cluster.provider,
      excludeKinds: ['apps/Deployment', '/ServiceAccount'],
    });
    await settle();
    expect(release.skipped.map((s) => `${s.kind} ${s.name}: ${s.reason}`)).toEqual([
      'ServiceAccount triton-model-reader: kind /ServiceAccount excluded (excludeKinds)',
      'Deployment triton-a: kind apps/Deployment excluded (excludeKinds)',
    ]);
    expect(mocks.ofType('kubernetes:apps/v1:Deployment')).toEqual([]);
    expect(mocks.ofType('kubernetes:core/v1:ServiceAccount')).toEqual([]);
    expect(() => new cloud.PlatformRelease('ex2', { objects, provider: cluster.provider, excludeKinds: ['Deployment'] })).toThrow(
      'excludeKinds: expected <api group>/<Kind> such as monitoring.coreos.com/ServiceMonitor, got "Deployment"',
    );
  });
});

/** The platform chart plus objects of custom-resource APIs: served by the cluster, by an install, by nothing. */
function chartWithCustomResources() {
  const { op, objects } = platformChart();
  const cr = (apiVersion: string, kind: string, name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion,
    kind,
    metadata: { name, namespace: 'vision' },
    spec,
  });
  return {
    op,
    objects: [
      ...objects,
      cr('monitoring.coreos.com/v1', 'ServiceMonitor', 'triton-a', {
        selector: { matchLabels: { app: 'triton-a' } },
        endpoints: [{ port: 'metrics' }],
      }),
      cr('keda.sh/v1alpha1', 'ScaledObject', 'triton-a', {
        scaleTargetRef: { name: 'triton-a' },
        triggers: [{ type: 'cpu', metadata: { value: '50' } }],
      }),
      cr('serving.kserve.io/v1beta1', 'InferenceService', 'bert'),
      cr('helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'dcgm-exporter', { chart: { spec: { chart: 'dcgm-exporter' } } }),
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.gpufleet.io' },
        spec: { group: 'example.gpufleet.io', names: { kind: 'Widget' } },
      },
      cr('example.gpufleet.io/v1', 'Widget', 'w'),
    ],
  };
}

describe('ClusterPrerequisites: what the objects need and the cluster lacks, installed before them (pinned installs)', () => {
  test('each install from its upstream chart or release manifest at its pinned version; CRDs kept on uninstall', async () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const pre = new cloud.ClusterPrerequisites('pre', { installs: cloud.PREREQUISITE_INSTALLS, provider: cluster.provider });
    await settle();
    const prom = mocks.get('kubernetes:helm.sh/v3:Release', 'pre-prometheus-operator-crds');
    expect(prom.inputs).toMatchObject({
      name: 'prometheus-operator-crds',
      chart: 'prometheus-operator-crds',
      version: '31.0.0',
      namespace: 'kube-system',
      createNamespace: false,
      repositoryOpts: { repo: 'https://prometheus-community.github.io/helm-charts' },
      // prometheus-community/helm-charts prometheus-operator-crds-31.0.0: the `crds` subchart puts `.Values.annotations` on every CRD
      values: { crds: { annotations: { 'helm.sh/resource-policy': 'keep' } } },
    });
    const keda = mocks.get('kubernetes:helm.sh/v3:Release', 'pre-keda');
    expect(keda.inputs).toMatchObject({
      name: 'keda',
      chart: 'keda',
      version: '2.20.2',
      namespace: 'keda',
      createNamespace: true,
      repositoryOpts: { repo: 'https://kedacore.github.io/charts' },
      // kedacore/charts v2.20.2 keda/values.yaml: crds.additionalAnnotations on every CRD template
      values: { crds: { additionalAnnotations: { 'helm.sh/resource-policy': 'keep' } } },
    });
    const gateway = mocks.get('kubernetes:yaml/v2:ConfigFile', 'pre-gateway-api');
    expect(gateway.inputs).toMatchObject({
      file: 'https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml',
    });
    expect(gateway.retainOnDelete).toBe(true);
    for (const r of [prom, keda, gateway]) {
      expect(r.parent).toBe(mocks.get('gpufleet:cloud:ClusterPrerequisites', 'pre').urn);
      expect(r.provider).toMatch(/pulumi:providers:kubernetes::gf-k8s::/);
    }
    expect(pre.resourceFor('keda.sh')).toBe(pre.resources.get('keda'));
    expect(pre.resourceFor('monitoring.coreos.com')).toBe(pre.resources.get('prometheus-operator-crds'));
    expect(pre.resourceFor('gateway.networking.k8s.io')).toBe(pre.resources.get('gateway-api'));
    expect(pre.resourceFor('helm.toolkit.fluxcd.io')).toBeUndefined();
    mocks.reset();
    expect(
      () =>
        new cloud.ClusterPrerequisites('x', {
          installs: [cloud.PREREQUISITE_INSTALLS[2], cloud.PREREQUISITE_INSTALLS[2]],
          provider: cluster.provider,
        }),
    ).toThrow('installs: keda listed twice');
    expect(() => new cloud.ClusterPrerequisites('y', { installs: [], provider: cluster.provider, timeoutSeconds: 10 })).toThrow(
      'timeoutSeconds: expected an integer >= 60, got 10',
    );
    expect(mocks.resources).toEqual([]);
  });
});

describe('ClusterPrerequisites: objects of custom-resource APIs wait for, or go without, their install', () => {
  test('an object waits for the install of its API, is applied as is where the cluster has it, and is left out otherwise', async () => {
    const { op, objects } = chartWithCustomResources();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const operator = new cloud.GpuOperatorRelease('gpu-operator', { values: op.values, provider: cluster.provider });
    // The cluster has a Prometheus operator, nothing else.
    const clusterHas = cloud.clusterPrerequisites({ prometheus: { namespace: 'monitoring' } });
    const plan = cloud.planApiGroups(objects, clusterHas);
    expect(plan.installs.map((i) => i.name)).toEqual(['keda']);
    const installed = new cloud.ClusterPrerequisites('pre', { installs: plan.installs, provider: cluster.provider });
    const release = new cloud.PlatformRelease('platform', {
      objects,
      provider: cluster.provider,
      operatorRelease: operator,
      clusterApis: { clusterHas, installed },
    });
    await settle();
    const kedaUrn = mocks.get('kubernetes:helm.sh/v3:Release', 'pre-keda').urn;
    expect(mocks.get('kubernetes:keda.sh/v1alpha1:ScaledObject', 'platform-vision/triton-a').dependencies).toContain(kedaUrn);
    expect(mocks.get('kubernetes:monitoring.coreos.com/v1:ServiceMonitor', 'platform-vision/triton-a').dependencies).not.toContain(kedaUrn);
    expect(mocks.get('kubernetes:apps/v1:Deployment', 'platform-vision/triton-a').dependencies).not.toContain(kedaUrn);
    // a kind whose CRD is among the objects waits for it (the CRDs go first)
    const crd = mocks.get('kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition', 'platform-widgets.example.gpufleet.io');
    expect(mocks.get('kubernetes:example.gpufleet.io/v1:Widget', 'platform-vision/w').dependencies).toContain(crd.urn);
    expect(
      release.skipped.filter((s) => !/gpu-operator|operator namespace/.test(s.reason)).map((s) => `${s.kind} ${s.name}: ${s.reason}`),
    ).toEqual([
      'InferenceService bert: API group serving.kserve.io is not built into Kubernetes, and no CRD for it is among the objects, ' +
        'declared present or installed by gpufleet',
      'HelmRelease dcgm-exporter: needs Flux (API group helm.toolkit.fluxcd.io), which the cluster is not declared to have ' +
        '(prerequisites.flux) and gpufleet does not install',
    ]);
    expect(mocks.ofType('kubernetes:serving.kserve.io/v1beta1:InferenceService')).toEqual([]);
    expect(mocks.ofType('kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease')).toEqual([]);
  });

  test('without the install, the objects of its API are left out too: never applied to fail half-way', async () => {
    const { objects } = chartWithCustomResources();
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const release = new cloud.PlatformRelease('platform', {
      objects,
      provider: cluster.provider,
      clusterApis: { clusterHas: cloud.clusterPrerequisites({ flux: true }) },
    });
    await settle();
    expect(release.skipped.map((s) => `${s.kind} ${s.name}`)).toEqual([
      'ServiceMonitor triton-a',
      'ScaledObject triton-a',
      'InferenceService bert',
    ]);
    expect(release.skipped[0].reason).toBe(
      'needs the Prometheus operator (API group monitoring.coreos.com), which the cluster is not declared to have ' +
        '(prerequisites.prometheus) and gpufleet does not install',
    );
    // Flux declared present: its objects (the operator's too, without a Pulumi operator release) are applied
    mocks.get('kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease', 'platform-vision/dcgm-exporter');
    mocks.get('kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease', 'platform-gpu-operator/gpu-operator');
  });
});

describe('PlatformRelease: Triton pools are not awaited', () => {
  /** A Triton pool's Deployment (label gpufleet.io/triton-pool, as TritonPool renders it), its Service, and another app. */
  function tritonChart() {
    const chart = Testing.chart();
    const k = plus.k8s;
    const pod = { 'app.kubernetes.io/name': 'triton', 'app.kubernetes.io/instance': 'vision-1g' };
    const container = { name: 'triton', image: 'nvcr.io/nvidia/tritonserver:25.08-py3' };
    new k.KubeDeployment(chart, 'Pool', {
      metadata: { name: 'vision-1g', namespace: 'vision', labels: { ...pod, 'gpufleet.io/triton-pool': 'vision-1g' } },
      spec: {
        selector: { matchLabels: pod },
        template: { metadata: { labels: { ...pod, 'model.gpufleet.io/resnet50': 'true' } }, spec: { containers: [container] } },
      },
    });
    new k.KubeService(chart, 'PoolService', {
      metadata: { name: 'vision-1g', namespace: 'vision' },
      spec: { selector: pod, ports: [{ port: 8000 }] },
    });
    new k.KubeService(chart, 'ModelService', {
      metadata: { name: 'resnet50', namespace: 'vision' },
      spec: { selector: { 'model.gpufleet.io/resnet50': 'true' }, ports: [{ port: 8000 }] },
    });
    // same selector in another namespace: it selects no Triton pod
    new k.KubeService(chart, 'Elsewhere', {
      metadata: { name: 'vision-1g', namespace: 'search' },
      spec: { selector: pod, ports: [{ port: 8000 }] },
    });
    new k.KubeDeployment(chart, 'Router', {
      metadata: { name: 'router', namespace: 'vision' },
      spec: {
        selector: { matchLabels: { app: 'router' } },
        template: { metadata: { labels: { app: 'router' } }, spec: { containers: [{ name: 'router', image: 'gpufleet/router:1' }] } },
      },
    });
    new k.KubeService(chart, 'RouterService', {
      metadata: { name: 'router', namespace: 'vision' },
      spec: { selector: { app: 'router' }, ports: [{ port: 9000 }] },
    });
    return chart.toJson() as Record<string, any>[];
  }

  test('pulumi.com/skipAwait on the Triton Deployment and the Services selecting its pods, not on others', async () => {
    const cluster = new cloud.GpuCluster('gf', { clusterName: 'gpufleet-dev' });
    const release = new cloud.PlatformRelease('p', { objects: tritonChart(), provider: cluster.provider });
    await settle();
    const skipAwait = (type: string, name: string) => mocks.get(type, name).inputs.metadata.annotations?.['pulumi.com/skipAwait'];
    expect(skipAwait('kubernetes:apps/v1:Deployment', 'p-vision/vision-1g')).toBe('true');
    expect(skipAwait('kubernetes:core/v1:Service', 'p-vision/vision-1g')).toBe('true');
    expect(skipAwait('kubernetes:core/v1:Service', 'p-vision/resnet50')).toBe('true');
    expect(skipAwait('kubernetes:core/v1:Service', 'p-search/vision-1g')).toBeUndefined();
    expect(skipAwait('kubernetes:apps/v1:Deployment', 'p-vision/router')).toBeUndefined();
    expect(skipAwait('kubernetes:core/v1:Service', 'p-vision/router')).toBeUndefined();
    // an awaited workload keeps its long timeout; a skipped one needs none
    expect(mocks.get('kubernetes:apps/v1:Deployment', 'p-vision/router').customTimeouts).toMatchObject({ create: '30m' });
    expect(mocks.get('kubernetes:apps/v1:Deployment', 'p-vision/vision-1g').customTimeouts?.create ?? '').toBe('');
    expect(release.notAwaited).toEqual(['Deployment vision/vision-1g', 'Service vision/resnet50', 'Service vision/vision-1g']);

    mocks.reset();
    const awaited = new cloud.PlatformRelease('q', { objects: tritonChart(), provider: cluster.provider, skipAwaitTriton: false });
    await settle();
    expect(awaited.notAwaited).toEqual([]);
    expect(
      mocks.get('kubernetes:apps/v1:Deployment', 'q-vision/vision-1g').inputs.metadata.annotations?.['pulumi.com/skipAwait'],
    ).toBeUndefined();
  });
});
