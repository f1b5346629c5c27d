/**
 * A stand-in for Triton Inference Server r25.08 in `--model-control-mode=explicit`, faithful to the behaviours
 * `../shared/triton/README.md` lists (each rule cites the upstream file it reproduces; the model lifecycle, memory and
 * metrics are in models.ts, the gRPC port in grpc.ts, the repository in repository.ts):
 *
 * - HTTP answers for infer and metadata of a model that is not loaded: 404 (NOT_FOUND), or 503 for a given version
 *   that exists but is not READY (server `src/http_server.cc` HttpCodeFromError; core `model_lifecycle.cc` GetModel).
 *   `GET /v2/models/m/ready` of a model that is not ready: 400 "Model version not ready" (HandleModelReady).
 * - `/v2/health/live` is 200 while the process runs; `/v2/health/ready` is 400 under the default
 *   `--strict-readiness=true` while a model is LOADING or UNLOADING and after a failed load, until that model loads
 *   (core `src/server.cc` InferenceServer::IsReady; server HandleServerHealth answers 400 for not ready).
 * - `POST /v2/repository/models/m/unload` answers before the model is gone (core AsyncUnload, `ModelDeleter`).
 * - `POST /v2/repository/models/m/load` over HTTP runs on one of `--http-thread-count` (default 8, server
 *   `src/command_line_parser.h`) HTTP workers for the whole load (server HandleRepositoryControl calls
 *   TRITONSERVER_ServerLoadModelWithParameters on the evhtp worker): each connection is served by one worker
 *   (evhtp hands accepted connections to its threads in turn), and every request on a connection of that worker waits
 *   until the load ends (server#8958). Loads over gRPC (`grpcPort`) block no HTTP worker.
 * - `POST /v2/repository/index` lists the repository on every call (core `model_repository_manager.cc`
 *   RepositoryIndex → GetDirectorySubdirs, on S3 HeadBucket + ListObjectsV2): it can be slow (`indexDelayMs`) or fail
 *   with HTTP 500 (`indexError`) while the server is live. Both can be changed at run time.
 * - Metrics on a separate port (`metricsPort`, Triton's 8002), `GET /metrics`.
 *
 * Not Triton: `GET /_standin/stats` (counters for tests) and `POST /_standin/control` (change `indexDelayMs`,
 * `indexError`, `failLoads`, `holdLoads`, `holdInfers`, `holdUnloads` at run time).
 *
 * Run as a process: `node <compiled triton-standin.js> '<options JSON>'`; it prints
 * `listening on http://HOST:PORT[ grpc HOST:PORT][ metrics http://HOST:PORT]`.
 */
import * as http from 'http';
import type { AddressInfo, Socket } from 'net';
import { parseTritonArgs } from './triton-args';
import { startGrpc, GrpcStats, RunningGrpc } from './grpc';
import { ModelStats, ModelTable, TritonError } from './models';
import { ModelFiles, RepositoryAccess, S3Call, S3Repository } from './repository';

