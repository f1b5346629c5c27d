import { TritonModelConfig, TritonModelConfigProps } from '../constructs/k8s/serving/triton-model-config';

const full: TritonModelConfigProps = {
  name: 'resnet50',
  platform: 'onnxruntime_onnx',
  maxBatchSize: 16,
  inputs: [{ name: 'input', dataType: 'TYPE_FP32', dims: [3, 224, 224] }],
  outputs: [{ name: 'logits', dataType: 'TYPE_FP32', dims: [1000] }],
  instanceGroups: [{ count: 2, kind: 'KIND_GPU' }],
  dynamicBatching: { preferredBatchSizes: [16, 8], maxQueueDelayMicroseconds: 100 },
  versionPolicy: { kind: 'latest', numVersions: 1 },
  warmup: [{ name: 'zeros', batchSize: 8, inputs: { input: { dataType: 'TYPE_FP32', dims: [3, 224, 224] } } }],
  parameters: { b_param: '2', a_param: 'x' },
};

describe('TritonModelConfig rendering config.pbtxt: a full config', () => {
  test('renders a full config as config.pbtxt text in a fixed field order', () => {
    // GIVEN a config with every field
    // WHEN it is rendered
    const text = new TritonModelConfig(full).toPbtxt();
    // THEN the text is exactly the protobuf text format, fields in model_config.proto order, lists sorted
    expect(text).toBe(
      [
        'name: "resnet50"',
        'platform: "onnxruntime_onnx"',
        'version_policy: { latest: { num_versions: 1 } }',
        'max_batch_size: 16',
        'input [',
        '  {',
        '    name: "input"',
        '    data_type: TYPE_FP32',
        '    dims: [ 3, 224, 224 ]',
        '  }',
        ']',
        'output [',
        '  {',
        '    name: "logits"',
        '    data_type: TYPE_FP32',
        '    dims: [ 1000 ]',
        '  }',
        ']',
        'instance_group [',
        '  {',
        '    count: 2',
        '    kind: KIND_GPU',
        '  }',
        ']',
        'dynamic_batching {',
        '  preferred_batch_size: [ 8, 16 ]',
        '  max_queue_delay_microseconds: 100',
        '}',
        'parameters {',
        '  key: "a_param"',
        '  value: { string_value: "x" }',
        '}',
        'parameters {',
        '  key: "b_param"',
        '  value: { string_value: "2" }',
        '}',
        'model_warmup [',
        '  {',
        '    name: "zeros"',
        '    batch_size: 8',
        '    inputs {',
        '      key: "input"',
        '      value: {',
        '        data_type: TYPE_FP32',
        '        dims: [ 3, 224, 224 ]',
        '        zero_data: true',
        '      }',
        '    }',
        '  }',
        ']',
        '',
      ].join('\n'),
    );
  });
});

describe('TritonModelConfig rendering config.pbtxt: minimal and vLLM configs', () => {
  test('a minimal backend config omits inputs, outputs, batching and version policy', () => {
    const text = new TritonModelConfig({ name: 'tokenizer', backend: 'python' }).toPbtxt();
    expect(text).toBe(
      [
        'name: "tokenizer"',
        'backend: "python"',
        'max_batch_size: 0',
        'instance_group [',
        '  {',
        '    count: 1',
        '    kind: KIND_GPU',
        '  }',
        ']',
        '',
      ].join('\n'),
    );
    expect(text).not.toMatch(/input|output|dynamic_batching|version_policy/);
  });

  test('a vLLM model: KIND_MODEL as its sample config, decoupled, engine metrics on (vllm_backend r25.08 samples/, src/model.py)', () => {
    const text = new TritonModelConfig({ name: 'llama-7b', backend: 'vllm' }).toPbtxt();
    expect(text).toBe(
      [
        'name: "llama-7b"',
        'backend: "vllm"',
        'max_batch_size: 0',
        'instance_group [',
        '  {',
        '    count: 1',
        '    kind: KIND_MODEL',
        '  }',
        ']',
        'model_transaction_policy { decoupled: true }',
        'parameters {',
        '  key: "REPORT_CUSTOM_METRICS"',
        '  value: { string_value: "true" }',
        '}',
        '',
      ].join('\n'),
    );
    // the engine's metrics can be turned off explicitly; the decoupled policy can not (the backend asserts it)
    expect(new TritonModelConfig({ name: 'l', backend: 'vllm', parameters: { REPORT_CUSTOM_METRICS: 'false' } }).parameters).toEqual({
      REPORT_CUSTOM_METRICS: 'false',
    });
    expect(() => new TritonModelConfig({ name: 'l', backend: 'vllm', decoupled: false })).toThrow(
      'models.l.decoupled: the vllm backend requires the decoupled transaction policy, got false',
    );
    expect(new TritonModelConfig({ name: 'p', backend: 'python' }).toPbtxt()).not.toContain('model_transaction_policy');
    expect(TritonModelConfig.fromHints('llama-7b', { platform: 'vllm' }).instanceGroups).toEqual([{ count: 1, kind: 'KIND_MODEL' }]);
    expect(
      new TritonModelConfig({ name: 'l', backend: 'vllm', instanceGroups: [{ count: 1, kind: 'KIND_GPU' }] }).instanceGroups[0].kind,
    ).toBe('KIND_GPU');
  });
});

