/**
 * The model side of the Triton stand-in: each model's lifecycle, the GPU memory it holds, its scheduler and the
 * metrics Triton reports for it. Every rule names the Triton r25.08 source it reproduces
 * (core = triton-inference-server/core, server = triton-inference-server/server, tag r25.08).
 *
 * - States and reasons: core `src/model_repository_manager/model_lifecycle.{h,cc}`: a loading version is LOADING;
 *   a loaded one READY; `AsyncUnload` calls `ModelInfo::Release()`, which sets UNLOADING (reason cleared) and drops
 *   the lifecycle's reference; the model is destroyed on a detached thread (`ModelDeleter`) once the last in-flight
 *   request releases its reference, and only then is the version UNAVAILABLE with reason "unloaded" (and its GPU
 *   memory free). A failed load leaves UNAVAILABLE with the error as reason.
 * - `GetModel` (what infer and metadata use): no entry → NOT_FOUND "'m' is not found"; latest version (-1) without a
 *   READY version → NOT_FOUND "'m' has no available versions"; a given version that exists but is not READY →
 *   UNAVAILABLE "'m' version N is not at ready state"; a given version that does not exist → NOT_FOUND
 *   "'m' version N is not found". `ModelRepositoryManager::GetModel` prefixes "Request for unknown model: ".
 * - Memory: the stand-in's budget plays the GPU. A load whose bytes do not fit beside every LOADING, READY and
 *   UNLOADING version fails as CUDA out-of-memory does (the load fails, the version is UNAVAILABLE with the error).
 *   Such loads are counted; `loadsIntoUnfreedMemory` counts those that would have fitted had the UNLOADING versions
 *   been destroyed already: loads sent into memory not yet free.
 * - A load of a model that is LOADING waits for that load (core `model_repository_manager.cc` LoadUnloadModels:
 *   a conflicting request blocks, then retries) and a load of a READY model with an unchanged directory does nothing.
 * - A failed load is `INVALID_ARG` "load failed for model 'm': ..." (core `model_repository_manager.cc`
 *   LoadUnloadModels); a model missing from the repository is INTERNAL "failed to load 'm', failed to poll from model
 *   repository" (LoadUnloadModel).
 * - Metrics (core `src/metrics.cc`, `src/infer_stats.cc` UpdateSuccess): counters per (model, version),
 *   `nv_inference_request_success` and `nv_inference_queue_duration_us` move when a request completes successfully;
 *   `nv_inference_pending_request_count` is the number of requests waiting in the model's scheduler. A decoupled
 *   model (the vLLM backend, vllm_backend r25.08 `src/model.py` execute) hands each request to its engine and
 *   returns at once: its queue time stays near 0 whatever the engine's backlog; the engine's own `vllm:*` metrics
 *   (vllm_backend `src/utils/metrics.py`) exist only with the model parameter `REPORT_CUSTOM_METRICS`.
 */

export type ModelReadyState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

/** A Triton status code (core `src/status.h`), mapped to HTTP by server `src/http_server.cc` HttpCodeFromError. */
export type TritonCode = 'NOT_FOUND' | 'INVALID_ARG' | 'INTERNAL' | 'UNAVAILABLE' | 'UNSUPPORTED';

export class TritonError extends Error {
  constructor(
    readonly code: TritonCode,
    message: string,
  ) {
    super(message);
  }

  /** server `src/http_server.cc` HttpCodeFromError. */
  get httpStatus(): number {
    return { NOT_FOUND: 404, INTERNAL: 500, UNAVAILABLE: 503, UNSUPPORTED: 501, INVALID_ARG: 400 }[this.code];
  }

  /** server `src/grpc/grpc_utils.cc` GrpcStatusUtil::CodeToStatus. */
  get grpcStatus(): number {
    return { NOT_FOUND: 5, INTERNAL: 13, UNAVAILABLE: 14, UNSUPPORTED: 12, INVALID_ARG: 3 }[this.code];
  }
}

/** What `ModelTable.hold` can hold: a model's load, its requests, or its destruction after an unload. */
export type HoldKind = 'load' | 'infer' | 'unload';

export interface ModelTableOptions {
  readonly memoryGiB: number;
  /** Model name → GiB of one loaded copy (the repository). */
  readonly models: ReadonlyMap<string, number>;
  readonly defaultModelGiB?: number;
  readonly loadDelayMs: number;
  readonly loadGBps?: number;
  readonly loadDelayMsByModel: Readonly<Record<string, number>>;
  readonly unloadDelayMs: number;
  readonly unloadDelayMsByModel: Readonly<Record<string, number>>;
  readonly instances: Readonly<Record<string, number>>;
  readonly decoupled: readonly string[];
  readonly reportCustomMetrics: readonly string[];
  readonly engineConcurrency: number;
  /**
   * Reads the model from the repository before a load: throws Triton's error when it cannot (the load fails, no
   * version), returns why the backend refuses the model (the version ends UNAVAILABLE with that reason).
   */
  readonly beforeLoad?: (model: string) => string | undefined;
}

