/**
 * The model repository every Triton pool of a platform reads: an S3 prefix (Triton's native S3
 * support, credentials from the pod's service account through IRSA or EKS Pod Identity, never static
 * keys) or a read-only volume claim (EFS/NFS, ReadOnlyMany). It also holds the typed model configs and
 * writes each one to `<outdir>/<configDirectory>/<model>/config.pbtxt`, beside which CI uploads the model files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { assertCidrs, assertDnsLabel } from '../common/names';
import { TritonModelConfig } from './triton-model-config';

/** Where the repository's volume is mounted in Triton containers (PVC storage). */
export const MODEL_REPOSITORY_MOUNT_PATH = '/models';
/** IRSA annotation of a service account. */
export const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** Options of `ModelRepository.s3()`. */
export interface ModelRepositoryS3Options {
  /** Bucket name (3-63 lowercase letters, digits, '.' and '-'). */
  readonly bucket: string;
  /** Key prefix of the repository, without leading or trailing '/'. @default '' (the bucket root) */
  readonly prefix?: string;
  /** AWS region of the bucket, e.g. `us-east-1`. */
  readonly region: string;
  /**
   * IAM role Triton assumes through IRSA: becomes the `eks.amazonaws.com/role-arn` annotation of the service account.
   * @default - no annotation: credentials come from an EKS Pod Identity association for the service account
   */
  readonly roleArn?: string;
  /** Name of the service account Triton pods run as. @default 'triton-model-reader' */
  readonly serviceAccountName?: string;
  /**
   * Whether the repository creates the service account in each namespace a pool runs in.
   * When false, the service account must already exist there.
   * @default true
   */
  readonly createServiceAccount?: boolean;
  /**
   * The only addresses Triton pods may reach on 443 to read the repository: the CIDRs of the region's
   * S3 endpoints (e.g. the `com.amazonaws.<region>.s3` managed prefix list of a gateway VPC endpoint) and,
   * with IRSA, of STS (e.g. an STS interface endpoint's subnets). Becomes the `ipBlock`s of each serving
   * namespace's repository egress NetworkPolicy.
   * @default - any address on 443 (S3 has no fixed address range known to the cluster)
   */
  readonly egressCidrs?: readonly string[];
}

/** Options of `ModelRepository.pvc()`. */
export interface ModelRepositoryPvcOptions {
  /** Name of a ReadOnlyMany PersistentVolumeClaim; it must exist in every namespace a pool runs in. */
  readonly claimName: string;
  /** Directory inside the volume that holds the repository. @default - the volume root */
  readonly subPath?: string;
}

/** Where the repository lives. Build it with `ModelRepository.s3()` or `ModelRepository.pvc()`. */
export type ModelRepositoryStorage =
  ({ readonly kind: 's3' } & ModelRepositoryS3Options) | ({ readonly kind: 'pvc' } & ModelRepositoryPvcOptions);

export interface ModelRepositoryProps {
  /** Where the repository lives. */
  readonly storage: ModelRepositoryStorage;
  /** Model configs to start with (more with `addModel`). @default - none */
  readonly models?: readonly TritonModelConfig[];
  /** Directory under the synth output that receives the `config.pbtxt` files. @default 'model-repository' */
  readonly configDirectory?: string;
}

