import type { Provider as KubernetesProvider } from '@pulumi/kubernetes/provider';
import { ConfigGroup } from '@pulumi/kubernetes/yaml/yaml';
import * as pulumi from '@pulumi/pulumi';
import { TRITON_POOL_LABEL } from '../k8s/common/labels';
import { IRSA_ROLE_ANNOTATION } from '../k8s/serving/model-repository';
import type { ResolvedPrerequisites } from '../k8s/platform/platform-prerequisites';
import type { ClusterPrerequisites } from './cluster-prerequisites';
import { apiGroup as group, type KubeObject, planApiGroups } from './prerequisite-installs';
import type { GpuOperatorRelease } from './gpu-operator-release';
import { keepOutOfValueWalks } from './value-walks';

export type { KubeObject } from './prerequisite-installs';

/**
 * @pulumi/kubernetes's annotation that turns its await logic off for an object: it is created and the update moves on
 * (pulumi/pulumi-kubernetes `provider/pkg/metadata/overrides.go` SkipAwaitLogic, read by `provider/pkg/await/await.go`
 * Creation / Update through `metadata.ReadyCondition`).
 */
export const SKIP_AWAIT_ANNOTATION = 'pulumi.com/skipAwait';

/** An IAM role for a service account of the platform (IRSA). */
export interface ServiceAccountRole {
  readonly namespace: string;
  readonly name: string;
  readonly roleArn: pulumi.Input<string>;
}

/** An object of the chart the release leaves out, and why. */
export interface SkippedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly reason: string;
}

export interface PlatformReleaseArgs {
  /** The Kubernetes objects of the cdk8s chart(s): `chart.toJson()`. Not modified. */
  readonly objects: readonly KubeObject[];
  /** Kubernetes provider of the cluster. */
  readonly provider: KubernetesProvider;
  /**
   * The GPU operator installed by Pulumi. The platform objects are applied after it, the Flux objects
   * that would install the operator a second time are left out, and the ConfigMaps its values reference
   * (the mig-parted config) must be among the objects.
   * @default - no operator release: every object is applied
   */
  readonly operatorRelease?: GpuOperatorRelease;
  /** GPU node groups the platform's GPU workloads run on; the objects are applied after them. @default [] */
  readonly nodeGroups?: readonly pulumi.Resource[];
  /** Other resources the objects wait for (e.g. Pod Identity associations). @default [] */
  readonly waitFor?: readonly pulumi.Resource[];
  /**
   * Service accounts to annotate with `eks.amazonaws.com/role-arn` (IRSA), e.g. the Triton model readers.
   * Each must be a ServiceAccount of the objects.
   * @default []
   */
  readonly serviceAccountRoles?: readonly ServiceAccountRole[];
  /**
   * Leave out Karpenter objects (NodePool, EC2NodeClass, NodeOverlay): the managed node groups carry the
   * GPU pools instead, and a cluster without Karpenter has no CRDs for them.
   * @default - true when `nodeGroups` are given
   */
  readonly skipKarpenterObjects?: boolean;
  /**
   * Kinds to leave out, as `<api group>/<Kind>` (`monitoring.coreos.com/ServiceMonitor`,
   * `gateway.networking.k8s.io/HTTPRoute`; core kinds as `/<Kind>`), e.g. while the cluster lacks their CRDs.
   * @default []
   */
  readonly excludeKinds?: readonly string[];
  /**
   * How long Pulumi awaits workloads (Deployments, StatefulSets, DaemonSets, Jobs) to become ready: GPU pods
   * wait for their node to boot, its MIG layout to be applied and the device plugin to advertise it.
   * @default 30
   */
  readonly awaitTimeoutMinutes?: number;
  /**
   * The custom-resource APIs the cluster serves: what it has (`clusterHas`, the platform's prerequisites vocabulary,
   * see `clusterPrerequisites`) and what this program installs (`installed`; the objects of its API groups wait for
   * it). An object of any other custom-resource API group is left out (`skipped`, with the reason) rather than failing
   * the update half-way. Objects of `nvidia.com` are served once `operatorRelease` is in.
   * @default - not checked: every object is applied
   */
  readonly clusterApis?: { readonly clusterHas: ResolvedPrerequisites; readonly installed?: ClusterPrerequisites };
  /**
   * Objects @pulumi/kubernetes does not await (annotation `pulumi.com/skipAwait: "true"`): the Triton Deployments
   * (label `gpufleet.io/triton-pool`) and every Service that selects their pods. A Triton pool is ready only once
   * its models are in the repository, which `pulumi up` does not upload (it uploads their config.pbtxt only); a
   * Deployment is awaited until all replicas are ready, and a Service until no selected pod is unready
   * (pulumi/pulumi-kubernetes `provider/pkg/await/service.go` checkAndLogStatus: `!endpointsPending`), so either
   * would hold the update until its timeout and fail it.
   * @default true
   */
  readonly skipAwaitTriton?: boolean;
}