interface Version {
  state: ModelReadyState;
  reason: string;
  /** GiB this version holds on the GPU (LOADING, READY, UNLOADING). */
  gib: number;
  /** Requests holding a reference to the loaded model (core: shared_ptr copies held by requests). */
  inFlight: number;
  load?: Promise<void>;
  /** Set when an unload arrived while loading: the load, once done, is unloaded (core AsyncUnload's timestamp). */
  unloadAfterLoad?: boolean;
}

interface Series {
  success: number;
  failure: number;
  queueUs: number;
  requestUs: number;
  pending: number;
  ttftSum: number;
  ttftCount: number;
  ttftBuckets: number[];
}

/** vllm_backend r25.08 `src/utils/metrics.py`: buckets of `vllm:time_to_first_token_seconds`. */
export const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

const GIB = 1024 ** 3;
const round2 = (x: number): number => Math.round(x * 100) / 100;
/**
 * The stand-in's delays (compute, copy, destructor, index) never keep a process alive by themselves: its servers do while
 * it runs; once it is closed, what was pending goes with it, as with a Triton process that is stopped.
 */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export interface ModelStats {
  /** Load requests received (HTTP or gRPC), by model. */
  loadRequests: number;
  loadRequestsByModel: Record<string, number>;
  /** Loads that ended READY. */
  loads: number;
  loadsByModel: Record<string, number>;
  failedLoads: number;
  /** Most loads running at once. */
  maxConcurrentLoads: number;
  /** Loads that failed because the GPU memory was full. */
  oomLoads: number;
  /** Of those, loads that would have fitted had every UNLOADING version already been destroyed. */
  loadsIntoUnfreedMemory: number;
  unloads: number;
  infers: number;
  infersByModel: Record<string, number>;
  /** Infer or metadata requests for a model that was not READY (answered 404/503). */
  notLoaded: number;
  usedGiB: number;
  maxUsedGiB: number;
  loaded: string[];
}

export class ModelTable {
  private readonly versions = new Map<string, Version>();
  /** Versions replaced by a new load of the same model while still UNLOADING: they hold memory until destroyed. */
  private readonly background = new Set<Version>();
  private readonly series = new Map<string, Series>();
  private copyChain: Promise<void> = Promise.resolve();
  private loadsRunning = 0;
  /** Per-model scheduler: free execution slots and the requests waiting for one. */
  private readonly slots = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private engineFree: number;
  private readonly engineQueue: Array<() => void> = [];
  readonly failing: Set<string>;
  /**
   * Models whose loads (their copy and initialisation time over), requests (their compute time over) or destruction
   * (its time over) wait until `hold` no longer names them.
   */
  private readonly held: Record<HoldKind, Set<string>> = { load: new Set(), infer: new Set(), unload: new Set() };
  private readonly heldWaiters: Array<() => void> = [];
  readonly stats: ModelStats = {
    loadRequests: 0,
    loadRequestsByModel: {},
    loads: 0,
    loadsByModel: {},
    failedLoads: 0,
    maxConcurrentLoads: 0,
    oomLoads: 0,
    loadsIntoUnfreedMemory: 0,
    unloads: 0,
    infers: 0,
    infersByModel: {},
    notLoaded: 0,
    usedGiB: 0,
    maxUsedGiB: 0,
    loaded: [],
  };

  /**
   * Holds the loads, requests or destruction of `models` (a step that lasts as long as a test needs, without a timer
   * that must outlast a loaded machine); those of models no longer named finish.
   */
  hold(kind: HoldKind, models: readonly string[]): void {
    this.held[kind] = new Set(models);
    for (const release of this.heldWaiters.splice(0)) release();
  }

  /** Whether `hold(kind, …)` names `model`. */
  holds(kind: HoldKind, model: string): boolean {
    return this.held[kind].has(model);
  }

  /** Resolves once `hold(kind, …)` does not name `model` (at once when it does not). */
  private async whileHeld(kind: HoldKind, model: string): Promise<void> {
    while (this.held[kind].has(model)) await new Promise<void>((resolve) => this.heldWaiters.push(resolve));
  }

