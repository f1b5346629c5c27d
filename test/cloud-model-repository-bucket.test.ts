/**
 * ModelRepositoryBucket under Pulumi mocks: the bucket's protections, the TLS-only bucket policy and the
 * read-only role policy compared exactly, and the IRSA / Pod Identity trust.
 */
import { ACCOUNT, OIDC_ISSUER, settle, setupPulumiMocks, valueOf } from './support/pulumi-mocks';

const mocks = setupPulumiMocks();
type Cloud = typeof import('../constructs/cloud');
let cloud: Cloud;
let pulumi: typeof import('@pulumi/pulumi');

beforeAll(async () => {
  pulumi = await import('@pulumi/pulumi');
  cloud = await import('../constructs/cloud');
});
beforeEach(() => mocks.reset());

const OIDC_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${OIDC_ISSUER.replace('https://', '')}`;
function fakeCluster(withOidc = true) {
  return {
    clusterName: pulumi.output('gpufleet-dev'),
    oidcIssuerUrl: pulumi.output(OIDC_ISSUER),
    ...(withOidc ? { oidcProviderArn: pulumi.output(OIDC_ARN) } : {}),
  };
}

describe('ModelRepositoryBucket: the bucket and its read grants', () => {
  test('creates a versioned, encrypted, private bucket with a TLS-only policy', async () => {
    const repo = new cloud.ModelRepositoryBucket('models', { bucketName: 'acme-models', prefix: 'triton' });
    expect(await valueOf(repo.repositoryUri)).toBe('s3://acme-models/triton');
    await settle();
    const bucket = mocks.get('aws:s3/bucket:Bucket', 'models-bucket');
    expect(bucket.inputs.bucket).toBe('acme-models');
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(mocks.get('aws:s3/bucketVersioning:BucketVersioning', 'models-versioning').inputs.versioningConfiguration).toEqual({
      status: 'Enabled',
    });
    expect(
      mocks.get('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'models-encryption').inputs.rules,
    ).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: false }]);
    expect(mocks.get('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'models-public-access').inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(mocks.get('aws:s3/bucketOwnershipControls:BucketOwnershipControls', 'models-ownership').inputs.rule).toEqual({
      objectOwnership: 'BucketOwnerEnforced',
    });
    const policy = mocks.get('aws:s3/bucketPolicy:BucketPolicy', 'models-policy');
    expect(policy.inputs.policy).toBe(
      '{"Statement":[{"Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Principal":"*",' +
        '"Resource":["arn:aws:s3:::acme-models","arn:aws:s3:::acme-models/*"],"Sid":"DenyInsecureTransport"}],"Version":"2012-10-17"}',
    );
    // Every child is parented to the component.
    const component = mocks.get('gpufleet:cloud:ModelRepositoryBucket', 'models');
    for (const r of mocks.resources.filter((x) => x !== component)) expect(r.parent).toBe(component.urn);
  });

  test('grantRead (IRSA) allows only GetObject on the prefix and ListBucket under the prefix or without one (HeadBucket)', async () => {
    const repo = new cloud.ModelRepositoryBucket('models', { bucketName: 'acme-models', prefix: 'triton' });
    const grant = repo.grantRead({ namespace: 'vision', name: 'triton-model-reader' }, fakeCluster());
    expect(grant.mechanism).toBe('irsa');
    expect(grant.actions).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(await valueOf(grant.roleArn)).toMatch(/^arn:aws:iam::123456789012:role\//);
    await settle();
    const role = mocks.get('aws:iam/role:Role', 'models-read-vision-triton-model-reader-role');
    const host = OIDC_ISSUER.replace('https://', '');
    expect(role.inputs.assumeRolePolicy).toBe(
      `{"Statement":[{"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"${host}:aud":"sts.amazonaws.com",` +
        `"${host}:sub":"system:serviceaccount:vision:triton-model-reader"}},"Effect":"Allow",` +
        `"Principal":{"Federated":"${OIDC_ARN}"}}],"Version":"2012-10-17"}`,
    );
    const policy = mocks.get('aws:iam/rolePolicy:RolePolicy', 'models-read-vision-triton-model-reader-policy');
    expect(policy.inputs.policy).toBe(
      '{"Statement":[' +
        '{"Action":"s3:ListBucket","Condition":{"StringLike":{"s3:prefix":["triton","triton/*"]}},"Effect":"Allow",' +
        '"Resource":"arn:aws:s3:::acme-models","Sid":"ListModelRepository"},' +
        '{"Action":"s3:ListBucket","Condition":{"Null":{"s3:prefix":"true"}},"Effect":"Allow",' +
        '"Resource":"arn:aws:s3:::acme-models","Sid":"HeadModelRepositoryBucket"},' +
        '{"Action":"s3:GetObject","Effect":"Allow","Resource":"arn:aws:s3:::acme-models/triton/*","Sid":"ReadModelRepository"}' +
        '],"Version":"2012-10-17"}',
    );
    const doc = JSON.parse(policy.inputs.policy);
    expect(cloud.wildcardResources(doc)).toEqual([]);
    const actions = doc.Statement.flatMap((s: any) => [s.Action].flat());
    expect(actions.filter((a: string) => /Put|Delete|\*/.test(a))).toEqual([]);
    expect(mocks.ofType('aws:eks/podIdentityAssociation:PodIdentityAssociation')).toEqual([]);
    // what the policy allows and denies is evaluated in cloud-model-repository-iam.test.ts
  });

  test('the wildcard check fails on a bucket-wide or * resource', () => {
    const doc = cloud.policyDocument([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: ['*', 'arn:aws:s3:::acme-models/*', 'arn:aws:s3:::acme-models/triton/*', 'arn:aws:s3:::acme-*'],
      },
      { Effect: 'Deny', Action: 's3:*', Resource: '*' },
    ]);
    expect(cloud.wildcardResources(doc)).toEqual(['*', 'arn:aws:s3:::acme-*', 'arn:aws:s3:::acme-models/*']);
  });

  test('grantRead (Pod Identity) trusts pods.eks.amazonaws.com and creates the association', async () => {
    const repo = new cloud.ModelRepositoryBucket('models', { existingBucketName: 'shared-models' });
    const grant = repo.grantRead({ namespace: 'nlp', name: 'triton-model-reader' }, fakeCluster(false));
    expect(grant.mechanism).toBe('pod-identity');
    await settle();
    expect(mocks.ofType('aws:s3/bucket:Bucket')).toEqual([]);
    const role = mocks.get('aws:iam/role:Role', 'models-read-nlp-triton-model-reader-role');
    expect(JSON.parse(role.inputs.assumeRolePolicy)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
    });
    const assoc = mocks.get('aws:eks/podIdentityAssociation:PodIdentityAssociation', 'models-read-nlp-triton-model-reader-association');
    expect(assoc.inputs).toMatchObject({ clusterName: 'gpufleet-dev', namespace: 'nlp', serviceAccount: 'triton-model-reader' });
    const policy = JSON.parse(mocks.get('aws:iam/rolePolicy:RolePolicy', 'models-read-nlp-triton-model-reader-policy').inputs.policy);
    expect(policy.Statement.map((s: any) => s.Resource)).toEqual([
      'arn:aws:s3:::shared-models',
      'arn:aws:s3:::shared-models',
      'arn:aws:s3:::shared-models/models/*',
    ]);
  });
});

