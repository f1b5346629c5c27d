/**
 * What the stand-in reads from its model repository besides sizes: the S3 calls Triton makes, and the model
 * configs a backend checks at load.
 *
 * S3 (core r25.08 `src/filesystem/implementations/s3.h`, `src/filesystem/api.cc`): the S3 file system is created on
 * first use and checks its client with **HeadBucket** (CheckClient), which S3 authorizes as `s3:ListBucket` on the
 * bucket with no `s3:prefix` in the request; denied, every repository call fails with "Unable to create S3 filesystem
 * client. Check account credentials." A repository listing is IsDirectory (HeadBucket again, then ListObjectsV2 with
 * the directory as prefix) and GetDirectoryContents (ListObjectsV2, prefix `<prefix>/`); a model load lists the
 * model's directory and reads its objects with GetObject (`s3:GetObject` on each key).
 *
 * vLLM (vllm_backend r25.08 `src/model.py` _validate_device_config, _init_engine_args): an instance group of
 * `KIND_GPU` is rejected when the model's `model.json` sets `tensor_parallel_size` > 1, and a model that is not
 * decoupled fails the backend's assertion (auto-complete, on by default, makes it decoupled when the config says
 * nothing; `model.py` auto_complete_config).
 */
import { TritonError } from './models';
import { modelConfigSchema, parseModelConfig, TextMessage } from './pbtxt';

/** One S3 request Triton makes, with what IAM authorizes it as. */
export interface S3Call {
  readonly call: 'HeadBucket' | 'ListObjectsV2' | 'GetObject';
  readonly action: 's3:ListBucket' | 's3:GetObject';
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  /** The request's `s3:prefix` (ListObjectsV2 only). */
  readonly prefix?: string;
}

export interface S3Repository {
  /** `s3://bucket/prefix` */
  readonly url: string;
  /** Whether the pod's credentials allow the call (an IAM evaluation, or a plain rule in tests). */
  authorize(call: S3Call): boolean;
}

/** A model's files as the repository holds them (what a backend reads at load). */
export interface ModelFiles {
  /** `config.pbtxt` text. */
  readonly config?: string;
  /** vLLM's `1/model.json` engine arguments. */
  readonly modelJson?: Readonly<Record<string, unknown>>;
}

export class RepositoryAccess {
  private clientReady = false;
  readonly calls: Array<S3Call & { allowed: boolean }> = [];
  private readonly bucket?: string;
  private readonly prefix?: string;

  constructor(
    private readonly s3: S3Repository | undefined,
    private readonly files: Readonly<Record<string, ModelFiles>>,
    private readonly autoComplete: boolean,
  ) {
    if (s3) {
      const m = /^s3:\/\/([^/]+)(?:\/(.*?))?\/?$/.exec(s3.url);
      if (!m) throw new Error(`s3.url: expected s3://bucket[/prefix], got ${JSON.stringify(s3.url)}`);
      this.bucket = m[1];
      this.prefix = m[2] ?? '';
    }
  }

  private request(call: S3Call): boolean {
    const allowed = this.s3!.authorize(call);
    this.calls.push({ ...call, allowed });
    return allowed;
  }

  private headBucket(): boolean {
    return this.request({ call: 'HeadBucket', action: 's3:ListBucket', resource: `arn:aws:s3:::${this.bucket}` });
  }

  private list(dir: string): boolean {
    return this.request({
      call: 'ListObjectsV2',
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${this.bucket}`,
      prefix: dir ? `${dir}/` : '',
    });
  }

  private dir(sub?: string): string {
    return [this.prefix, sub].filter((x) => x).join('/');
  }

  /** core s3.h CheckClient, once per file system (cached after success). */
  private client(): void {
    if (this.clientReady) return;
    if (!this.headBucket()) {
      throw new TritonError(
        'INTERNAL',
        "Unable to create S3 filesystem client. Check account credentials. Exception: 'AccessDenied' Message: 'Access Denied'",
      );
    }
    this.clientReady = true;
  }

  /** The S3 calls of a repository index (IsDirectory + GetDirectorySubdirs of the repository). */
  index(): void {
    if (!this.s3) return;
    this.client();
    if (!this.headBucket())
      throw new TritonError(
        'INTERNAL',
        `Could not get MetaData for bucket with name ${this.bucket} due to exception: AccessDenied, error message: Access Denied`,
      );
    if (!this.list(this.dir()) || !this.list(this.dir())) {
      throw new TritonError(
        'INTERNAL',
        `Could not list contents of directory at s3://${this.bucket}/${this.dir()} ` +
          'due to exception: AccessDenied, error message: Access Denied',
      );
    }
  }

  /**
   * The S3 calls and backend checks of a model load: throws Triton's error when the repository cannot be read;
   * returns why the backend refuses the model (the version ends UNAVAILABLE with that reason), or undefined.
   */
  load(model: string): string | undefined {
    if (this.s3) {
      try {
        this.client();
      } catch {
        // the load's repository poll fails; the S3 message goes to Triton's log
        throw new TritonError('INTERNAL', `failed to load '${model}', failed to poll from model repository`);
      }
      const denied = (): TritonError => new TritonError('INTERNAL', `failed to load '${model}', failed to poll from model repository`);
      if (!this.headBucket() || !this.list(this.dir(model)) || !this.list(this.dir(model))) throw denied();
      for (const key of ['config.pbtxt', '1/model.onnx']) {
        if (!this.request({ call: 'GetObject', action: 's3:GetObject', resource: `arn:aws:s3:::${this.bucket}/${this.dir(model)}/${key}` }))
          throw denied();
      }
    }
    return this.checkBackend(model);
  }

  private checkBackend(model: string): string | undefined {
    const files = this.files[model];
    if (files?.config === undefined) return undefined;
    if (!modelConfigSchema()) throw new Error('the stand-in reads config.pbtxt with ../shared/triton/model_config.proto, which is absent');
    let cfg: TextMessage;
    try {
      cfg = parseModelConfig(files.config);
    } catch (e) {
      return `Invalid argument: failed to read text proto from config.pbtxt: ${(e as Error).message}`;
    }
    if (cfg.backend?.[0] !== 'vllm') return undefined;
    const policy = cfg.model_transaction_policy?.[0] as TextMessage | undefined;
    const decoupled = policy?.decoupled?.[0] ?? this.autoComplete;
    if (decoupled !== true)
      return (
        'version 1 is at UNAVAILABLE state: Internal: AssertionError: ' +
        'vLLM Triton backend must be configured to use decoupled model transaction policy'
      );
    const tp = Number(files.modelJson?.tensor_parallel_size ?? 1);
    // an instance group without a kind is KIND_AUTO, a GPU on a GPU server
    const kinds = (cfg.instance_group ?? []).map((g) => ((g as TextMessage).kind?.[0] ?? 'KIND_GPU') as string);
    if (tp > 1 && kinds.some((k) => k === 'KIND_GPU' || k === 'KIND_AUTO')) {
      return (
        'version 1 is at UNAVAILABLE state: Internal: ValueError: KIND_GPU is currently for single-GPU models, ' +
        "please specify KIND_MODEL in the model's config.pbtxt for multi-GPU models"
      );
    }
    return undefined;
  }
}
