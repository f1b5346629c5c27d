/**
 * What the model repository must hold before a Triton pool becomes ready: for each model, its `config.pbtxt`
 * (which `pulumi up` uploads, `ModelRepositoryBucket.putModelConfigs`) and its model file in a numeric version
 * directory, which only the model's owner can upload.
 *
 * Triton r25.08 looks for a version directory under `<model>/` (core `src/model_repository_manager/model_lifecycle.cc`
 * VersionsToLoad: "at least one version must be available under the version policy") and, without
 * `default_model_filename`, for its backend's default file in it (core `src/constants.h`: `model.onnx`, `model.plan`,
 * `model.pt`, `model.savedmodel`, `model.graphdef`, `model.xml`, `model.py`); the vLLM backend reads `model.json`
 * (vllm_backend r25.08 `src/model.py`). A model named by `--load-model` that fails to load fails the server's start
 * (core `src/server.cc` InferenceServer::Init returns the model repository manager's error).
 */
import type { TritonModelConfig } from '../k8s/serving/triton-model-config';

/** Default model file of a Triton platform or backend; undefined when the backend reads files it names itself. */
const DEFAULT_MODEL_FILE: Readonly<Record<string, string>> = {
  onnxruntime_onnx: 'model.onnx',
  onnxruntime: 'model.onnx',
  tensorrt_plan: 'model.plan',
  tensorrt: 'model.plan',
  pytorch_libtorch: 'model.pt',
  pytorch: 'model.pt',
  tensorflow_savedmodel: 'model.savedmodel/',
  tensorflow_graphdef: 'model.graphdef',
  openvino: 'model.xml',
  python: 'model.py',
  vllm: 'model.json',
};

/** What one model needs in the repository. */
export interface ModelRepositoryEntry {
  /** `s3://bucket/prefix/<model>/config.pbtxt`: uploaded by `pulumi up`. */
  readonly config: string;
  /** Files the owner uploads, e.g. `s3://bucket/prefix/resnet50/1/model.onnx` (a folder ends in `/`). */
  readonly upload: readonly string[];
  /** Set when the backend's files cannot be named here (`dali`, `fil`, `identity`, `tensorrtllm`, ...). */
  readonly note?: string;
}

/** The file each model needs under `repositoryUri` (`s3://bucket/prefix`), by model name, sorted. */
export function modelRepositoryContents(
  models: readonly Pick<TritonModelConfig, 'name' | 'platform' | 'backend' | 'versionPolicy'>[],
  repositoryUri: string,
): Record<string, ModelRepositoryEntry> {
  const root = repositoryUri.replace(/\/+$/, '');
  const out: Record<string, ModelRepositoryEntry> = {};
  for (const m of [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const versions = m.versionPolicy?.kind === 'specific' ? [...m.versionPolicy.versions].sort((a, b) => a - b) : [1];
    const kind = m.platform ?? m.backend;
    const file = kind === undefined ? undefined : DEFAULT_MODEL_FILE[kind];
    out[m.name] = {
      config: `${root}/${m.name}/config.pbtxt`,
      upload: versions.map((v) => `${root}/${m.name}/${v}/${file ?? ''}`),
      ...(file === undefined ? { note: `the files the ${kind ?? "model's"} backend reads, in the version folder` } : {}),
    };
  }
  return out;
}
