/**
 * The Triton stand-in itself, one block per row of `../shared/triton/README.md` (Triton r25.08's behaviour, with the
 * upstream file each rule comes from). The router tests are only as good as this stand-in: these tests pin it to what
 * Triton does, not to what the router expects. In-process (no child processes): fast.
 */
import * as http from 'http';
import * as http2 from 'http2';
import { encodeLoadRequest } from '../constructs/runtime/grpc-repository';
import {
  LoadRequest,
  MODEL_CONFIG_PROTO,
  modelConfigSchema,
  parseTritonArgs,
  RunningStandin,
  StandinOptions,
  startTritonStandin,
} from '../constructs/runtime/standin';
import { testIf } from './support/notes';
import { inferBody, Reply, request } from './support/triton-standin-procs';

const running: RunningStandin[] = [];
async function standin(opts: StandinOptions): Promise<RunningStandin> {
  const s = await startTritonStandin(opts);
  running.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(running.map((s) => s.close()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const index = async (s: RunningStandin): Promise<any[]> => (await request(s.url, 'POST', '/v2/repository/index', {})).json();
const entry = async (s: RunningStandin, m: string): Promise<any> => (await index(s)).find((e) => e.name === m);
const load = (s: RunningStandin, m: string, agent?: http.Agent): Promise<Reply> =>
  request(s.url, 'POST', `/v2/repository/models/${m}/load`, undefined, agent ? { agent } : {});
const unload = (s: RunningStandin, m: string): Promise<Reply> => request(s.url, 'POST', `/v2/repository/models/${m}/unload`);
const infer = (s: RunningStandin, m: string, path = `/v2/models/${m}/infer`): Promise<Reply> => request(s.url, 'POST', path, inferBody());
async function waitUntil(what: string, check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// core model_lifecycle.cc GetModel; server http_server.cc HttpCodeFromError
describe('infer or metadata for a model that is not loaded: 404', () => {
  test('never loaded: 404 "is not found"; readiness 400', async () => {
    const s = await standin({ defaultModelGiB: 1 });
    const r = await infer(s, 'm');
    expect(r.status).toBe(404);
    expect(r.json()).toEqual({ error: "Request for unknown model: 'm' is not found" });
    expect((await request(s.url, 'GET', '/v2/models/m')).status).toBe(404);
    const ready = await request(s.url, 'GET', '/v2/models/m/ready');
    expect([ready.status, ready.json().error]).toEqual([400, 'Model version not ready']);
  });

  test('unloaded (or unloading): 404 "has no available versions"; a given version that is not READY: 503', async () => {
    const s = await standin({ defaultModelGiB: 1, unloadDelayMs: 50 });
    expect((await load(s, 'm')).status).toBe(200);
    expect((await infer(s, 'm')).status).toBe(200);
    expect((await unload(s, 'm')).status).toBe(200);
    for (const path of ['/v2/models/m/infer', '/v2/models/m/versions/1/infer']) {
      const r = await infer(s, 'm', path);
      expect([r.status, r.json().error]).toEqual(
        path.includes('versions')
          ? [503, "Request for unknown model: 'm' version 1 is not at ready state"]
          : [404, "Request for unknown model: 'm' has no available versions"],
      );
    }
    const v2 = await infer(s, 'm', '/v2/models/m/versions/2/infer');
    expect([v2.status, v2.json().error]).toEqual([404, "Request for unknown model: 'm' version 2 is not found"]);
  });
});

// core server.cc InferenceServer::IsReady; server http_server.cc HandleServerHealth
describe('/v2/health/ready under --strict-readiness', () => {
  test('strict (the default): 400 while a model loads and after a failed load, until that model loads; live stays 200', async () => {
    const s = await standin({ defaultModelGiB: 1, failLoads: ['bad'] });
    const health = async (): Promise<[number, number]> => [
      (await request(s.url, 'GET', '/v2/health/live')).status,
      (await request(s.url, 'GET', '/v2/health/ready')).status,
    ];
    expect(await health()).toEqual([200, 200]);
    // m's load lasts until released (control holdLoads): a fixed delay of 200 ms was over before the health reads at
    // load average 9
    s.control({ holdLoads: ['m'] });
    const loading = load(s, 'm');
    await waitUntil('m loading', async () => s.models.state('m') === 'LOADING');
    expect(await health()).toEqual([200, 400]);
    s.control({ holdLoads: [] });
    expect((await loading).status).toBe(200);
    expect(await health()).toEqual([200, 200]);
    // a failed load: not ready for good
    const failed = await load(s, 'bad');
    expect(failed.status).toBe(400);
    expect(failed.json().error).toMatch(/^load failed for model 'bad': version 1 is at UNAVAILABLE state: .*protobuf parsing failed\n$/);
    expect(await entry(s, 'bad')).toEqual({
      name: 'bad',
      version: '1',
      state: 'UNAVAILABLE',
      reason: expect.stringContaining('protobuf parsing failed'),
    });
    await sleep(100);
    expect(await health()).toEqual([200, 400]);
    // until the model loads
    s.control({ failLoads: [] });
    expect((await load(s, 'bad')).status).toBe(200);
    expect(await health()).toEqual([200, 200]);
  });

  test('an unloaded model ("unloaded") does not count; --strict-readiness=false: ready whenever the server answers', async () => {
    const strict = await standin({ defaultModelGiB: 1, unloadDelayMs: 0 });
    await load(strict, 'm');
    await unload(strict, 'm');
    expect((await entry(strict, 'm')).reason).toBe('unloaded');
    expect((await request(strict.url, 'GET', '/v2/health/ready')).status).toBe(200);
    const lax = await standin({ defaultModelGiB: 1, loadDelayMs: 100, failLoads: ['bad'], strictReadiness: false });
    const loading = load(lax, 'm');
    await sleep(30);
    expect((await request(lax.url, 'GET', '/v2/health/ready')).status).toBe(200);
    await loading;
    expect((await load(lax, 'bad')).status).toBe(400);
    expect((await request(lax.url, 'GET', '/v2/health/ready')).status).toBe(200);
  });
});

// core tritonserver.h TRITONSERVER_ServerUnloadModel; model_lifecycle.cc AsyncUnload, ModelDeleter
describe('unload returns before the model is gone', () => {
  test('UNLOADING (memory held) → UNAVAILABLE "unloaded" (memory free); a load sent meanwhile runs out of memory, counted', async () => {
    // destroying a lasts until released (control holdUnloads)
    const s = await standin({ memoryGiB: 2, defaultModelGiB: 1, unloadDelayMs: 0 });
    s.control({ holdUnloads: ['a'] });
    await load(s, 'a');
    await load(s, 'b');
    expect((await unload(s, 'a')).status).toBe(200);
    expect(await entry(s, 'a')).toEqual({ name: 'a', version: '1', state: 'UNLOADING' });
    expect(s.stats().usedGiB).toBe(2);
    const early = await load(s, 'c');
    expect(early.status).toBe(400);
    expect(early.json().error).toContain('CUDA failure 2: out of memory');
    expect(s.stats()).toMatchObject({ oomLoads: 1, loadsIntoUnfreedMemory: 1 });
    s.control({ holdUnloads: [] });
    await waitUntil('a unloaded', async () => (await entry(s, 'a')).state === 'UNAVAILABLE');
    expect(await entry(s, 'a')).toEqual({ name: 'a', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect(s.stats().usedGiB).toBe(1);
    expect((await load(s, 'c')).status).toBe(200);
    expect(s.stats()).toMatchObject({ oomLoads: 1, loadsIntoUnfreedMemory: 1 });
  });

  test('a request in flight holds the model: it is destroyed only after the request ends', async () => {
    // the request lasts until released (control holdInfers)
    const s = await standin({ memoryGiB: 2, defaultModelGiB: 1, unloadDelayMs: 0 });
    await load(s, 'a');
    s.control({ holdInfers: ['a'] });
    const slow = infer(s, 'a');
    await waitUntil('the request in flight', async () => s.stats().infers === 1);
    await unload(s, 'a');
    await sleep(50);
    expect((await entry(s, 'a')).state).toBe('UNLOADING');
    s.control({ holdInfers: [] });
    expect((await slow).status).toBe(200);
    await waitUntil('a unloaded', async () => (await entry(s, 'a')).state === 'UNAVAILABLE');
  });

  test('a load that fits beside everything held succeeds; one that does not fit after the unloads is an OOM, not unfreed', async () => {
    const s = await standin({ memoryGiB: 2, models: { a: 1, big: 3 } });
    expect((await load(s, 'big')).status).toBe(400);
    expect(s.stats()).toMatchObject({ oomLoads: 1, loadsIntoUnfreedMemory: 0 });
  });
});

describe('a load over HTTP holds one of --http-thread-count workers (server http_server.cc HandleRepositoryControl; server#8958)', () => {
  /** One keep-alive connection per agent, opened in order: with 2 workers, connections 1 and 3 share worker 0. */
  async function connections(s: RunningStandin, n: number): Promise<http.Agent[]> {
    const agents = Array.from({ length: n }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    for (const a of agents) await request(s.url, 'GET', '/v2/health/live', undefined, { agent: a });
    return agents;
  }

  test('other connections of that worker stall for the whole load; connections of other workers do not', async () => {
    const s = await standin({ defaultModelGiB: 1, httpThreads: 2 });
    const [c1, c2, c3] = await connections(s, 3);
    const order: string[] = [];
    // the load lasts until released (control holdLoads)
    s.control({ holdLoads: ['m'] });
    const loading = load(s, 'm', c1).then((r) => (order.push('load'), r));
    await waitUntil('m loading', async () => s.models.state('m') === 'LOADING');
    const same = request(s.url, 'GET', '/v2/health/live', undefined, { agent: c3 }).then(() => order.push('same worker'));
    await request(s.url, 'GET', '/v2/health/live', undefined, { agent: c2 }).then(() => order.push('other worker'));
    await sleep(50);
    expect(order).toEqual(['other worker']);
    s.control({ holdLoads: [] });
    expect((await loading).status).toBe(200);
    await same;
    expect(order).toEqual(['other worker', 'load', 'same worker']);
    for (const a of [c1, c2, c3]) a.destroy();
  });

  test('a load over gRPC RepositoryModelLoad blocks no HTTP worker (server grpc_server.cc: async CommonCallData)', async () => {
    const s = await standin({ defaultModelGiB: 1, httpThreads: 1, grpcPort: 0 });
    const [c1] = await connections(s, 1);
    let loaded = false;
    s.control({ holdLoads: ['m'] });
    const grpc = grpcCall(s.grpcPort!, encodeLoadRequest('m')).then((r) => ((loaded = true), r));
    await waitUntil('m loading', async () => s.models.state('m') === 'LOADING');
    expect((await request(s.url, 'GET', '/v2/health/live', undefined, { agent: c1, timeoutMs: 5000 })).status).toBe(200);
    expect(loaded).toBe(false);
    s.control({ holdLoads: [] });
    expect(await grpc).toEqual({ status: '0', message: undefined });
    expect(s.models.state('m')).toBe('READY');
    c1.destroy();
  });
});

describe('gRPC repository calls (common grpc_service.proto; server grpc_utils.cc GrpcStatusUtil::CodeToStatus)', () => {
  test("the router's RepositoryModelLoadRequest decodes with the upstream message definition", () => {
    const frame = encodeLoadRequest('bert-large');
    expect([frame[0], frame.readUInt32BE(1)]).toEqual([0, frame.length - 5]);
    expect(LoadRequest.toObject(LoadRequest.decode(frame.subarray(5)))).toEqual({ model_name: 'bert-large' });
  });

  test("a failed load is INVALID_ARGUMENT (3), a model missing from the repository INTERNAL (13), with Triton's message", async () => {
    const s = await standin({ models: { bad: 1 }, failLoads: ['bad'], grpcPort: 0 });
    const bad = await grpcCall(s.grpcPort!, encodeLoadRequest('bad'));
    expect(bad.status).toBe('3');
    expect(bad.message).toMatch(/^load failed for model 'bad': version 1 is at UNAVAILABLE state/);
    expect(await grpcCall(s.grpcPort!, encodeLoadRequest('nope'))).toEqual({
      status: '13',
      message: "failed to load 'nope', failed to poll from model repository",
    });
  });
});

// core model_repository_manager.cc RepositoryIndex
describe('the repository index lists the whole repository: a state read that can be slow or fail while the server is live', () => {
  test('entries: name only until loaded; version, state and reason after', async () => {
    const s = await standin({ models: { a: 1, b: 1 }, failLoads: ['b'] });
    await load(s, 'a');
    await load(s, 'b');
    expect(await index(s)).toEqual([
      { name: 'a', version: '1', state: 'READY' },
      { name: 'b', version: '1', state: 'UNAVAILABLE', reason: expect.stringContaining('protobuf parsing failed') },
    ]);
    expect((await request(s.url, 'POST', '/v2/repository/index', { ready: true })).json()).toEqual([
      { name: 'a', version: '1', state: 'READY' },
    ]);
  });

  test('slow or failing while /v2/health/live answers at once', async () => {
    const s = await standin({ models: { a: 1 } });
    s.control({ indexDelayMs: 150 });
    const t = Date.now();
    const [idx, live] = await Promise.all([index(s), request(s.url, 'GET', '/v2/health/live')]);
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    expect([idx.length, live.status]).toEqual([1, 200]);
    s.control({
      indexDelayMs: 0,
      indexError: 'Could not get MetaData for bucket with name gpufleet-models due to exception: , error message: No response body.',
    });
    const failed = await request(s.url, 'POST', '/v2/repository/index', {});
    expect([failed.status, failed.json().error]).toEqual([500, expect.stringContaining('Could not get MetaData for bucket')]);
    expect((await request(s.url, 'GET', '/v2/health/live')).status).toBe(200);
  });
});

describe('metrics (core metrics.cc, infer_stats.cc; vllm_backend model.py execute, utils/metrics.py)', () => {
  const scrape = async (s: RunningStandin): Promise<Map<string, number>> => {
    const text = (await request(s.metricsUrl!, 'GET', '/metrics')).body;
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([^#\s][^ ]*) ([-0-9.e+]+)$/.exec(line);
      if (m) out.set(m[1], Number(m[2]));
    }
    return out;
  };

  test('queue time and successes per (model, version) move when requests complete; pending counts the queue', async () => {
    const s = await standin({ defaultModelGiB: 1, metricsPort: 0, inferDelayMs: 150, instances: { m: 1 } });
    await load(s, 'm');
    const replies = Promise.all([infer(s, 'm'), infer(s, 'm'), infer(s, 'm')]);
    let during = new Map<string, number>();
    await waitUntil(
      'two requests queued',
      async () => (during = await scrape(s)).get('nv_inference_pending_request_count{model="m",version="1"}') === 2,
    );
    expect(during.get('nv_inference_request_success{model="m",version="1"}')).toBe(0);
    await replies;
    const after = await scrape(s);
    expect(after.get('nv_inference_request_success{model="m",version="1"}')).toBe(3);
    expect(after.get('nv_inference_pending_request_count{model="m",version="1"}')).toBe(0);
    // the second request queued ~150 ms, the third ~300 ms
    expect(after.get('nv_inference_queue_duration_us{model="m",version="1"}')!).toBeGreaterThan(125_000);
  });

  test('a decoupled (vLLM) model: queue time stays ~0 under a backlog; vllm:* only with REPORT_CUSTOM_METRICS', async () => {
    const s = await standin({
      defaultModelGiB: 1,
      metricsPort: 0,
      inferDelayMs: 80,
      decoupled: ['llm', 'quiet'],
      reportCustomMetrics: ['llm'],
      engineConcurrency: 1,
    });
    await load(s, 'llm');
    await load(s, 'quiet');
    await Promise.all([...Array.from({ length: 5 }, () => infer(s, 'llm')), infer(s, 'quiet')]);
    const m = await scrape(s);
    expect(m.get('nv_inference_request_success{model="llm",version="1"}')).toBe(5);
    expect(m.get('nv_inference_queue_duration_us{model="llm",version="1"}')!).toBeLessThan(5 * 2000);
    // the engine's backlog shows in time to first token: up to 80, 160, ... 400 ms when all arrive at once; at least
    // a mean of 1.5 × one request's 80 ms however the arrivals spread
    expect(m.get('vllm:time_to_first_token_seconds_count{model="llm",version="1"}')).toBe(5);
    expect(m.get('vllm:time_to_first_token_seconds_sum{model="llm",version="1"}')!).toBeGreaterThan(5 * 0.08 * 1.5);
    expect([...m.keys()].some((k) => k.startsWith('vllm:') && k.includes('model="quiet"'))).toBe(false);
  });
});

// core filesystem/implementations/s3.h CheckClient, IsDirectory; filesystem/api.cc
describe('an s3:// repository: HeadBucket, then ListObjectsV2 with a prefix, then GetObject', () => {
  const url = 's3://gpufleet-models/prod';
  test('the calls in order, with what IAM authorizes each as; HeadBucket carries no s3:prefix', async () => {
    const s = await standin({ defaultModelGiB: 1, s3: { url, authorize: () => true } });
    expect((await request(s.url, 'POST', '/v2/repository/index', {})).status).toBe(200);
    expect((await load(s, 'm')).status).toBe(200);
    const calls = s.stats().s3Calls.map((c) => [c.call, c.action, c.resource, c.prefix ?? null]);
    expect(calls).toEqual([
      ['HeadBucket', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', null], // CheckClient, once
      ['HeadBucket', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', null], // IsDirectory
      ['ListObjectsV2', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', 'prod/'],
      ['ListObjectsV2', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', 'prod/'],
      ['HeadBucket', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', null],
      ['ListObjectsV2', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', 'prod/m/'],
      ['ListObjectsV2', 's3:ListBucket', 'arn:aws:s3:::gpufleet-models', 'prod/m/'],
      ['GetObject', 's3:GetObject', 'arn:aws:s3:::gpufleet-models/prod/m/config.pbtxt', null],
      ['GetObject', 's3:GetObject', 'arn:aws:s3:::gpufleet-models/prod/m/1/model.onnx', null],
    ]);
  });

  test('s3:ListBucket allowed only with an s3:prefix: HeadBucket is denied, nothing can be listed or loaded', async () => {
    const s = await standin({
      defaultModelGiB: 1,
      s3: { url, authorize: (c) => !(c.action === 's3:ListBucket' && c.prefix === undefined) },
    });
    const idx = await request(s.url, 'POST', '/v2/repository/index', {});
    expect([idx.status, idx.json().error]).toEqual([
      500,
      "Unable to create S3 filesystem client. Check account credentials. Exception: 'AccessDenied' Message: 'Access Denied'",
    ]);
    const l = await load(s, 'm');
    expect([l.status, l.json().error]).toEqual([500, "failed to load 'm', failed to poll from model repository"]);
    expect((await request(s.url, 'GET', '/v2/health/live')).status).toBe(200);
  });
});

describe('the vllm backend and instance_group (vllm_backend r25.08 src/model.py; samples/model_repository/vllm_model/config.pbtxt)', () => {
  const haveSchema = modelConfigSchema() !== undefined;
  testIf(haveSchema, `needs Triton's schema, and ${MODEL_CONFIG_PROTO} is absent (../shared not checked out)`)(
    "KIND_GPU is refused with tensor_parallel_size > 1; KIND_MODEL (the sample's) loads; a model that is not decoupled fails",
    async () => {
      const cfg = (kind: string, extra = ''): string =>
        `name: "llm"\nbackend: "vllm"\ninstance_group [ { count: 1, kind: ${kind} } ]\n${extra}`;
      const s = await standin({
        defaultModelGiB: 1,
        files: {
          gpu: { config: cfg('KIND_GPU').replace('"llm"', '"gpu"'), modelJson: { tensor_parallel_size: 2 } },
          model: { config: cfg('KIND_MODEL').replace('"llm"', '"model"'), modelJson: { tensor_parallel_size: 2 } },
          single: { config: cfg('KIND_GPU').replace('"llm"', '"single"'), modelJson: { tensor_parallel_size: 1 } },
          coupled: { config: cfg('KIND_MODEL', 'model_transaction_policy { decoupled: false }\n').replace('"llm"', '"coupled"') },
        },
      });
      const gpu = await load(s, 'gpu');
      expect([gpu.status, gpu.json().error]).toEqual([
        400,
        "load failed for model 'gpu': version 1 is at UNAVAILABLE state: Internal: ValueError: KIND_GPU is currently for single-GPU " +
          "models, please specify KIND_MODEL in the model's config.pbtxt for multi-GPU models\n",
      ]);
      expect((await load(s, 'model')).status).toBe(200);
      expect((await load(s, 'single')).status).toBe(200);
      expect((await load(s, 'coupled')).json().error).toContain(
        'vLLM Triton backend must be configured to use decoupled model transaction policy',
      );
    },
  );
});

describe('the command line (server src/command_line_parser.cc)', () => {
  test('--strict-model-config=false is deprecated (a warning; auto-complete is the default); an unknown option stops it', async () => {
    const s = await standin({
      args: [
        '--model-repository=/models',
        '--model-control-mode=explicit',
        '--strict-model-config=false',
        '--strict-readiness=false',
        '--http-thread-count=4',
      ],
    });
    expect(s.warnings).toEqual(["Warning: '--strict-model-config' has been deprecated"]);
    expect(parseTritonArgs(['--model-repository=/m'])).toMatchObject({
      strictReadiness: true,
      httpThreads: 8,
      modelControlMode: 'none',
      autoCompleteConfig: true,
    });
    await expect(startTritonStandin({ args: ['--model-repository=/m', '--strict-readiness=maybe'] })).rejects.toThrow(
      'invalid value for bool option: maybe',
    );
    await expect(startTritonStandin({ args: ['--model-repository=/m', '--no-such-flag=1'] })).rejects.toThrow(
      "tritonserver: unrecognized option '--no-such-flag'",
    );
  });
});

/** One unary gRPC call to RepositoryModelLoad with a prepared frame. */
function grpcCall(port: number, frame: Buffer): Promise<{ status?: string; message?: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/inference.GRPCInferenceService/RepositoryModelLoad',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) {
        status = String(h['grpc-status']);
        message = h['grpc-message'] === undefined ? undefined : decodeURIComponent(String(h['grpc-message']));
      }
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve({ status, message });
    });
    stream.end(frame);
  });
}

// not Triton: what tests use to make a load last as long as they need (test/router-eviction.test.ts, router-triton)
describe("the stand-in's test controls", () => {
  test('a load held by control holdLoads stays LOADING until released (router tests time out on it)', async () => {
    const s = await standin({ defaultModelGiB: 1 });
    s.control({ holdLoads: ['m'] });
    const loading = load(s, 'm');
    await waitUntil('m loading', async () => s.models.state('m') === 'LOADING');
    await sleep(30);
    expect([s.models.state('m'), s.models.stats.loads]).toEqual(['LOADING', 0]);
    s.control({ holdLoads: [] });
    expect((await loading).status).toBe(200);
    expect(s.models.state('m')).toBe('READY');
  });

  test('a request held by control holdInfers is answered once released; a destruction held by holdUnloads ends then', async () => {
    const s = await standin({ defaultModelGiB: 1, unloadDelayMs: 0, loaded: ['m'] });
    s.control({ holdInfers: ['m'], holdUnloads: ['m'] });
    let answered = false;
    const held = infer(s, 'm').then((r) => ((answered = true), r));
    await waitUntil('the request in flight', async () => s.stats().infers === 1);
    await sleep(30);
    expect(answered).toBe(false);
    s.control({ holdInfers: [] });
    expect((await held).status).toBe(200);
    await unload(s, 'm');
    await sleep(30);
    expect([(await entry(s, 'm')).state, s.stats().usedGiB]).toEqual(['UNLOADING', 1]);
    s.control({ holdUnloads: [] });
    await waitUntil('m destroyed', async () => (await entry(s, 'm')).state === 'UNAVAILABLE');
    expect(s.stats().usedGiB).toBe(0);
  });
});
