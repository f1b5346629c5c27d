/**
 * `gpufleet check DIR [--previous DIR]`, as a library: proves, over the objects of a rendering and by the upstream
 * semantics of the consumers (FIDELITY.md), that the platform would provision, schedule and scale:
 *
 * - `provisioning` / `scheduling`: every GPU pod template gets a node (`check-capacity.ts`);
 * - `capacity`: its pods fit at minimum and maximum replicas within the NodePool limits, CPU and memory included;
 * - `quota`: every ResourceQuota covers its namespace's pods at maximum replicas;
 * - `layout`: every MIG layout a NodePool names is in the MIG manager's ConfigMap and legal on its GPUs, and every
 *   layout of that ConfigMap is legal;
 * - `autoscaling` / `prerequisites`: every autoscaler's target and metrics exist (`check-autoscaling.ts`);
 * - `relayout` (with a previous rendering): no NodePool's layout changed content under the same name — the MIG
 *   manager acts only when the `nvidia.com/mig.config` value changes (NVIDIA/mig-parted v0.15.0, gpu-operator#262).
 *
 * Pure: objects in, findings out; the CLI and the tests call it alike.
 */
import { placeProfiles } from '../../catalog';
import { checkAutoscaling } from './check-autoscaling';
import { CheckFinding, CheckRule, checkCapacity, checkProvisioning, nodesAtMaximum } from './check-capacity';
import { MigPartedEntry, RenderingModel, gpuTypesOfFilter, objectRef, readRendering } from './check-model';
import { deviceView } from './check-nodes';
import { parseQuantity } from '../common/quantity';
import { compareText } from '../../catalog/text-order';

export type { CheckFinding, CheckRule } from './check-capacity';

/** Options of `checkRendering`. */
export interface CheckRenderingOptions {
  /** The objects of the rendering this one replaces (for rule `relayout`). @default - none */
  readonly previous?: readonly any[];
}

/** The outcome of a check. */
export interface CheckResult {
  /** One per problem, sorted by rule, object and message. */
  readonly findings: readonly CheckFinding[];
  readonly objects: number;
  readonly gpuWorkloads: number;
  readonly nodePools: number;
  readonly autoscalers: number;
}

/** `<rule>: <Kind> <namespace>/<name>: <message>`. */
export function formatFinding(f: CheckFinding): string {
  return `${f.rule}: ${f.object}: ${f.message}`;
}

/** The summary line of a check. */
export function summarizeCheck(r: CheckResult): string {
  const scope = `${r.gpuWorkloads} GPU workload(s), ${r.nodePools} NodePool(s), ${r.autoscalers} autoscaler(s), ${r.objects} objects`;
  if (r.findings.length === 0)
    return `gpufleet check: no findings (${scope}): every GPU pod gets a node and fits at minimum and maximum replicas`;
  const byRule = new Map<string, number>();
  for (const f of r.findings) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
  return `gpufleet check: ${r.findings.length} finding(s) (${[...byRule].map(([k, n]) => `${k} ${n}`).join(', ')}) in ${scope}`;
}

/** A mig-parted config in a canonical form, to compare content. */
export function canonicalMigConfig(entries: readonly MigPartedEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      filter: [e['device-filter'] ?? []]
        .flat()
        .map((x) => String(x).toLowerCase())
        .sort(),
      devices: e.devices === 'all' ? 'all' : [...e.devices].sort((a, b) => a - b),
      enabled: e['mig-enabled'] !== false,
      counts: Object.entries(e['mig-devices'] ?? {}).sort(([a], [b]) => compareText(a, b)),
    })),
  );
}