/** Options of `releaseSkips`. */
export interface ReleaseSkipOptions {
  /** Namespace of the GPU operator Pulumi installs with Helm; undefined = no operator release. */
  readonly operatorNamespace?: string;
  readonly skipKarpenterObjects: boolean;
  readonly excludeKinds: readonly string[];
}

const KARPENTER_GROUPS = new Set(['karpenter.sh', 'karpenter.k8s.aws']);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
const FOUNDATION_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);
/** An `excludeKinds` entry: `<api group>/<Kind>` (empty group for core kinds, e.g. `/ConfigMap`). */
export const EXCLUDE_KIND = /^[a-z0-9.-]*\/[A-Z][A-Za-z0-9]*$/;

function describe(o: KubeObject): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}

/**
 * The objects the release leaves out when Pulumi installs the GPU operator itself (no double install):
 * Flux HelmReleases of the `gpu-operator` chart, the HelmRepositories only they use, ClusterPolicy
 * objects (the chart creates its own from the values) and the operator's Namespace (Helm creates it).
 */
export function gpuOperatorInstallObjects(objects: readonly KubeObject[], operatorNamespace: string): Map<KubeObject, string> {
  const skip = new Map<KubeObject, string>();
  const releases = objects.filter((o) => o.kind === 'HelmRelease' && group(o.apiVersion ?? '') === 'helm.toolkit.fluxcd.io');
  const refKey = (r: KubeObject) => {
    const ref = r.spec?.chart?.spec?.sourceRef ?? {};
    return `${ref.kind ?? 'HelmRepository'}/${ref.namespace ?? r.metadata?.namespace ?? ''}/${ref.name ?? ''}`;
  };
  const operatorReleases = releases.filter((r) => r.spec?.chart?.spec?.chart === 'gpu-operator');
  const keptRefs = new Set(releases.filter((r) => !operatorReleases.includes(r)).map(refKey));
  const operatorRefs = new Set(operatorReleases.map(refKey));
  for (const r of operatorReleases)
    skip.set(r, 'Flux HelmRelease of the gpu-operator chart: the Pulumi Helm release installs the operator');
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    if (
      o.kind === 'HelmRepository' &&
      group(o.apiVersion ?? '') === 'source.toolkit.fluxcd.io' &&
      operatorRefs.has(key) &&
      !keptRefs.has(key)
    ) {
      skip.set(o, 'Flux HelmRepository used only by the skipped gpu-operator HelmRelease');
    }
    if (o.kind === 'ClusterPolicy' && group(o.apiVersion ?? '') === 'nvidia.com') {
      skip.set(o, 'ClusterPolicy: the gpu-operator chart creates it from the Helm values');
    }
    if (o.kind === 'Namespace' && o.apiVersion === 'v1' && o.metadata?.name === operatorNamespace) {
      skip.set(o, 'the operator namespace: the Helm release creates it (createNamespace)');
    }
  }
  return skip;
}

