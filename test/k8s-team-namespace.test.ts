import { Testing } from 'cdk8s';
import { TeamNamespace } from '../constructs/k8s/teams/team-namespace';
import { validateObjects } from './support/validate';

function synth(props: ConstructorParameters<typeof TeamNamespace>[2], after?: (t: TeamNamespace) => void): any[] {
  const chart = Testing.chart();
  const t = new TeamNamespace(chart, 'Team', props);
  after?.(t);
  return Testing.synth(chart);
}

const byKindName = (objs: any[], kind: string, name?: string) =>
  objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('TeamNamespace objects, limits and RBAC', () => {
  test('renders a restricted namespace with quota, limits, RBAC and network policies', () => {
    const objs = synth({ team: 'vision', quota: { gpus: { 'nvidia.com/mig-1g.10gb': 4 } } });
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/vision',
      'ResourceQuota/team-quota',
      'LimitRange/container-defaults',
      'Role/team-operator',
      'RoleBinding/team-operator',
      'NetworkPolicy/default-deny',
      'NetworkPolicy/allow-from-gateway',
      'NetworkPolicy/allow-from-prometheus',
      'NetworkPolicy/allow-dns',
      'NetworkPolicy/allow-model-repository',
    ]);
    for (const o of objs.slice(1)) expect(o.metadata.namespace).toBe('vision');
    const ns = objs[0];
    for (const mode of ['enforce', 'audit', 'warn']) {
      expect(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    }
    expect(byKindName(objs, 'ResourceQuota')[0].spec.hard).toStrictEqual({
      pods: 100,
      'requests.cpu': '64',
      'requests.memory': '256Gi',
      'requests.nvidia.com/gpu': 0,
      'requests.nvidia.com/mig-1g.10gb': 4,
    });
    expect(byKindName(objs, 'LimitRange')[0].spec.limits).toStrictEqual([
      { type: 'Container', default: { memory: '4Gi' }, defaultRequest: { cpu: '500m', memory: '1Gi' } },
    ]);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('container defaults can set a CPU limit', () => {
    const objs = synth({ team: 'a', containerDefaults: { cpuRequest: '1', memoryRequest: '2Gi', cpuLimit: '4', memoryLimit: '8Gi' } });
    expect(byKindName(objs, 'LimitRange')[0].spec.limits).toStrictEqual([
      { type: 'Container', default: { cpu: '4', memory: '8Gi' }, defaultRequest: { cpu: '1', memory: '2Gi' } },
    ]);
  });

  test('binds the team role to the default or the given group', () => {
    const binding = byKindName(synth({ team: 'nlp' }), 'RoleBinding')[0];
    expect(binding.roleRef).toStrictEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'team-operator' });
    expect(binding.subjects).toStrictEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'gpufleet:team:nlp' }]);
    const given = byKindName(synth({ team: 'nlp', group: 'oidc:nlp-engineers' }), 'RoleBinding')[0];
    expect(given.subjects[0].name).toBe('oidc:nlp-engineers');
    const role = byKindName(synth({ team: 'nlp' }), 'Role')[0];
    // read-only on secrets is not granted at all
    expect(JSON.stringify(role.rules)).not.toContain('secrets');
  });
});

