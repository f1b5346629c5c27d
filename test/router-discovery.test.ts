/**
 * The router process: backends discovered through DNS (as behind a headless Service), the request timeout,
 * no room for a cold model while every budget is busy, and methods it refuses.
 */
import { infer, killAll, Proc, request, routerState, startRouter, startStandin, waitFor } from './support/triton-standin-procs';

let standin: Proc;
let router: Proc;

beforeAll(async () => {
  standin = await startStandin({ memoryGiB: 2, defaultModelGiB: 1, inferDelayMsByModel: { busy: 1500, sleepy: 5000 } });
  router = await startRouter({
    listen: '127.0.0.1:0',
    // "localhost" resolves to 127.0.0.1 (and maybe ::1, where nothing listens: that backend stays down)
    backends: [{ name: 'pool', url: `http://localhost:${standin.port}`, memoryGiB: 2, discover: 'dns' }],
    models: [
      { name: 'pin', memoryGiB: 1, pinned: true },
      { name: 'busy', memoryGiB: 1 },
      { name: 'other', memoryGiB: 1 },
      { name: 'sleepy', memoryGiB: 1 },
    ],
    loadTimeoutSeconds: 0.6,
    requestTimeoutSeconds: 2,
    refreshIntervalSeconds: 60,
  });
  await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
}, 60000);

afterAll(killAll);

test('turns a DNS name into one backend per address', async () => {
  const state = await routerState(router);
  const names = state.backends.map((b: any) => b.name);
  expect(names).toContain('pool/127.0.0.1');
  const v4 = state.backends.find((b: any) => b.name === 'pool/127.0.0.1');
  expect(v4).toMatchObject({ up: true, url: `http://127.0.0.1:${standin.port}`, budgetGiB: 2 });
  await waitFor(
    'pinned model loaded',
    async () => (await routerState(router)).models.find((m: any) => m.name === 'pin').loadedOn.length === 1,
  );
  expect((await infer(router.url, 'other')).status).toBe(200);
});

test('fails with 503 when no room can be made within loadTimeoutSeconds (pinned and busy models hold the budget)', async () => {
  // GIVEN pin (pinned) and busy (a request in flight) fill the 2 GiB
  await request(router.adminUrl!, 'POST', '/v2/repository/models/other/unload');
  const long = infer(router.url, 'busy', 'long');
  await waitFor('busy in flight', async () =>
    (await routerState(router)).backends.some((b: any) => b.models.some((m: any) => m.name === 'busy' && m.inFlight === 1)),
  );
  // WHEN another cold model arrives
  const r = await infer(router.url, 'other');
  // THEN it is refused after the load timeout, and the busy request still completes
  expect(r.status).toBe(503);
  expect(r.headers['retry-after']).toBe('1');
  expect(r.json().error).toBe(
    "no room to load model 'other' (1 GiB) within 0.6s: every backend's budget is held by pinned models, models with requests in " +
      'flight or models still unloading',
  );
  expect((await long).status).toBe(200);
});

test('fails with 504 when a backend does not answer within requestTimeoutSeconds', async () => {
  await request(router.adminUrl!, 'POST', '/v2/repository/models/busy/unload');
  const r = await infer(router.url, 'sleepy');
  expect(r.status).toBe(504);
  expect(r.json().error).toMatch(/^backend pool\/127\.0\.0\.1 did not answer within 2s$/);
  // a timeout is not a dead backend
  const state = await routerState(router);
  expect(state.backends.find((b: any) => b.name === 'pool/127.0.0.1').up).toBe(true);
});

test('fails with 405 on a method other than GET, HEAD or POST', async () => {
  const r = await request(router.url, 'DELETE', '/v2/models/pin');
  expect(r.status).toBe(405);
  expect(r.json().error).toBe('method DELETE not allowed on /v2/models/pin');
});

test('fails with 400 when unloading a pinned model through the router', async () => {
  const r = await request(router.adminUrl!, 'POST', '/v2/repository/models/pin/unload');
  expect(r.status).toBe(400);
  expect(r.json().error).toBe("model 'pin' is pinned; remove pinned from its config to unload it");
});