/**
 * The objects a release leaves out before any check of the cluster's APIs, with the reason: what the Pulumi GPU
 * operator release installs itself (`gpuOperatorInstallObjects`), Karpenter objects (managed node groups carry the
 * pools) and the kinds of `excludeKinds`.
 */
export function releaseSkips(objects: readonly KubeObject[], options: ReleaseSkipOptions): Map<KubeObject, string> {
  const skip =
    options.operatorNamespace !== undefined ? gpuOperatorInstallObjects(objects, options.operatorNamespace) : new Map<KubeObject, string>();
  if (options.skipKarpenterObjects) {
    for (const o of objects) {
      if (KARPENTER_GROUPS.has(group(o.apiVersion))) skip.set(o, 'Karpenter object: the EKS managed node groups carry the GPU pools');
    }
  }
  const excluded = new Set(options.excludeKinds);
  for (const o of objects) {
    if (excluded.has(`${group(o.apiVersion)}/${o.kind}`)) skip.set(o, `kind ${group(o.apiVersion)}/${o.kind} excluded (excludeKinds)`);
  }
  return skip;
}

/** True when every key/value of `selector` is among `labels`. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0 || !labels) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The Triton Deployments (label `gpufleet.io/triton-pool`) and the Services that select their pods: the objects whose
 * readiness waits for models to be in the repository.
 */
export function tritonAwaitObjects(objects: readonly KubeObject[]): Set<KubeObject> {
  const deployments = objects.filter(
    (o) => o.kind === 'Deployment' && group(o.apiVersion) === 'apps' && o.metadata?.labels?.[TRITON_POOL_LABEL] !== undefined,
  );
  const out = new Set<KubeObject>(deployments);
  for (const s of objects) {
    if (s.kind !== 'Service' || s.apiVersion !== 'v1') continue;
    if (
      deployments.some(
        (d) => d.metadata?.namespace === s.metadata?.namespace && selects(s.spec?.selector, d.spec?.template?.metadata?.labels),
      )
    )
      out.add(s);
  }
  return out;
}

/**
 * The cdk8s serving platform applied with `@pulumi/kubernetes`: the chart's JSON objects become one
 * Pulumi resource each (`yaml.ConfigGroup` with `objs`), parented to this component. Namespaces and
 * CRDs go first; everything else waits for them, for the GPU operator release and for the GPU node
 * groups. Service accounts listed in `serviceAccountRoles` get the IRSA annotation by transforming the
 * object before it is registered (the role ARN is only known at deployment).
 */
