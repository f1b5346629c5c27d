/**
 * IAM policy documents built deterministically: keys sorted at every level, so the same inputs give
 * byte-identical JSON (stable diffs in `pulumi preview`, exact comparisons in tests).
 */

/** One statement of an IAM policy document. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** Deep copy with the keys of every object sorted (arrays keep their order). */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return (value as unknown[]).map((v) => sortKeys(v)) as unknown as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      out[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return out as T;
  }
  return value;
}

/** JSON with sorted keys at every level. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** A policy document with version 2012-10-17. */
export function policyDocument(statements: readonly PolicyStatement[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * Resources of `Allow` statements that are wildcards: `*`, a `*` anywhere but a trailing `/*`, or a
 * trailing `/*` directly on a bucket (`arn:aws:s3:::bucket/*`, i.e. not scoped to a prefix).
 * Empty for a least-privilege document.
 */
export function wildcardResources(doc: PolicyDocument): string[] {
  const found: string[] = [];
  for (const s of doc.Statement) {
    if (s.Effect !== 'Allow') continue;
    const resources = s.Resource === undefined ? ['*'] : typeof s.Resource === 'string' ? [s.Resource] : s.Resource;
    for (const r of resources) {
      const body = r.endsWith('/*') ? r.slice(0, -2) : r;
      const bucketWide = /^arn:[a-z-]+:s3:::[^/]+$/.test(body) && r.endsWith('/*');
      if (body.includes('*') || body === '' || bucketWide) found.push(r);
    }
  }
  return found.sort();
}

/**
 * Trust policy for IRSA: the web identity of one Kubernetes service account through the cluster's IAM
 * OIDC provider, with conditions on `<issuer>:sub` (`system:serviceaccount:<namespace>:<name>`) and
 * `<issuer>:aud` (`sts.amazonaws.com`).
 */
export function irsaTrustPolicy(
  oidcProviderArn: string,
  issuerUrl: string,
  sa: { readonly namespace: string; readonly name: string },
): PolicyDocument {
  const host = issuerUrl.replace(/^https:\/\//, '');
  return policyDocument([
    {
      Effect: 'Allow',
      Principal: { Federated: oidcProviderArn },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${host}:aud`]: 'sts.amazonaws.com',
          [`${host}:sub`]: `system:serviceaccount:${sa.namespace}:${sa.name}`,
        },
      },
    },
  ]);
}