export interface StandinOptions {
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** GPU memory the models may take, in GiB. @default 16 */
  readonly memoryGiB?: number;
  /** The model repository: model name → GiB one loaded copy takes. @default {} */
  readonly models?: Readonly<Record<string, number>>;
  /** When set, any model name is in the repository with this size. @default - only `models` */
  readonly defaultModelGiB?: number;
  /** Fixed part of every load, ms (copies share one host→GPU link: one at a time). @default 0 */
  readonly loadDelayMs?: number;
  /** Host→GPU copy bandwidth in GB/s (10^9 bytes); adds size / bandwidth to each load. @default - none */
  readonly loadGBps?: number;
  /** Extra load time per model, ms (initialisation beside the copy). @default {} */
  readonly loadDelayMsByModel?: Readonly<Record<string, number>>;
  /** Models whose load fails with a Triton error (a bad model file). @default [] */
  readonly failLoads?: readonly string[];
  /** Time the model's destructor takes once its last request released it, ms. @default 20 */
  readonly unloadDelayMs?: number;
  /** Destructor time per model, ms. @default {} */
  readonly unloadDelayMsByModel?: Readonly<Record<string, number>>;
  /** Delay of each infer answer (compute time), ms. @default 0 */
  readonly inferDelayMs?: number;
  /** Compute time per model, ms (overrides `inferDelayMs`). @default {} */
  readonly inferDelayMsByModel?: Readonly<Record<string, number>>;
  /** Execution instances per model (requests beyond wait in its queue). @default - unlimited */
  readonly instances?: Readonly<Record<string, number>>;
  /** Models served by a decoupled backend (vLLM): execute() returns at once, the engine queues. @default [] */
  readonly decoupled?: readonly string[];
  /** Decoupled models with `REPORT_CUSTOM_METRICS` (they export `vllm:*` metrics). @default [] */
  readonly reportCustomMetrics?: readonly string[];
  /** Requests the decoupled engine runs at once. @default 1 */
  readonly engineConcurrency?: number;
  /** Models whose infer requests get their connection closed without an answer (a crashing backend). @default [] */
  readonly resetInfer?: readonly string[];
  /** Models loaded at start. @default [] */
  readonly loaded?: readonly string[];
  /** `--strict-readiness`. @default true (Triton's default) */
  readonly strictReadiness?: boolean;
  /** `--http-thread-count`. @default 8 (Triton's default) */
  readonly httpThreads?: number;
  /** Serve gRPC (RepositoryModelLoad/Unload) on this port (0: any free port). @default - no gRPC endpoint */
  readonly grpcPort?: number;
  /** Serve `/metrics` on this port (0: any free port). @default - no metrics endpoint */
  readonly metricsPort?: number;
  /** Time every repository index read takes, ms. @default 0 */
  readonly indexDelayMs?: number;
  /** When set, every repository index read fails with HTTP 500 and this message. @default - index reads succeed */
  readonly indexError?: string;
  /**
   * `tritonserver` arguments (e.g. a rendered Deployment's), read as Triton does (triton-args.ts): they set
   * `--strict-readiness` and `--http-thread-count`; an argument Triton rejects makes the stand-in fail to start.
   * @default - Triton's defaults
   */
  readonly args?: readonly string[];
  /**
   * The repository is on S3: every index and load makes Triton's S3 calls, each authorized by `s3.authorize`
   * (in-process only: a function does not cross a process boundary). @default - a local repository
   */
  readonly s3?: S3Repository;
  /** Files of models (config.pbtxt, vLLM's model.json) the backend checks at load. @default {} */
  readonly files?: Readonly<Record<string, ModelFiles>>;
}

export interface StandinStats extends ModelStats {
  /** Index reads answered (successfully or not). */
  indexReads: number;
  /** Requests by `METHOD path` (all but `/_standin/*`). */
  paths: Record<string, number>;
  grpcCalls: number;
  /** S3 requests made (with `s3`), in order, and whether each was allowed. */
  s3Calls: Array<S3Call & { allowed: boolean }>;
}

export interface RunningStandin {
  readonly url: string;
  readonly port: number;
  readonly grpcPort?: number;
  readonly metricsUrl?: string;
  /** What Triton would have printed about `args` (deprecations). */
  readonly warnings: readonly string[];
  readonly models: ModelTable;
  stats(): StandinStats;
  readonly grpc?: GrpcStats;
  /** Changes index behaviour, failing and held models at run time (as `POST /_standin/control`). */
  control(c: StandinControl): void;
  close(): Promise<void>;
}

export interface StandinControl {
  readonly indexDelayMs?: number;
  readonly indexError?: string | null;
  readonly failLoads?: readonly string[];
  /** Models whose loads (running or sent later) do not finish until a control names them no more. */
  readonly holdLoads?: readonly string[];
  /** Models whose infer requests (running or sent later) are not answered until a control names them no more. */
  readonly holdInfers?: readonly string[];
  /** Models whose destruction after an unload (running or later) does not end until a control names them no more. */
  readonly holdUnloads?: readonly string[];
}

interface WorkerSocket extends Socket {
  worker?: number;
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready|\/config|\/stats|\/trace\/setting)?$/;