describe('ModelRepositoryBucket: KMS, determinism, errors, model configs', () => {
  test('a KMS key adds kms:Decrypt on that key through S3 only', async () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const repo = new cloud.ModelRepositoryBucket('models', { bucketName: 'acme-models', kmsKeyArn: key });
    const grant = repo.grantRead({ namespace: 'vision', name: 'reader' }, fakeCluster());
    expect(grant.actions).toEqual(['kms:Decrypt', 's3:GetObject', 's3:ListBucket']);
    await settle();
    const doc = JSON.parse(mocks.get('aws:iam/rolePolicy:RolePolicy', 'models-read-vision-reader-policy').inputs.policy);
    expect(doc.Statement[3]).toEqual({
      Sid: 'DecryptModelRepository',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: key,
      Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
    });
    expect(
      mocks.get('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'models-encryption').inputs
        .rules[0],
    ).toEqual({ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key }, bucketKeyEnabled: true });
  });

  test('policy documents are identical whatever the key order of the input', () => {
    const a = cloud.stableJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } });
    const b = cloud.stableJson({ a: { c: 3, d: [2, { y: 2, z: 1 }] }, b: 1 });
    expect(a).toBe(b);
    expect(a).toBe('{"a":{"c":3,"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  test('fails on a prefix with a wildcard or slashes at the ends', () => {
    expect(() => new cloud.ModelRepositoryBucket('bad1', { prefix: 'models/*' })).toThrow(/prefix: expected .* got "models\/\*"/);
    expect(() => new cloud.ModelRepositoryBucket('bad2', { prefix: '/models/' })).toThrow(/prefix: .* got "\/models\/"/);
  });

  test('fails on a service account granted twice or a bad namespace', () => {
    const repo = new cloud.ModelRepositoryBucket('models2', { bucketName: 'acme-models' });
    repo.grantRead({ namespace: 'vision', name: 'reader' }, fakeCluster());
    expect(() => repo.grantRead({ namespace: 'vision', name: 'reader' }, fakeCluster())).toThrow(
      'serviceAccount: vision/reader was already granted',
    );
    expect(() => repo.grantRead({ namespace: 'Vision', name: 'reader' }, fakeCluster())).toThrow(
      'serviceAccount.namespace: expected a DNS-1123 label, got "Vision"',
    );
    expect(() => repo.grantRead({ namespace: 'nlp', name: 'reader' }, fakeCluster(false), { mechanism: 'irsa' })).toThrow(
      /mechanism: 'irsa' needs a cluster with an OIDC provider/,
    );
  });

  test('putModelConfigs uploads config.pbtxt under the prefix, after the bucket policy', async () => {
    const repo = new cloud.ModelRepositoryBucket('models', { bucketName: 'acme-models', prefix: 'triton' });
    repo.putModelConfigs([
      { name: 'resnet50', pbtxt: 'name: "resnet50"\n' },
      { name: 'bert-base', pbtxt: 'name: "bert-base"\n' },
    ]);
    await settle();
    const objects = mocks.ofType('aws:s3/bucketObjectv2:BucketObjectv2');
    expect(objects.map((o) => o.inputs.key).sort()).toEqual(['triton/bert-base/config.pbtxt', 'triton/resnet50/config.pbtxt']);
    const resnet = mocks.get('aws:s3/bucketObjectv2:BucketObjectv2', 'models-config-resnet50');
    expect(resnet.inputs).toMatchObject({ bucket: 'acme-models', content: 'name: "resnet50"\n', contentType: 'text/plain' });
    expect(resnet.dependencies).toContain(mocks.get('aws:s3/bucketPolicy:BucketPolicy', 'models-policy').urn);
  });

  test('fails on a model config listed twice', () => {
    const repo = new cloud.ModelRepositoryBucket('models3', { bucketName: 'acme-models' });
    expect(() =>
      repo.putModelConfigs([
        { name: 'a', pbtxt: '' },
        { name: 'a', pbtxt: '' },
      ]),
    ).toThrow('configs: model "a" is listed twice');
  });
});