describe('TritonModelConfig version policies, ordering, hints', () => {
  test('renders all and specific version policies, reshape and random warmup data', () => {
    const all = new TritonModelConfig({ name: 'm', platform: 'tensorrt_plan', versionPolicy: { kind: 'all' } }).toPbtxt();
    expect(all).toContain('version_policy: { all: { } }\n');
    const specific = new TritonModelConfig({
      name: 'm',
      platform: 'tensorrt_plan',
      maxBatchSize: 4,
      versionPolicy: { kind: 'specific', versions: [3, 1] },
      inputs: [{ name: 'x', dataType: 'TYPE_INT64', dims: [1], reshape: [] }],
      warmup: [{ name: 'r', batchSize: 4, inputs: { x: { dataType: 'TYPE_INT64', dims: [1], data: 'random' } } }],
    }).toPbtxt();
    expect(specific).toContain('version_policy: { specific: { versions: [ 1, 3 ] } }\n');
    expect(specific).toContain('    reshape: { shape: [ ] }\n');
    expect(specific).toContain('        random_data: true\n');
  });

  test('equal configs given in another order render byte-identical text', () => {
    const a = new TritonModelConfig(full).toPbtxt();
    const b = new TritonModelConfig({
      ...full,
      parameters: { a_param: 'x', b_param: '2' },
      dynamicBatching: { maxQueueDelayMicroseconds: 100, preferredBatchSizes: [8, 16] },
    }).toPbtxt();
    expect(b).toBe(a);
  });

  test('fromHints classifies platforms and backends and uses the plan batch', () => {
    const onnx = TritonModelConfig.fromHints('bert-base', { platform: 'onnxruntime_onnx', maxBatchSize: 32 }, { batch: 8, instances: 2 });
    expect(onnx.platform).toBe('onnxruntime_onnx');
    expect(onnx.backend).toBeUndefined();
    expect(onnx.maxBatchSize).toBe(32);
    expect(onnx.instanceGroups).toEqual([{ count: 2, kind: 'KIND_GPU' }]);
    expect(onnx.dynamicBatching).toEqual({ preferredBatchSizes: [8], maxQueueDelayMicroseconds: 0 });
    const py = TritonModelConfig.fromHints('tokenizer', { platform: 'python' });
    expect(py.backend).toBe('python');
    expect(py.platform).toBeUndefined();
    expect(py.dynamicBatching).toBeUndefined();
  });
});