/** One stand-in's state: its model table and repository, readiness rule, index behaviour, counters, HTTP workers. */
interface Standin {
  readonly opts: StandinOptions;
  readonly models: ModelTable;
  readonly repo: RepositoryAccess;
  /** `--strict-readiness`. */
  readonly strict: boolean;
  indexDelayMs: number;
  indexError: string | undefined;
  indexReads: number;
  /** Requests by `METHOD path`. */
  readonly paths: Record<string, number>;
  /** Per HTTP worker: the load it is running (its connections wait for it), if any. */
  readonly blocked: Array<Promise<void> | undefined>;
  grpc?: RunningGrpc;
}

export async function startTritonStandin(opts: StandinOptions = {}): Promise<RunningStandin> {
  const host = opts.host ?? '127.0.0.1';
  const cl = opts.args ? parseTritonArgs(opts.args) : undefined;
  if (cl && cl.errors.length > 0) throw new Error(cl.errors.join('; '));
  const repo = new RepositoryAccess(opts.s3, opts.files ?? {}, cl?.autoCompleteConfig ?? true);
  const threads = opts.httpThreads ?? cl?.httpThreads ?? 8;
  const st: Standin = {
    opts,
    models: modelTableOf(opts, repo),
    repo,
    strict: opts.strictReadiness ?? cl?.strictReadiness ?? true,
    indexDelayMs: opts.indexDelayMs ?? 0,
    indexError: opts.indexError,
    indexReads: 0,
    paths: {},
    blocked: new Array(threads).fill(undefined),
  };
  const server = httpServer(st, threads);
  const port = await listen(server, host, opts.port ?? 0);
  const grpc: RunningGrpc | undefined = opts.grpcPort !== undefined ? await startGrpc(st.models, host, opts.grpcPort) : undefined;
  st.grpc = grpc;
  let metricsServer: http.Server | undefined;
  let metricsPort: number | undefined;
  if (opts.metricsPort !== undefined) {
    metricsServer = metricsHttpServer(st.models);
    metricsPort = await listen(metricsServer, host, opts.metricsPort);
  }
  return {
    url: `http://${host}:${port}`,
    port,
    grpcPort: grpc?.port,
    metricsUrl: metricsPort === undefined ? undefined : `http://${host}:${metricsPort}`,
    warnings: cl?.warnings ?? [],
    models: st.models,
    stats: () => statsOf(st),
    grpc: grpc?.stats,
    control: (c) => applyControl(st, c),
    close: async () => {
      await Promise.all([close(server), grpc?.close(), metricsServer ? close(metricsServer) : undefined]);
    },
  };
}

/** The model table the options describe; each load first reads the repository. */
function modelTableOf(opts: StandinOptions, repo: RepositoryAccess): ModelTable {
  return new ModelTable(
    {
      memoryGiB: opts.memoryGiB ?? 16,
      models: new Map(Object.entries(opts.models ?? {})),
      defaultModelGiB: opts.defaultModelGiB,
      loadDelayMs: opts.loadDelayMs ?? 0,
      loadGBps: opts.loadGBps,
      loadDelayMsByModel: opts.loadDelayMsByModel ?? {},
      unloadDelayMs: opts.unloadDelayMs ?? 20,
      unloadDelayMsByModel: opts.unloadDelayMsByModel ?? {},
      instances: opts.instances ?? {},
      decoupled: opts.decoupled ?? [],
      reportCustomMetrics: opts.reportCustomMetrics ?? [],
      engineConcurrency: opts.engineConcurrency ?? 1,
      beforeLoad: (m) => repo.load(m),
    },
    opts.failLoads ?? [],
    opts.loaded ?? [],
  );
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function empty(res: http.ServerResponse, status = 200): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

const error = (res: http.ServerResponse, e: TritonError): void => json(res, e.httpStatus, { error: e.message });

function applyControl(st: Standin, c: StandinControl): void {
  if (c.indexDelayMs !== undefined) st.indexDelayMs = c.indexDelayMs;
  if (c.indexError !== undefined) st.indexError = c.indexError ?? undefined;
  if (c.failLoads !== undefined) {
    st.models.failing.clear();
    for (const m of c.failLoads) st.models.failing.add(m);
  }
  if (c.holdLoads !== undefined) st.models.hold('load', c.holdLoads);
  if (c.holdInfers !== undefined) st.models.hold('infer', c.holdInfers);
  if (c.holdUnloads !== undefined) st.models.hold('unload', c.holdUnloads);
}

function statsOf(st: Standin): StandinStats {
  return {
    ...st.models.snapshot(),
    indexReads: st.indexReads,
    paths: { ...st.paths },
    grpcCalls: st.grpc?.stats.calls ?? 0,
    s3Calls: [...st.repo.calls],
  };
}

/**
 * The HTTP endpoint: `/_standin/*` at once, Triton's paths on the connection's worker once the load that worker
 * runs (if any) ends. Connections go to the workers in turn, as evhtp hands them to its threads.
 */
function httpServer(st: Standin, threads: number): http.Server {
  let nextWorker = 0;
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (url.startsWith('/_standin/')) {
        if (url === '/_standin/stats') return json(res, 200, statsOf(st));
        if (url === '/_standin/control' && req.method === 'POST') {
          applyControl(st, JSON.parse(Buffer.concat(chunks).toString() || '{}'));
          return json(res, 200, {});
        }
        return json(res, 404, { error: 'Not Found' });
      }
      const worker = (req.socket as WorkerSocket).worker ?? 0;
      const body = Buffer.concat(chunks);
      const wait = st.blocked[worker];
      if (wait === undefined) handleTritonRequest(st, req, res, body, worker);
      else void wait.then(() => handleTritonRequest(st, req, res, body, worker));
    });
  });
  // evhtp hands each accepted connection to its worker threads in turn
  server.on('connection', (s: WorkerSocket) => {
    s.worker = nextWorker;
    nextWorker = (nextWorker + 1) % threads;
  });
  server.keepAliveTimeout = 65000;
  return server;
}