  constructor(
    private readonly opts: ModelTableOptions,
    failLoads: readonly string[],
    loaded: readonly string[],
  ) {
    this.failing = new Set(failLoads);
    this.engineFree = opts.engineConcurrency;
    for (const m of loaded) this.versions.set(m, { state: 'READY', reason: '', gib: this.sizeOf(m) ?? 0, inFlight: 0 });
  }

  sizeOf(model: string): number | undefined {
    return this.opts.models.get(model) ?? this.opts.defaultModelGiB;
  }

  /** GiB held on the GPU: versions LOADING, READY or UNLOADING, and replaced versions not yet destroyed. */
  get usedGiB(): number {
    let s = 0;
    for (const v of this.versions.values()) if (v.state !== 'UNAVAILABLE') s += v.gib;
    for (const v of this.background) s += v.gib;
    return s;
  }

  /** GiB held by versions being unloaded (destroyed once their last request is done). */
  private get unloadingGiB(): number {
    let s = 0;
    for (const v of this.versions.values()) if (v.state === 'UNLOADING') s += v.gib;
    for (const v of this.background) s += v.gib;
    return s;
  }

  state(model: string): ModelReadyState | undefined {
    return this.versions.get(model)?.state;
  }

  /**
   * core `src/server.cc` InferenceServer::IsReady under `--strict-readiness=true`: not ready while any model has no
   * version, or a version that is neither READY nor UNAVAILABLE with reason "unloaded" (LOADING, UNLOADING, a failed
   * load).
   */
  strictlyReady(): boolean {
    for (const v of this.versions.values()) {
      if (v.state !== 'READY' && v.reason !== 'unloaded') return false;
    }
    return true;
  }

  /**
   * core `model_repository_manager.cc` RepositoryIndex + `tritonserver.cc` TRITONSERVER_ServerModelIndex: every
   * model directory, with version/state/reason when the model has a lifecycle entry (reason only when not empty);
   * `ready` keeps READY versions only.
   */
  index(readyOnly: boolean): Array<{ name: string; version?: string; state?: string; reason?: string }> {
    const names = new Set<string>([...this.opts.models.keys(), ...this.versions.keys()]);
    const out: Array<{ name: string; version?: string; state?: string; reason?: string }> = [];
    for (const name of [...names].sort()) {
      const v = this.versions.get(name);
      if (!v) {
        if (!readyOnly) out.push({ name });
        continue;
      }
      if (readyOnly && v.state !== 'READY') continue;
      out.push({ name, version: '1', state: v.state, ...(v.reason ? { reason: v.reason } : {}) });
    }
    return out;
  }

  /** core `model_lifecycle.cc` GetModel, as `ModelRepositoryManager::GetModel` reports it. */
  getModel(model: string, version: string | undefined): TritonError | undefined {
    const v = this.versions.get(model);
    const unknown = (msg: string, code: TritonCode = 'NOT_FOUND'): TritonError =>
      new TritonError(code, `Request for unknown model: ${msg}`);
    if (!v) return unknown(`'${model}' is not found`);
    if (version === undefined || version === '-1') return v.state === 'READY' ? undefined : unknown(`'${model}' has no available versions`);
    if (version !== '1') return unknown(`'${model}' version ${version} is not found`);
    return v.state === 'READY' ? undefined : unknown(`'${model}' version 1 is not at ready state`, 'UNAVAILABLE');
  }

  /** Starts one request on a READY model: the request holds the model until `release`. */
  acquire(model: string): void {
    const v = this.versions.get(model)!;
    v.inFlight++;
    this.stats.infers++;
    this.stats.infersByModel[model] = (this.stats.infersByModel[model] ?? 0) + 1;
  }

  /** The request released its reference; the last one lets an UNLOADING model be destroyed. */
  release(model: string): void {
    const v = this.versions.get(model);
    if (!v) return;
    v.inFlight--;
    if (v.state === 'UNLOADING' && v.inFlight === 0) this.destroy(model, v);
  }