describe('TeamNamespace network policies and quotas', () => {
  test('default-deny covers ingress and egress; allows name their peers and ports', () => {
    const objs = synth({ team: 'vision', gatewayNamespace: 'envoy-gateway-system', monitoringNamespace: 'observability' });
    const deny = byKindName(objs, 'NetworkPolicy', 'default-deny')[0];
    expect(deny.spec).toStrictEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const gw = byKindName(objs, 'NetworkPolicy', 'allow-from-gateway')[0].spec.ingress[0];
    expect(gw.from).toStrictEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } } }]);
    expect(gw.ports).toStrictEqual([
      { port: 8000, protocol: 'TCP' },
      { port: 8001, protocol: 'TCP' },
    ]);
    const prom = byKindName(objs, 'NetworkPolicy', 'allow-from-prometheus')[0].spec.ingress[0];
    expect(prom.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('observability');
    expect(prom.ports).toStrictEqual([{ port: 8002, protocol: 'TCP' }]);
    const dns = byKindName(objs, 'NetworkPolicy', 'allow-dns')[0].spec.egress[0];
    expect(dns.to[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('kube-system');
    expect(dns.ports).toStrictEqual([
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ]);
    const repo = byKindName(objs, 'NetworkPolicy', 'allow-model-repository')[0].spec.egress[0];
    expect(repo).toStrictEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] });
  });

  test('repository egress can be narrowed or dropped', () => {
    const narrowed = byKindName(
      synth({ team: 'a', repositoryEgress: { cidrs: ['10.2.0.0/16', '10.1.0.0/16'], port: 2049 } }),
      'NetworkPolicy',
      'allow-model-repository',
    )[0];
    expect(narrowed.spec.egress[0]).toStrictEqual({
      to: [{ ipBlock: { cidr: '10.1.0.0/16' } }, { ipBlock: { cidr: '10.2.0.0/16' } }],
      ports: [{ port: 2049, protocol: 'TCP' }],
    });
    expect(byKindName(synth({ team: 'a', repositoryEgress: false }), 'NetworkPolicy', 'allow-model-repository')).toEqual([]);
  });

  test('addGpuQuota accumulates after construction and lists zero grants', () => {
    const objs = synth({ team: 'a', namespace: 'team-a', quota: { cpu: '8', memory: '32Gi', pods: 10 } }, (t) => {
      t.addGpuQuota('nvidia.com/mig-3g.40gb', 2);
      t.addGpuQuota('nvidia.com/mig-3g.40gb', 1);
      t.addGpuQuota('nvidia.com/mig-1g.10gb', 0);
      expect(t.gpuQuota).toStrictEqual({ 'nvidia.com/gpu': 0, 'nvidia.com/mig-1g.10gb': 0, 'nvidia.com/mig-3g.40gb': 3 });
    });
    expect(objs[0].metadata.name).toBe('team-a');
    expect(byKindName(objs, 'ResourceQuota')[0].spec.hard).toStrictEqual({
      pods: 10,
      'requests.cpu': '8',
      'requests.memory': '32Gi',
      'requests.nvidia.com/gpu': 0,
      'requests.nvidia.com/mig-1g.10gb': 0,
      'requests.nvidia.com/mig-3g.40gb': 3,
    });
  });

  test('default cpu/memory/pod quotas grow to cover added workloads; given values stay', () => {
    const grown = synth({ team: 'a' }, (t) => {
      t.addWorkload(50, 200 * 2 ** 30, 60);
      t.addWorkload(30.5, 100 * 2 ** 30, 50);
    });
    expect(byKindName(grown, 'ResourceQuota')[0].spec.hard).toMatchObject({ 'requests.cpu': '81', 'requests.memory': '300Gi', pods: 110 });
    const fixed = synth({ team: 'a', quota: { cpu: '8', memory: '16Gi', pods: 5 } }, (t) => t.addWorkload(50, 200 * 2 ** 30, 60));
    expect(byKindName(fixed, 'ResourceQuota')[0].spec.hard).toMatchObject({ 'requests.cpu': '8', 'requests.memory': '16Gi', pods: 5 });
  });
});

describe('TeamNamespace fails on bad props', () => {
  test('fails on a cpu or memory quota that is not a quantity, or a negative workload', () => {
    expect(() => synth({ team: 'a', quota: { cpu: 'lots' } })).toThrow('quota.cpu: expected a CPU quantity such as 64 or 500m, got "lots"');
    expect(() => synth({ team: 'a', quota: { memory: '1 GB' } })).toThrow(
      'quota.memory: expected a memory quantity such as 256Gi, got "1 GB"',
    );
    expect(() => synth({ team: 'a' }, (t) => t.addWorkload(-1, 0, 0))).toThrow('addWorkload: expected cpu >= 0, got -1');
  });

  test('fails on a team name that is not a DNS-1123 label', () => {
    expect(() => synth({ team: 'Vision_Team' })).toThrow(/^team: expected a DNS-1123 label .*got "Vision_Team"$/);
    expect(() => synth({ team: 'a', namespace: 'x'.repeat(64) })).toThrow(/^namespace: expected a DNS-1123 label/);
    expect(() => synth({ team: 'a', gatewayNamespace: '-gw' })).toThrow(/^gatewayNamespace: expected a DNS-1123 label/);
  });

  test('fails on a negative or fractional quota', () => {
    expect(() => synth({ team: 'a', quota: { gpus: { 'nvidia.com/gpu': -1 } } })).toThrow(
      'quota.gpus["nvidia.com/gpu"]: expected an integer >= 0, got -1',
    );
    expect(() => synth({ team: 'a', quota: { gpus: { 'nvidia.com/mig-1g.10gb': 1.5 } } })).toThrow(
      'quota.gpus["nvidia.com/mig-1g.10gb"]: expected an integer >= 0, got 1.5',
    );
    expect(() => synth({ team: 'a', quota: { pods: -3 } })).toThrow('quota.pods: expected an integer >= 0, got -3');
    expect(() => synth({ team: 'a' }, (t) => t.addGpuQuota('nvidia.com/gpu', -2))).toThrow(
      'addGpuQuota("nvidia.com/gpu"): expected an integer >= 0, got -2',
    );
  });

  test('fails on a resource that is not a GPU resource', () => {
    expect(() => synth({ team: 'a', quota: { gpus: { 'mig-1g.10gb': 1 } } })).toThrow(
      'quota.gpus["mig-1g.10gb"]: expected a GPU resource name like nvidia.com/gpu or nvidia.com/mig-1g.10gb, got "mig-1g.10gb"',
    );
  });

  test('fails on bad ports and an empty egress list', () => {
    expect(() => synth({ team: 'a', metricsPort: 0 })).toThrow('metricsPort: expected a port number 1-65535, got 0');
    expect(() => synth({ team: 'a', servingPorts: [8000, 70000] })).toThrow('servingPorts[1]: expected a port number 1-65535, got 70000');
    expect(() => synth({ team: 'a', repositoryEgress: { cidrs: [] } })).toThrow(
      'repositoryEgress.cidrs: expected a non-empty list of CIDRs such as 52.216.0.0/15, got []',
    );
  });
});
