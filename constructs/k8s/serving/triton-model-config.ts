/**
 * A Triton model configuration, typed, rendered to `config.pbtxt` (protobuf text format of
 * `inference.ModelConfig`, model_config.proto). Fields are written in a fixed order, so equal
 * configs render byte-identical files.
 */
import { assertDnsLabel } from '../common/names';

/** Platforms Triton selects a backend for by name (model_config.proto `platform`). */
export const TRITON_PLATFORMS = [
  'onnxruntime_onnx',
  'pytorch_libtorch',
  'tensorflow_graphdef',
  'tensorflow_savedmodel',
  'tensorrt_plan',
] as const;
export type TritonPlatform = (typeof TRITON_PLATFORMS)[number];

/** Backends a model may name directly (model_config.proto `backend`). */
export const TRITON_BACKENDS = [
  'dali',
  'fil',
  'identity',
  'onnxruntime',
  'openvino',
  'python',
  'pytorch',
  'tensorflow',
  'tensorrt',
  'tensorrtllm',
  'vllm',
] as const;
export type TritonBackend = (typeof TRITON_BACKENDS)[number];

/** Tensor data types (model_config.proto `DataType`). */
export const TRITON_DATA_TYPES = [
  'TYPE_BOOL',
  'TYPE_UINT8',
  'TYPE_UINT16',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_INT8',
  'TYPE_INT16',
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_FP16',
  'TYPE_FP32',
  'TYPE_FP64',
  'TYPE_STRING',
  'TYPE_BF16',
] as const;
export type TritonDataType = (typeof TRITON_DATA_TYPES)[number];

/** An input or output tensor. */
export interface TritonTensor {
  /** Tensor name as the model file names it. */
  readonly name: string;
  readonly dataType: TritonDataType;
  /** Shape without the batch dimension: integers >= 1, or -1 for a variable dimension. */
  readonly dims: readonly number[];
  /** Shape the backend sees, when it differs from `dims` (`[]` for a scalar). @default - no reshape */
  readonly reshape?: readonly number[];
}

export type TritonInstanceKind = 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';

/** One `instance_group` entry. */
export interface TritonInstanceGroup {
  /** Model instances, >= 1. */
  readonly count: number;
  /**
   * Where the instances run: `KIND_MODEL` lets the backend place them itself (the vLLM backend's setting).
   * @default - 'KIND_MODEL' for the vllm backend, else 'KIND_GPU'
   */
  readonly kind?: TritonInstanceKind;
}

/** `dynamic_batching`: requests are merged into batches on the server. */
export interface TritonDynamicBatching {
  /** Batch sizes the scheduler prefers, each in 1..max_batch_size. @default - none (largest possible batch) */
  readonly preferredBatchSizes?: readonly number[];
  /** How long a request may wait for a batch to fill, in microseconds, >= 0. @default - Triton's default (0) */
  readonly maxQueueDelayMicroseconds?: number;
}

/** Which versions of the model Triton serves. */
export type TritonVersionPolicy =
  | { readonly kind: 'latest'; readonly numVersions: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'specific'; readonly versions: readonly number[] };

/** Data of one warmup input. */
export interface TritonWarmupInput {
  readonly dataType: TritonDataType;
  readonly dims: readonly number[];
  /** Source of the data. @default 'zero' */
  readonly data?: 'zero' | 'random';
}

/** One `model_warmup` sample: Triton runs it before marking the model ready. */
export interface TritonWarmup {
  /** Sample name. */
  readonly name: string;
  /** Batch size, >= 1 and <= max_batch_size (or 1 when the model does not batch). */
  readonly batchSize: number;
  /** Input name → data. */
  readonly inputs: Readonly<Record<string, TritonWarmupInput>>;
}

