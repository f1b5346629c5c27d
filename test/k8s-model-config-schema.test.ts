/**
 * Every `config.pbtxt` gpufleet writes, read as Triton r25.08 reads it: protobuf text format into
 * `inference.ModelConfig` from Triton's own `model_config.proto` (`../shared/triton/`, common r25.08), unknown
 * fields and enum value names rejected (constructs/runtime/standin/pbtxt.ts). For the default platform and every example fleet.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Testing } from 'cdk8s';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { TritonModelConfig } from '../constructs/k8s/serving/triton-model-config';
import { buildDefaultPlatform } from '../examples/default-platform';
import { buildPlannedPlatform } from '../examples/planned-platform';
import { buildTeamStack } from '../examples/team-stack';
import {
  MODEL_CONFIG_PROTO,
  modelConfigErrors,
  modelConfigSchema,
  parseModelConfig,
  startTritonStandin,
} from '../constructs/runtime/standin';
import { describeIf } from './support/notes';
import { request } from './support/triton-standin-procs';

const schema = modelConfigSchema();
const describeWithSchema = describeIf(
  schema !== undefined,
  `needs Triton's schema, and ${MODEL_CONFIG_PROTO} is absent (../shared not checked out)`,
);

const EXAMPLES = path.resolve(__dirname, '..', 'examples');
const exampleFleets = fs
  .readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.fleet.yaml'))
  .sort();

/** file → text of every config.pbtxt the repositories under `app` write. */
function configsOf(app: App): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of app.node.findAll().filter((c): c is ModelRepository => c instanceof ModelRepository)) {
    for (const [file, text] of Object.entries(r.configFiles())) out.set(file, text);
  }
  return out;
}

describeWithSchema('the text-format reader rejects what Triton rejects', () => {
  const ok = 'name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\ninstance_group [ { count: 1, kind: KIND_GPU } ]\n';
  test('reads a valid config, lists, nested messages and maps', () => {
    const m = parseModelConfig(
      `${ok}dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 500 }\nparameters { key: "a" value: { ` +
        `string_value: "b" } }\n`,
    );
    expect(m.max_batch_size).toEqual([8]);
    expect((m.dynamic_batching[0] as any).max_queue_delay_microseconds).toEqual([500]);
    expect((m.parameters[0] as any).value[0].string_value).toEqual(['b']);
  });
  test.each([
    ['an unknown field', `${ok}max_queue_delay: 100\n`, /no field named "max_queue_delay"/],
    ['an unknown enum value', 'name: "m"\ninstance_group [ { kind: KIND_TPU } ]\n', /unknown enumeration value of "KIND_TPU"/],
    ['a scalar without a colon', 'name "m"\n', /expected ":" after a scalar field name/],
    ['a negative unsigned integer', `${ok}dynamic_batching { max_queue_delay_microseconds: -1 }\n`, /integer out of range for uint64: -1/],
    ['a fraction for an integer', 'name: "m"\nmax_batch_size: 1.5\n', /expected an integer, got "1.5"/],
    ['a string for a number', 'name: "m"\nmax_batch_size: "8"\n', /expected an integer/],
    ['a singular field twice', `${ok}max_batch_size: 4\n`, /non-repeated field "max_batch_size" is specified multiple times/],
    ['a list on a singular field', 'name: [ "m" ]\n', /a list is given for a field that is not repeated/],
    ['two members of one oneof', `${ok}dynamic_batching { }\nsequence_batching { }\n`, /in oneof "scheduling_choice"/],
    ['an unclosed message', `${ok}dynamic_batching {\n`, /"}" missing/],
    ['a bad boolean', 'name: "m"\nmodel_transaction_policy { decoupled: yes }\n', /invalid value for boolean field "decoupled"/],
  ])('fails on %s', (_what, text, message) => {
    expect(modelConfigErrors(text)).toEqual([expect.stringMatching(message)]);
  });
});

describeWithSchema("gpufleet's config.pbtxt files read as inference.ModelConfig", () => {
  test('every field TritonModelConfig can write', () => {
    const all = new TritonModelConfig({
      name: 'everything',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 16,
      inputs: [{ name: 'x', dataType: 'TYPE_FP32', dims: [3, -1], reshape: [] }],
      outputs: [{ name: 'y', dataType: 'TYPE_INT64', dims: [1] }],
      instanceGroups: [
        { count: 2, kind: 'KIND_GPU' },
        { count: 1, kind: 'KIND_CPU' },
      ],
      dynamicBatching: { preferredBatchSizes: [4, 8], maxQueueDelayMicroseconds: 250 },
      versionPolicy: { kind: 'specific', versions: [1, 2] },
      warmup: [{ name: 'w', batchSize: 4, inputs: { x: { dataType: 'TYPE_FP32', dims: [3, 2], data: 'random' } } }],
      parameters: { k: 'v' },
      decoupled: false,
    });
    for (const c of [
      all,
      new TritonModelConfig({ name: 'llm', backend: 'vllm' }),
      new TritonModelConfig({ name: 'l', platform: 'tensorrt_plan', versionPolicy: { kind: 'latest', numVersions: 2 } }),
      new TritonModelConfig({ name: 'a', backend: 'python', versionPolicy: { kind: 'all' } }),
    ]) {
      expect([c.name, modelConfigErrors(c.toPbtxt())]).toEqual([c.name, []]);
    }
  });

  test('the default platform (npm run synth)', () => {
    const app = Testing.app();
    buildDefaultPlatform(app, 'default-platform');
    const configs = configsOf(app);
    expect(configs.size).toBeGreaterThanOrEqual(14);
    for (const [file, text] of configs) expect([file, modelConfigErrors(text)]).toEqual([file, []]);
  });

  test("the default platform's vLLM config loads in the vllm backend with tensor parallelism (KIND_MODEL, decoupled)", async () => {
    const app = Testing.app();
    const { platform } = buildDefaultPlatform(app, 'default-platform');
    const config = platform.repository.model('llama-2-7b-chat').toPbtxt();
    const s = await startTritonStandin({
      defaultModelGiB: 1,
      files: { 'llama-2-7b-chat': { config, modelJson: { tensor_parallel_size: 2 } } },
    });
    try {
      expect((await request(s.url, 'POST', '/v2/repository/models/llama-2-7b-chat/load')).status).toBe(200);
    } finally {
      await s.close();
    }
    // what the same load does with the KIND_GPU the platform used to write
    const old = await startTritonStandin({
      defaultModelGiB: 1,
      files: { 'llama-2-7b-chat': { config: config.replace('KIND_MODEL', 'KIND_GPU'), modelJson: { tensor_parallel_size: 2 } } },
    });
    try {
      expect((await request(old.url, 'POST', '/v2/repository/models/llama-2-7b-chat/load')).json().error).toContain(
        'KIND_GPU is currently for single-GPU models',
      );
    } finally {
      await old.close();
    }
  });

  test('the team stack example', () => {
    const app = Testing.app();
    buildTeamStack(app);
    const configs = configsOf(app);
    expect(configs.size).toBeGreaterThan(0);
    for (const [file, text] of configs) expect([file, modelConfigErrors(text)]).toEqual([file, []]);
  });

  test.each(exampleFleets)('every model of examples/%s, planned and rendered', (file) => {
    const app = Testing.app();
    const { platform } = buildPlannedPlatform(app, 'planned', { fleetFile: path.join(EXAMPLES, file) });
    const configs = configsOf(app);
    expect(configs.size).toBe(platform.repository.modelNames.length);
    for (const [f, text] of configs) expect([f, modelConfigErrors(text)]).toEqual([f, []]);
  });
});