/** Rule layout. */
function checkLayouts(model: RenderingModel): CheckFinding[] {
  const findings: CheckFinding[] = [];
  const migPools = model.nodePools.filter((np) => np.gpuType?.mig && np.gpuType.mig.profiles.length > 0);
  if (migPools.length > 0 && !model.operator) {
    findings.push({
      rule: 'layout',
      object: migPools[0].ref,
      message:
        'no GPU operator (HelmRelease of chart gpu-operator, or ClusterPolicy) in the rendering: ' +
        'nothing applies MIG layouts or advertises GPUs',
    });
  } else if (model.operator && migPools.length > 0 && !model.migConfigSource) {
    findings.push({
      rule: 'layout',
      object: model.operator.ref,
      message:
        `its migManager.config.name ${JSON.stringify(model.operator.migConfigName ?? null)} ` +
        `names no ConfigMap of namespace ${model.operator.namespace} in the rendering`,
    });
  } else if (model.operator && model.migConfigSource && !model.migConfigs.has(model.operator.migDefault)) {
    findings.push({
      rule: 'layout',
      object: model.operator.ref,
      message: `its migManager.config.default "${model.operator.migDefault}" is not a config of ${model.migConfigSource}`,
    });
  }
  for (const np of model.nodePools) {
    const seen = new Set<string>();
    for (const it of np.instanceTypes) {
      for (const p of deviceView(model, np, it).problems) {
        if (seen.has(p)) continue;
        seen.add(p);
        findings.push({
          rule: 'layout',
          object: np.ref,
          message: `${p} (node label nvidia.com/mig.config=${np.migConfig ?? '(none: the default)'})`,
        });
      }
    }
  }
  for (const [name, entries] of [...model.migConfigs].sort(([a], [b]) => compareText(a, b))) {
    entries.forEach((e, i) => {
      if (e['mig-enabled'] === false || !e['mig-devices']) return;
      for (const gpu of gpuTypesOfFilter(e['device-filter']).filter((g) => g.mig && g.mig.profiles.length > 0)) {
        const names: string[] = [];
        for (const [p, n] of Object.entries(e['mig-devices'])) for (let k = 0; k < n; k++) names.push(p);
        const unknown = names.filter((p) => !gpu.mig!.profiles.some((x) => x.name === p));
        const legal = unknown.length === 0 && placeProfiles(gpu, names) !== undefined;
        if (!legal) {
          findings.push({
            rule: 'layout',
            object: model.migConfigSource!,
            message:
              `mig-configs.${name}[${i}] (${Object.entries(e['mig-devices'])
                .map(([p, n]) => `${p}×${n}`)
                .join(' ')}) is not a legal layout of ${gpu.id}` +
              `${unknown.length ? ` (no profile ${[...new Set(unknown)].join(', ')})` : ''}: ` +
              'the MIG manager fails with nvidia.com/mig.config.state=failed',
          });
        }
      }
    });
  }
  return findings;
}