export class PlatformRelease extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:PlatformRelease';

  /** Objects left out, with the reason. */
  public readonly skipped: readonly SkippedObject[];
  /** Namespaces and CRDs. */
  public readonly foundation: ConfigGroup;
  /** Every other object. */
  public readonly workloads: ConfigGroup;
  /** `namespace/name` (or `name`) of the objects applied without await (`skipAwaitTriton`), sorted. */
  public readonly notAwaited: readonly string[];
  /** Number of objects applied. */
  public readonly objectCount: number;

  /** Validates the args and sorts the objects into kept and skipped; throws listing every problem. */
  private static prepare(args: PlatformReleaseArgs): {
    kept: KubeObject[];
    skipped: SkippedObject[];
    roles: Map<string, pulumi.Input<string>>;
  } {
    if (!Array.isArray(args.objects)) throw new Error(`objects: expected the array of chart.toJson(), got ${typeof args.objects}`);
    const objects: KubeObject[] = JSON.parse(JSON.stringify(args.objects));
    const problems: string[] = [];
    objects.forEach((o, i) => {
      if (!o || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
        problems.push(
          `objects[${i}]: expected a Kubernetes object with apiVersion, kind and metadata.name, got ${JSON.stringify(o)?.slice(0, 120)}`,
        );
      }
    });
    if (problems.length > 0) throw new Error(problems.join('; '));

    const operator = args.operatorRelease;
    const timeout = args.awaitTimeoutMinutes ?? 30;
    if (!Number.isInteger(timeout) || timeout < 1)
      problems.push(`awaitTimeoutMinutes: expected an integer >= 1, got ${JSON.stringify(args.awaitTimeoutMinutes)}`);
    for (const k of new Set(args.excludeKinds ?? [])) {
      if (!EXCLUDE_KIND.test(k)) {
        problems.push(`excludeKinds: expected <api group>/<Kind> such as monitoring.coreos.com/ServiceMonitor, got ${JSON.stringify(k)}`);
      }
    }
    const skip = releaseSkips(objects, {
      operatorNamespace: operator?.namespace,
      skipKarpenterObjects: args.skipKarpenterObjects ?? (args.nodeGroups ?? []).length > 0,
      excludeKinds: args.excludeKinds ?? [],
    });
    if (args.clusterApis) {
      // Never a half-applied stack: an object whose API the cluster will not serve is left out, with the reason.
      const installed = args.clusterApis.installed?.installs ?? [];
      const plan = planApiGroups(
        objects.filter((o) => !skip.has(o)),
        args.clusterApis.clusterHas,
        installed,
        new Set(operator ? ['nvidia.com'] : []),
      );
      for (const [o, reason] of plan.missing) skip.set(o, reason);
    }
    const kept = objects.filter((o) => !skip.has(o));
    const skipped = objects
      .filter((o) => skip.has(o))
      .map((o) => ({
        apiVersion: o.apiVersion as string,
        kind: o.kind as string,
        name: o.metadata.name as string,
        ...(o.metadata.namespace ? { namespace: o.metadata.namespace as string } : {}),
        reason: skip.get(o)!,
      }));
    if (operator) {
      for (const cm of operator.referencedConfigMaps()) {
        const found = kept.some((o) => o.kind === 'ConfigMap' && o.metadata.name === cm.name && o.metadata.namespace === cm.namespace);
        if (!found) {
          const cms = kept
            .filter((o) => o.kind === 'ConfigMap')
            .map(describe)
            .sort();
          problems.push(
            `objects: the GPU operator's ${cm.valuesKey} names ConfigMap ${cm.namespace}/${cm.name}, ` +
              `which is not among the objects (ConfigMaps: ${cms.join(', ') || 'none'})`,
          );
        }
      }
    }
    const roles = new Map<string, pulumi.Input<string>>();
    for (const r of args.serviceAccountRoles ?? []) {
      const key = `${r.namespace}/${r.name}`;
      if (roles.has(key)) problems.push(`serviceAccountRoles: ${key} is listed twice`);
      roles.set(key, r.roleArn);
      if (!kept.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === r.name && o.metadata.namespace === r.namespace)) {
        const sas = kept
          .filter((o) => o.kind === 'ServiceAccount')
          .map(describe)
          .sort();
        problems.push(`serviceAccountRoles: no ServiceAccount ${key} among the objects (ServiceAccounts: ${sas.join(', ') || 'none'})`);
      }
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    return { kept, skipped, roles };
  }

  constructor(name: string, args: PlatformReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered, the component included.
    const prepared = PlatformRelease.prepare(args);
    super(PlatformRelease.TYPE, name, {}, opts);
    const { kept, roles } = prepared;
    this.skipped = prepared.skipped;
    const operator = args.operatorRelease;
    const provider = args.provider;
    const awaitTimeout = `${args.awaitTimeoutMinutes ?? 30}m`;
    const annotate = (o: KubeObject) => {
      if (o.kind !== 'ServiceAccount') return;
      const arn = roles.get(`${o.metadata.namespace}/${o.metadata.name}`);
      if (arn !== undefined) o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [IRSA_ROLE_ANNOTATION]: arn };
    };

    const foundationObjects = kept.filter((o) => FOUNDATION_KINDS.has(o.kind));
    const workloadObjects = kept.filter((o) => !FOUNDATION_KINDS.has(o.kind));
    this.objectCount = kept.length;
    this.foundation = new ConfigGroup(
      `${name}-foundation`,
      {
        objs: foundationObjects,
        resourcePrefix: name,
        transformations: [
          (_o: KubeObject, o: pulumi.CustomResourceOptions) => {
            o.provider = provider;
          },
        ],
      },
      { parent: this },
    );

    // Why the workload objects wait:
    // - the namespaces and CRDs they live in or instantiate must exist first;
    // - the GPU operator release installs the ClusterPolicy CRD, the device plugin that advertises the
    //   MIG resources Triton requests, and the MIG manager that reads the mig-parted ConfigMap;
    // - the GPU node groups carry the labels, taint and MIG layouts the Triton pools select, so the
    //   Deployments' readiness (which Pulumi awaits) can only be reached once those groups exist.
    // - `waitFor`: e.g. Pod Identity associations, without which Triton pods start with no credentials.
    // - `clusterApis.installed`: an object of a custom-resource API group waits for the install of its CRDs
    //   (@pulumi/kubernetes retries a create on "no matches for kind" only a few times, await.go Creation).
    const after: pulumi.Input<pulumi.Resource>[] = [
      ...(operator ? [operator.release] : []),
      ...(args.nodeGroups ?? []),
      ...(args.waitFor ?? []),
    ];
    //
    // A promise of the resources, not an Output: @pulumi/pulumi reads an Output given as `dependsOn` twice per resource
    // (runtime/dependsOn.ts gatherExplicitDependencies: an `apply`, then `promise()`), and each read walks its value for
    // unknowns (output.ts containsUnknowns, @pulumi/pulumi 3.248.0) through every field of every resource reachable from
    // it — through their providers' parents, the whole program. Once per object, that was most of the program's CPU
    // time; a promise is awaited, never walked, and gives the same resources in the same order.
    const dependsOn = new Promise<pulumi.Resource[]>((resolve) => {
      this.foundation.resources.apply((rs) => {
        resolve([...(Object.values(rs) as pulumi.Resource[]), ...(after as pulumi.Resource[])]);
        return rs;
      });
    });
    const installed = args.clusterApis?.installed;
    const dependsOnByGroup = new Map<string, Promise<pulumi.Resource[]>>();
    const dependenciesOf = (o: KubeObject) => {
      const g = group(String(o.apiVersion));
      const install = installed?.resourceFor(g);
      if (!install) return dependsOn;
      if (!dependsOnByGroup.has(g))
        dependsOnByGroup.set(
          g,
          dependsOn.then((d) => [...d, install]),
        );
      return dependsOnByGroup.get(g)!;
    };
    // A transformation receives a copy of the object, so the objects are told apart by kind, namespace and name.
    const key = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    const noAwait = new Set([...((args.skipAwaitTriton ?? true) ? tritonAwaitObjects(workloadObjects) : [])].map(key));
    this.notAwaited = workloadObjects
      .filter((o) => noAwait.has(key(o)))
      .map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`)
      .sort();
    this.workloads = new ConfigGroup(
      `${name}-objects`,
      {
        objs: workloadObjects,
        resourcePrefix: name,
        transformations: [
          (o: KubeObject, ro: pulumi.CustomResourceOptions) => {
            annotate(o);
            if (noAwait.has(key(o))) o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [SKIP_AWAIT_ANNOTATION]: 'true' };
            ro.provider = provider;
            ro.dependsOn = dependenciesOf(o);
            if (WORKLOAD_KINDS.has(o.kind) && !noAwait.has(key(o))) ro.customTimeouts = { create: awaitTimeout, update: awaitTimeout };
          },
        ],
      },
      { parent: this },
    );
    this.registerOutputs({ objectCount: this.objectCount, skipped: this.skipped });
    keepOutOfValueWalks(this, ['skipped', 'foundation', 'workloads', 'notAwaited', 'objectCount']);
  }
}
