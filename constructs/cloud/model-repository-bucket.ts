import * as eks from '@pulumi/aws/eks';
import * as iam from '@pulumi/aws/iam';
import * as s3 from '@pulumi/aws/s3';
import { getRegionOutput } from '@pulumi/aws/getRegion';
import * as pulumi from '@pulumi/pulumi';
import { isDns1123Label } from '../fleet/names';
import { irsaTrustPolicy, policyDocument, PolicyStatement, stableJson, wildcardResources } from './iam-documents';
import type { WorkloadIdentityProvider } from './gpu-cluster';
import { compareText } from '../catalog/text-order';

/** A Kubernetes service account. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** How a Kubernetes service account gets AWS credentials. */
export type WorkloadIdentityMechanism = 'irsa' | 'pod-identity';

export interface ModelRepositoryBucketArgs {
  /**
   * Name of an existing bucket to use instead of creating one; nothing about that bucket is changed
   * (its encryption, versioning and policy stay as they are).
   * @default - a new bucket is created
   */
  readonly existingBucketName?: pulumi.Input<string>;
  /**
   * Name of the new bucket.
   * @default - auto-named by Pulumi from the component name
   */
  readonly bucketName?: pulumi.Input<string>;
  /** Key prefix of the Triton model repository inside the bucket (no leading or trailing `/`). @default 'models' */
  readonly prefix?: string;
  /**
   * KMS key for SSE-KMS; readers are then also granted `kms:Decrypt` on this key (through S3 only).
   * @default - SSE-S3 (AES256)
   */
  readonly kmsKeyArn?: pulumi.Input<string>;
  /** Delete the objects with the bucket on `pulumi destroy`. @default false */
  readonly forceDestroy?: boolean;
  /** @default - no tags */
  readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface GrantReadOptions {
  /** @default 'irsa' when the cluster has an OIDC provider, otherwise 'pod-identity' */
  readonly mechanism?: WorkloadIdentityMechanism;
}

/** What `grantRead` created. */
export interface ModelRepositoryGrant {
  readonly serviceAccount: ServiceAccountRef;
  readonly mechanism: WorkloadIdentityMechanism;
  /** The role the service account assumes. Annotate the service account with its ARN for IRSA. */
  readonly role: iam.Role;
  readonly roleArn: pulumi.Output<string>;
  /** The inline read-only policy of the role. */
  readonly policy: iam.RolePolicy;
  /** The Pod Identity association (mechanism `pod-identity` only). */
  readonly podIdentityAssociation?: eks.PodIdentityAssociation;
  /** The IAM actions granted: `s3:GetObject` and `s3:ListBucket` (plus `kms:Decrypt` with a KMS key). */
  readonly actions: readonly string[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A model repository key prefix: object key segments joined by '/', without leading or trailing '/' or '*'. */
export const S3_KEY_PREFIX = /^[A-Za-z0-9!_.'()-]+(\/[A-Za-z0-9!_.'()-]+)*$/;

/**
 * The S3 model repository of the Triton pools: a bucket with versioning, server-side encryption,
 * all public access blocked, bucket-owner-enforced ownership and a policy that denies any request
 * not made over TLS — or an existing bucket by name. `grantRead` gives one service account read-only
 * access to the repository prefix.
 */
export class ModelRepositoryBucket extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:ModelRepositoryBucket';

  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  /** Key prefix of the model repository. */
  public readonly prefix: string;
  /** `s3://<bucket>/<prefix>`, the `--model-repository` of Triton. */
  public readonly repositoryUri: pulumi.Output<string>;
  /** The bucket policy (created bucket only). */
  public readonly bucketPolicy?: s3.BucketPolicy;
  /** The created bucket; undefined for an existing bucket. */
  public readonly bucket?: s3.Bucket;
  private readonly kmsKeyArn?: pulumi.Input<string>;
  private readonly grants = new Map<string, ModelRepositoryGrant>();
  private readonly componentName: string;