export interface TritonModelConfigProps {
  /** Model name (its directory in the repository): a DNS-1123 label. */
  readonly name: string;
  /** Framework platform. Exactly one of `platform` and `backend`. @default - none: `backend` is set */
  readonly platform?: TritonPlatform;
  /** Backend. Exactly one of `platform` and `backend`. @default - none: `platform` is set */
  readonly backend?: TritonBackend;
  /** Largest batch the model accepts, >= 0 (0 = the model does not batch). @default 0 */
  readonly maxBatchSize?: number;
  /** Input tensors; omitted from the file when not given (Triton auto-completes them for most platforms). @default - none */
  readonly inputs?: readonly TritonTensor[];
  /** Output tensors; omitted when not given. @default - none */
  readonly outputs?: readonly TritonTensor[];
  /** Instance groups. @default [{ count: 1 }] (kind as `TritonInstanceGroup.kind`) */
  readonly instanceGroups?: readonly TritonInstanceGroup[];
  /** Dynamic batching; needs `maxBatchSize` > 0. @default - no dynamic batching */
  readonly dynamicBatching?: TritonDynamicBatching;
  /** @default - Triton's default (the latest version) */
  readonly versionPolicy?: TritonVersionPolicy;
  /** Warmup samples. @default - none */
  readonly warmup?: readonly TritonWarmup[];
  /**
   * Backend parameters (`parameters { key value { string_value } }`), written sorted by key.
   * @default - none; for the vllm backend `REPORT_CUSTOM_METRICS: "true"` (its engine metrics, `vllm:*`, the only
   * signal that grows with its backlog: vllm_backend r25.08 `src/model.py`, `src/utils/metrics.py`)
   */
  readonly parameters?: Readonly<Record<string, string>>;
  /**
   * `model_transaction_policy { decoupled }`: the model may send any number of responses per request, and its
   * `execute` returns before they are sent (Triton's queue-time metric does not see its backlog).
   * @default - decoupled for the vllm backend (which asserts it, vllm_backend r25.08 `src/model.py`), else not written
   */
  readonly decoupled?: boolean;
}

/** Options of `TritonModelConfig.fromHints`: what the plan decided for the model. */
export interface TritonModelConfigFromHintsOptions {
  /** Batch size the model runs at; becomes the preferred batch size. @default - no dynamic batching */
  readonly batch?: number;
  /** Instances per server. @default 1 */
  readonly instances?: number;
  /** Max queue delay of dynamic batching in microseconds. @default 0 */
  readonly maxQueueDelayMicroseconds?: number;
}

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n);
}

function checkDims(path: string, dims: readonly number[] | undefined, allowEmpty: boolean): void {
  if (!Array.isArray(dims) || (!allowEmpty && dims.length === 0)) {
    throw new Error(`${path}: expected a non-empty list of integers >= 1 or -1, got ${JSON.stringify(dims)}`);
  }
  dims.forEach((d, i) => {
    if (!isInt(d) || (d < 1 && d !== -1)) {
      throw new Error(`${path}[${i}]: expected an integer >= 1 or -1, got ${JSON.stringify(d)}`);
    }
  });
}

function checkDataType(path: string, t: string): void {
  if (!(TRITON_DATA_TYPES as readonly string[]).includes(t)) {
    throw new Error(`${path}: expected one of ${TRITON_DATA_TYPES.join(', ')}, got ${JSON.stringify(t)}`);
  }
}

const q = (s: string): string => JSON.stringify(s);
const list = (xs: readonly number[]): string => (xs.length === 0 ? '[ ]' : `[ ${xs.join(', ')} ]`);

/** Exactly one of platform and backend, each one Triton knows. */
function checkPlatformOrBackend(where: string, props: TritonModelConfigProps): void {
  if ((props.platform === undefined) === (props.backend === undefined)) {
    throw new Error(`${where}: expected exactly one of platform and backend, got ${props.platform === undefined ? 'neither' : 'both'}`);
  }
  if (props.platform !== undefined && !(TRITON_PLATFORMS as readonly string[]).includes(props.platform)) {
    throw new Error(`${where}.platform: expected one of ${TRITON_PLATFORMS.join(', ')}, got ${JSON.stringify(props.platform)}`);
  }
  if (props.backend !== undefined && !(TRITON_BACKENDS as readonly string[]).includes(props.backend)) {
    throw new Error(`${where}.backend: expected one of ${TRITON_BACKENDS.join(', ')}, got ${JSON.stringify(props.backend)}`);
  }
}

/** Input or output tensors: named (no duplicate), a data type Triton knows, dims and reshape checked. */
function checkedTensors(where: string, kind: 'inputs' | 'outputs', ts: readonly TritonTensor[] | undefined): readonly TritonTensor[] {
  const seen = new Set<string>();
  (ts ?? []).forEach((t, i) => {
    const p = `${where}.${kind}[${i}]`;
    if (typeof t.name !== 'string' || t.name.length === 0) {
      throw new Error(`${p}.name: expected a non-empty string, got ${JSON.stringify(t.name)}`);
    }
    if (seen.has(t.name)) throw new Error(`${p}.name: duplicate tensor name ${q(t.name)}`);
    seen.add(t.name);
    checkDataType(`${p}.dataType`, t.dataType);
    checkDims(`${p}.dims`, t.dims, false);
    if (t.reshape !== undefined) checkDims(`${p}.reshape`, t.reshape, true);
  });
  return [...(ts ?? [])];
}

