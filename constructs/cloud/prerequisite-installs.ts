/**
 * What the cluster must serve before the platform's objects can be applied, and what gpufleet installs where the
 * cluster lacks it — decided before anything is created, so `pulumi up` never stops half-way on an object whose
 * kind the API server does not know.
 *
 * Why before: @pulumi/kubernetes creates an object of an unknown kind by retrying the create a few times on
 * "no matches for kind" (pulumi/pulumi-kubernetes `provider/pkg/await/await.go` Creation: `WithMaxRetries(5)`,
 * retried on `meta.IsNoMatchError`) and then fails the update; by then the cluster and the GPU nodes exist.
 *
 * What the cluster has is declared in the platform's own vocabulary (`PlatformPrerequisites`: prometheus, keda,
 * gatewayApi, flux, karpenterNodeOverlay, ...); here a key that is not set means absent (a fresh cluster has none).
 * For each custom-resource API group the objects use:
 * - the cluster has it → applied;
 * - gpufleet installs it (`PREREQUISITE_INSTALLS`, pinned versions) → applied after the install (`dependsOn`);
 * - neither → the objects are left out and listed with the reason (`skippedObjects`).
 */
import type { PlatformPrerequisites, ResolvedPrerequisites } from '../k8s/platform/platform-prerequisites';
import { resolvePrerequisites } from '../k8s/platform/platform-prerequisites';

/** A Kubernetes object as `chart.toJson()` returns it. */
export type KubeObject = Record<string, any>;

/** The prerequisites (platform vocabulary) that serve custom-resource API groups. */
export type ApiPrerequisite = 'prometheus' | 'keda' | 'gatewayApi' | 'flux' | 'karpenterNodeOverlay';

/** API groups every Kubernetes API server serves (Kubernetes 1.28–1.33): objects of these need no CRD. */
export const BUILT_IN_API_GROUPS: ReadonlySet<string> = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

/** Custom-resource API groups gpufleet renders, and the prerequisite that serves each. */
export const PREREQUISITE_API_GROUPS: Readonly<Record<string, ApiPrerequisite>> = {
  'monitoring.coreos.com': 'prometheus',
  'keda.sh': 'keda',
  'gateway.networking.k8s.io': 'gatewayApi',
  'helm.toolkit.fluxcd.io': 'flux',
  'source.toolkit.fluxcd.io': 'flux',
  'kustomize.toolkit.fluxcd.io': 'flux',
  'karpenter.sh': 'karpenterNodeOverlay',
  'karpenter.k8s.aws': 'karpenterNodeOverlay',
};

/** What each prerequisite is, for messages. */
const PREREQUISITE_NAMES: Readonly<Record<ApiPrerequisite, string>> = {
  prometheus: 'the Prometheus operator',
  keda: 'KEDA',
  gatewayApi: 'the Gateway API',
  flux: 'Flux',
  karpenterNodeOverlay: 'Karpenter',
};

/** A Helm chart at a pinned version. */
export interface HelmSource {
  readonly kind: 'helm';
  readonly chart: string;
  readonly version: string;
  readonly repository: string;
  /** Namespace of the release. */
  readonly namespace: string;
  readonly createNamespace: boolean;
  readonly values: Readonly<Record<string, unknown>>;
}

/** An upstream release manifest at a pinned version (fetched by the provider at deployment). */
export interface ManifestSource {
  readonly kind: 'manifest';
  readonly url: string;
  readonly version: string;
}

/** Something gpufleet installs on a cluster that lacks a prerequisite its objects need. */
export interface PrerequisiteInstall {
  /** The prerequisite it serves (platform vocabulary). */
  readonly prerequisite: ApiPrerequisite;
  /** Name of the release / resource. */
  readonly name: string;
  readonly what: string;
  /** API groups whose CRDs it installs. */
  readonly groups: readonly string[];
  readonly source: HelmSource | ManifestSource;
  /** The upstream project and release whose CRDs the install brings (a chart's appVersion). */
  readonly upstream: { readonly repository: string; readonly tag: string };
  /**
   * True when the install is the prerequisite itself (KEDA: operator, metrics server, webhooks); false when it
   * installs only the CRDs — the objects are stored, and nothing acts on them until `leaves` is installed.
   */
  readonly complete: boolean;
  /** What the cluster still needs for the objects to take effect (CRD-only installs). */
  readonly leaves?: string;
}