/** Triton's HTTP API: health, server metadata, repository index and control, model metadata, readiness and infer. */
function handleTritonRequest(st: Standin, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, worker: number): void {
  const { models } = st;
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method;
  const key = `${method} ${path}`;
  st.paths[key] = (st.paths[key] ?? 0) + 1;
  if (path === '/v2/health/live') return empty(res);
  if (path === '/v2/health/ready') return empty(res, !st.strict || models.strictlyReady() ? 200 : 400);
  if (method === 'GET' && path === '/v2') return json(res, 200, { name: 'triton', version: '2.60.0', extensions: ['model_repository'] });
  if (method === 'POST' && path === '/v2/repository/index') return answerIndex(st, res, body);
  const rm = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(path);
  if (method === 'POST' && rm) {
    const name = decodeURIComponent(rm[1]);
    if (rm[2] === 'unload') {
      models.unload(name);
      return json(res, 200, {});
    }
    return loadOnWorker(st, res, name, worker);
  }
  if (path === '/v2/models/stats' || path === '/v2/trace/setting' || path === '/v2/logging') return json(res, 200, {});
  const mm = MODEL_PATH.exec(path);
  if (mm) {
    const name = decodeURIComponent(mm[1]);
    const version = mm[2];
    const what = mm[3] ?? '';
    if (what === '/config' || what === '/stats' || what === '/trace/setting') return json(res, 200, {});
    if (what === '/ready' && method === 'GET') {
      return models.state(name) === 'READY' && (version === undefined || version === '1')
        ? empty(res)
        : json(res, 400, { error: 'Model version not ready' });
    }
    if ((what === '/infer' && method === 'POST') || (what === '' && method === 'GET')) {
      const missing = models.getModel(name, version);
      if (missing) {
        models.stats.notLoaded++;
        return error(res, missing);
      }
      if (what === '') return answerModelMetadata(res, name);
      return answerInfer(st, req, res, body, name, version);
    }
  }
  json(res, 404, { error: 'Not Found' });
}

