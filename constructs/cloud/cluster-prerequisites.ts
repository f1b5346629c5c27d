/**
 * The prerequisite installs of a platform (`prerequisite-installs.ts` decides which): a Helm release per chart, a
 * `yaml.v2.ConfigFile` per release manifest, at pinned versions.
 */
import * as helm from '@pulumi/kubernetes/helm/v3';
import type { Provider as KubernetesProvider } from '@pulumi/kubernetes/provider';
import * as yamlV2 from '@pulumi/kubernetes/yaml/v2';
import * as pulumi from '@pulumi/pulumi';
import type { PrerequisiteInstall } from './prerequisite-installs';

export interface ClusterPrerequisitesArgs {
  /** What to install (`planApiGroups(...).installs`). */
  readonly installs: readonly PrerequisiteInstall[];
  /** Kubernetes provider of the cluster. */
  readonly provider: KubernetesProvider;
  /** Seconds Helm waits for a release's resources. @default 600 */
  readonly timeoutSeconds?: number;
}

/**
 * The prerequisite installs of a platform: a `helm.v3.Release` per chart, a `yaml.v2.ConfigFile` per release
 * manifest (fetched by the provider at deployment, never by the program). CRDs are never deleted by Pulumi: the
 * charts keep theirs on uninstall (`helm.sh/resource-policy: keep`), the manifests are `retainOnDelete`.
 */
export class ClusterPrerequisites extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:ClusterPrerequisites';

  public readonly installs: readonly PrerequisiteInstall[];
  /** The resource of each install, by install name. */
  public readonly resources: ReadonlyMap<string, pulumi.Resource>;

  private static check(args: ClusterPrerequisitesArgs): Record<string, never> {
    if (!Array.isArray(args.installs))
      throw new Error(`installs: expected an array of PREREQUISITE_INSTALLS entries, got ${typeof args.installs}`);
    const timeout = args.timeoutSeconds ?? 600;
    if (!Number.isInteger(timeout) || timeout < 60)
      throw new Error(`timeoutSeconds: expected an integer >= 60, got ${JSON.stringify(args.timeoutSeconds)}`);
    const names = args.installs.map((i) => i.name);
    const twice = names.filter((n, k) => names.indexOf(n) !== k);
    if (twice.length > 0) throw new Error(`installs: ${twice.join(', ')} listed twice`);
    return {};
  }

  constructor(name: string, args: ClusterPrerequisitesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ClusterPrerequisites.TYPE, name, ClusterPrerequisites.check(args), opts);
    this.installs = [...args.installs];
    const resources = new Map<string, pulumi.Resource>();
    for (const i of this.installs) {
      const s = i.source;
      resources.set(
        i.name,
        s.kind === 'helm'
          ? new helm.Release(
              `${name}-${i.name}`,
              {
                name: i.name,
                chart: s.chart,
                version: s.version,
                repositoryOpts: { repo: s.repository },
                namespace: s.namespace,
                createNamespace: s.createNamespace,
                values: s.values as Record<string, pulumi.Input<any>>,
                timeout: args.timeoutSeconds ?? 600,
                cleanupOnFail: true,
              },
              { parent: this, provider: args.provider },
            )
          : new yamlV2.ConfigFile(`${name}-${i.name}`, { file: s.url }, { parent: this, provider: args.provider, retainOnDelete: true }),
      );
    }
    this.resources = resources;
    this.registerOutputs({ installs: this.installs.map((i) => `${i.name} ${i.source.version}`) });
  }

  /** The install serving an API group, if this component installs one. */
  public resourceFor(group: string): pulumi.Resource | undefined {
    const i = this.installs.find((x) => x.groups.includes(group));
    return i ? this.resources.get(i.name) : undefined;
  }
}