/** Instance groups (at least one), each with its kind: the given one, else KIND_MODEL for vllm and KIND_GPU otherwise. */
function checkedInstanceGroups(where: string, props: TritonModelConfigProps): TritonInstanceGroup[] {
  const groups: readonly TritonInstanceGroup[] = props.instanceGroups ?? [{ count: 1 }];
  if (groups.length === 0) {
    throw new Error(`${where}.instanceGroups: expected at least one instance group, got []`);
  }
  groups.forEach((g, i) => {
    if (!isInt(g.count) || g.count < 1) {
      throw new Error(`${where}.instanceGroups[${i}].count: expected an integer >= 1, got ${JSON.stringify(g.count)}`);
    }
    if (g.kind !== undefined && g.kind !== 'KIND_GPU' && g.kind !== 'KIND_CPU' && g.kind !== 'KIND_MODEL') {
      throw new Error(`${where}.instanceGroups[${i}].kind: expected KIND_GPU, KIND_CPU or KIND_MODEL, got ${JSON.stringify(g.kind)}`);
    }
  });
  const defaultKind: TritonInstanceKind = props.backend === 'vllm' ? 'KIND_MODEL' : 'KIND_GPU';
  return groups.map((g) => ({ count: g.count, kind: g.kind ?? defaultKind }));
}

/** Dynamic batching (needs maxBatchSize > 0): preferred sizes within maxBatchSize, deduplicated and sorted. */
function checkedDynamicBatching(where: string, db: TritonDynamicBatching, maxBatchSize: number): TritonDynamicBatching {
  if (maxBatchSize === 0) {
    throw new Error(`${where}.dynamicBatching: needs maxBatchSize > 0, got maxBatchSize 0`);
  }
  (db.preferredBatchSizes ?? []).forEach((b, i) => {
    if (!isInt(b) || b < 1 || b > maxBatchSize) {
      throw new Error(
        `${where}.dynamicBatching.preferredBatchSizes[${i}]: expected an integer in 1..${maxBatchSize} (maxBatchSize), ` +
          `got ${JSON.stringify(b)}`,
      );
    }
  });
  const d = db.maxQueueDelayMicroseconds;
  if (d !== undefined && (!isInt(d) || d < 0)) {
    throw new Error(`${where}.dynamicBatching.maxQueueDelayMicroseconds: expected an integer >= 0, got ${JSON.stringify(d)}`);
  }
  return {
    preferredBatchSizes: [...new Set(db.preferredBatchSizes ?? [])].sort((a, b) => a - b),
    maxQueueDelayMicroseconds: d,
  };
}

/** The version policy: latest n, all, or specific versions (deduplicated and sorted). */
function checkedVersionPolicy(where: string, vp: TritonVersionPolicy): TritonVersionPolicy {
  if (vp.kind === 'latest') {
    if (!isInt(vp.numVersions) || vp.numVersions < 1) {
      throw new Error(`${where}.versionPolicy.numVersions: expected an integer >= 1, got ${JSON.stringify(vp.numVersions)}`);
    }
  } else if (vp.kind === 'specific') {
    if (!Array.isArray(vp.versions) || vp.versions.length === 0) {
      throw new Error(`${where}.versionPolicy.versions: expected a non-empty list of versions >= 1, got ${JSON.stringify(vp.versions)}`);
    }
    vp.versions.forEach((v, i) => {
      if (!isInt(v) || v < 1) {
        throw new Error(`${where}.versionPolicy.versions[${i}]: expected an integer >= 1, got ${JSON.stringify(v)}`);
      }
    });
  } else if (vp.kind !== 'all') {
    throw new Error(
      `${where}.versionPolicy.kind: expected latest, all or specific, got ${JSON.stringify((vp as { kind?: unknown }).kind)}`,
    );
  }
  return vp.kind === 'specific' ? { kind: 'specific', versions: [...new Set(vp.versions)].sort((a, b) => a - b) } : vp;
}

