/**
 * The router's inference port passes through the inference protocol only. One test per class of path that must
 * never reach a Triton backend: each is answered 404 by the router itself, and the stand-in sees nothing (it records
 * every request it gets). Triton would act on each of them: its HTTP server serves repository control, model config,
 * statistics, trace and logging on the same port as inference (server r25.08 `src/http_server.cc` Handle).
 */
import {
  infer,
  killAll,
  LocalRouter,
  LocalStandin,
  request,
  routerState,
  standinStats,
  startLocalRouter,
  startLocalStandin,
  waitFor,
} from './support/triton-standin-procs';

// both in this process (startLocalRouter, startLocalStandin): the router's HTTP servers are the ones its process runs
let standin: LocalStandin;
let router: LocalRouter;

beforeAll(async () => {
  standin = await startLocalStandin({ memoryGiB: 4, defaultModelGiB: 1, loaded: ['m', 'b'] });
  router = await startLocalRouter({
    listen: '127.0.0.1:0',
    backends: [{ name: 't', url: standin.url, memoryGiB: 4 }],
    models: [
      { name: 'm', memoryGiB: 1 },
      { name: 'b', memoryGiB: 1 },
    ],
    refreshIntervalSeconds: 60,
  });
  await waitFor('both models adopted', async () => (await routerState(router)).models.every((x: any) => x.loadedOn.length === 1));
}, 60000);

afterAll(killAll);

/** Sends each request to the router; every answer must be the router's own 404, and the backend must see none. */
async function expectClosed(requests: Array<[string, string]>): Promise<void> {
  const before = (await standinStats(standin.url)).paths;
  for (const [method, path] of requests) {
    const r = await request(router.url, method, path, method === 'POST' ? {} : undefined);
    expect([method, path, r.status, r.json().error]).toEqual([method, path, 404, expect.stringMatching(/^not found: |^unknown model /)]);
  }
  expect((await standinStats(standin.url)).paths).toEqual(before);
  // the model itself is still there and served
  expect((await infer(router.url, 'm')).status).toBe(200);
}

test('the inference protocol passes: infer (versioned or not), metadata, readiness', async () => {
  expect((await infer(router.url, 'm')).status).toBe(200);
  expect((await request(router.url, 'POST', '/v2/models/m/versions/1/infer', { inputs: [] })).status).toBe(200);
  expect((await request(router.url, 'GET', '/v2/models/m')).json().name).toBe('m');
  expect((await request(router.url, 'GET', '/v2/models/m/versions/1')).status).toBe(200);
  expect((await request(router.url, 'GET', '/v2/models/m/ready')).status).toBe(200);
  const seen = Object.keys((await standinStats(standin.url)).paths).sort();
  expect(seen).toEqual([
    'GET /v2/health/live',
    'GET /v2/models/m',
    'GET /v2/models/m/ready',
    'GET /v2/models/m/versions/1',
    'POST /v2/models/m/infer',
    'POST /v2/models/m/versions/1/infer',
    'POST /v2/repository/index',
  ]);
});

test('fails with 404 on dot segments', async () => {
  await expectClosed([
    ['POST', '/v2/models/m/../../repository/models/b/unload'],
    ['POST', '/v2/models/m/../b/infer'],
    ['POST', '/v2/models/m/./infer'],
    ['GET', '/v2/models/m/..'],
    ['GET', '/v2/models/m/versions/1/../../../repository/index'],
    ['POST', '/v2/models/m//infer'],
  ]);
});

test('fails with 404 on encoded separators and any percent-encoding or backslash', async () => {
  await expectClosed([
    ['POST', '/v2/models/m%2F..%2F..%2Frepository%2Fmodels%2Fb%2Funload'],
    ['POST', '/v2/models/m%2f..%2f..%2frepository%2fmodels%2fb%2funload'],
    ['GET', '/v2/models/m/%2e%2e/%2e%2e/repository/index'],
    ['POST', '/v2/models/%6d/infer'],
    ['POST', '/v2/models/m%5C..%5C..%5Crepository%5Cindex'],
    ['POST', '/v2/models/m\\..\\b/infer'],
  ]);
});

test("fails with 404 on the repository API (index, load, unload) and the router's own state", async () => {
  await expectClosed([
    ['POST', '/v2/repository/index'],
    ['POST', '/v2/repository/models/m/load'],
    ['POST', '/v2/repository/models/m/unload'],
    ['POST', '/v2/repository/models/b/unload'],
    ['GET', '/router/state'],
  ]);
  // they are on the admin port
  expect((await request(router.adminUrl!, 'POST', '/v2/repository/index', {})).status).toBe(200);
  expect((await request(router.adminUrl!, 'GET', '/router/state')).status).toBe(200);
});

test('fails with 404 on model config, statistics, trace and logging', async () => {
  await expectClosed([
    ['GET', '/v2/models/m/config'],
    ['GET', '/v2/models/m/versions/1/config'],
    ['GET', '/v2/models/m/stats'],
    ['GET', '/v2/models/stats'],
    ['POST', '/v2/models/m/trace/setting'],
    ['GET', '/v2/models/m/trace/setting'],
    ['GET', '/v2/trace/setting'],
    ['POST', '/v2/trace/setting'],
    ['POST', '/v2/logging'],
    ['POST', '/v2/models/m/infer/extra'],
    ['GET', '/v2/models/m/versions/one'],
  ]);
});

test('fails with 405 for a wrong method on an inference path, without asking the backend', async () => {
  const before = (await standinStats(standin.url)).paths;
  expect((await request(router.url, 'GET', '/v2/models/m/infer')).status).toBe(405);
  expect((await request(router.url, 'POST', '/v2/models/m/ready', {})).status).toBe(405);
  expect((await request(router.url, 'DELETE', '/v2/models/m')).status).toBe(405);
  expect((await standinStats(standin.url)).paths).toEqual(before);
});
