/**
 * What a serving platform needs in the cluster and does not install itself (README "Prerequisites"), declared once
 * and rendered into the manifests — a ConfigMap `gpufleet-prerequisites` — so `gpufleet check` knows what exists:
 *
 * - Karpenter with its NodeOverlay feature gate (alpha, off by default: `--feature-gates NodeOverlay=true`,
 *   kubernetes-sigs/karpenter v1.14.1 `pkg/operator/options/options.go`); without it Karpenter sees no MIG resource
 *   and no time-sliced GPU, and never launches a node for a MIG pod;
 * - the Prometheus operator (ServiceMonitor CRD) with a Prometheus that scrapes gpufleet's monitors;
 * - prometheus-adapter, whose `rules.existing` ConfigMap must sit in its own namespace (HPA pools);
 * - KEDA (KEDA pools);
 * - a Gateway API implementation serving the Gateway the HTTPRoutes attach to;
 * - Flux (helm-controller, source-controller) for the GPU operator's HelmRelease;
 * - any other source of metrics an autoscaler queries (e.g. Istio's `istio_requests_total`).
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { parse as parseYaml, stringify } from 'yaml';
import { assertDnsLabel } from '../common/names';

/**
 * Metrics sources a platform may declare, with the prefix of the Prometheus metrics each one produces
 * (metrics-server serves CPU and memory to HPAs and KEDA's cpu/memory triggers, no Prometheus metric).
 */
export const METRICS_SOURCES: Readonly<Record<string, string | undefined>> = {
  'metrics-server': undefined,
  istio: 'istio_',
  'kube-state-metrics': 'kube_',
  'node-exporter': 'node_',
  'dcgm-exporter': 'DCGM_',
  'envoy-gateway': 'envoy_',
};

/** The prerequisites of a platform, as declared (README "Prerequisites"). */
export interface PlatformPrerequisites {
  /** Karpenter runs with `--feature-gates NodeOverlay=true`. @default true */
  readonly karpenterNodeOverlay?: boolean;
  /**
   * The Prometheus operator, and the namespace of the Prometheus that scrapes gpufleet's monitors.
   * @default { namespace: <monitoringNamespace> }
   */
  readonly prometheus?: { readonly namespace: string } | false;
  /** prometheus-adapter and its namespace (where gpufleet's rules ConfigMap must sit). @default { namespace: <monitoringNamespace> } */
  readonly prometheusAdapter?: { readonly namespace: string } | false;
  /** KEDA. @default true */
  readonly keda?: boolean;
  /** A Gateway API implementation (with the Gateway the routes name). @default true */
  readonly gatewayApi?: boolean;
  /** Flux helm-controller and source-controller. @default true */
  readonly flux?: boolean;
  /** Further metrics sources autoscaler queries may use (keys of `METRICS_SOURCES`, e.g. `istio`). @default [] */
  readonly metricsSources?: readonly string[];
}

/** The declaration with every default resolved. */
export interface ResolvedPrerequisites {
  readonly karpenterNodeOverlay: boolean;
  readonly prometheus?: { readonly namespace: string };
  readonly prometheusAdapter?: { readonly namespace: string };
  readonly keda: boolean;
  readonly gatewayApi: boolean;
  readonly flux: boolean;
  readonly metricsSources: readonly string[];
}

/** Name of the ConfigMap holding the declaration, and its data key. */
export const PREREQUISITES_CONFIGMAP = 'gpufleet-prerequisites';
export const PREREQUISITES_KEY = 'prerequisites.yaml';

/** Resolves defaults and checks the declaration; throws naming the field. */
export function resolvePrerequisites(p: PlatformPrerequisites = {}, monitoringNamespace: string = 'monitoring'): ResolvedPrerequisites {
  const where = 'prerequisites';
  for (const k of ['karpenterNodeOverlay', 'keda', 'gatewayApi', 'flux'] as const) {
    if (p[k] !== undefined && typeof p[k] !== 'boolean')
      throw new Error(`${where}.${k}: expected true or false, got ${JSON.stringify(p[k])}`);
  }
  const ns = (key: 'prometheus' | 'prometheusAdapter') => {
    const v = p[key];
    if (v === false) return undefined;
    if (v === undefined) return { namespace: monitoringNamespace };
    assertDnsLabel(`${where}.${key}.namespace`, v.namespace);
    return { namespace: v.namespace };
  };
  const sources = [...new Set(p.metricsSources ?? [])].sort();
  sources.forEach((s, i) => {
    if (!(s in METRICS_SOURCES)) {
      throw new Error(
        `${where}.metricsSources[${i}]: expected one of ${Object.keys(METRICS_SOURCES).sort().join(', ')}, got ${JSON.stringify(s)}`,
      );
    }
  });
  const prometheus = ns('prometheus');
  const prometheusAdapter = ns('prometheusAdapter');
  return {
    karpenterNodeOverlay: p.karpenterNodeOverlay ?? true,
    ...(prometheus ? { prometheus } : {}),
    ...(prometheusAdapter ? { prometheusAdapter } : {}),
    keda: p.keda ?? true,
    gatewayApi: p.gatewayApi ?? true,
    flux: p.flux ?? true,
    metricsSources: sources,
  };
}

/** Reads a declaration back from rendered objects (the `gpufleet-prerequisites` ConfigMap); undefined when absent. */
export function readPrerequisites(objects: readonly any[]): ResolvedPrerequisites | undefined {
  const cm = objects.find((o) => o?.kind === 'ConfigMap' && o.metadata?.name === PREREQUISITES_CONFIGMAP);
  const text = cm?.data?.[PREREQUISITES_KEY];
  if (typeof text !== 'string') return undefined;
  const doc = parseYaml(text) ?? {};
  return resolvePrerequisites({
    karpenterNodeOverlay: doc.karpenter?.nodeOverlay ?? false,
    prometheus: doc.prometheus ?? false,
    prometheusAdapter: doc.prometheusAdapter ?? false,
    keda: doc.keda ?? false,
    gatewayApi: doc.gatewayApi ?? false,
    flux: doc.flux ?? false,
    metricsSources: doc.metricsSources ?? [],
  });
}

/** Props of `PrerequisitesDeclaration`. */
export interface PrerequisitesDeclarationProps {
  readonly prerequisites: ResolvedPrerequisites;
  /** Namespace of the ConfigMap. */
  readonly namespace: string;
}

/** The declaration as a ConfigMap (`gpufleet-prerequisites`, key `prerequisites.yaml`). */
export class PrerequisitesDeclaration extends Construct {
  public readonly prerequisites: ResolvedPrerequisites;
  public readonly configMap: k8s.KubeConfigMap;

  public constructor(scope: Construct, id: string, props: PrerequisitesDeclarationProps) {
    super(scope, id);
    this.prerequisites = props.prerequisites;
    const p = props.prerequisites;
    const doc = {
      karpenter: { nodeOverlay: p.karpenterNodeOverlay },
      prometheus: p.prometheus ?? false,
      prometheusAdapter: p.prometheusAdapter ?? false,
      keda: p.keda,
      gatewayApi: p.gatewayApi,
      flux: p.flux,
      metricsSources: [...p.metricsSources],
    };
    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: {
        name: PREREQUISITES_CONFIGMAP,
        namespace: props.namespace,
        labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'prerequisites' },
      },
      data: { [PREREQUISITES_KEY]: stringify(doc, { lineWidth: 0 }) },
    });
  }
}
