import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { CACHE_POOL_LABEL, TEAM_LABEL } from '../common/labels';
import { assertCidrs, assertDnsLabel } from '../common/names';
import { byString } from '../common/order';
import { parseQuantity } from '../common/quantity';

/** Default Kubernetes version the Pod Security labels pin. */
const POD_SECURITY_VERSION = 'v1.28';
const RBAC_API_GROUP = 'rbac.authorization.k8s.io';

/** Container defaults the namespace's LimitRange applies to containers that set none. */
export interface ContainerDefaults {
  /** CPU request of a container that sets none. @default '500m' */
  readonly cpuRequest?: string;
  /** Memory request of a container that sets none. @default '1Gi' */
  readonly memoryRequest?: string;
  /**
   * CPU limit of a container that sets none. A default CPU limit below a container's CPU request makes
   * the API server reject its pod (the platform checks flag it).
   * @default - none
   */
  readonly cpuLimit?: string;
  /** Memory limit of a container that sets none. @default '4Gi' */
  readonly memoryLimit?: string;
}

/** What the team may request in its namespace. */
export interface TeamQuota {
  /**
   * GPU and MIG resources the team may request, by extended-resource name
   * (`nvidia.com/gpu`, `nvidia.com/mig-1g.10gb`, …) → count. Each becomes `requests.<name>`.
   * `requests.nvidia.com/gpu` is always present (0 when not given): a resource missing from a
   * ResourceQuota is unlimited, so every GPU resource of the cluster should be listed.
   * @default - none besides `nvidia.com/gpu: 0`
   */
  readonly gpus?: Readonly<Record<string, number>>;
  /** `requests.cpu` of the whole namespace. @default - 64, or more to cover the workloads added with `addWorkload` */
  readonly cpu?: string;
  /** `requests.memory` of the whole namespace. @default - 256Gi, or more to cover the workloads added with `addWorkload` */
  readonly memory?: string;
  /** Maximum number of pods. @default - 100, or more to cover the workloads added with `addWorkload` */
  readonly pods?: number;
}

/** Egress to the model repository. */
export interface RepositoryEgress {
  /** Destination CIDRs. @default ['0.0.0.0/0'] (S3 has no fixed address range in the cluster) */
  readonly cidrs?: readonly string[];
  /** Destination port. @default 443 */
  readonly port?: number;
}

export interface TeamNamespaceProps {
  /** Team name, a DNS-1123 label. */
  readonly team: string;
  /** Namespace name, a DNS-1123 label. @default - the team name */
  readonly namespace?: string;
  /** Group bound to the team's Role (as the API server's authenticator reports it). @default `gpufleet:team:<team>` */
  readonly group?: string;
  /** Resource quota. @default - see `TeamQuota` */
  readonly quota?: TeamQuota;
  /** LimitRange container defaults. @default - see `ContainerDefaults` */
  readonly containerDefaults?: ContainerDefaults;
  /** Namespace of the gateway / ingress controller that forwards requests to the team's pods. @default 'gateway-system' */
  readonly gatewayNamespace?: string;
  /** Namespace of Prometheus, which scrapes the metrics port. @default 'monitoring' */
  readonly monitoringNamespace?: string;
  /** Ports the gateway may reach (Triton HTTP and gRPC). @default [8000, 8001] */
  readonly servingPorts?: readonly number[];
  /** Port Prometheus may scrape (Triton metrics). @default 8002 */
  readonly metricsPort?: number;
  /** Egress to the model repository, or `false` for none (e.g. a PVC repository). @default - 0.0.0.0/0 on 443 */
  readonly repositoryEgress?: RepositoryEgress | false;
  /** Extra labels on the Namespace. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

function checkCount(prop: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${prop}: expected an integer >= 0, got ${value}`);
  }
}

function checkPort(prop: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${prop}: expected a port number 1-65535, got ${value}`);
  }
}

const GPU_RESOURCE = /^nvidia\.com\/(gpu|mig-[0-9]+g\.[0-9]+gb(\.[a-z]+)?)$/;

/**
 * A team's namespace: Pod Security `restricted`, a ResourceQuota that counts GPUs and each MIG
 * resource, a LimitRange, a Role and RoleBinding for the team's group, and a default-deny
 * NetworkPolicy with allows for the gateway, Prometheus, DNS and the model repository.
 */
export class TeamNamespace extends Construct {
  /** The team. */
  public readonly team: string;
  /** The namespace's name. */
  public readonly namespaceName: string;
  /** The group bound to the team's Role. */
  public readonly group: string;
  public readonly gatewayNamespace: string;
  public readonly monitoringNamespace: string;
  public readonly metricsPort: number;
  public readonly servingPorts: readonly number[];
  public readonly namespace: k8s.KubeNamespace;
  public readonly resourceQuota: k8s.KubeResourceQuota;

  private readonly _gpus = new Map<string, number>();
  private readonly _workload = { cpu: 0, memory: 0, pods: 0 };