  /**
   * Runs one request through the model's scheduler and backend: waits for a free instance (queue time), then
   * `computeMs`. A decoupled model's `execute` returns at once (queue time ~0) and the request waits in the engine
   * instead (time to first token).
   */
  async execute(model: string, computeMs: number): Promise<void> {
    const s = this.seriesOf(model);
    const queued = process.hrtime.bigint();
    const limit = this.opts.instances[model];
    if (limit !== undefined) {
      const free = this.slots.get(model) ?? limit;
      if (free > 0) this.slots.set(model, free - 1);
      else {
        s.pending++;
        await new Promise<void>((r) => {
          const q = this.waiting.get(model) ?? [];
          q.push(r);
          this.waiting.set(model, q);
        });
        s.pending--;
      }
    }
    const started = process.hrtime.bigint();
    const decoupled = this.opts.decoupled.includes(model);
    const queueUs = Number(started - queued) / 1000;
    try {
      if (decoupled) {
        // execute() hands the request to the engine and returns: the instance is free again at once
        this.freeSlot(model, limit);
        if (this.engineFree > 0) this.engineFree--;
        else await new Promise<void>((r) => this.engineQueue.push(r));
        if (computeMs > 0) await sleep(computeMs);
        await this.whileHeld('infer', model);
        const ttft = Number(process.hrtime.bigint() - started) / 1e9;
        if (this.opts.reportCustomMetrics.includes(model)) {
          s.ttftSum += ttft;
          s.ttftCount++;
          TTFT_BUCKETS.forEach((b, i) => {
            if (ttft <= b) s.ttftBuckets[i]++;
          });
        }
        const next = this.engineQueue.shift();
        if (next) next();
        else this.engineFree++;
      } else {
        if (computeMs > 0) await sleep(computeMs);
        await this.whileHeld('infer', model);
        this.freeSlot(model, limit);
      }
    } finally {
      s.success++;
      s.queueUs += queueUs;
      s.requestUs += Number(process.hrtime.bigint() - queued) / 1000;
    }
  }

  private freeSlot(model: string, limit: number | undefined): void {
    if (limit === undefined) return;
    const next = this.waiting.get(model)?.shift();
    if (next) next();
    else this.slots.set(model, (this.slots.get(model) ?? 0) + 1);
  }

  private seriesOf(model: string): Series {
    let s = this.series.get(model);
    if (!s) {
      s = {
        success: 0,
        failure: 0,
        queueUs: 0,
        requestUs: 0,
        pending: 0,
        ttftSum: 0,
        ttftCount: 0,
        ttftBuckets: TTFT_BUCKETS.map(() => 0),
      };
      this.series.set(model, s);
    }
    return s;
  }

  /** A load request (HTTP or gRPC): resolves when the load is over, rejects with Triton's error. */
  async load(model: string): Promise<void> {
    this.stats.loadRequests++;
    this.stats.loadRequestsByModel[model] = (this.stats.loadRequestsByModel[model] ?? 0) + 1;
    const gib = this.sizeOf(model);
    if (gib === undefined) throw new TritonError('INTERNAL', `failed to load '${model}', failed to poll from model repository`);
    const cur = this.versions.get(model);
    if (cur?.state === 'LOADING') {
      await cur.load;
      return this.loadResult(model);
    }
    if (cur?.state === 'READY') return undefined;
    const refused = this.opts.beforeLoad?.(model);
    // a new version entry; an UNLOADING one of the same model keeps its memory until destroyed (core keeps it in
    // background_models_)
    // The memory is judged when the load is sent: a load that does not fit beside what the GPU holds at that moment
    // runs out of memory (the stand-in does not bet on an unload finishing during the copy).
    const unfreed = this.unloadingGiB;
    const used = this.usedGiB;
    const budget = this.opts.memoryGiB;
    const oom = used + gib > budget + 1e-9;
    if (cur?.state === 'UNLOADING') this.background.add(cur);
    const v: Version = { state: 'LOADING', reason: '', gib, inFlight: 0 };
    this.versions.set(model, v);
    const copyMs = this.opts.loadDelayMs + (this.opts.loadGBps ? ((gib * GIB) / (this.opts.loadGBps * 1e9)) * 1000 : 0);
    const extraMs = this.opts.loadDelayMsByModel[model] ?? 0;
    this.loadsRunning++;
    this.stats.maxConcurrentLoads = Math.max(this.stats.maxConcurrentLoads, this.loadsRunning);
    v.load = (async () => {
      // host→GPU copies share one link: one at a time
      await new Promise<void>((resolve) => {
        this.copyChain = this.copyChain.then(() => sleep(copyMs)).then(resolve);
      });
      if (extraMs > 0) await sleep(extraMs);
      await this.whileHeld('load', model);
      let error: string | undefined;
      if (oom) {
        this.stats.oomLoads++;
        if (used - unfreed + gib <= budget + 1e-9) this.stats.loadsIntoUnfreedMemory++;
        error =
          'version 1 is at UNAVAILABLE state: Internal: onnx runtime error 6: CUDA failure 2: out of memory ; ' +
          `GPU memory ${budget} GiB, ${round2(used)} GiB in use ` +
          `(${round2(unfreed)} GiB of it by models still unloading), model needs ${gib} GiB`;
      } else if (refused !== undefined) {
        error = refused;
      } else if (this.failing.has(model)) {
        error = 'version 1 is at UNAVAILABLE state: Internal: failed to load model file model.onnx: protobuf parsing failed';
      }
      if (error !== undefined) {
        v.state = 'UNAVAILABLE';
        v.reason = error;
        v.gib = 0;
        this.stats.failedLoads++;
        return;
      }
      v.state = 'READY';
      this.stats.loads++;
      this.stats.loadsByModel[model] = (this.stats.loadsByModel[model] ?? 0) + 1;
      this.stats.maxUsedGiB = Math.max(this.stats.maxUsedGiB, this.usedGiB);
      if (v.unloadAfterLoad) this.unload(model);
    })().finally(() => {
      this.loadsRunning--;
    });
    await v.load;
    return this.loadResult(model);
  }