/**
 * Helm's resource policy that keeps a CRD when its release is uninstalled: deleting a CRD deletes every object of its
 * kinds in the whole cluster (other stacks' too).
 */
const KEEP = { 'helm.sh/resource-policy': 'keep' };

/**
 * What gpufleet installs, at pinned versions, where the cluster lacks the prerequisite. The versions match the CRDs
 * the rendered objects are validated against (`../shared/crds/`): prometheus-operator v0.93.0 (chart
 * prometheus-community/helm-charts `prometheus-operator-crds-31.0.0`, appVersion v0.93.0, CRDs as templates of its
 * `crds` subchart, `crds.annotations` on each); KEDA v2.20.2 (kedacore/charts `v2.20.2` keda/Chart.yaml, CRDs as
 * templates, `crds.additionalAnnotations`); Gateway API v1.6.1 standard channel (kubernetes-sigs/gateway-api
 * `hack/build-install-yaml.sh`: the `standard-install.yaml` release asset, every `config/crd/standard/gateway*.yaml`).
 */
export const PREREQUISITE_INSTALLS: readonly PrerequisiteInstall[] = [
  {
    prerequisite: 'prometheus',
    name: 'prometheus-operator-crds',
    what: "the Prometheus operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule, ...)",
    groups: ['monitoring.coreos.com'],
    source: {
      kind: 'helm',
      chart: 'prometheus-operator-crds',
      version: '31.0.0',
      repository: 'https://prometheus-community.github.io/helm-charts',
      namespace: 'kube-system',
      createNamespace: false,
      values: { crds: { annotations: KEEP } },
    },
    upstream: { repository: 'prometheus-operator/prometheus-operator', tag: 'v0.93.0' },
    complete: false,
    leaves:
      "a Prometheus operator with a Prometheus that selects gpufleet's ServiceMonitors (e.g. kube-prometheus-stack), " +
      'then declare it: prerequisites.prometheus.namespace',
  },
  {
    prerequisite: 'gatewayApi',
    name: 'gateway-api',
    what: 'the Gateway API CRDs, standard channel (HTTPRoute, GRPCRoute, Gateway, ...)',
    groups: ['gateway.networking.k8s.io'],
    source: {
      kind: 'manifest',
      url: 'https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml',
      version: 'v1.6.1',
    },
    upstream: { repository: 'kubernetes-sigs/gateway-api', tag: 'v1.6.1' },
    complete: false,
    leaves: 'a Gateway API implementation serving the Gateway the HTTPRoutes attach to, then declare it: prerequisites.gatewayApi',
  },
  {
    prerequisite: 'keda',
    name: 'keda',
    what: 'KEDA (operator, metrics API server, admission webhooks and CRDs)',
    groups: ['keda.sh'],
    source: {
      kind: 'helm',
      chart: 'keda',
      version: '2.20.2',
      repository: 'https://kedacore.github.io/charts',
      namespace: 'keda',
      createNamespace: true,
      values: { crds: { additionalAnnotations: KEEP } },
    },
    upstream: { repository: 'kedacore/keda', tag: 'v2.20.2' },
    complete: true,
  },
];

