/**
 * The model repository's read policy, evaluated by an IAM policy evaluator (@cloud-copilot/iam-simulate), not by
 * comparing its JSON: Triton's S3 file system must be able to do what it does, and nothing else.
 *
 * What Triton does (triton-inference-server/core r25.08 src/filesystem/implementations/s3.h):
 * - CheckClient / IsDirectory call HeadBucket first. IAM authorizes HeadBucket as s3:ListBucket on the bucket, and the
 *   request has no `s3:prefix` (shared/triton/README.md); a denied HeadBucket fails with "Unable to create S3
 *   filesystem client" and nothing loads;
 * - IsDirectory / GetDirectoryContents: ListObjectsV2 with the prefix `AppendSlash(path)`: `<prefix>/`,
 *   `<prefix>/<model>/`, ...;
 * - FileExists / FileModificationTime: HeadObject (s3:GetObject) on a key; LocalizePath / ReadTextFile: GetObject.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ModelRepositoryBucket } from '../constructs/cloud/model-repository-bucket';
import type { PolicyDocument } from '../constructs/cloud/iam-documents';

const ACCOUNT = '123456789012';
const BUCKET = 'arn:aws:s3:::acme-models';
const PREFIX = 'triton';

async function decide(
  policy: PolicyDocument,
  action: string,
  resource: string,
  context: Record<string, string> = {},
  resourcePolicy?: object,
): Promise<string> {
  const r = await runSimulation(
    {
      identityPolicies: [{ name: 'read', policy: policy as any }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy: resourcePolicy as any } : {}),
      request: {
        action,
        principal: `arn:aws:iam::${ACCOUNT}:role/triton-model-reader`,
        resource: { accountId: ACCOUNT, resource },
        contextVariables: context,
      },
    },
    {},
  );
  if (r.resultType === 'error') throw new Error(`simulation error: ${JSON.stringify(r.errors)}`);
  return r.overallResult;
}

/** Triton's calls for loading model `resnet50` from s3://acme-models/triton. */
const TRITON_SEQUENCE: [string, string, string, Record<string, string>][] = [
  ['HeadBucket', 's3:ListBucket', BUCKET, {}],
  ['ListObjectsV2 triton/', 's3:ListBucket', BUCKET, { 's3:prefix': `${PREFIX}/` }],
  ['ListObjectsV2 triton/resnet50/', 's3:ListBucket', BUCKET, { 's3:prefix': `${PREFIX}/resnet50/` }],
  ['HeadObject config.pbtxt', 's3:GetObject', `${BUCKET}/${PREFIX}/resnet50/config.pbtxt`, {}],
  ['GetObject model.onnx', 's3:GetObject', `${BUCKET}/${PREFIX}/resnet50/1/model.onnx`, {}],
];

/** What a reader must not do. */
const FORBIDDEN: [string, string, string, Record<string, string>][] = [
  ['PutObject under the prefix', 's3:PutObject', `${BUCKET}/${PREFIX}/resnet50/1/model.onnx`, {}],
  ['DeleteObject under the prefix', 's3:DeleteObject', `${BUCKET}/${PREFIX}/resnet50/config.pbtxt`, {}],
  ['GetObject outside the prefix', 's3:GetObject', `${BUCKET}/secrets/creds.json`, {}],
  ['GetObject of a key that only starts like the prefix', 's3:GetObject', `${BUCKET}/${PREFIX}-staging/x`, {}],
  ['ListObjectsV2 of another prefix', 's3:ListBucket', BUCKET, { 's3:prefix': 'secrets/' }],
  ['ListObjectsV2 of the bucket root ("")', 's3:ListBucket', BUCKET, { 's3:prefix': '' }],
  ['GetObject in another bucket', 's3:GetObject', `arn:aws:s3:::other-bucket/${PREFIX}/x`, {}],
  ['ListBucket of another bucket', 's3:ListBucket', 'arn:aws:s3:::other-bucket', {}],
  ['DeleteBucket', 's3:DeleteBucket', BUCKET, {}],
  ['PutBucketPolicy', 's3:PutBucketPolicy', BUCKET, {}],
];

describe('ModelRepositoryBucket.readPolicy, evaluated', () => {
  const policy = ModelRepositoryBucket.readPolicy(BUCKET, PREFIX);

  test.each(TRITON_SEQUENCE)("allows Triton's %s", async (_, action, resource, context) => {
    expect(await decide(policy, action, resource, context)).toBe('Allowed');
  });

  test.each(FORBIDDEN)('denies %s', async (_, action, resource, context) => {
    expect(await decide(policy, action, resource, context)).toBe('ImplicitlyDenied');
  });

  test('with a KMS key: kms:Decrypt through S3 only', async () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const withKey = ModelRepositoryBucket.readPolicy(BUCKET, PREFIX, key, 'us-east-1');
    // KMS needs the key policy to delegate to IAM: AWS's default key policy ("Enable IAM User Permissions")
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    expect(await decide(withKey, 'kms:Decrypt', key, { 'kms:ViaService': 's3.us-east-1.amazonaws.com' }, keyPolicy)).toBe('Allowed');
    expect(await decide(withKey, 'kms:Decrypt', key, { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' }, keyPolicy)).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide(withKey, 's3:ListBucket', BUCKET)).toBe('Allowed');
  });

  test('fails the HeadBucket Triton starts with when ListBucket is allowed only under an s3:prefix condition (old policy)', async () => {
    // The policy grantRead rendered before: ListBucket only when s3:prefix is like <prefix>/*. HeadBucket carries no
    // s3:prefix, so the condition fails, S3 answers 403 and Triton loads nothing.
    const former: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ListModelRepository',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: BUCKET,
          Condition: { StringLike: { 's3:prefix': [`${PREFIX}/*`] } },
        },
        { Sid: 'ReadModelRepository', Effect: 'Allow', Action: 's3:GetObject', Resource: `${BUCKET}/${PREFIX}/*` },
      ],
    };
    expect(await decide(former, 's3:ListBucket', BUCKET)).toBe('ImplicitlyDenied');
    expect(await decide(policy, 's3:ListBucket', BUCKET)).toBe('Allowed');
  });
});
