/**
 * `gpufleet check`, rules `autoscaling` and `prerequisites`: every HPA and KEDA ScaledObject scales something that
 * exists, and every metric it reads is produced by something installed or declared:
 * - an HPA's Object/Pods/External metrics come from prometheus-adapter, which reads its rules (`rules.existing`)
 *   from a ConfigMap in its own namespace only; the series a rule starts from must be produced;
 * - a KEDA Prometheus trigger queries the declared Prometheus; every metric name in its query must be produced:
 *   Triton's `nv_*` by Triton pods a ServiceMonitor/PodMonitor scrapes (in the namespace the query names), the
 *   router's `gpufleet_router_*` and the vllm backend's `vllm:*` likewise, others by a declared metrics source (`istio_*` by Istio, ...);
 * - CPU/memory metrics need metrics-server (declared as a metrics source);
 * - objects of kinds the platform does not install (HTTPRoute, HelmRelease, ServiceMonitor, ScaledObject,
 *   NodeOverlay) need their controller declared.
 */
import { parse as parseYaml } from 'yaml';
import { CheckFinding } from './check-capacity';
import { RenderingModel, objectRef } from './check-model';
import { labelsSatisfy } from '../gpu/karpenter-requirements';
import { METRICS_SOURCES, PREREQUISITES_CONFIGMAP, ResolvedPrerequisites } from '../platform/platform-prerequisites';
import { compareText } from '../../catalog/text-order';

const NONE: ResolvedPrerequisites = { karpenterNodeOverlay: false, keda: false, gatewayApi: false, flux: false, metricsSources: [] };

/** Label selector (`matchLabels` + `matchExpressions`) against labels. */
function selects(selector: any, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  const ml = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return ml && labelsSatisfy(labels, selector.matchExpressions ?? []);
}

function inNamespaces(sel: any, own: string, ns: string): boolean {
  if (sel?.any === true) return true;
  const names: string[] = sel?.matchNames ?? [own];
  return names.includes(ns);
}

/** Pod templates of the rendering with their namespace, labels and containers. */
function podTemplates(objects: readonly any[]): { ns: string; labels: Record<string, string>; spec: any }[] {
  const out: { ns: string; labels: Record<string, string>; spec: any }[] = [];
  for (const o of objects) {
    const t =
      o?.kind === 'CronJob'
        ? o.spec?.jobTemplate?.spec?.template
        : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o?.kind)
          ? o.spec?.template
          : undefined;
    if (t) out.push({ ns: o.metadata?.namespace ?? 'default', labels: t.metadata?.labels ?? {}, spec: t.spec });
  }
  return out;
}

/** Namespaces where pods matching `isProducer` are scraped by a ServiceMonitor or PodMonitor. */
function scrapedNamespaces(objects: readonly any[], isProducer: (spec: any, labels: Record<string, string>) => boolean): Set<string> {
  const pods = podTemplates(objects).filter((p) => isProducer(p.spec, p.labels));
  const out = new Set<string>();
  for (const m of objects) {
    if (m?.kind !== 'ServiceMonitor' && m?.kind !== 'PodMonitor') continue;
    const own = m.metadata?.namespace ?? 'default';
    if (m.kind === 'PodMonitor') {
      for (const p of pods) if (inNamespaces(m.spec?.namespaceSelector, own, p.ns) && selects(m.spec?.selector, p.labels)) out.add(p.ns);
      continue;
    }
    for (const svc of objects.filter(
      (o) => o?.kind === 'Service' && inNamespaces(m.spec?.namespaceSelector, own, o.metadata?.namespace ?? 'default'),
    )) {
      if (!selects(m.spec?.selector, svc.metadata?.labels ?? {})) continue;
      const sel = svc.spec?.selector ?? {};
      if (Object.keys(sel).length === 0) continue;
      for (const p of pods)
        if (p.ns === (svc.metadata?.namespace ?? 'default') && Object.entries(sel).every(([k, v]) => p.labels[k] === v)) out.add(p.ns);
    }
  }
  return out;
}

const isTriton = (spec: any) =>
  (spec?.containers ?? []).some((c: any) =>
    [...(c.command ?? []), ...(c.args ?? []), c.image ?? ''].some((a: string) => String(a).includes('tritonserver')),
  );
const isRouter = (_: any, labels: Record<string, string>) => labels['app.kubernetes.io/name'] === 'gpufleet-router';
/**
 * Triton with the vllm backend (the `…-vllm-python-py3` images): it exports the engine's `vllm:*` series on Triton's
 * metrics port when a model config sets `REPORT_CUSTOM_METRICS` (vllm_backend r25.08 `src/utils/metrics.py`; the
 * model configs gpufleet renders for vllm-backend models set it, test/k8s-model-config-schema.test.ts).
 */