  constructor(name: string, args: ModelRepositoryBucketArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered, the component included.
    super(ModelRepositoryBucket.TYPE, name, ModelRepositoryBucket.check(args), opts);
    const prefix = args.prefix ?? 'models';
    this.prefix = prefix;
    this.componentName = name;
    this.kmsKeyArn = args.kmsKeyArn;

    if (args.existingBucketName !== undefined) {
      this.bucketName = pulumi.output(args.existingBucketName);
      this.bucketArn = pulumi.interpolate`arn:aws:s3:::${this.bucketName}`;
    } else {
      const bucket = new s3.Bucket(
        `${name}-bucket`,
        {
          bucket: args.bucketName,
          forceDestroy: args.forceDestroy ?? false,
          tags: args.tags,
        },
        { parent: this },
      );
      this.bucket = bucket;
      this.bucketName = bucket.bucket;
      this.bucketArn = bucket.arn;
      const ownership = new s3.BucketOwnershipControls(
        `${name}-ownership`,
        {
          bucket: bucket.id,
          rule: { objectOwnership: 'BucketOwnerEnforced' },
        },
        { parent: this },
      );
      const publicAccess = new s3.BucketPublicAccessBlock(
        `${name}-public-access`,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        { parent: this },
      );
      new s3.BucketVersioning(
        `${name}-versioning`,
        {
          bucket: bucket.id,
          versioningConfiguration: { status: 'Enabled' },
        },
        { parent: this },
      );
      new s3.BucketServerSideEncryptionConfiguration(
        `${name}-encryption`,
        {
          bucket: bucket.id,
          rules: [
            {
              applyServerSideEncryptionByDefault:
                args.kmsKeyArn === undefined ? { sseAlgorithm: 'AES256' } : { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.kmsKeyArn },
              bucketKeyEnabled: args.kmsKeyArn !== undefined,
            },
          ],
        },
        { parent: this },
      );
      this.bucketPolicy = new s3.BucketPolicy(
        `${name}-policy`,
        {
          bucket: bucket.id,
          policy: bucket.arn.apply((arn) => stableJson(ModelRepositoryBucket.tlsOnlyPolicy(arn))),
        },
        {
          parent: this,
          // S3 rejects a bucket policy while the public access block is being applied, and ownership
          // controls must be in place before any policy that assumes bucket-owner-enforced objects.
          dependsOn: [publicAccess, ownership],
        },
      );
    }
    this.repositoryUri = pulumi.interpolate`s3://${this.bucketName}/${prefix}`;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, repositoryUri: this.repositoryUri });
  }

  /** Throws on invalid args; returns the (empty) component inputs. */
  private static check(args: ModelRepositoryBucketArgs): Record<string, never> {
    const prefix = args.prefix ?? 'models';
    if (!S3_KEY_PREFIX.test(prefix)) {
      throw new Error(
        `prefix: expected object key segments joined by '/' without leading or trailing '/' or '*', got ${JSON.stringify(prefix)}`,
      );
    }
    if (args.existingBucketName !== undefined && args.bucketName !== undefined) {
      throw new Error('bucketName: not allowed together with existingBucketName (the bucket exists already)');
    }
    return {};
  }

  /** The bucket policy: deny every request that is not made over TLS (`aws:SecureTransport=false`). */
  public static tlsOnlyPolicy(bucketArn: string) {
    return policyDocument([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
  }

  /**
   * The read-only policy of a reader, for Triton's S3 file system (triton-inference-server/core r25.08
   * src/filesystem/implementations/s3.h): it calls HeadBucket first (CheckClient, IsDirectory), which IAM
   * authorizes as `s3:ListBucket` on the bucket with no `s3:prefix` in the request; then ListObjectsV2 with the
   * prefix `<prefix>/` or `<prefix>/<model>/`, then HeadObject / GetObject on the keys under it. So:
   * - `s3:ListBucket` on the bucket when `s3:prefix` is `<prefix>` or like `<prefix>/*`;
   * - `s3:ListBucket` on the bucket when the request carries no `s3:prefix` at all (HeadBucket; S3 also checks it
   *   to answer 404 rather than 403 for a missing key). A listing that names another prefix is denied;
   * - `s3:GetObject` (GetObject and HeadObject) on `<bucket>/<prefix>/*`;
   * - `kms:Decrypt` on the key, through S3 only, when the bucket is encrypted with a KMS key.
   * No wildcard resource, no write, no delete.
   */
  public static readPolicy(bucketArn: string, prefix: string, kmsKeyArn?: string, region?: string) {
    const statements: PolicyStatement[] = [
      {
        Sid: 'ListModelRepository',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': [prefix, `${prefix}/*`] } },
      },
      {
        Sid: 'HeadModelRepositoryBucket',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { Null: { 's3:prefix': 'true' } },
      },
      { Sid: 'ReadModelRepository', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucketArn}/${prefix}/*` },
    ];
    if (kmsKeyArn !== undefined) {
      statements.push({
        Sid: 'DecryptModelRepository',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: kmsKeyArn,
        ...(region ? { Condition: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } } } : {}),
      });
    }
    const doc = policyDocument(statements);
    const wild = wildcardResources(doc);
    if (wild.length > 0) {
      throw new Error(`read policy: wildcard resources are not allowed, got ${wild.join(', ')}`);
    }
    return doc;
  }

  /** Trust policy for IRSA: the service account's web identity through the cluster's OIDC provider. */
  public static irsaTrustPolicy(oidcProviderArn: string, issuerUrl: string, sa: ServiceAccountRef) {
    return irsaTrustPolicy(oidcProviderArn, issuerUrl, sa);
  }

  /** Trust policy for EKS Pod Identity. */
  public static podIdentityTrustPolicy() {
    return policyDocument([
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ]);
  }

  /**
   * Lets one Kubernetes service account (a Triton pool's) read the model repository.
   * Creates an IAM role the service account assumes — by IRSA (trust on the cluster's OIDC provider,
   * conditions on `sub` = `system:serviceaccount:<namespace>:<name>` and `aud` = `sts.amazonaws.com`)
   * or by EKS Pod Identity (a Pod Identity association) — with an inline policy allowing only:
   * - `s3:GetObject` on `arn:aws:s3:::<bucket>/<prefix>/*`
   * - `s3:ListBucket` on `arn:aws:s3:::<bucket>` with `s3:prefix` `<prefix>` or like `<prefix>/*`, or without
   *   `s3:prefix` (HeadBucket, which Triton calls before anything else)
   * - `kms:Decrypt` on the bucket's KMS key via S3, when `kmsKeyArn` was given.
   * No write and no wildcard resource. Returns the grant; for IRSA annotate the service account
   * with `eks.amazonaws.com/role-arn: <grant.roleArn>` (`PlatformRelease` does).
   */
  public grantRead(
    serviceAccount: ServiceAccountRef,
    cluster: WorkloadIdentityProvider,
    options: GrantReadOptions = {},
  ): ModelRepositoryGrant {
    if (!isDns1123Label(serviceAccount.namespace)) {
      throw new Error(`serviceAccount.namespace: expected a DNS-1123 label, got ${JSON.stringify(serviceAccount.namespace)}`);
    }
    if (!DNS_SUBDOMAIN.test(serviceAccount.name)) {
      throw new Error(`serviceAccount.name: expected a DNS-1123 subdomain, got ${JSON.stringify(serviceAccount.name)}`);
    }
    const key = `${serviceAccount.namespace}/${serviceAccount.name}`;
    if (this.grants.has(key)) {
      throw new Error(`serviceAccount: ${key} was already granted read access to this model repository`);
    }
    const mechanism = options.mechanism ?? (cluster.oidcProviderArn ? 'irsa' : 'pod-identity');
    if (mechanism === 'irsa' && !cluster.oidcProviderArn) {
      throw new Error(`mechanism: 'irsa' needs a cluster with an OIDC provider, the cluster has none (use 'pod-identity')`);
    }
    const id = `${this.componentName}-read-${serviceAccount.namespace}-${serviceAccount.name}`;
    const assumeRolePolicy =
      mechanism === 'irsa'
        ? pulumi
            .all([cluster.oidcProviderArn!, cluster.oidcIssuerUrl])
            .apply(([arn, issuer]) => stableJson(ModelRepositoryBucket.irsaTrustPolicy(arn, issuer, serviceAccount)))
        : pulumi.output(stableJson(ModelRepositoryBucket.podIdentityTrustPolicy()));
    const role = new iam.Role(
      `${id}-role`,
      {
        assumeRolePolicy,
        description: `gpufleet: read-only access of ${key} to the model repository ${this.prefix}/`,
      },
      { parent: this },
    );
    const prefix = this.prefix;
    const kms = this.kmsKeyArn;
    const policyJson = pulumi
      .all([this.bucketArn, kms, kms === undefined ? undefined : getRegionOutput({}, { parent: this }).region])
      .apply(([arn, key, region]) => stableJson(ModelRepositoryBucket.readPolicy(arn, prefix, key, region)));
    const policy = new iam.RolePolicy(
      `${id}-policy`,
      {
        role: role.id,
        policy: policyJson,
      },
      { parent: this },
    );
    let podIdentityAssociation: eks.PodIdentityAssociation | undefined;
    if (mechanism === 'pod-identity') {
      podIdentityAssociation = new eks.PodIdentityAssociation(
        `${id}-association`,
        {
          clusterName: cluster.clusterName,
          namespace: serviceAccount.namespace,
          serviceAccount: serviceAccount.name,
          roleArn: role.arn,
        },
        { parent: this },
      );
    }
    const grant: ModelRepositoryGrant = {
      serviceAccount: { ...serviceAccount },
      mechanism,
      role,
      roleArn: role.arn,
      policy,
      podIdentityAssociation,
      actions: kms === undefined ? ['s3:GetObject', 's3:ListBucket'] : ['kms:Decrypt', 's3:GetObject', 's3:ListBucket'],
    };
    this.grants.set(key, grant);
    return grant;
  }

  /**
   * Uploads the typed Triton model configs into the repository, one object
   * `<prefix>/<model>/config.pbtxt` per model (e.g. from `ModelRepository.models`, each `toPbtxt()`).
   * The model files themselves (`<prefix>/<model>/<version>/...`) are uploaded by the user or CI.
   */
  public putModelConfigs(configs: readonly { readonly name: string; readonly pbtxt: string }[]): s3.BucketObjectv2[] {
    const names = new Set<string>();
    for (const c of configs) {
      if (!DNS_SUBDOMAIN.test(c.name))
        throw new Error(`configs: expected model names of lowercase letters, digits, '-' and '.', got ${JSON.stringify(c.name)}`);
      if (names.has(c.name)) throw new Error(`configs: model ${JSON.stringify(c.name)} is listed twice`);
      names.add(c.name);
    }
    return [...configs]
      .sort((a, b) => compareText(a.name, b.name))
      .map(
        (c) =>
          new s3.BucketObjectv2(
            `${this.componentName}-config-${c.name}`,
            {
              bucket: this.bucketName,
              key: `${this.prefix}/${c.name}/config.pbtxt`,
              content: c.pbtxt,
              contentType: 'text/plain',
            },
            {
              parent: this,
              // A new bucket must have its encryption, ownership and public-access settings before any object.
              dependsOn: this.bucketPolicy ? [this.bucketPolicy] : [],
            },
          ),
      );
  }

  /** Grants made so far, sorted by namespace/name. */
  public get readGrants(): ModelRepositoryGrant[] {
    return [...this.grants.keys()].sort().map((k) => this.grants.get(k)!);
  }
}
