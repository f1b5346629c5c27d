/**
 * The router process against a Triton stand-in process: cold load, hit, pinned load at start, error shapes
 * (404, 503 load failure, 507), health, metrics, repository view, config errors.
 */
import { ConfigError, loadConfigFile, validateConfig } from '../constructs/runtime/config';
import { runRouterCli } from '../constructs/runtime';
import {
  infer,
  killAll,
  Proc,
  request,
  routerState,
  runRouter,
  standinStats,
  startRouter,
  startStandin,
  waitFor,
  writeConfig,
} from './support/triton-standin-procs';

let standin: Proc;
let router: Proc;

beforeAll(async () => {
  standin = await startStandin({ memoryGiB: 4, defaultModelGiB: 1, models: { big: 8 }, loadDelayMs: 50, failLoads: ['broken'] });
  router = await startRouter({
    listen: '127.0.0.1:0',
    backends: [{ name: 'pool-a-0', url: standin.url, memoryGiB: 4 }],
    models: [
      { name: 'resnet50', memoryGiB: 1 },
      { name: 'bert', memoryGiB: 1 },
      { name: 'big', memoryGiB: 8 },
      { name: 'broken', memoryGiB: 1 },
      { name: 'encoder', memoryGiB: 1, pinned: true },
    ],
    refreshIntervalSeconds: 60,
  });
  await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
}, 60000);

afterAll(killAll);

test('prints exactly one listening line with the real ports of the inference and admin listeners', () => {
  const adminPort = Number(new URL(router.adminUrl!).port);
  expect(router.stdout().trim().split('\n')).toEqual([
    `listening on http://127.0.0.1:${router.port}, admin on http://127.0.0.1:${adminPort}`,
  ]);
  expect(router.port).toBeGreaterThan(0);
  expect(adminPort).toBeGreaterThan(0);
  expect(adminPort).not.toBe(router.port);
});

test('answers its own health endpoints', async () => {
  expect((await request(router.url, 'GET', '/v2/health/live')).status).toBe(200);
  expect((await request(router.url, 'GET', '/v2/health/ready')).status).toBe(200);
});

test('loads pinned models at start', async () => {
  await waitFor('pinned model loaded', async () => (await standinStats(standin.url)).loaded.includes('encoder'));
  const state = await routerState(router);
  expect(state.models.find((m: any) => m.name === 'encoder').loadedOn).toEqual(['pool-a-0']);
});

test('loads a cold model on first request, then serves hits without loading again', async () => {
  // GIVEN resnet50 is loaded nowhere
  expect((await standinStats(standin.url)).loaded).not.toContain('resnet50');
  // WHEN two requests arrive one after the other
  const first = await infer(router.url, 'resnet50', 'req-1');
  const second = await infer(router.url, 'resnet50', 'req-2');
  // THEN both are answered by the backend, with one load
  expect(first.status).toBe(200);
  expect(first.json()).toEqual({
    model_name: 'resnet50',
    model_version: '1',
    id: 'req-1',
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
  });
  expect(second.status).toBe(200);
  expect(second.json().id).toBe('req-2');
  const stats = await standinStats(standin.url);
  expect(stats.loadsByModel.resnet50).toBe(1);
  expect(stats.infersByModel.resnet50).toBe(2);
  const metrics = (await request(router.url, 'GET', '/metrics')).body;
  expect(metrics).toContain('gpufleet_router_cache_misses_total{model="resnet50"} 1');
  expect(metrics).toContain('gpufleet_router_cache_hits_total{model="resnet50"} 1');
  expect(metrics).toContain('gpufleet_router_model_loads_total{model="resnet50",backend="pool-a-0",result="success"} 1');
});

test('forwards model metadata and readiness, and versioned infer paths', async () => {
  await infer(router.url, 'bert');
  const meta = await request(router.url, 'GET', '/v2/models/bert');
  expect(meta.status).toBe(200);
  expect(meta.json()).toMatchObject({ name: 'bert', versions: ['1'] });
  expect((await request(router.url, 'GET', '/v2/models/bert/ready')).status).toBe(200);
  const v = await request(router.url, 'POST', '/v2/models/bert/versions/1/infer', {
    inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [7] }],
  });
  expect(v.status).toBe(200);
  expect(v.json()).toMatchObject({ model_name: 'bert', model_version: '1', outputs: [{ datatype: 'INT32', data: [7] }] });
});

test("passes the backend's own 400 through unchanged", async () => {
  const r = await request(router.url, 'POST', '/v2/models/bert/infer', '{not json');
  expect(r.status).toBe(400);
  expect(r.json().error).toContain('failed to parse');
});