describe('TritonModelConfig fails on bad props', () => {
  test('fails when a preferred batch size exceeds max_batch_size', () => {
    expect(() => new TritonModelConfig({ ...full, dynamicBatching: { preferredBatchSizes: [32] } })).toThrow(
      'models.resnet50.dynamicBatching.preferredBatchSizes[0]: expected an integer in 1..16 (maxBatchSize), got 32',
    );
  });

  test('fails for an unknown platform or backend', () => {
    expect(() => new TritonModelConfig({ name: 'm', platform: 'caffe2_netdef' as any })).toThrow(
      /^models\.m\.platform: expected one of onnxruntime_onnx, .*, got "caffe2_netdef"$/,
    );
    expect(() => new TritonModelConfig({ name: 'm', backend: 'jax' as any })).toThrow(/^models\.m\.backend: expected one of .*got "jax"$/);
  });

  test('fails when both or neither of platform and backend are given', () => {
    expect(() => new TritonModelConfig({ name: 'm' })).toThrow('models.m: expected exactly one of platform and backend, got neither');
    expect(() => new TritonModelConfig({ name: 'm', platform: 'tensorrt_plan', backend: 'python' })).toThrow(
      'models.m: expected exactly one of platform and backend, got both',
    );
  });

  test('fails when an instance count is below 1', () => {
    expect(() => new TritonModelConfig({ ...full, instanceGroups: [{ count: 0 }] })).toThrow(
      'models.resnet50.instanceGroups[0].count: expected an integer >= 1, got 0',
    );
    expect(() => new TritonModelConfig({ ...full, instanceGroups: [] })).toThrow(
      'models.resnet50.instanceGroups: expected at least one instance group, got []',
    );
  });

  test('fails for a negative queue delay', () => {
    expect(() => new TritonModelConfig({ ...full, dynamicBatching: { maxQueueDelayMicroseconds: -5 } })).toThrow(
      'models.resnet50.dynamicBatching.maxQueueDelayMicroseconds: expected an integer >= 0, got -5',
    );
  });

  test('fails for dynamic batching without batching', () => {
    expect(() => new TritonModelConfig({ ...full, maxBatchSize: 0 })).toThrow(
      'models.resnet50.dynamicBatching: needs maxBatchSize > 0, got maxBatchSize 0',
    );
  });

  test('fails for a negative max batch size', () => {
    expect(() => new TritonModelConfig({ ...full, maxBatchSize: -1 })).toThrow(
      'models.resnet50.maxBatchSize: expected an integer >= 0, got -1',
    );
  });

  test('fails for invalid dims', () => {
    expect(() => new TritonModelConfig({ ...full, inputs: [{ name: 'input', dataType: 'TYPE_FP32', dims: [3, 0, 224] }] })).toThrow(
      'models.resnet50.inputs[0].dims[1]: expected an integer >= 1 or -1, got 0',
    );
    expect(() => new TritonModelConfig({ ...full, outputs: [{ name: 'o', dataType: 'TYPE_FP32', dims: [] }] })).toThrow(
      'models.resnet50.outputs[0].dims: expected a non-empty list of integers >= 1 or -1, got []',
    );
    expect(() => new TritonModelConfig({ ...full, inputs: [{ name: 'input', dataType: 'TYPE_FP32', dims: [1.5] }] })).toThrow(
      'models.resnet50.inputs[0].dims[0]: expected an integer >= 1 or -1, got 1.5',
    );
  });

  test('fails for an unknown data type and a duplicate tensor', () => {
    expect(() => new TritonModelConfig({ ...full, inputs: [{ name: 'i', dataType: 'FP32' as any, dims: [1] }] })).toThrow(
      /^models\.resnet50\.inputs\[0\]\.dataType: expected one of TYPE_BOOL, .*got "FP32"$/,
    );
    const t = { name: 'i', dataType: 'TYPE_FP32' as const, dims: [1] };
    expect(() => new TritonModelConfig({ ...full, inputs: [t, t] })).toThrow('models.resnet50.inputs[1].name: duplicate tensor name "i"');
  });

  test('fails for an invalid version policy or warmup', () => {
    expect(() => new TritonModelConfig({ ...full, versionPolicy: { kind: 'latest', numVersions: 0 } })).toThrow(
      'models.resnet50.versionPolicy.numVersions: expected an integer >= 1, got 0',
    );
    expect(() => new TritonModelConfig({ ...full, versionPolicy: { kind: 'specific', versions: [] } })).toThrow(
      'models.resnet50.versionPolicy.versions: expected a non-empty list of versions >= 1, got []',
    );
    expect(() => new TritonModelConfig({ ...full, warmup: [{ name: 'w', batchSize: 17, inputs: full.warmup![0].inputs }] })).toThrow(
      'models.resnet50.warmup[0].batchSize: expected an integer in 1..16, got 17',
    );
    expect(
      () =>
        new TritonModelConfig({ ...full, warmup: [{ name: 'w', batchSize: 1, inputs: { input: { dataType: 'TYPE_FP32', dims: [-1] } } }] }),
    ).toThrow('models.resnet50.warmup[0].inputs.input.dims: warmup data needs fixed dims, got [-1]');
  });

  test('fails for a name that is not a DNS-1123 label', () => {
    expect(() => new TritonModelConfig({ name: 'ResNet_50', platform: 'tensorrt_plan' })).toThrow(
      /^name: expected a DNS-1123 label.*got "ResNet_50"$/,
    );
  });
});