/** What a Triton pod needs to read the repository (from `ModelRepository.bind`). */
export interface ModelRepositoryBinding {
  /** Value of `--model-repository`: `s3://bucket/prefix` or the mount path. */
  readonly url: string;
  /** Service account the pod runs as. @default - none (PVC storage) */
  readonly serviceAccountName?: string;
  readonly env: readonly k8s.EnvVar[];
  readonly volumes: readonly k8s.Volume[];
  readonly volumeMounts: readonly k8s.VolumeMount[];
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const PREFIX = /^[A-Za-z0-9!_.*'()/-]*$/;

/** One shared Triton model repository (see the module comment). */
export class ModelRepository extends Construct {
  /** S3 storage: `s3://<bucket>/<prefix>`, read with the pod's service-account credentials. */
  public static s3(options: ModelRepositoryS3Options): ModelRepositoryStorage {
    if (typeof options.bucket !== 'string' || !BUCKET.test(options.bucket) || options.bucket.includes('..')) {
      throw new Error(
        `storage.bucket: expected an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), got ${JSON.stringify(options.bucket)}`,
      );
    }
    const prefix = options.prefix ?? '';
    if (!PREFIX.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/') || prefix.includes('//')) {
      throw new Error(
        `storage.prefix: expected an S3 key prefix without leading, trailing or doubled '/', got ${JSON.stringify(options.prefix)}`,
      );
    }
    if (typeof options.region !== 'string' || !REGION.test(options.region)) {
      throw new Error(`storage.region: expected an AWS region such as us-east-1, got ${JSON.stringify(options.region)}`);
    }
    if (options.roleArn !== undefined && !ROLE_ARN.test(options.roleArn)) {
      throw new Error(
        `storage.roleArn: expected an IAM role ARN (arn:aws:iam::<account>:role/<name>), got ${JSON.stringify(options.roleArn)}`,
      );
    }
    if (options.serviceAccountName !== undefined) assertDnsLabel('storage.serviceAccountName', options.serviceAccountName);
    if (options.egressCidrs !== undefined) assertCidrs('storage.egressCidrs', options.egressCidrs);
    return { kind: 's3', ...options, prefix };
  }

  /** Volume storage: a ReadOnlyMany claim mounted read-only at `/models`. */
  public static pvc(options: ModelRepositoryPvcOptions): ModelRepositoryStorage {
    assertDnsLabel('storage.claimName', options.claimName);
    const sub = options.subPath;
    if (sub !== undefined && (sub.length === 0 || sub.startsWith('/') || sub.split('/').includes('..'))) {
      throw new Error(`storage.subPath: expected a relative path without '..', got ${JSON.stringify(sub)}`);
    }
    return { kind: 'pvc', ...options };
  }

  /**
   * Writes the `config.pbtxt` files of every `ModelRepository` under `scope` (usually the App) into `outdir`
   * (usually `app.outdir`), after `app.synth()`. Returns the written paths, sorted.
   */
  public static writeAllConfigs(scope: IConstruct, outdir: string): string[] {
    const repos = scope.node.findAll().filter((c): c is ModelRepository => c instanceof ModelRepository);
    const dirs = new Map<string, string>();
    for (const r of repos) {
      const other = dirs.get(r.configDirectory);
      if (other !== undefined) {
        throw new Error(
          `configDirectory: repositories ${other} and ${r.node.path} both write to ${JSON.stringify(r.configDirectory)}; ` +
            'give one another configDirectory',
        );
      }
      dirs.set(r.configDirectory, r.node.path);
    }
    return repos.flatMap((r) => r.writeConfigs(outdir)).sort();
  }

  public readonly storage: ModelRepositoryStorage;
  /** Value of Triton's `--model-repository`. */
  public readonly url: string;
  /** Directory under the synth output for the config files. */
  public readonly configDirectory: string;
  /** Service account name Triton pods run as (S3 storage). */
  public readonly serviceAccountName?: string;

  private readonly _models = new Map<string, TritonModelConfig>();
  private readonly _namespaces = new Set<string>();

  public constructor(scope: Construct, id: string, props: ModelRepositoryProps) {
    super(scope, id);
    const s = props.storage;
    if (s === undefined || (s.kind !== 's3' && s.kind !== 'pvc')) {
      throw new Error(`storage: expected ModelRepository.s3(...) or ModelRepository.pvc(...), got ${JSON.stringify(s)}`);
    }
    // Re-check through the factories, so a hand-written storage literal is validated too.
    this.storage = s.kind === 's3' ? ModelRepository.s3(s) : ModelRepository.pvc(s);
    this.url =
      this.storage.kind === 's3'
        ? `s3://${this.storage.bucket}${this.storage.prefix ? `/${this.storage.prefix}` : ''}`
        : MODEL_REPOSITORY_MOUNT_PATH;
    this.serviceAccountName = this.storage.kind === 's3' ? (this.storage.serviceAccountName ?? 'triton-model-reader') : undefined;
    const dir = props.configDirectory ?? 'model-repository';
    if (dir.length === 0 || path.isAbsolute(dir) || dir.split(/[\\/]/).includes('..')) {
      throw new Error(`configDirectory: expected a relative directory without '..', got ${JSON.stringify(dir)}`);
    }
    this.configDirectory = dir;
    for (const m of props.models ?? []) this.addModel(m);
  }

  /** Adds a model config; a model name may appear once. */
  public addModel(config: TritonModelConfig): this {
    if (!(config instanceof TritonModelConfig)) {
      throw new Error(`addModel: expected a TritonModelConfig, got ${JSON.stringify(config)}`);
    }
    if (this._models.has(config.name)) {
      throw new Error(`models: model ${JSON.stringify(config.name)} is already in repository ${this.node.path}`);
    }
    this._models.set(config.name, config);
    return this;
  }

  /** The model configs, sorted by name. */
  public get models(): TritonModelConfig[] {
    return [...this._models.keys()].sort().map((n) => this._models.get(n)!);
  }

  /** The model names, sorted. */
  public get modelNames(): string[] {
    return [...this._models.keys()].sort();
  }

  public hasModel(name: string): boolean {
    return this._models.has(name);
  }

  /** The config of a model. Throws naming the known models when it is absent. */
  public model(name: string): TritonModelConfig {
    const m = this._models.get(name);
    if (m === undefined) {
      throw new Error(
        `model: ${JSON.stringify(name)} is not in repository ${this.node.path} (has ${this.modelNames.join(', ') || 'none'})`,
      );
    }
    return m;
  }

  /** Relative path (`<configDirectory>/<model>/config.pbtxt`) → file text, sorted by path. */
  public configFiles(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of this.models) out[`${this.configDirectory}/${m.name}/config.pbtxt`] = m.toPbtxt();
    return out;
  }

  /** Writes every `config.pbtxt` under `outdir`; returns the written paths. */
  public writeConfigs(outdir: string): string[] {
    const written: string[] = [];
    for (const [rel, text] of Object.entries(this.configFiles())) {
      const file = path.join(outdir, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      written.push(file);
    }
    return written;
  }

  /**
   * What a Triton pod in `namespace` needs to read the repository. With S3 storage (and `createServiceAccount`),
   * the first call for a namespace creates the service account there.
   *
   * @param namespace the pod's namespace @default - the repository chart's namespace
   */
  public bind(namespace?: string): ModelRepositoryBinding {
    const s = this.storage;
    if (s.kind === 'pvc') {
      return {
        url: this.url,
        env: [],
        volumes: [{ name: 'model-repository', persistentVolumeClaim: { claimName: s.claimName, readOnly: true } }],
        volumeMounts: [
          {
            name: 'model-repository',
            mountPath: MODEL_REPOSITORY_MOUNT_PATH,
            readOnly: true,
            ...(s.subPath ? { subPath: s.subPath } : {}),
          },
        ],
      };
    }
    const ns = namespace ?? Chart.of(this).namespace;
    if (ns !== undefined) assertDnsLabel('namespace', ns);
    const key = ns ?? '';
    if (!this._namespaces.has(key) && (s.createServiceAccount ?? true)) {
      new k8s.KubeServiceAccount(this, ns ? `ServiceAccount-${ns}` : 'ServiceAccount', {
        metadata: {
          name: this.serviceAccountName,
          ...(ns ? { namespace: ns } : {}),
          labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'model-repository' },
          ...(s.roleArn ? { annotations: { [IRSA_ROLE_ANNOTATION]: s.roleArn } } : {}),
        },
        // Triton never calls the Kubernetes API; the IRSA / Pod Identity webhooks mount their own token.
        automountServiceAccountToken: false,
      });
    }
    this._namespaces.add(key);
    return {
      url: this.url,
      serviceAccountName: this.serviceAccountName,
      env: [
        { name: 'AWS_REGION', value: s.region },
        { name: 'AWS_DEFAULT_REGION', value: s.region },
      ],
      volumes: [],
      volumeMounts: [],
    };
  }

  /**
   * The service accounts (namespace and name) that read the repository, sorted: what the cloud layer grants read
   * access to (IRSA trust or EKS Pod Identity association). Empty for PVC storage.
   */
  public serviceAccounts(): { readonly namespace: string; readonly name: string }[] {
    if (this.serviceAccountName === undefined) return [];
    const fallback = Chart.of(this).namespace ?? 'default';
    return [...this._namespaces]
      .map((ns) => ({ namespace: ns || fallback, name: this.serviceAccountName! }))
      .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  }

  /**
   * The IAM subjects that read the repository (`system:serviceaccount:<namespace>:<name>`), sorted: what an
   * IRSA trust policy or EKS Pod Identity associations must name. Empty for PVC storage.
   */
  public serviceAccountSubjects(): string[] {
    return this.serviceAccounts().map((sa) => `system:serviceaccount:${sa.namespace}:${sa.name}`);
  }
}