test('notices a model unloaded behind its back (Triton answers 404) and serves the request after reloading it', async () => {
  // GIVEN resnet50 loaded, then unloaded on the backend directly
  expect((await infer(router.url, 'resnet50', 'before')).status).toBe(200);
  expect((await request(standin.url, 'POST', '/v2/repository/models/resnet50/unload')).status).toBe(200);
  const before = await standinStats(standin.url);
  // WHEN a request arrives: Triton answers 404 "has no available versions"
  const r = await infer(router.url, 'resnet50', 'after');
  // THEN the router loaded it again (once its memory was reported free) and the request got the model's answer
  expect(r.status).toBe(200);
  expect(r.json()).toMatchObject({ model_name: 'resnet50', id: 'after' });
  const after = await standinStats(standin.url);
  expect(after.notLoaded - before.notLoaded).toBe(1);
  expect(after.loadsByModel.resnet50).toBe(2);
  expect(after.loadsIntoUnfreedMemory).toBe(0);
  expect((await request(router.url, 'GET', '/metrics')).body).toContain(
    'gpufleet_router_model_unloads_total{model="resnet50",backend="pool-a-0",reason="lost"} 1',
  );
});

test('fails with 404 and a JSON error for a model it does not manage', async () => {
  const r = await infer(router.url, 'no-such-model');
  expect(r.status).toBe(404);
  expect(r.headers['content-type']).toBe('application/json');
  expect(r.json()).toEqual({ error: "unknown model 'no-such-model': the router does not manage it (not in its models list)" });
  expect((await request(router.url, 'GET', '/v2/models/no-such-model')).status).toBe(404);
});

test('fails with 507 once for a model larger than every backend budget, without asking a backend', async () => {
  const before = await standinStats(standin.url);
  const a = await infer(router.url, 'big');
  const b = await infer(router.url, 'big');
  for (const r of [a, b]) {
    expect(r.status).toBe(507);
    expect(r.json().error).toBe(
      "model 'big' needs 8 GiB of GPU memory, more than the largest backend budget (4 GiB); it can never be loaded",
    );
  }
  const after = await standinStats(standin.url);
  expect(after.failedLoads).toBe(before.failedLoads);
  expect(after.loadsByModel.big).toBeUndefined();
});

test("fails with 503 carrying the backend's message when a load fails", async () => {
  const r = await infer(router.url, 'broken');
  expect(r.status).toBe(503);
  expect(r.headers['retry-after']).toBeDefined();
  expect(r.json().error).toMatch(
    /^backend pool-a-0 failed to load model 'broken': load failed for model 'broken': .*protobuf parsing failed$/,
  );
  const metrics = (await request(router.url, 'GET', '/metrics')).body;
  expect(metrics).toContain('gpufleet_router_model_loads_total{model="broken",backend="pool-a-0",result="failure"} 1');
  expect(metrics).toContain('gpufleet_router_requests_total{model="broken",code="503"} 1');
  // within loadFailureBackoffSeconds the same answer comes without a new load
  const again = await infer(router.url, 'broken');
  expect(again.status).toBe(503);
  expect(again.json()).toEqual(r.json());
  expect((await standinStats(standin.url)).failedLoads).toBe(1);
});

test('serves Prometheus text metrics with budget, in-flight and load latency', async () => {
  const r = await request(router.url, 'GET', '/metrics');
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toContain('text/plain; version=0.0.4');
  expect(r.body).toContain('# TYPE gpufleet_router_requests_total counter');
  expect(r.body).toContain('gpufleet_router_backend_budget_bytes{backend="pool-a-0"} 4294967296');
  expect(r.body).toMatch(/gpufleet_router_backend_used_bytes\{backend="pool-a-0"\} \d+/);
  expect(r.body).toContain('gpufleet_router_backend_up{backend="pool-a-0"} 1');
  expect(r.body).toContain('# TYPE gpufleet_router_model_load_duration_seconds histogram');
  expect(r.body).toMatch(/gpufleet_router_model_load_duration_seconds_count [1-9]/);
  expect(r.body).toContain('# TYPE gpufleet_router_in_flight_requests gauge');
  // every sample line is NAME{labels} VALUE
  for (const line of r.body
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'))) {
    expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$/);
  }
});

test('answers the repository index for its models on the admin port only', async () => {
  expect((await request(router.url, 'POST', '/v2/repository/index', {})).status).toBe(404);
  const r = await request(router.adminUrl!, 'POST', '/v2/repository/index', {});
  expect(r.status).toBe(200);
  const byName = Object.fromEntries(r.json().map((e: any) => [e.name, e.state]));
  expect(byName).toMatchObject({ resnet50: 'READY', encoder: 'READY', big: 'UNAVAILABLE' });
});

test('fails with 404 on an unknown path', async () => {
  const r = await request(router.url, 'GET', '/v3/whatever');
  expect(r.status).toBe(404);
  expect(r.json().error).toBe('not found: GET /v3/whatever');
});

