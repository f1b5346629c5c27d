/**
 * Caching behaviour of the router against one Triton stand-in: LRU eviction order, pinned models never evicted,
 * concurrent cold requests sharing one load, the queue limit and the load timeout. Both run in this process
 * (startLocalRouter, startLocalStandin): what is tested is the router's cache, not its process.
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

let standin: LocalStandin;
let router: LocalRouter;
const loaded = async (): Promise<string[]> => (await standinStats(standin.url)).loaded;

beforeAll(async () => {
  // budget 4 GiB: the pinned model takes 1, three 1-GiB models fit beside it
  // slow loads while 8 requests arrive (a delay that outlasts their arrival); what must outlast more (busy's answer
  // three other requests and an eviction, hang's load loadTimeoutSeconds) is held until the test releases it
  // (controls holdInfers, holdLoads): as long as needed however loaded the machine, and no longer
  standin = await startLocalStandin({
    memoryGiB: 4,
    defaultModelGiB: 1,
    loadDelayMs: 10,
    loadDelayMsByModel: { slow: 250 },
  });
  router = await startLocalRouter({
    listen: '127.0.0.1:0',
    backends: [{ name: 'a', url: standin.url, memoryGiB: 4 }],
    models: [
      { name: 'pin', memoryGiB: 1, pinned: true },
      ...['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((name) => ({ name, memoryGiB: 1 })),
      { name: 'cold', memoryGiB: 1 },
      { name: 'busy', memoryGiB: 1 },
      { name: 'slow', memoryGiB: 1 },
      { name: 'hang', memoryGiB: 1 },
    ],
    maxQueuePerModel: 5,
    // the original 1.5 s: 0.8 s failed a 10 ms load once in a full run at load average 30
    loadTimeoutSeconds: 1.5,
    refreshIntervalSeconds: 60,
  });
  await waitFor('pinned model loaded', async () => (await loaded()).includes('pin'));
}, 60000);

afterAll(killAll);

test('evicts the least recently used model when the budget is full', async () => {
  // GIVEN m1, m2, m3 loaded in that order, then m1 used again (LRU order: m2, m3, m1)
  for (const m of ['m1', 'm2', 'm3', 'm1']) expect((await infer(router.url, m)).status).toBe(200);
  expect(await loaded()).toEqual(['m1', 'm2', 'm3', 'pin']);
  // WHEN m4 arrives
  expect((await infer(router.url, 'm4')).status).toBe(200);
  // THEN m2 made room
  expect(await loaded()).toEqual(['m1', 'm3', 'm4', 'pin']);
  // AND next m3, then m1 go, in LRU order
  expect((await infer(router.url, 'm5')).status).toBe(200);
  expect(await loaded()).toEqual(['m1', 'm4', 'm5', 'pin']);
  expect((await infer(router.url, 'm6')).status).toBe(200);
  expect(await loaded()).toEqual(['m4', 'm5', 'm6', 'pin']);
  const metrics = (await request(router.url, 'GET', '/metrics')).body;
  expect(metrics).toContain('gpufleet_router_model_unloads_total{model="m2",backend="a",reason="evicted"} 1');
  const stats = await standinStats(standin.url);
  expect(stats.failedLoads).toBe(0);
  expect(stats.maxUsedGiB).toBeLessThanOrEqual(4);
});

test('never evicts a pinned model, however old', async () => {
  for (const m of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm1', 'm2']) expect((await infer(router.url, m)).status).toBe(200);
  const stats = await standinStats(standin.url);
  expect(stats.loaded).toContain('pin');
  expect(stats.loadsByModel.pin).toBe(1);
  const metrics = (await request(router.url, 'GET', '/metrics')).body;
  expect(metrics).not.toContain('gpufleet_router_model_unloads_total{model="pin"');
});

test('never evicts a model with a request in flight, even the least recently used', async () => {
  // GIVEN busy, m2, m3 loaded; a long request to busy starts first, then m2 and m3 are used (busy is LRU)
  for (const m of ['busy', 'm2', 'm3']) expect((await infer(router.url, m)).status).toBe(200);
  expect(await loaded()).toEqual(['busy', 'm2', 'm3', 'pin']);
  standin.standin.control({ holdInfers: ['busy'] });
  const long = infer(router.url, 'busy', 'long');
  await waitFor('busy in flight', async () =>
    (await routerState(router)).backends[0].models.some((m: any) => m.name === 'busy' && m.inFlight === 1),
  );
  for (const m of ['m2', 'm3']) expect((await infer(router.url, m)).status).toBe(200);
  // WHEN m4 needs room
  expect((await infer(router.url, 'm4')).status).toBe(200);
  // THEN m2 went, busy stayed and its request was answered
  expect(await loaded()).toEqual(['busy', 'm3', 'm4', 'pin']);
  standin.standin.control({ holdInfers: [] });
  const r = await long;
  expect(r.status).toBe(200);
  expect(r.json().id).toBe('long');
  expect((await standinStats(standin.url)).notLoaded).toBe(0);
});

test('shares one load among concurrent requests for a cold model', async () => {
  // GIVEN "slow" is loaded nowhere and takes 250 ms to load
  expect(await loaded()).not.toContain('slow');
  // WHEN 5 requests (the queue limit) arrive at once
  const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => infer(router.url, 'slow', `c${i}`)));
  // THEN all are answered by the backend after one load
  expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  expect(replies.map((r) => r.json().id)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  expect((await standinStats(standin.url)).loadsByModel.slow).toBe(1);
});

test('fails with 503 and Retry-After beyond the queue limit', async () => {
  // GIVEN "slow" is evicted again
  for (const m of ['m1', 'm2', 'm3']) await infer(router.url, m);
  expect(await loaded()).not.toContain('slow');
  // WHEN 8 requests arrive while it loads (limit 5)
  const replies = await Promise.all(Array.from({ length: 8 }, () => infer(router.url, 'slow')));
  // THEN 5 wait and are served, 3 are refused at once
  const codes = replies.map((r) => r.status).sort();
  expect(codes).toEqual([200, 200, 200, 200, 200, 503, 503, 503]);
  for (const r of replies.filter((x) => x.status === 503)) {
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json()).toEqual({
      error: "queue for model 'slow' is full (5 requests waiting for it to load, maxQueuePerModel); retry later",
    });
  }
  expect((await standinStats(standin.url)).loadsByModel.slow).toBe(2);
});

test('fails with 503 when a load exceeds loadTimeoutSeconds, keeps the budget reserved until the load ends', async () => {
  standin.standin.control({ holdLoads: ['hang'] });
  const started = Date.now();
  const r = await infer(router.url, 'hang');
  // at loadTimeoutSeconds (1.5 s), while the load goes on (held)
  expect(Date.now() - started).toBeLessThan(3000);
  expect(r.status).toBe(503);
  expect(r.headers['retry-after']).toBe('5');
  expect(r.json().error).toBe(
    "model 'hang' did not load within 1.5s (loadTimeoutSeconds) on backend a; the load goes on in the background",
  );
  const hangState = async (): Promise<string | undefined> =>
    (await routerState(router)).backends[0].models.find((m: any) => m.name === 'hang')?.state;
  expect(await hangState()).toBe('loading');
  expect((await request(router.url, 'GET', '/metrics')).body).toContain(
    'gpufleet_router_model_loads_total{model="hang",backend="a",result="timeout"} 1',
  );
  // other models still load and serve meanwhile
  expect((await infer(router.url, 'cold')).status).toBe(200);
  expect(await hangState()).toBe('loading');
  // and the slow load, once done, serves
  standin.standin.control({ holdLoads: [] });
  await waitFor('hang ready', async () => (await hangState()) === 'ready', 8000);
  expect((await infer(router.url, 'hang')).status).toBe(200);
  expect((await standinStats(standin.url)).loadsByModel.hang).toBe(1);
});
