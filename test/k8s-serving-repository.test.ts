import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { TritonModelConfig } from '../constructs/k8s/serving/triton-model-config';
import { validateObjects } from './support/validate';

const resnet = () => new TritonModelConfig({ name: 'resnet50', platform: 'onnxruntime_onnx', maxBatchSize: 16 });
const bert = () => new TritonModelConfig({ name: 'bert-base', platform: 'tensorrt_plan', maxBatchSize: 8 });

describe('ModelRepository storage and config files', () => {
  test('s3 storage: URL, region env and an IRSA service account per namespace, no static keys', () => {
    // GIVEN an S3 repository with an IRSA role
    const chart = Testing.chart();
    const repo = new ModelRepository(chart, 'Repo', {
      storage: ModelRepository.s3({
        bucket: 'acme-models',
        prefix: 'triton/prod',
        region: 'eu-west-1',
        roleArn: 'arn:aws:iam::123456789012:role/triton-read',
      }),
    });
    // WHEN pools in two namespaces bind it (twice in one)
    const a = repo.bind('vision');
    repo.bind('vision');
    repo.bind('nlp');
    // THEN the URL is Triton's native S3 form and the env names only the region
    expect(a.url).toBe('s3://acme-models/triton/prod');
    expect(a.env).toEqual([
      { name: 'AWS_REGION', value: 'eu-west-1' },
      { name: 'AWS_DEFAULT_REGION', value: 'eu-west-1' },
    ]);
    expect(JSON.stringify(a)).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secretKeyRef/);
    expect(a.serviceAccountName).toBe('triton-model-reader');
    const objs = Testing.synth(chart);
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/vision/triton-model-reader',
      'ServiceAccount/nlp/triton-model-reader',
    ]);
    expect(objs[0].metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/triton-read' });
    expect(objs[0].automountServiceAccountToken).toBe(false);
    expect(repo.serviceAccountSubjects()).toEqual([
      'system:serviceaccount:nlp:triton-model-reader',
      'system:serviceaccount:vision:triton-model-reader',
    ]);
    expect(repo.serviceAccounts()).toEqual([
      { namespace: 'nlp', name: 'triton-model-reader' },
      { namespace: 'vision', name: 'triton-model-reader' },
    ]);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('s3 storage without a role (EKS Pod Identity) and without creating the service account', () => {
    const chart = Testing.chart();
    const podIdentity = new ModelRepository(chart, 'A', { storage: ModelRepository.s3({ bucket: 'acme-models', region: 'us-east-1' }) });
    expect(podIdentity.url).toBe('s3://acme-models');
    podIdentity.bind('ml');
    const external = new ModelRepository(chart, 'B', {
      storage: ModelRepository.s3({
        bucket: 'acme-models',
        region: 'us-east-1',
        createServiceAccount: false,
        serviceAccountName: 'own-sa',
      }),
      configDirectory: 'other',
    });
    expect(external.bind('ml').serviceAccountName).toBe('own-sa');
    const objs = Testing.synth(chart);
    expect(objs).toHaveLength(1);
    expect(objs[0].metadata.annotations).toBeUndefined();
  });

  test('pvc storage: read-only claim mounted at /models, no service account', () => {
    const chart = Testing.chart();
    const repo = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models-efs', subPath: 'triton' }) });
    const b = repo.bind('vision');
    expect(b.url).toBe('/models');
    expect(b.serviceAccountName).toBeUndefined();
    expect(b.volumes).toEqual([{ name: 'model-repository', persistentVolumeClaim: { claimName: 'models-efs', readOnly: true } }]);
    expect(b.volumeMounts).toEqual([{ name: 'model-repository', mountPath: '/models', readOnly: true, subPath: 'triton' }]);
    expect(Testing.synth(chart)).toEqual([]);
    expect(repo.serviceAccountSubjects()).toEqual([]);
  });

  test('writes each config.pbtxt to <outdir>/model-repository/<model>/config.pbtxt', () => {
    // GIVEN a repository with two models added in reverse order
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-repo-')) });
    const chart = new Chart(app, 'platform');
    const repo = new ModelRepository(chart, 'Repo', {
      storage: ModelRepository.s3({ bucket: 'acme-models', region: 'us-east-1' }),
      models: [resnet()],
    });
    repo.addModel(bert());
    // WHEN the app is synthesized and the configs are written
    app.synth();
    const written = ModelRepository.writeAllConfigs(app, app.outdir);
    // THEN one file per model, sorted, with the rendered text
    expect(written).toEqual([
      path.join(app.outdir, 'model-repository/bert-base/config.pbtxt'),
      path.join(app.outdir, 'model-repository/resnet50/config.pbtxt'),
    ]);
    expect(fs.readFileSync(written[1], 'utf8')).toBe(resnet().toPbtxt());
    expect(repo.modelNames).toEqual(['bert-base', 'resnet50']);
    expect(Object.keys(repo.configFiles())).toEqual(['model-repository/bert-base/config.pbtxt', 'model-repository/resnet50/config.pbtxt']);
  });
});

describe('ModelRepository fails on bad input', () => {
  test('fails for a duplicate model', () => {
    const chart = Testing.chart();
    const repo = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }), models: [resnet()] });
    expect(() => repo.addModel(resnet())).toThrow('models: model "resnet50" is already in repository test/Repo');
  });

  test('fails for an unknown model lookup', () => {
    const chart = Testing.chart();
    const repo = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }), models: [resnet()] });
    expect(() => repo.model('bert')).toThrow('model: "bert" is not in repository test/Repo (has resnet50)');
  });

  test('fails for invalid s3 options', () => {
    expect(() => ModelRepository.s3({ bucket: 'Bad_Bucket', region: 'us-east-1' })).toThrow(
      /^storage\.bucket: expected an S3 bucket name .*got "Bad_Bucket"$/,
    );
    expect(() => ModelRepository.s3({ bucket: 'ok-bucket', prefix: '/triton/', region: 'us-east-1' })).toThrow(
      /^storage\.prefix: .*got "\/triton\/"$/,
    );
    expect(() => ModelRepository.s3({ bucket: 'ok-bucket', region: 'mars' })).toThrow(
      'storage.region: expected an AWS region such as us-east-1, got "mars"',
    );
    expect(() => ModelRepository.s3({ bucket: 'ok-bucket', region: 'us-east-1', roleArn: 'triton' })).toThrow(
      /^storage\.roleArn: expected an IAM role ARN.*got "triton"$/,
    );
  });

  test('fails for invalid pvc options', () => {
    expect(() => ModelRepository.pvc({ claimName: 'Models' })).toThrow(/^storage\.claimName: expected a DNS-1123 label/);
    expect(() => ModelRepository.pvc({ claimName: 'models', subPath: '../etc' })).toThrow(
      'storage.subPath: expected a relative path without \'..\', got "../etc"',
    );
  });

  test('fails when two repositories write to the same config directory', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    new ModelRepository(chart, 'A', { storage: ModelRepository.pvc({ claimName: 'a' }) });
    new ModelRepository(chart, 'B', { storage: ModelRepository.pvc({ claimName: 'b' }) });
    expect(() => ModelRepository.writeAllConfigs(app, app.outdir)).toThrow(
      'configDirectory: repositories c/A and c/B both write to "model-repository"; give one another configDirectory',
    );
  });
});