/** Warmup samples: named, a batch size within maxBatchSize (or 1), fixed-dims inputs with zero or random data. */
function checkedWarmup(where: string, warmup: readonly TritonWarmup[], maxBatchSize: number): TritonWarmup[] {
  const batchLimit = Math.max(maxBatchSize, 1);
  warmup.forEach((w, i) => {
    const p = `${where}.warmup[${i}]`;
    if (typeof w.name !== 'string' || w.name.length === 0) {
      throw new Error(`${p}.name: expected a non-empty string, got ${JSON.stringify(w.name)}`);
    }
    if (!isInt(w.batchSize) || w.batchSize < 1 || w.batchSize > batchLimit) {
      throw new Error(`${p}.batchSize: expected an integer in 1..${batchLimit}, got ${JSON.stringify(w.batchSize)}`);
    }
    const names = Object.keys(w.inputs ?? {});
    if (names.length === 0) throw new Error(`${p}.inputs: expected at least one input, got none`);
    for (const n of names) {
      const inp = w.inputs[n];
      checkDataType(`${p}.inputs.${n}.dataType`, inp.dataType);
      checkDims(`${p}.inputs.${n}.dims`, inp.dims, false);
      if (inp.dims.includes(-1)) {
        throw new Error(`${p}.inputs.${n}.dims: warmup data needs fixed dims, got ${JSON.stringify(inp.dims)}`);
      }
      if (inp.data !== undefined && inp.data !== 'zero' && inp.data !== 'random') {
        throw new Error(`${p}.inputs.${n}.data: expected zero or random, got ${JSON.stringify(inp.data)}`);
      }
    }
  });
  return [...warmup];
}

/**
 * A validated Triton model configuration. `toPbtxt()` renders `config.pbtxt`.
 *
 * Validation happens in the constructor: an invalid config can not exist.
 */
export class TritonModelConfig {
  /**
   * Builds a config from the fleet's Triton hints (`ModelSpec.triton`) and the plan's batch and
   * instance count. `hints.platform` may name a platform or a backend (`python`, `vllm`, ...).
   */
  public static fromHints(
    name: string,
    hints: { readonly platform?: string; readonly maxBatchSize?: number } | undefined,
    options: TritonModelConfigFromHintsOptions = {},
  ): TritonModelConfig {
    const p = hints?.platform;
    if (p === undefined) {
      throw new Error(`models.${name}.triton.platform: expected a platform or backend, got none`);
    }
    const isPlatform = (TRITON_PLATFORMS as readonly string[]).includes(p);
    const batch = options.batch;
    const maxBatchSize = hints?.maxBatchSize ?? batch ?? 0;
    return new TritonModelConfig({
      name,
      ...(isPlatform ? { platform: p as TritonPlatform } : { backend: p as TritonBackend }),
      maxBatchSize,
      instanceGroups: [{ count: options.instances ?? 1 }],
      dynamicBatching:
        batch !== undefined && maxBatchSize > 0
          ? {
              preferredBatchSizes: [batch],
              maxQueueDelayMicroseconds: options.maxQueueDelayMicroseconds ?? 0,
            }
          : undefined,
    });
  }

  public readonly name: string;
  public readonly platform?: TritonPlatform;
  public readonly backend?: TritonBackend;
  public readonly maxBatchSize: number;
  public readonly inputs: readonly TritonTensor[];
  public readonly outputs: readonly TritonTensor[];
  public readonly instanceGroups: readonly TritonInstanceGroup[];
  public readonly dynamicBatching?: TritonDynamicBatching;
  public readonly versionPolicy?: TritonVersionPolicy;
  public readonly warmup: readonly TritonWarmup[];
  public readonly parameters: Readonly<Record<string, string>>;
  /** Whether the model is decoupled (see `TritonModelConfigProps.decoupled`). */
  public readonly decoupled: boolean;
  private readonly writeTransactionPolicy: boolean;