  constructor(scope: Construct, id: string, props: TeamNamespaceProps) {
    super(scope, id);
    assertDnsLabel('team', props.team);
    this.team = props.team;
    this.namespaceName = props.namespace ?? props.team;
    assertDnsLabel('namespace', this.namespaceName);
    this.group = props.group ?? `gpufleet:team:${props.team}`;
    if (this.group.trim().length === 0) {
      throw new Error(`group: expected a non-empty group name, got ${JSON.stringify(this.group)}`);
    }
    this.gatewayNamespace = props.gatewayNamespace ?? 'gateway-system';
    assertDnsLabel('gatewayNamespace', this.gatewayNamespace);
    this.monitoringNamespace = props.monitoringNamespace ?? 'monitoring';
    assertDnsLabel('monitoringNamespace', this.monitoringNamespace);
    this.metricsPort = props.metricsPort ?? 8002;
    checkPort('metricsPort', this.metricsPort);
    this.servingPorts = [...(props.servingPorts ?? [8000, 8001])];
    this.servingPorts.forEach((p, i) => checkPort(`servingPorts[${i}]`, p));

    const quota = props.quota ?? {};
    const pods = quota.pods ?? 100;
    checkCount('quota.pods', pods);
    this._gpus.set('nvidia.com/gpu', 0);
    for (const [resource, count] of Object.entries(quota.gpus ?? {})) {
      this.setGpuQuota(resource, count, `quota.gpus["${resource}"]`);
    }
    const defaults = props.containerDefaults ?? {};
    const egress = props.repositoryEgress === false ? undefined : (props.repositoryEgress ?? {});
    if (egress?.port !== undefined) checkPort('repositoryEgress.port', egress.port);
    if (egress?.cidrs !== undefined) assertCidrs('repositoryEgress.cidrs', egress.cidrs);

    this.namespace = this.renderNamespace(props.labels);
    this.resourceQuota = this.renderQuota(quota, pods);
    this.renderLimitRange(defaults);
    this.renderRbac();
    this.renderNetworkPolicies(egress);
  }

