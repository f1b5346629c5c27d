import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { IRSA_ROLE_ANNOTATION } from '../k8s/model-repository';
import type { GpuOperatorRelease } from './gpu-operator-release';

/** A Kubernetes object as `chart.toJson()` returns it. */
export type KubeObject = Record<string, any>;

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
  readonly provider: k8s.Provider;
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
}

const KARPENTER_GROUPS = new Set(['karpenter.sh', 'karpenter.k8s.aws']);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
const FOUNDATION_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);
/** An `excludeKinds` entry: `<api group>/<Kind>` (empty group for core kinds, e.g. `/ConfigMap`). */
export const EXCLUDE_KIND = /^[a-z0-9.-]*\/[A-Z][A-Za-z0-9]*$/;

function group(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

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
  for (const r of operatorReleases) skip.set(r, 'Flux HelmRelease of the gpu-operator chart: the Pulumi Helm release installs the operator');
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    if (o.kind === 'HelmRepository' && group(o.apiVersion ?? '') === 'source.toolkit.fluxcd.io' && operatorRefs.has(key) && !keptRefs.has(key)) {
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
  public readonly foundation: k8s.yaml.ConfigGroup;
  /** Every other object. */
  public readonly workloads: k8s.yaml.ConfigGroup;
  /** Number of objects applied. */
  public readonly objectCount: number;

  /** Validates the args and sorts the objects into kept and skipped; throws listing every problem. */
  private static prepare(args: PlatformReleaseArgs): { kept: KubeObject[]; skipped: SkippedObject[]; roles: Map<string, pulumi.Input<string>> } {
    if (!Array.isArray(args.objects)) throw new Error(`objects: expected the array of chart.toJson(), got ${typeof args.objects}`);
    const objects: KubeObject[] = JSON.parse(JSON.stringify(args.objects));
    const problems: string[] = [];
    objects.forEach((o, i) => {
      if (!o || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
        problems.push(`objects[${i}]: expected a Kubernetes object with apiVersion, kind and metadata.name, got ${JSON.stringify(o)?.slice(0, 120)}`);
      }
    });
    if (problems.length > 0) throw new Error(problems.join('; '));

    const operator = args.operatorRelease;
    const skip = operator ? gpuOperatorInstallObjects(objects, operator.namespace) : new Map<KubeObject, string>();
    if (args.skipKarpenterObjects ?? (args.nodeGroups ?? []).length > 0) {
      for (const o of objects) {
        if (KARPENTER_GROUPS.has(group(o.apiVersion))) skip.set(o, 'Karpenter object: the EKS managed node groups carry the GPU pools');
      }
    }
    const timeout = args.awaitTimeoutMinutes ?? 30;
    if (!Number.isInteger(timeout) || timeout < 1) problems.push(`awaitTimeoutMinutes: expected an integer >= 1, got ${JSON.stringify(args.awaitTimeoutMinutes)}`);
    const excluded = new Set(args.excludeKinds ?? []);
    for (const k of excluded) {
      if (!EXCLUDE_KIND.test(k)) {
        problems.push(`excludeKinds: expected <api group>/<Kind> such as monitoring.coreos.com/ServiceMonitor, got ${JSON.stringify(k)}`);
      }
    }
    for (const o of objects) {
      if (excluded.has(`${group(o.apiVersion)}/${o.kind}`)) skip.set(o, `kind ${group(o.apiVersion)}/${o.kind} excluded (excludeKinds)`);
    }
    const kept = objects.filter((o) => !skip.has(o));
    const skipped = objects.filter((o) => skip.has(o)).map((o) => ({
      apiVersion: o.apiVersion as string, kind: o.kind as string, name: o.metadata.name as string,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace as string } : {}), reason: skip.get(o)!,
    }));
    if (operator) {
      for (const cm of operator.referencedConfigMaps()) {
        const found = kept.some((o) => o.kind === 'ConfigMap' && o.metadata.name === cm.name && o.metadata.namespace === cm.namespace);
        if (!found) {
          const cms = kept.filter((o) => o.kind === 'ConfigMap').map(describe).sort();
          problems.push(`objects: the GPU operator's ${cm.valuesKey} names ConfigMap ${cm.namespace}/${cm.name}, which is not among the objects (ConfigMaps: ${cms.join(', ') || 'none'})`);
        }
      }
    }
    const roles = new Map<string, pulumi.Input<string>>();
    for (const r of args.serviceAccountRoles ?? []) {
      const key = `${r.namespace}/${r.name}`;
      if (roles.has(key)) problems.push(`serviceAccountRoles: ${key} is listed twice`);
      roles.set(key, r.roleArn);
      if (!kept.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === r.name && o.metadata.namespace === r.namespace)) {
        const sas = kept.filter((o) => o.kind === 'ServiceAccount').map(describe).sort();
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
    this.foundation = new k8s.yaml.ConfigGroup(`${name}-foundation`, {
      objs: foundationObjects,
      resourcePrefix: name,
      transformations: [(_o: KubeObject, o: pulumi.CustomResourceOptions) => { o.provider = provider; }],
    }, { parent: this });

    // Why the workload objects wait:
    // - the namespaces and CRDs they live in or instantiate must exist first;
    // - the GPU operator release installs the ClusterPolicy CRD, the device plugin that advertises the
    //   MIG resources Triton requests, and the MIG manager that reads the mig-parted ConfigMap;
    // - the GPU node groups carry the labels, taint and MIG layouts the Triton pools select, so the
    //   Deployments' readiness (which Pulumi awaits) can only be reached once those groups exist.
    // - `waitFor`: e.g. Pod Identity associations, without which Triton pods start with no credentials.
    const after: pulumi.Input<pulumi.Resource>[] = [...(operator ? [operator.release] : []), ...(args.nodeGroups ?? []), ...(args.waitFor ?? [])];
    const dependsOn = this.foundation.resources.apply((rs) => [...Object.values(rs) as pulumi.Resource[], ...after as pulumi.Resource[]]);
    this.workloads = new k8s.yaml.ConfigGroup(`${name}-objects`, {
      objs: workloadObjects,
      resourcePrefix: name,
      transformations: [(o: KubeObject, ro: pulumi.CustomResourceOptions) => {
        annotate(o);
        ro.provider = provider;
        ro.dependsOn = dependsOn;
        if (WORKLOAD_KINDS.has(o.kind)) ro.customTimeouts = { create: awaitTimeout, update: awaitTimeout };
      }],
    }, { parent: this });
    this.registerOutputs({ objectCount: this.objectCount, skipped: this.skipped });
  }
}