  private loadResult(model: string): void {
    const v = this.versions.get(model)!;
    if (v.state === 'READY') return;
    throw new TritonError('INVALID_ARG', `load failed for model '${model}': ${v.reason}\n`);
  }

  /**
   * core `model_lifecycle.cc` AsyncUnload: READY → UNLOADING at once, reply before the model is gone; the model is
   * destroyed once no request holds it, then (after the destructor's time) UNAVAILABLE "unloaded" and its memory free.
   * Unloading a model that is not loaded succeeds and changes nothing.
   */
  unload(model: string): void {
    const v = this.versions.get(model);
    if (!v) return;
    if (v.state === 'LOADING') {
      v.unloadAfterLoad = true;
      return;
    }
    if (v.state !== 'READY') return;
    v.state = 'UNLOADING';
    v.reason = '';
    this.stats.unloads++;
    if (v.inFlight === 0) this.destroy(model, v);
  }

  private destroy(model: string, v: Version): void {
    const ms = this.opts.unloadDelayMsByModel[model] ?? this.opts.unloadDelayMs;
    const done = (): void => {
      v.gib = 0;
      if (this.background.delete(v)) return;
      if (this.versions.get(model) === v) {
        v.state = 'UNAVAILABLE';
        v.reason = 'unloaded';
      }
    };
    const finish = (): void => {
      if (this.held.unload.has(model)) void this.whileHeld('unload', model).then(done);
      else done();
    };
    if (ms > 0) setTimeout(finish, ms).unref();
    else finish();
  }

  snapshot(): ModelStats {
    this.stats.loaded = [...this.versions.entries()]
      .filter(([, v]) => v.state === 'READY')
      .map(([n]) => n)
      .sort();
    this.stats.usedGiB = round2(this.usedGiB);
    return this.stats;
  }

  /** Prometheus text of the per-model metrics (server `docs/user_guide/metrics.md`). */
  metrics(): string {
    const out: string[] = [];
    const names = [...this.series.keys()].sort();
    const fam = (name: string, type: string, help: string, value: (s: Series) => number): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const m of names) out.push(`${name}{model="${m}",version="1"} ${value(this.series.get(m)!)}`);
    };
    fam('nv_inference_request_success', 'counter', 'Number of successful inference requests, all batch sizes', (s) => s.success);
    fam('nv_inference_request_failure', 'counter', 'Number of failed inference requests, all batch sizes', (s) => s.failure);
    fam(
      'nv_inference_request_duration_us',
      'counter',
      'Cumulative inference request duration in microseconds (includes cached requests)',
      (s) => Math.round(s.requestUs),
    );
    fam(
      'nv_inference_queue_duration_us',
      'counter',
      'Cumulative inference queuing duration in microseconds (includes cached requests)',
      (s) => Math.round(s.queueUs),
    );
    fam(
      'nv_inference_pending_request_count',
      'gauge',
      'Instantaneous number of pending requests awaiting execution per-model.',
      (s) => s.pending,
    );
    const custom = names.filter((m) => this.opts.reportCustomMetrics.includes(m));
    if (custom.length > 0) {
      out.push(
        '# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.',
        '# TYPE vllm:time_to_first_token_seconds histogram',
      );
      for (const m of custom) {
        const s = this.series.get(m)!;
        TTFT_BUCKETS.forEach((b, i) =>
          out.push(`vllm:time_to_first_token_seconds_bucket{model="${m}",version="1",le="${b}"} ${s.ttftBuckets[i]}`),
        );
        out.push(`vllm:time_to_first_token_seconds_bucket{model="${m}",version="1",le="+Inf"} ${s.ttftCount}`);
        out.push(`vllm:time_to_first_token_seconds_sum{model="${m}",version="1"} ${s.ttftSum}`);
        out.push(`vllm:time_to_first_token_seconds_count{model="${m}",version="1"} ${s.ttftCount}`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}