  /** The Namespace: team label, and the restricted Pod Security Standard enforced, audited and warned. */
  private renderNamespace(labels: Readonly<Record<string, string>> | undefined): k8s.KubeNamespace {
    return new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: this.namespaceName,
        labels: {
          ...(labels ?? {}),
          [TEAM_LABEL]: this.team,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': POD_SECURITY_VERSION,
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/audit-version': POD_SECURITY_VERSION,
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': POD_SECURITY_VERSION,
        },
      },
    });
  }

  /** The ResourceQuota `team-quota`: CPU, memory, pods and GPU resources, resolved at synth (see `renderHard`). */
  private renderQuota(quota: TeamQuota, pods: number): k8s.KubeResourceQuota {
    if (quota.cpu !== undefined && parseQuantity(quota.cpu) === undefined) {
      throw new Error(`quota.cpu: expected a CPU quantity such as 64 or 500m, got ${JSON.stringify(quota.cpu)}`);
    }
    if (quota.memory !== undefined && parseQuantity(quota.memory) === undefined) {
      throw new Error(`quota.memory: expected a memory quantity such as 256Gi, got ${JSON.stringify(quota.memory)}`);
    }
    // Given values are fixed; defaults grow to cover the workloads added with `addWorkload`.
    const cpu = (): string => quota.cpu ?? `${Math.max(64, Math.ceil(this._workload.cpu - 1e-9))}`;
    const memory = (): string => quota.memory ?? `${Math.max(256, Math.ceil(this._workload.memory / 2 ** 30 - 1e-9))}Gi`;
    const podCount = (): number => quota.pods ?? Math.max(pods, this._workload.pods);
    return new k8s.KubeResourceQuota(this, 'Quota', {
      metadata: { name: 'team-quota', namespace: this.namespaceName },
      // Lazy: the platform adds GPU quota for the pools it places in this namespace after construction.
      spec: Lazy.any({ produce: () => ({ hard: this.renderHard(cpu(), memory(), podCount()) }) }) as k8s.ResourceQuotaSpec,
    });
  }

  /** The LimitRange `container-defaults`: default requests and limits of containers that give none. */
  private renderLimitRange(defaults: ContainerDefaults): void {
    new k8s.KubeLimitRange(this, 'Limits', {
      metadata: { name: 'container-defaults', namespace: this.namespaceName },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: {
              cpu: k8s.Quantity.fromString(defaults.cpuRequest ?? '500m'),
              memory: k8s.Quantity.fromString(defaults.memoryRequest ?? '1Gi'),
            },
            default: {
              ...(defaults.cpuLimit !== undefined ? { cpu: k8s.Quantity.fromString(defaults.cpuLimit) } : {}),
              memory: k8s.Quantity.fromString(defaults.memoryLimit ?? '4Gi'),
            },
          },
        ],
      },
    });
  }

  /** The Role `team-operator` (read the team's objects, restart, scale, port-forward) bound to the team's group. */
  private renderRbac(): void {
    const ns = this.namespaceName;
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: 'team-operator', namespace: ns },
      rules: [
        {
          apiGroups: [''],
          resources: ['pods', 'pods/log', 'services', 'endpoints', 'configmaps', 'events', 'resourcequotas', 'limitranges'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
        { apiGroups: [''], resources: ['pods/portforward'], verbs: ['create'] },
        { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
        // patch: `kubectl rollout restart`; scale: manual scaling during incidents.
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
        { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'update', 'patch'] },
        { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['keda.sh'], resources: ['scaledobjects'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['monitoring.coreos.com'], resources: ['servicemonitors'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: 'team-operator', namespace: ns },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'Role', name: role.name },
      subjects: [{ apiGroup: RBAC_API_GROUP, kind: 'Group', name: this.group }],
    });
  }

  /**
   * The network policies: deny all, then ingress from the gateway (serving ports; not to cache pools) and from
   * Prometheus (metrics port), egress to DNS, and egress to the model repository when it is reached over the network.
   */
  private renderNetworkPolicies(egress: RepositoryEgress | undefined): void {
    const ns = this.namespaceName;
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny', namespace: ns },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    // Not to the pods of cache pools: their Triton HTTP port also serves the repository API (load, unload), which only
    // the model router may call (its own policy, serving-platform-router.ts). Clients reach their models through it.
    this.allowFromNamespace('AllowGateway', 'allow-from-gateway', this.gatewayNamespace, this.servingPorts, {
      matchExpressions: [{ key: CACHE_POOL_LABEL, operator: 'DoesNotExist' }],
    });
    this.allowFromNamespace('AllowPrometheus', 'allow-from-prometheus', this.monitoringNamespace, [this.metricsPort]);
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { name: 'allow-dns', namespace: ns },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
              { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
            ],
          },
        ],
      },
    });
    if (egress) {
      new k8s.KubeNetworkPolicy(this, 'AllowRepository', {
        metadata: { name: 'allow-model-repository', namespace: ns },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [...(egress.cidrs ?? ['0.0.0.0/0'])].sort().map((cidr) => ({ ipBlock: { cidr } })),
              ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(egress.port ?? 443) }],
            },
          ],
        },
      });
    }
  }

  /** Ingress to the namespace's pods (all, or those `pods` selects) from the pods of one other namespace, on some TCP ports. */
  private allowFromNamespace(
    id: string,
    name: string,
    from: string,
    ports: readonly number[],
    pods: k8s.LabelSelector = {},
  ): k8s.KubeNetworkPolicy {
    return new k8s.KubeNetworkPolicy(this, id, {
      metadata: { name, namespace: this.namespaceName },
      spec: {
        podSelector: pods,
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': from } } }],
            ports: ports.map((p) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p) })),
          },
        ],
      },
    });
  }

  /**
   * Adds `count` of a GPU/MIG resource to the team's quota (added to what is already granted).
   * A count of 0 lists the resource with nothing granted, so the team cannot request it.
   */
  public addGpuQuota(resource: string, count: number): void {
    const before = this._gpus.get(resource) ?? 0;
    this.setGpuQuota(resource, count, `addGpuQuota("${resource}")`, before);
  }

  /**
   * Records the requests of a workload at its maximum (e.g. a pool: replicas × per-pod requests). Quota
   * values the props leave at their defaults grow to cover the sum; given values stay as given.
   * @param cpu cores
   * @param memory bytes
   * @param pods pod count
   */
  public addWorkload(cpu: number, memory: number, pods: number): void {
    for (const [name, v] of [
      ['cpu', cpu],
      ['memory', memory],
      ['pods', pods],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`addWorkload: expected ${name} >= 0, got ${v}`);
    }
    this._workload.cpu += cpu;
    this._workload.memory += memory;
    this._workload.pods += pods;
  }

  /** GPU/MIG quota by extended-resource name (a copy). */
  public get gpuQuota(): Record<string, number> {
    return Object.fromEntries([...this._gpus.entries()].sort(([a], [b]) => byString(a, b)));
  }

  private setGpuQuota(resource: string, count: number, prop: string, before = 0): void {
    if (!GPU_RESOURCE.test(resource)) {
      throw new Error(
        `${prop}: expected a GPU resource name like nvidia.com/gpu or nvidia.com/mig-1g.10gb, got ${JSON.stringify(resource)}`,
      );
    }
    checkCount(prop, count);
    this._gpus.set(resource, before + count);
  }

  private renderHard(cpu: string, memory: string, pods: number): Record<string, k8s.Quantity> {
    const hard: Record<string, k8s.Quantity> = {
      'requests.cpu': k8s.Quantity.fromString(cpu),
      'requests.memory': k8s.Quantity.fromString(memory),
      pods: k8s.Quantity.fromNumber(pods),
    };
    for (const [resource, count] of Object.entries(this.gpuQuota)) {
      hard[`requests.${resource}`] = k8s.Quantity.fromNumber(count);
    }
    return hard;
  }
}