/** `POST /v2/repository/index`: reads the repository (after `indexDelayMs`, or fails with `indexError`), then lists the models. */
function answerIndex(st: Standin, res: http.ServerResponse, body: Buffer): void {
  let ready = false;
  try {
    const parsed = body.length > 0 ? JSON.parse(body.toString()) : {};
    ready = parsed.ready === true;
  } catch {
    return json(res, 400, { error: 'failed to parse the request JSON buffer' });
  }
  const answer = (): void => {
    st.indexReads++;
    if (st.indexError !== undefined) return json(res, 500, { error: st.indexError });
    try {
      st.repo.index();
    } catch (e) {
      return error(res, e as TritonError);
    }
    json(res, 200, st.models.index(ready));
  };
  // unref: as models.ts sleep, a delay never holds a process open by itself
  if (st.indexDelayMs > 0) setTimeout(answer, st.indexDelayMs).unref();
  else answer();
}

/** `POST /v2/repository/models/m/load`: the load runs on this HTTP worker, whose other connections wait until it ends. */
function loadOnWorker(st: Standin, res: http.ServerResponse, name: string, worker: number): void {
  const { blocked } = st;
  const load = st.models.load(name);
  const done = load.then(
    () => undefined,
    () => undefined,
  );
  blocked[worker] = done;
  void done.then(() => {
    if (blocked[worker] === done) blocked[worker] = undefined;
  });
  load.then(
    () => json(res, 200, {}),
    (e: Error) => (e instanceof TritonError ? error(res, e) : json(res, 500, { error: e.message })),
  );
}

function answerModelMetadata(res: http.ServerResponse, name: string): void {
  json(res, 200, {
    name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
  });
}

/** `POST /v2/models/m/infer` of a loaded model: echoes its first input as OUTPUT0 after the model's compute time. */
function answerInfer(
  st: Standin,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  name: string,
  version: string | undefined,
): void {
  const { models, opts } = st;
  models.acquire(name);
  if (opts.resetInfer?.includes(name)) {
    models.release(name);
    req.socket.destroy();
    return;
  }
  let parsed: { id?: string; inputs?: Array<{ name: string; shape: number[]; datatype: string; data: unknown }> };
  try {
    parsed = JSON.parse(body.toString() || '{}');
  } catch {
    models.release(name);
    return json(res, 400, { error: 'failed to parse the request JSON buffer: Invalid value.' });
  }
  if (!Array.isArray(parsed.inputs)) {
    models.release(name);
    return json(res, 400, { error: "Unable to find 'inputs' in JSON request" });
  }
  const first = parsed.inputs[0];
  const answer = {
    model_name: name,
    model_version: version ?? '1',
    ...(parsed.id !== undefined ? { id: parsed.id } : {}),
    outputs: [{ name: 'OUTPUT0', datatype: first?.datatype ?? 'FP32', shape: first?.shape ?? [0], data: first?.data ?? [] }],
  };
  const delay = opts.inferDelayMsByModel?.[name] ?? opts.inferDelayMs ?? 0;
  const plain = opts.instances === undefined && opts.decoupled === undefined && opts.metricsPort === undefined;
  if (delay === 0 && plain && !models.holds('infer', name)) {
    // the common case, without the scheduler's bookkeeping (nobody reads the metrics)
    json(res, 200, answer);
    models.release(name);
    return;
  }
  void models.execute(name, delay).then(() => {
    if (!res.destroyed) json(res, 200, answer);
    models.release(name);
  });
}

/** Triton's metrics port: `GET /metrics`. */
function metricsHttpServer(models: ModelTable): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    if (req.url === '/metrics') {
      const text = models.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } else json(res, 404, { error: 'Not Found' });
  });
}

function listen(s: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
  });
}

function close(s: http.Server): Promise<void> {
  return new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });
}

if (require.main === module) {
  let opts: StandinOptions;
  try {
    opts = JSON.parse(process.argv[2] ?? '{}');
  } catch {
    process.stderr.write(`triton-standin: options: expected JSON, got ${JSON.stringify(process.argv[2])}\n`);
    process.exit(2);
  }
  startTritonStandin(opts).then(
    (s) => {
      const host = opts.host ?? '127.0.0.1';
      process.stdout.write(
        `listening on ${s.url}${s.grpcPort !== undefined ? ` grpc ${host}:${s.grpcPort}` : ''}` +
          `${s.metricsUrl ? ` metrics ${s.metricsUrl}` : ''}\n`,
      );
    },
    (e: Error) => {
      process.stderr.write(`triton-standin: ${e.message}\n`);
      process.exit(1);
    },
  );
}