const isVllmTriton = (spec: any) => isTriton(spec) && (spec?.containers ?? []).some((c: any) => /vllm/.test(String(c.image ?? '')));

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
  'atan2',
]);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Label matchers of a selector body (`namespace="x",pod=~"y"`), by label, for equality matchers. */
function equalityMatchers(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) if (m[2] === '=') out[m[1]] = m[3];
  return out;
}

/**
 * Metric names a PromQL expression reads, each with the namespace its selector names (`namespace="x"`), if any.
 * A small tokenizer: strings, selectors `{...}`, ranges `[...]`, functions (an identifier before `(`) and the label
 * lists after `by`/`without`/`on`/`ignoring`/`group_*` are not metric names.
 */
export function promqlMetrics(query: string): { name: string; namespace?: string }[] {
  const out: { name: string; namespace?: string }[] = [];
  let i = 0;
  const skipString = (j: number) => {
    j++;
    while (j < query.length && query[j] !== '"') j += query[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  const skipTo = (j: number, close: string) => {
    while (j < query.length && query[j] !== close) j = query[j] === '"' ? skipString(j) : j + 1;
    return j + 1;
  };
  while (i < query.length) {
    const c = query[i];
    if (c === '"') {
      i = skipString(i);
      continue;
    }
    if (c === '[') {
      i = skipTo(i, ']');
      continue;
    }
    if (c === '{') {
      // a selector without a metric name: {__name__="x"}
      const end = skipTo(i, '}');
      const name = equalityMatchers(query.slice(i + 1, end - 1)).__name__;
      if (name) out.push({ name });
      i = end;
      continue;
    }
    const id = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(query.slice(i));
    if (!id) {
      i++;
      continue;
    }
    const word = id[0];
    let j = i + word.length;
    while (query[j] === ' ') j++;
    if (LABEL_LIST_KEYWORDS.has(word) && query[j] === '(') {
      i = skipTo(j, ')');
      continue;
    }
    if (PROMQL_KEYWORDS.has(word) || query[j] === '(') {
      i = j;
      continue;
    }
    let namespace: string | undefined;
    if (query[j] === '{') {
      const end = skipTo(j, '}');
      namespace = equalityMatchers(query.slice(j + 1, end - 1)).namespace;
      j = end;
    }
    out.push({ name: word, ...(namespace !== undefined ? { namespace } : {}) });
    i = j;
  }
  return out;
}

/** Rule prerequisites: the rendering declares what is installed, and every object kind it renders has its controller declared. */
function prerequisiteFindings(objects: RenderingModel['objects'], prerequisites: RenderingModel['prerequisites']): CheckFinding[] {
  const findings: CheckFinding[] = [];
  const pre = prerequisites ?? NONE;
  const declared = prerequisites !== undefined;
  if (!declared) {
    findings.push({
      rule: 'prerequisites',
      object: `ConfigMap ${PREREQUISITES_CONFIGMAP}`,
      message:
        'the rendering declares no prerequisites, so nothing it needs ' +
        '(Karpenter NodeOverlay gate, Prometheus operator, prometheus-adapter, KEDA, Gateway API, Flux) is known to be installed',
    });
  }
  const needs: [string[], boolean, string][] = [
    [['HTTPRoute', 'GRPCRoute', 'Gateway'], pre.gatewayApi, 'a Gateway API implementation (prerequisites.gatewayApi)'],
    [['HelmRelease', 'HelmRepository'], pre.flux, 'Flux (prerequisites.flux)'],
    [
      ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'],
      pre.prometheus !== undefined,
      'the Prometheus operator (prerequisites.prometheus)',
    ],
    [['ScaledObject', 'TriggerAuthentication'], pre.keda, 'KEDA (prerequisites.keda)'],
    [['NodeOverlay'], pre.karpenterNodeOverlay, "Karpenter's NodeOverlay feature gate (prerequisites.karpenterNodeOverlay)"],
  ];
  for (const [kinds, ok, what] of needs) {
    if (ok) continue;
    const of = objects.filter((o) => kinds.includes(o?.kind)).sort((a, b) => compareText(objectRef(a), objectRef(b)));
    if (of.length > 0)
      findings.push({
        rule: 'prerequisites',
        object: objectRef(of[0]),
        message:
          `needs ${what}, which is not declared installed ` +
          `(${of.length} object(s) of kind ${[...new Set(of.map((o) => o.kind))].join(', ')}); nothing acts on them`,
      });
  }
  return findings;
}

/** Why metric `name` (read in `namespace`, if named) is not produced, or undefined when something produces it. */
type MetricProducer = (name: string, namespace?: string) => string | undefined;

/** What the autoscaling checks of one HPA or ScaledObject read: the rendering, its prerequisites and what they derive. */
interface AutoscalingContext {
  readonly objects: RenderingModel['objects'];
  readonly pre: ResolvedPrerequisites;
  readonly produced: MetricProducer;
  readonly exists: (kind: string, ns: string, name: string) => boolean;
  readonly adapterRules: any[];
}

/** The producer check of a metric: Triton, router and vllm series need their pods scraped, others a declared metrics source. */
function metricProducer(objects: RenderingModel['objects'], pre: ResolvedPrerequisites): MetricProducer {
  const scraped = {
    triton: scrapedNamespaces(objects, isTriton),
    router: scrapedNamespaces(objects, isRouter),
    vllm: scrapedNamespaces(objects, isVllmTriton),
  };
  return (name: string, namespace?: string): string | undefined => {
    const by = (set: Set<string>, what: string) => {
      if (pre.prometheus === undefined) return `${what} metrics are scraped only by a declared Prometheus operator`;
      if (namespace !== undefined ? !set.has(namespace) : set.size === 0)
        return `no ServiceMonitor or PodMonitor scrapes ${what} pods${namespace !== undefined ? ` in namespace ${namespace}` : ''}`;
      return undefined;
    };
    if (name.startsWith('nv_')) return by(scraped.triton, 'Triton');
    if (name.startsWith('gpufleet_router_')) return by(scraped.router, 'gpufleet router');
    if (name.startsWith('vllm:')) return by(scraped.vllm, 'Triton vllm-backend');
    const source = pre.metricsSources.find((s) => METRICS_SOURCES[s] !== undefined && name.startsWith(METRICS_SOURCES[s]));
    if (source) return undefined;
    return `nothing installed or declared produces it (declared metrics sources: ${pre.metricsSources.join(', ') || 'none'})`;
  };
}

/**
 * The prometheus-adapter rules (`rules` and `externalRules`) of the ConfigMaps in the adapter's namespace; none without a
 * declared adapter.
 */
function prometheusAdapterRules(objects: RenderingModel['objects'], pre: ResolvedPrerequisites): any[] {
  if (!pre.prometheusAdapter) return [];
  const adapterNs = pre.prometheusAdapter.namespace;
  return objects
    .filter((o) => o?.kind === 'ConfigMap' && (o.metadata?.namespace ?? 'default') === adapterNs)
    .flatMap((o) => {
      const text = o.data?.['config.yaml'];
      if (typeof text !== 'string') return [];
      const doc = parseYaml(text);
      return [...(doc?.rules ?? []), ...(doc?.externalRules ?? [])];
    });
}

/** The target an HPA or ScaledObject scales (`scaleTargetRef`, Deployment by default) is in the rendering. */
function scaleTargetFindings(o: any, ref: string, ns: string, ctx: AutoscalingContext): CheckFinding[] {
  const target = o.spec?.scaleTargetRef ?? {};
  const kind = target.kind ?? 'Deployment';
  if (ctx.exists(kind, ns, target.name)) return [];
  return [{ rule: 'autoscaling', object: ref, message: `scales ${kind} ${ns}/${target.name}, which is not in the rendering` }];
}

/** One HPA metric: Resource metrics need metrics-server; Object/Pods/External ones an adapter rule whose series are produced. */
function hpaMetricFindings(m: any, ref: string, ns: string, ctx: AutoscalingContext): CheckFinding[] {
  const { pre } = ctx;
  const findings: CheckFinding[] = [];
  if (m.type === 'Resource' || m.type === 'ContainerResource') {
    if (!pre.metricsSources.includes('metrics-server'))
      findings.push({
        rule: 'autoscaling',
        object: ref,
        message:
          `reads ${m.type} metric ${(m.resource ?? m.containerResource)?.name} from metrics-server, ` +
          'which is not declared (prerequisites.metricsSources)',
      });
    return findings;
  }
  const metric = m[m.type === 'Object' ? 'object' : m.type === 'Pods' ? 'pods' : 'external']?.metric?.name;
  if (m.type === 'Object') {
    const d = m.object?.describedObject ?? {};
    if (!ctx.exists(d.kind, ns, d.name))
      findings.push({
        rule: 'autoscaling',
        object: ref,
        message: `reads metric ${metric} of ${d.kind} ${ns}/${d.name}, which is not in the rendering`,
      });
  }
  if (!pre.prometheusAdapter) {
    findings.push({
      rule: 'autoscaling',
      object: ref,
      message:
        `reads metric ${metric} through the custom metrics API, ` +
        'but prometheus-adapter is not declared (prerequisites.prometheusAdapter)',
    });
    return findings;
  }
  const rule = ctx.adapterRules.find(
    (r: any) => r?.name?.as === metric || (r?.name?.as === undefined && String(r?.seriesQuery ?? '').startsWith(String(metric))),
  );
  if (!rule) {
    findings.push({
      rule: 'autoscaling',
      object: ref,
      message:
        `reads metric ${metric}, but no prometheus-adapter rule in namespace ${pre.prometheusAdapter.namespace} ` +
        '(where the adapter reads rules.existing) serves it',
    });
    return findings;
  }
  for (const s of promqlMetrics(String(rule.seriesQuery ?? ''))) {
    const why = ctx.produced(s.name, ns);
    if (why) findings.push({ rule: 'autoscaling', object: ref, message: `reads metric ${metric}, served from series ${s.name}: ${why}` });
  }
  return findings;
}

/** One KEDA trigger: cpu/memory need metrics-server; a prometheus trigger the declared Prometheus and produced metrics. */
function kedaTriggerFindings(t: any, ref: string, ctx: AutoscalingContext): CheckFinding[] {
  const { pre } = ctx;
  const findings: CheckFinding[] = [];
  if (t.type === 'cpu' || t.type === 'memory') {
    if (!pre.metricsSources.includes('metrics-server'))
      findings.push({
        rule: 'autoscaling',
        object: ref,
        message: `trigger ${t.type} reads metrics-server, which is not declared (prerequisites.metricsSources)`,
      });
    return findings;
  }
  if (t.type !== 'prometheus') return findings;
  const name = t.name ?? t.type;
  const address = String(t.metadata?.serverAddress ?? '');
  const host = /^https?:\/\/([^/:]+)/.exec(address)?.[1] ?? '';
  const hostNs = /^[^.]+\.([^.]+)\.svc/.exec(host)?.[1];
  if (pre.prometheus === undefined)
    findings.push({
      rule: 'autoscaling',
      object: ref,
      message: `trigger ${name} queries Prometheus at ${address}, but no Prometheus is declared (prerequisites.prometheus)`,
    });
  else if (hostNs !== undefined && hostNs !== pre.prometheus.namespace)
    findings.push({
      rule: 'autoscaling',
      object: ref,
      message:
        `trigger ${name} queries Prometheus in namespace ${hostNs} (${address}), ` +
        `the declared Prometheus runs in ${pre.prometheus.namespace}`,
    });
  for (const mtr of promqlMetrics(String(t.metadata?.query ?? ''))) {
    const why = ctx.produced(mtr.name, mtr.namespace);
    if (why) findings.push({ rule: 'autoscaling', object: ref, message: `trigger ${name} reads metric ${mtr.name}: ${why}` });
  }
  return findings;
}

/** Rules autoscaling and prerequisites. */
export function checkAutoscaling(model: RenderingModel): CheckFinding[] {
  const findings: CheckFinding[] = [];
  const objects = model.objects;
  const pre = model.prerequisites ?? NONE;
  findings.push(...prerequisiteFindings(objects, model.prerequisites));
  const ctx: AutoscalingContext = {
    objects,
    pre,
    produced: metricProducer(objects, pre),
    exists: (kind: string, ns: string, name: string) =>
      objects.some((o) => o?.kind === kind && (o.metadata?.namespace ?? 'default') === ns && o.metadata?.name === name),
    adapterRules: prometheusAdapterRules(objects, pre),
  };
  for (const o of objects) {
    if (o?.kind !== 'HorizontalPodAutoscaler' && o?.kind !== 'ScaledObject') continue;
    const ref = objectRef(o);
    const ns = o.metadata?.namespace ?? 'default';
    findings.push(...scaleTargetFindings(o, ref, ns, ctx));
    if (o.kind === 'HorizontalPodAutoscaler') for (const m of o.spec?.metrics ?? []) findings.push(...hpaMetricFindings(m, ref, ns, ctx));
    else for (const t of o.spec?.triggers ?? []) findings.push(...kedaTriggerFindings(t, ref, ctx));
  }
  return findings;
}