  public constructor(props: TritonModelConfigProps) {
    assertDnsLabel('name', props.name);
    this.name = props.name;
    const where = `models.${props.name}`;
    checkPlatformOrBackend(where, props);
    this.platform = props.platform;
    this.backend = props.backend;
    const maxBatchSize = props.maxBatchSize ?? 0;
    if (!isInt(maxBatchSize) || maxBatchSize < 0) {
      throw new Error(`${where}.maxBatchSize: expected an integer >= 0, got ${JSON.stringify(props.maxBatchSize)}`);
    }
    this.maxBatchSize = maxBatchSize;
    this.inputs = checkedTensors(where, 'inputs', props.inputs);
    this.outputs = checkedTensors(where, 'outputs', props.outputs);
    this.instanceGroups = checkedInstanceGroups(where, props);
    if (props.dynamicBatching !== undefined) this.dynamicBatching = checkedDynamicBatching(where, props.dynamicBatching, maxBatchSize);
    if (props.versionPolicy !== undefined) this.versionPolicy = checkedVersionPolicy(where, props.versionPolicy);
    this.warmup = checkedWarmup(where, props.warmup ?? [], maxBatchSize);
    const vllm = props.backend === 'vllm';
    this.parameters = { ...(vllm ? { REPORT_CUSTOM_METRICS: 'true' } : {}), ...(props.parameters ?? {}) };
    for (const [k, v] of Object.entries(this.parameters)) {
      if (k.length === 0 || typeof v !== 'string') throw new Error(`${where}.parameters.${k}: expected a string, got ${JSON.stringify(v)}`);
    }
    if (props.decoupled !== undefined && typeof props.decoupled !== 'boolean') {
      throw new Error(`${where}.decoupled: expected true or false, got ${JSON.stringify(props.decoupled)}`);
    }
    if (vllm && props.decoupled === false) {
      throw new Error(`${where}.decoupled: the vllm backend requires the decoupled transaction policy, got false`);
    }
    this.decoupled = props.decoupled ?? vllm;
    this.writeTransactionPolicy = props.decoupled !== undefined || vllm;
  }

  /** The `config.pbtxt` text (ends with a newline). */
  public toPbtxt(): string {
    const out: string[] = [];
    const block = (head: string, items: string[][]): void => {
      out.push(`${head} [`);
      items.forEach((lines, i) => {
        out.push('  {');
        for (const l of lines) out.push(`    ${l}`);
        out.push(i === items.length - 1 ? '  }' : '  },');
      });
      out.push(']');
    };
    const tensor = (t: TritonTensor): string[] => [
      `name: ${q(t.name)}`,
      `data_type: ${t.dataType}`,
      `dims: ${list(t.dims)}`,
      ...(t.reshape !== undefined ? [`reshape: { shape: ${list(t.reshape)} }`] : []),
    ];

    out.push(`name: ${q(this.name)}`);
    if (this.platform !== undefined) out.push(`platform: ${q(this.platform)}`);
    if (this.backend !== undefined) out.push(`backend: ${q(this.backend)}`);
    const vp = this.versionPolicy;
    if (vp !== undefined) {
      if (vp.kind === 'latest') out.push(`version_policy: { latest: { num_versions: ${vp.numVersions} } }`);
      else if (vp.kind === 'all') out.push('version_policy: { all: { } }');
      else out.push(`version_policy: { specific: { versions: ${list(vp.versions)} } }`);
    }
    out.push(`max_batch_size: ${this.maxBatchSize}`);
    if (this.inputs.length > 0) block('input', this.inputs.map(tensor));
    if (this.outputs.length > 0) block('output', this.outputs.map(tensor));
    block(
      'instance_group',
      this.instanceGroups.map((g) => [`count: ${g.count}`, `kind: ${g.kind}`]),
    );
    if (this.writeTransactionPolicy) out.push(`model_transaction_policy { decoupled: ${this.decoupled} }`);
    const db = this.dynamicBatching;
    if (db !== undefined) {
      out.push('dynamic_batching {');
      if (db.preferredBatchSizes && db.preferredBatchSizes.length > 0) {
        out.push(`  preferred_batch_size: ${list(db.preferredBatchSizes)}`);
      }
      if (db.maxQueueDelayMicroseconds !== undefined) {
        out.push(`  max_queue_delay_microseconds: ${db.maxQueueDelayMicroseconds}`);
      }
      out.push('}');
    }
    for (const key of Object.keys(this.parameters).sort()) {
      out.push('parameters {', `  key: ${q(key)}`, `  value: { string_value: ${q(this.parameters[key])} }`, '}');
    }
    if (this.warmup.length > 0) {
      block(
        'model_warmup',
        this.warmup.map((w) => [
          `name: ${q(w.name)}`,
          `batch_size: ${w.batchSize}`,
          ...Object.keys(w.inputs)
            .sort()
            .flatMap((n) => {
              const inp = w.inputs[n];
              return [
                'inputs {',
                `  key: ${q(n)}`,
                '  value: {',
                `    data_type: ${inp.dataType}`,
                `    dims: ${list(inp.dims)}`,
                `    ${(inp.data ?? 'zero') === 'zero' ? 'zero_data' : 'random_data'}: true`,
                '  }',
                '}',
              ];
            }),
        ]),
      );
    }
    return `${out.join('\n')}\n`;
  }
}