/** Rule quota: each ResourceQuota's hard limits against its namespace's pods at maximum replicas. */
function checkQuotas(model: RenderingModel): CheckFinding[] {
  const findings: CheckFinding[] = [];
  const maxOf = new Map<string, number>();
  for (const o of model.objects) {
    const t = o?.spec?.scaleTargetRef;
    if (o?.kind === 'HorizontalPodAutoscaler' && t) maxOf.set(`${o.metadata?.namespace}/${t.kind}/${t.name}`, o.spec.maxReplicas);
    if (o?.kind === 'ScaledObject' && t)
      maxOf.set(`${o.metadata?.namespace}/${t.kind ?? 'Deployment'}/${t.name}`, o.spec.maxReplicaCount ?? 100);
  }
  const usage = new Map<string, Map<string, { total: number; parts: string[] }>>();
  for (const o of model.objects) {
    if (!['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o?.kind)) continue;
    const ns = o.metadata?.namespace ?? 'default';
    const n = maxOf.get(`${ns}/${o.kind}/${o.metadata?.name}`) ?? o.spec?.replicas ?? 1;
    const per: Record<string, number> = { pods: 1 };
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      const limits = c.resources?.limits ?? {};
      const requests = { ...limits, ...(c.resources?.requests ?? {}) };
      for (const [k, v] of Object.entries(requests)) {
        const q = parseQuantity(v) ?? 0;
        const key = `requests.${k}`;
        per[key] = (per[key] ?? 0) + q;
        if (k === 'cpu' || k === 'memory') per[k] = (per[k] ?? 0) + q;
      }
      for (const [k, v] of Object.entries(limits))
        if (k === 'cpu' || k === 'memory') per[`limits.${k}`] = (per[`limits.${k}`] ?? 0) + (parseQuantity(v) ?? 0);
    }
    const m = usage.get(ns) ?? new Map();
    for (const [k, v] of Object.entries(per)) {
      const u = m.get(k) ?? { total: 0, parts: [] };
      u.total += v * n;
      u.parts.push(`${o.metadata?.name}: ${n}`);
      m.set(k, u);
    }
    usage.set(ns, m);
  }
  const show = (k: string, v: number) =>
    k.endsWith('memory') || k === 'memory' ? `${Math.round((v / 2 ** 30) * 100) / 100}Gi` : `${Math.round(v * 1000) / 1000}`;
  for (const q of model.objects.filter((o) => o?.kind === 'ResourceQuota')) {
    const ns = q.metadata?.namespace ?? 'default';
    for (const [k, v] of Object.entries(q.spec?.hard ?? {})) {
      const allowed = parseQuantity(v);
      const u = usage.get(ns)?.get(k);
      if (allowed === undefined || !u || u.total <= allowed + 1e-9) continue;
      findings.push({
        rule: 'quota',
        object: objectRef(q),
        message:
          `allows ${k} ${show(k, allowed)}, but the namespace's pods at maximum replicas request ${show(k, u.total)} ` +
          `(${u.parts.join(', ')}): the API server rejects pods beyond the quota`,
      });
    }
  }
  return findings;
}

/** Rule relayout: NodePools whose layout name is unchanged but whose mig-parted content changed. */
function checkRelayout(model: RenderingModel, previous: RenderingModel): CheckFinding[] {
  const findings: CheckFinding[] = [];
  for (const np of model.nodePools) {
    const name = np.migConfig;
    if (name === undefined) continue;
    const now = model.migConfigs.get(name);
    const before = previous.migConfigs.get(name);
    if (!now || !before || canonicalMigConfig(now) === canonicalMigConfig(before)) continue;
    const show = (es: readonly MigPartedEntry[]) =>
      es
        .map(
          (e) =>
            `${e.devices === 'all' ? 'all' : `[${e.devices.join(',')}]`}: ${
              e['mig-devices']
                ? Object.entries(e['mig-devices'])
                    .map(([p, n]) => `${p}×${n}`)
                    .join(' ')
                : 'MIG off'
            }`,
        )
        .join('; ');
    findings.push({
      rule: 'relayout',
      object: np.ref,
      message:
        `layout "${name}" changed content under the same name (was ${show(before)}, now ${show(now)}): ` +
        'the MIG manager re-cuts nodes only when nvidia.com/mig.config changes, ' +
        'so running nodes keep the old cut until a restart re-cuts them undrained; give the new content a new name',
    });
  }
  return findings;
}

/** Checks the objects of a rendering (and, with `previous`, the change from the one it replaces). */
export function checkRendering(objects: readonly any[], options: CheckRenderingOptions = {}): CheckResult {
  const model = readRendering(objects);
  const { findings: provisioning, homes } = checkProvisioning(model);
  const findings: CheckFinding[] = [
    ...provisioning,
    ...checkCapacity(model, homes),
    ...checkQuotas(model),
    ...checkLayouts(model),
    ...checkAutoscaling(model),
    ...(options.previous ? checkRelayout(model, readRendering(options.previous)) : []),
  ];
  const order: CheckRule[] = ['provisioning', 'scheduling', 'capacity', 'quota', 'layout', 'autoscaling', 'prerequisites', 'relayout'];
  const unique = [...new Map(findings.map((f) => [formatFinding(f), f])).values()].sort(
    (a, b) => order.indexOf(a.rule) - order.indexOf(b.rule) || compareText(a.object, b.object) || compareText(a.message, b.message),
  );
  return {
    findings: unique,
    objects: objects.length,
    gpuWorkloads: model.workloads.length,
    nodePools: model.nodePools.length,
    autoscalers: objects.filter((o) => o?.kind === 'HorizontalPodAutoscaler' || o?.kind === 'ScaledObject').length,
  };
}

/**
 * Per node pool (the `gpufleet.io/pool` / NodePool name), the nodes its GPU pods need at maximum replicas: what a
 * cluster-autoscaler node group carrying the pool must be allowed to grow to.
 */
export function nodesNeededAtMaximum(objects: readonly any[]): Map<string, number> {
  const model = readRendering(objects);
  return nodesAtMaximum(model, checkProvisioning(model).homes);
}