/** One bad router config per rule: the test's name, the config, the one error it gets. */
function badConfigCases() {
  const cases: Array<[string, unknown, string]> = [
    ['fails on a missing backends list', { listen: '127.0.0.1:0', models: [] }, 'backends: expected a non-empty list, got nothing'],
    [
      'fails on a negative memory budget',
      { backends: [{ name: 'a', url: 'http://127.0.0.1:1', memoryGiB: -1 }] },
      'backends[0].memoryGiB: expected a number > 0 and <= 65536, got -1',
    ],
    [
      'fails on a backend URL with a path',
      { backends: [{ name: 'a', url: 'http://h:1/v2', memoryGiB: 1 }] },
      'backends[0].url: expected an http:// URL without path, e.g. http://127.0.0.1:8000, got "http://h:1/v2"',
    ],
    [
      'fails on an unknown key',
      { backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 1 }], maxQueue: 3 },
      'maxQueue: unknown key, allowed: listen, admin, backends, models, maxQueuePerModel, loadTimeoutSeconds, ' +
        'refreshIntervalSeconds, requestTimeoutSeconds, loadFailureBackoffSeconds, maxLoadsPerBackend, unloadWaitSeconds, ' +
        'indexTimeoutSeconds, healthTimeoutSeconds',
    ],
    [
      'fails on more concurrent loads than Triton has HTTP workers to spare',
      { backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }], maxLoadsPerBackend: 8 },
      "maxLoadsPerBackend: expected an integer from 1 to 7 (below Triton's 8 HTTP workers: a load over HTTP holds one for its whole " +
        'duration), got 8',
    ],
    [
      'fails on a gRPC port out of range',
      { backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4, grpcPort: 70000 }] },
      'backends[0].grpcPort: expected an integer from 1 to 65535, got 70000',
    ],
    [
      'fails on an admin address equal to listen',
      { listen: '127.0.0.1:9000', admin: '127.0.0.1:9000', backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }] },
      'admin: expected an address other than listen (127.0.0.1:9000), got "127.0.0.1:9000"',
    ],
    [
      'fails on a duplicate model',
      {
        backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }],
        models: [
          { name: 'm', memoryGiB: 1 },
          { name: 'm', memoryGiB: 1 },
        ],
      },
      'models[1].name: "m" is already used by models[0]',
    ],
    [
      'fails on a bad listen address',
      { listen: 'localhost', backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }] },
      'listen: expected HOST:PORT with a port from 0 to 65535, got "localhost"',
    ],
    [
      'fails on a pinned model larger than every backend',
      { backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }], models: [{ name: 'm', memoryGiB: 5, pinned: true }] },
      'models[0].memoryGiB: pinned model "m" needs 5 GiB, more than the largest backend budget 4 GiB',
    ],
    [
      'fails on a non-integer queue limit',
      { backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }], maxQueuePerModel: 1.5 },
      'maxQueuePerModel: expected an integer >= 1 and <= 1000000, got 1.5',
    ],
  ];
  return cases;
}

describe('config errors', () => {
  const cases = badConfigCases();
  test.each(cases)('%s', (_title, config, message) => {
    expect(() => validateConfig(config)).toThrow(new ConfigError(message));
  });

  test('fails in the process with exit 2 and one line naming file and path, no stack trace', async () => {
    const file = writeConfig(cases[1][1]);
    const r = await runRouter(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`gpufleet router: ${file}: ${cases[1][2]}\n`);
  });

  test('fills defaults: loopback listeners, two loads per backend over HTTP', () => {
    const c = validateConfig({ backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }] });
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 9000,
      admin: { host: '127.0.0.1', port: 9001 },
      models: [],
      maxQueuePerModel: 256,
      loadTimeoutSeconds: 120,
      refreshIntervalSeconds: 10,
      requestTimeoutSeconds: 300,
      loadFailureBackoffSeconds: 5,
      maxLoadsPerBackend: 2,
      unloadWaitSeconds: 60,
      indexTimeoutSeconds: 10,
      healthTimeoutSeconds: 2,
    });
    expect(c.backends[0].discover).toBe('none');
    expect(c.backends[0].grpcPort).toBeUndefined();
  });

  test('a bare listen port binds loopback; admin: false turns the admin port off', () => {
    const c = validateConfig({ listen: 9100, admin: false, backends: [{ name: 'a', url: 'http://h:1', memoryGiB: 4 }] });
    expect([c.host, c.port, c.admin]).toEqual(['127.0.0.1', 9100, undefined]);
  });

  test('fails without --config (exit 2, usage)', async () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runRouterCli([])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toBe(
        'gpufleet router: --config: expected a file, got nothing (or --demo to try the router on local stand-ins)\n' +
          'usage: gpufleet router --config FILE [--log-level info|warn|silent]\n' +
          '       gpufleet router --demo [--script] [--listen HOST:PORT] [--admin HOST:PORT] [--log-level info|warn|silent]\n',
      );
    } finally {
      err.mockRestore();
    }
  });

  test('examples/router.yaml is a valid config: loopback listeners, loads over gRPC', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const c = loadConfigFile(require('path').join(__dirname, '..', 'examples', 'router.yaml'));
    expect([c.host, c.admin]).toEqual(['127.0.0.1', { host: '127.0.0.1', port: 9001 }]);
    expect(c.backends.map((b) => b.grpcPort)).toEqual([8001, 8011]);
  });

  test('fails on a config file that does not exist', () => {
    expect(() => loadConfigFile('/nonexistent/router.yaml')).toThrow(
      new ConfigError('--config "/nonexistent/router.yaml": cannot read the file (no such file)'),
    );
  });
});