/** The API group of an apiVersion (`''` for core). */
export function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** Keys of a what-the-cluster-has declaration (the platform's `prerequisites` vocabulary). */
export const PREREQUISITE_KEYS = [
  'flux',
  'gatewayApi',
  'karpenterNodeOverlay',
  'keda',
  'metricsSources',
  'prometheus',
  'prometheusAdapter',
] as const;

/**
 * What the cluster already has, in the platform's vocabulary, with every key that is not set absent (a fresh
 * cluster has none of them) — unlike `ServingPlatform`'s `prerequisites`, whose unset keys mean present.
 * Throws naming the key (`prerequisites.keda: expected true or false, got "yes"`).
 */
export function clusterPrerequisites(declared: PlatformPrerequisites = {}): ResolvedPrerequisites {
  const given = Object.fromEntries(Object.entries(declared).filter(([, v]) => v !== undefined));
  return resolvePrerequisites({
    karpenterNodeOverlay: false,
    prometheus: false,
    prometheusAdapter: false,
    keda: false,
    gatewayApi: false,
    flux: false,
    ...given,
  });
}

/** True when `has` declares the prerequisite present. */
export function hasPrerequisite(has: ResolvedPrerequisites, p: ApiPrerequisite): boolean {
  return p === 'prometheus' ? has.prometheus !== undefined : has[p];
}

/** Which installs the objects need, and which objects no API of the cluster would serve. */
export interface ApiGroupPlan {
  /** Installs the objects need, in `PREREQUISITE_INSTALLS` order. */
  readonly installs: readonly PrerequisiteInstall[];
  /** Objects left out, with the reason. */
  readonly missing: ReadonlyMap<KubeObject, string>;
}

/**
 * For each object of a custom-resource API group: served by the cluster (`has`), by the CRDs among the objects, by
 * `alsoServed` (e.g. `nvidia.com` once the GPU operator's Helm release is in), by one of `available` (it is then
 * needed) — or missing, with the reason.
 */
export function planApiGroups(
  objects: readonly KubeObject[],
  has: ResolvedPrerequisites,
  available: readonly PrerequisiteInstall[] = PREREQUISITE_INSTALLS,
  alsoServed: ReadonlySet<string> = new Set(),
): ApiGroupPlan {
  const defined = new Set(
    objects
      .filter((o) => o.kind === 'CustomResourceDefinition' && apiGroup(o.apiVersion ?? '') === 'apiextensions.k8s.io')
      .map((o) => o.spec?.group)
      .filter((g): g is string => typeof g === 'string'),
  );
  const needed = new Set<PrerequisiteInstall>();
  const missing = new Map<KubeObject, string>();
  for (const o of objects) {
    const g = apiGroup(String(o.apiVersion ?? ''));
    if (BUILT_IN_API_GROUPS.has(g) || defined.has(g) || alsoServed.has(g)) continue;
    const p = PREREQUISITE_API_GROUPS[g];
    if (p !== undefined && hasPrerequisite(has, p)) continue;
    const install = available.find((i) => i.groups.includes(g));
    if (install) {
      needed.add(install);
      continue;
    }
    missing.set(
      o,
      p !== undefined
        ? `needs ${PREREQUISITE_NAMES[p]} (API group ${g}), ` +
            `which the cluster is not declared to have (prerequisites.${p}) and gpufleet does not install`
        : `API group ${g} is not built into Kubernetes, and no CRD for it is among the objects, declared present or installed by gpufleet`,
    );
  }
  return { installs: available.filter((i) => needed.has(i)), missing };
}

/**
 * The declaration the platform renders (its `gpufleet-prerequisites` ConfigMap): what the cluster has plus what the
 * installs make whole. A CRD-only install declares nothing: its objects are stored, but no controller acts on them.
 */
export function prerequisitesAfter(has: ResolvedPrerequisites, installs: readonly PrerequisiteInstall[]): PlatformPrerequisites {
  const complete = new Set(installs.filter((i) => i.complete).map((i) => i.prerequisite));
  return {
    karpenterNodeOverlay: has.karpenterNodeOverlay,
    prometheus: has.prometheus ?? false,
    prometheusAdapter: has.prometheusAdapter ?? false,
    keda: has.keda || complete.has('keda'),
    gatewayApi: has.gatewayApi || complete.has('gatewayApi'),
    flux: has.flux || complete.has('flux'),
    metricsSources: has.metricsSources,
  };
}

/** One line per install, for stack outputs: what, where from, at which version, and what it leaves to do. */
export function describeInstall(i: PrerequisiteInstall): {
  prerequisite: string;
  name: string;
  what: string;
  source: string;
  version: string;
  leaves?: string;
} {
  const source =
    i.source.kind === 'helm'
      ? `helm chart ${i.source.chart} from ${i.source.repository} into namespace ${i.source.namespace}`
      : i.source.url;
  return {
    prerequisite: i.prerequisite,
    name: i.name,
    what: i.what,
    source,
    version: i.source.version,
    ...(i.leaves ? { leaves: i.leaves } : {}),
  };
}
